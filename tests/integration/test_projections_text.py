"""Text the event store accepted is storable in every view, on every backend: a NUL byte (which a
PostgreSQL text column refuses) in a title does not stop the projector, and a later event of
another estate still reaches the views."""

from __future__ import annotations

from uuid import uuid4

import pytest
from click.testing import CliRunner

from consult.case import Case
from consult.clock import FixedClock
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app
from entrypoints.commands.projections import projections as projections_cli
from projections import Projector, Queries, attach, open_store
from projections.db import ViewStore, storable
from tests.conftest import OPERATOR, RC
from tests.integration.test_projections_support import open_owners_vote, setup_place, synthetic_roll

pytestmark = pytest.mark.backends("memory", "sqlite", "postgres")

NUL_TITLE = "nul a\u0000b"


def test_storable_text_replaces_only_what_a_database_refuses() -> None:
    assert storable("议题 a\tb\nc") == "议题 a\tb\nc"
    assert storable(NUL_TITLE) == "nul a\u2400b"
    assert storable("x\ud800y") == "x\ufffdy"


def test_a_nul_in_a_title_does_not_stop_the_views(store_url: str) -> None:
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    store = open_store(store_url)
    try:
        app.create_street("S01", "示范街道", OPERATOR)
        app.create_community("C01", "示范社区", "S01", OPERATOR)
        first = app.create_estate("EA", "甲小区", "C01", OPERATOR)
        second = app.create_estate("EB", "乙小区", "C01", OPERATOR)
        app.import_roll(first, synthetic_roll(8), RC, source_name="a.csv")
        # Stored through the application, not through the web's (or a command's) checks.
        bad = Case.start(
            uuid4(),
            clock.now(),
            "P0000",
            "",
            estate_id=first,
            title=NUL_TITLE,
            description="d\u0000e",
            channel="online",
            submitted_by="P0000",
            motion_id=None,
        )
        app.save(bad)
        later = app.submit_topic(second, "乙小区的议题", "说明", "online", RC).id
        projector = Projector(app, store)
        reached = projector.catch_up()
        head = app.recorder.max_notification_id()
        assert reached == head and projector.position() == head
        queries = Queries(store, app)
        assert queries.case(later).title == "乙小区的议题"
        assert projector.faults() == []
        assert queries.case(bad.id).title == "nul a\u2400b"
        # A rebuild from zero gives the same.
        assert projector.rebuild() == head
        assert queries.case(bad.id).title == "nul a\u2400b"
    finally:
        store.dispose()
        app.close()


# --- a view that still fails on one event ------------------------------------------------------

REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_cases BEFORE UPDATE ON view_tracking "
        "WHEN NEW.name = 'cases' AND NEW.position > {limit} "
        "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_cases() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.name = 'cases' AND NEW.position > {limit} THEN "
        "RAISE EXCEPTION 'refused by a trigger'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_cases BEFORE UPDATE ON view_tracking FOR EACH ROW "
        "EXECUTE FUNCTION refuse_cases()",
    ],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_cases"],
    "postgresql": ["DROP TRIGGER refuse_cases ON view_tracking", "DROP FUNCTION refuse_cases()"],
}


def refuse_cases(store: ViewStore, limit: int, statements: dict[str, list[str]] = REFUSE) -> None:
    """The "cases" view cannot move past log position ``limit`` (its section's commit fails)."""
    with store.write() as conn:
        for statement in statements[store.backend]:
            conn.exec_driver_sql(statement.replace("{limit}", str(limit)))


@pytest.mark.backends("sqlite", "postgres")  # the commands open the store in their own app
def test_a_view_that_fails_on_one_event_stalls_alone_and_says_so(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULT_DATABASE_URL", store_url)
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    store = open_store(store_url)
    try:
        projector = attach(app, Projector(app, store))
        app.create_street("S01", "示范街道", OPERATOR)
        app.create_community("C01", "示范社区", "S01", OPERATOR)
        first = app.create_estate("EA", "甲小区", "C01", OPERATOR)
        second = app.create_estate("EB", "乙小区", "C01", OPERATOR)
        before = projector.position()
        refuse_cases(store, before)
        stalled_case = app.submit_topic(first, "甲小区的议题", "说明", "online", RC).id
        later = app.submit_topic(second, "乙小区的议题", "说明", "online", RC).id
        head = app.recorder.max_notification_id()
        # Every other view applied the later event of the other estate; "cases" stalled.
        positions = projector.positions()
        assert positions.pop("cases") == before
        assert set(positions.values()) == {head}
        assert Queries(store, app).case_timeline(later).entries
        (fault,) = projector.faults()
        assert fault.name == "cases" and fault.position == before
        assert "refused by a trigger" in fault.error

        runner = CliRunner()
        result = runner.invoke(projections_cli, ["status"])
        assert result.exit_code == 1, (result.output, result.exception)
        assert "STALLED" in result.output and "refused by a trigger" in result.output
        assert (
            f"停在日志第 {before} 位" in result.output
            and f"{head - before} events behind" in result.output
        )
        result = runner.invoke(projections_cli, ["rebuild"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "view cases stalled at log position 0" in result.output
        assert "refused by a trigger" in result.output

        # Once the table takes the row again, a rebuild brings every view to the head.
        refuse_cases(store, before, ALLOW)
        result = runner.invoke(projections_cli, ["rebuild"])
        assert result.exit_code == 0, result.output
        assert projector.faults() == [] and projector.position() == head
        assert Queries(store, app).case(stalled_case).title == "甲小区的议题"
    finally:
        store.dispose()
        app.close()


def test_a_nul_in_a_ballot_does_not_stop_the_tally(store_url: str) -> None:
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    store = open_store(store_url)
    try:
        estate = setup_place(app, synthetic_roll(10))
        _, (vote,) = open_owners_vote(app, clock, estate)
        head = next(h for h in app.owners_electorate(estate).heads.values() if not h.is_developer)
        # Stored through the application, not through cast_ballot's checks.
        app.save(
            Ballot.start(
                ballot_id(vote, head.head_id),
                clock.now(),
                head.owners[0],
                "",
                vote_id=vote,
                elector_id=head.head_id,
                choice="yes",
                channel="on\u0000line",
                receipt="R",
            )
        )
        projector = Projector(app, store)
        assert projector.catch_up() == app.recorder.max_notification_id()
        assert projector.faults() == []
        assert Queries(store, app).vote_tally(vote).result == app.tally(vote)
    finally:
        store.dispose()
        app.close()
