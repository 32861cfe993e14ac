"""The auditors' page compares every view with a rebuild from the events and shows what differs."""

from __future__ import annotations

from tests.web.conftest import World


def test_the_auditors_page_finds_an_edited_tally(world: World) -> None:
    _, vote = world.voting()
    world.cast(vote, range(1, 7), "no")
    street = world.client("street")
    page = street.get("/audit/")
    assert "/audit/views" in page.text
    page = street.get("/audit/views")
    assert page.status_code == 200 and 'data-views-ok="true"' in page.text

    store = world.consult.projector.store  # type: ignore[attr-defined]
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE view_vote SET yes_heads = yes_heads + 50, no_heads = 0")
    page = street.get("/audit/views")
    assert page.status_code == 200 and 'data-views-ok="false"' in page.text
    assert "view_vote" in page.text and f"vote_id={vote.hex}" in page.text
    assert "no_heads=0" in page.text and "no_heads=6" in page.text
    assert world.client("resident").get("/audit/views").status_code in (302, 403)
