"""A view edited behind the product's back is found: ``consult audit verify`` rebuilds every view
from the events in a scratch store and compares it, row by row, with the live one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner

from consult.application import ConsultationApp
from consult.clock import FixedClock
from entrypoints.bootstrap import build_app
from entrypoints.commands.audit import EXIT_TAMPERED, audit
from projections import Projector, Queries, attach, open_store
from projections.db import ViewStore
from projections.verify import check_views
from tests.conftest import owner
from tests.integration.test_projections_support import open_owners_vote, setup_place, synthetic_roll


@dataclass
class Live:
    app: ConsultationApp
    store: ViewStore
    projector: Projector
    vote: UUID
    voters: list[str]  # one owner of each head, in order (the first 12 have voted)
    env: dict[str, str]

    def sql(self, statement: str) -> None:
        with self.store.write() as conn:
            conn.exec_driver_sql(statement)

    def verify(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(audit, ["verify", *args], env=self.env)
        return result.exit_code, result.output


@pytest.fixture
def live(store_url: str, tmp_path: Path) -> Iterator[Live]:
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    store = open_store(store_url)
    try:
        projector = attach(app, Projector(app, store))
        estate = setup_place(app, synthetic_roll(30))
        _, (vote,) = open_owners_vote(app, clock, estate)
        heads = [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]
        for i, head in enumerate(heads[:12]):
            app.cast_ballot(vote, ("yes", "no", "abstain")[i % 3], owner(head.owners[0]))
        env = {
            "CONSULT_DATABASE_URL": store_url,
            "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        }
        yield Live(app, store, projector, vote, [h.owners[0] for h in heads], env)
    finally:
        store.dispose()
        app.close()


def test_untouched_views_match_the_events(live: Live) -> None:
    check = check_views(live.app, live.store)
    assert check.ok, check.differences
    assert set(check.positions) == set(live.projector.names)
    assert set(check.positions.values()) == {live.app.recorder.max_notification_id()}
    assert check.rows > 20
    code, out = live.verify()
    assert code == 0, out
    assert "读模型与事件一致" in out and "The views match the events" in out


def test_an_edited_tally_is_found_and_named(live: Live) -> None:
    before = Queries(live.store, live.app).vote_tally(live.vote)
    live.sql("UPDATE view_vote SET yes_heads = yes_heads + 50, no_heads = 0")
    check = check_views(live.app, live.store)
    assert not check.ok and check.count == 1
    (difference,) = check.differences
    assert (difference.view, difference.table) == ("tallies", "view_vote")
    assert difference.key == {"vote_id": live.vote.hex}
    assert difference.stored is not None and difference.derived is not None
    assert difference.stored["no_heads"] == 0 and difference.derived["no_heads"] > 0
    assert difference.stored["yes_heads"] == difference.derived["yes_heads"] + 50
    assert before.result is not None

    code, out = live.verify()
    assert code == EXIT_TAMPERED and "Traceback" not in out
    assert "读模型被改动" in out and "The views were changed" in out
    assert f"vote_id={live.vote.hex}" in out and "view_vote" in out
    code, out = live.verify("--json")
    data = json.loads(out)
    assert code == EXIT_TAMPERED and data["ok"] is False
    assert data["views"]["differences"][0]["stored"]["no_heads"] == 0


def test_a_deleted_and_an_invented_row_are_found(live: Live) -> None:
    live.sql("DELETE FROM view_ballot_event WHERE version = 1 AND choice = 'no'")
    live.sql(
        "INSERT INTO view_council (council_id, estate_id, kind, created_at) VALUES ('ff', 'ee', 'x', 1)"
    )
    check = check_views(live.app, live.store)
    missing = [d for d in check.differences if d.stored is None]
    invented = [d for d in check.differences if d.derived is None]
    assert len(missing) == 4 and {d.table for d in missing} == {"view_ballot_event"}
    assert [(d.table, d.key) for d in invented] == [("view_council", {"council_id": "ff"})]


def test_only_what_the_live_views_reached_is_compared(live: Live) -> None:
    reached = live.projector.position()
    live.app.listeners.clear()  # the live views stop following
    live.app.cast_ballot(live.vote, "yes", owner(live.voters[20]))
    assert live.app.recorder.max_notification_id() > reached
    check = check_views(live.app, live.store)
    assert check.ok, check.differences
    assert set(check.positions.values()) == {reached}
