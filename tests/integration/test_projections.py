"""Projections against every backend: the tally equals the rules' count, read-your-writes, motions,
councils, timelines, dashboards, the past as of any moment, and rebuild == incremental."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner

from consult.application import ConsultationApp
from consult.case import Stage
from consult.clock import FixedClock
from consult.errors import AlreadyVotedError, NotFoundError
from consult.evaluation import Rating
from consult.motion import MotionState
from consult.rules import Choice, SilentMajorityStatus
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app
from entrypoints.commands.projections import projections as projections_cli
from projections import ProjectionTimeoutError, Projector, Queries, attach, open_store
from projections.db import ViewStore
from projections.decoding import (
    BALLOT_TOPICS,
    EventDecoder,
    ballot_row_from_event,
    ballot_row_from_json,
)
from projections.queries import DeadlineKind, Scope
from projections.reading import ProcessReader
from projections.views import default_views
from projections.views.tallies import TalliesView
from tests.conftest import OC, OPERATOR, PARTY, RC, STREET, TELLER_A, TELLER_B, close_at_end, owner
from tests.integration.test_projections_support import (
    open_owners_vote,
    setup_place,
    synthetic_roll,
    view_rows,
)

#: The in-memory view store is a backend of its own: these tests run on it too.
pytestmark = pytest.mark.backends("memory", "sqlite", "postgres")


@pytest.fixture
def url(store_url: str) -> str:
    return store_url


class World:
    """An application with its views kept up to date after every command (the embedded default)."""

    def __init__(self, url: str, clock: FixedClock, section_size: int = 1000) -> None:
        self.clock = clock
        self.app: ConsultationApp = build_app(url, clock=clock)
        self.store: ViewStore = open_store(url)
        self.projector = attach(
            self.app, Projector(self.app, self.store, section_size=section_size)
        )
        self.queries = Queries(self.store, self.app)

    def close(self) -> None:
        self.store.dispose()
        self.app.close()


@pytest.fixture
def world(url: str, clock: FixedClock) -> Iterator[World]:
    w = World(url, clock)
    yield w
    w.close()


def heads_of(app: ConsultationApp, estate: UUID) -> list[Any]:
    return [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]


def test_live_tally_equals_the_rules_count_ballot_after_ballot(world: World) -> None:
    app, q, rng = world.app, world.queries, random.Random(3)
    estate = setup_place(app, synthetic_roll(60))
    _, (vote,) = open_owners_vote(app, world.clock, estate)
    heads = heads_of(app, estate)
    for i, head in enumerate(heads):
        if i == 1 or rng.random() < 0.2:
            continue
        app.cast_ballot(vote, rng.choice(["yes", "no", "abstain"]), owner(head.owners[0]))
        if i % 7 == 0:  # a change of mind, once
            app.cast_ballot(vote, rng.choice(["yes", "no"]), owner(head.owners[0]))
        if i % 9 == 0:
            assert q.vote_tally(vote).result == app.tally(vote)
    # a paper ballot counts once two tellers entered the same choice
    app.enter_paper_ballot(vote, heads[1].head_id, "yes", "P-1", TELLER_A)
    assert q.ballot(vote, heads[1].head_id) is None
    app.confirm_paper_ballot(vote, heads[1].head_id, "yes", TELLER_B)
    paper = q.ballot(vote, heads[1].head_id)
    assert paper is not None and paper.channel == "paper" and paper.choice == Choice.YES
    tally = q.vote_tally(vote)
    assert tally.result == app.tally(vote)
    assert tally.position == world.projector.position()
    assert sum(
        c.heads for c in tally.result.raw.by_choice.values()
    ) + tally.result.raw.not_voted.heads == len(heads)
    assert set(tally.result.by_building) == {"1", "2", "3", "S"}


def test_ballots_after_the_close_are_kept_but_not_counted(world: World) -> None:
    app, q = world.app, world.queries
    estate = setup_place(app, synthetic_roll(40))
    _, (vote,) = open_owners_vote(app, world.clock, estate)
    heads = heads_of(app, estate)
    for head in heads[:30]:
        app.cast_ballot(vote, "yes", owner(head.owners[0]))
    before = close_at_end(app, vote, OC).result
    # A ballot that raced the close: stored after the Closed event, so never counted.
    late = Ballot.start(
        ballot_id(vote, heads[35].head_id),
        world.clock.now(),
        heads[35].owners[0],
        "",
        vote_id=vote,
        elector_id=heads[35].head_id,
        choice="no",
        channel="online",
        receipt="LATE",
    )
    app.save(late)
    tally = q.vote_tally(vote)
    assert tally.result == before == app.tally(vote)
    assert tally.late_ballots == 1 and tally.state == "closed" and tally.recorded_passed is True
    status = q.ballot(vote, heads[35].head_id)
    assert status is not None and not status.counted and status.choice is None


def test_silent_majority_shows_raw_and_deemed(world: World) -> None:
    app, q = world.app, world.queries
    estate = setup_place(app, synthetic_roll(30))
    _, (vote,) = open_owners_vote(app, world.clock, estate, silent_majority=True)
    heads = heads_of(app, estate)
    for i, head in enumerate(heads[: len(heads) * 3 // 4 + 1]):
        app.cast_ballot(vote, "no" if i % 5 == 0 else "yes", owner(head.owners[0]))
    result = q.vote_tally(vote).result
    assert result == app.tally(vote)
    assert result.deemed is not None and result.silent_majority == SilentMajorityStatus.APPLIED
    assert result.deemed.by_choice[Choice.YES].heads > result.raw.by_choice[Choice.YES].heads


def test_quorum_progress_says_what_is_missing(world: World) -> None:
    app, q = world.app, world.queries
    estate = setup_place(app, synthetic_roll(30))
    _, (vote,) = open_owners_vote(app, world.clock, estate)
    heads = heads_of(app, estate)
    app.cast_ballot(vote, "yes", owner(heads[0].owners[0]))
    progress = {p.check.key: p for p in q.vote_tally(vote).quorum}
    total = len(heads)
    assert progress["quorum.heads"].needed == -(-2 * total // 3)  # ceil(2/3 · heads)
    assert progress["quorum.heads"].missing == progress["quorum.heads"].needed - 1
    area = progress["quorum.area"]
    assert (
        isinstance(area.needed, Decimal)
        and area.needed * 3 >= 2 * app.owners_electorate(estate).total_area
    )
    assert area.missing == area.needed - heads[0].area


def test_read_your_writes(world: World) -> None:
    app, q = world.app, world.queries
    estate = setup_place(app, synthetic_roll(20))
    _, (vote,) = open_owners_vote(app, world.clock, estate)
    head = heads_of(app, estate)[3]
    receipt = app.cast_ballot(vote, "no", owner(head.owners[0]))
    assert world.projector.wait(receipt.position, timeout=2) >= receipt.position
    status = q.ballot(vote, head.head_id)
    assert (
        status is not None and status.counted and status.choice == Choice.NO and not status.changed
    )
    assert q.ballot(vote, "H:nobody") is None


def test_wait_times_out_with_a_clear_error(url: str, clock: FixedClock) -> None:
    app = build_app(url, clock=clock)
    store = open_store(url)
    projector = Projector(app, store)  # not attached: nothing applies new events
    try:
        estate = setup_place(app, synthetic_roll(5))
        position = app.recorder.max_notification_id() or 0
        assert app.roll_version(estate) == 1
        with pytest.raises(ProjectionTimeoutError) as err:
            projector.wait(position, timeout=0.05)
        assert err.value.position == position and err.value.reached == 0
        assert "consult projections run" in str(err.value)
        projector.catch_up()
        assert projector.wait(position, timeout=0.05) == position
        with pytest.raises(KeyError):
            projector.positions(["no-such-view"])
    finally:
        store.dispose()
        app.close()


def test_concurrent_writers_each_see_their_ballot_counted(url: str, clock: FixedClock) -> None:
    w = World(url, clock)
    try:
        estate = setup_place(w.app, synthetic_roll(80))
        _, (vote,) = open_owners_vote(w.app, clock, estate)
        heads = heads_of(w.app, estate)
        errors: list[BaseException] = []

        def voter(part: list[Any]) -> None:
            try:
                for head in part:
                    receipt = w.app.cast_ballot(vote, "yes", owner(head.owners[0]))
                    w.projector.wait(receipt.position, timeout=10)
                    status = w.queries.ballot(vote, head.head_id)
                    assert status is not None and status.counted
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=voter, args=(heads[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert w.queries.vote_tally(vote).result == w.app.tally(vote)
        assert w.queries.vote_tally(vote).result.raw.by_choice[Choice.YES].heads == len(heads)
    finally:
        w.close()


def test_motion_progress_tabling_and_escalation(world: World) -> None:
    app, q, clock = world.app, world.queries, world.clock
    estate = setup_place(app, synthetic_roll(60))
    heads = heads_of(app, estate)
    opened = app.open_motion(estate, "加装门禁", "为各楼栋加装门禁。", owner(heads[0].owners[0]))
    motion, case = opened.motion_id, opened.case_id
    for head in heads[:2]:
        app.sign_motion(motion, owner(head.owners[0]))
    app.withdraw_signature(motion, owner(heads[1].owners[0]))
    status = q.motion_progress(motion)
    domain = app.motion(motion)
    assert status.progress == domain.progress() and status.signed_heads == 1
    assert status.state == MotionState.OPEN and status.days_left == 30
    signed = 1
    while app.motion(motion).state != MotionState.TABLED:
        app.sign_motion(motion, owner(heads[signed + 1].owners[0]))
        signed += 1
    status = q.motion_progress(motion)
    assert (
        status.state == MotionState.TABLED and status.progress.reached and status.days_left is None
    )
    assert status.answer_due == clock.now() + timedelta(days=15) and status.escalated_at is None
    assert status.progress == app.motion(motion).progress()
    # Not answered in time: the deadline shows as overdue, then it is escalated to the street.
    clock.advance(days=16)
    board = q.dashboard(Scope.ESTATE, estate)
    assert [(d.case_id, d.kind) for d in board.overdue] == [(case, DeadlineKind.ANSWER)]
    app.process_deadlines()
    assert q.motion_progress(motion).escalated_at == clock.now()
    board = q.dashboard("street", app.estate(estate).street_id)
    assert [d.kind for d in board.overdue] == [DeadlineKind.ESCALATION]
    assert [m.motion_id for m in q.motions(estate)] == [motion]


def test_a_whole_case_on_every_view(world: World) -> None:
    app, q, clock = world.app, world.queries, world.clock
    estate = setup_place(app, synthetic_roll(40))
    community = app.estate(estate).community_id
    council = app.create_council(estate, "four-in-one", PARTY)
    for party, holder in [
        ("party-organisation", "party-1"),
        ("residents-committee", "rc-1"),
        ("owners-committee", "oc-1"),
        ("property-company", "pm-1"),
    ]:
        app.assign_seats(council, party, [holder], PARTY)
    positions = {
        p: {"position": "agree", "text": ""}
        for p in ["party-organisation", "residents-committee", "owners-committee"]
    }
    positions["property-company"] = {"position": "reserve", "text": "需要预算"}

    def deliberate(case: UUID) -> None:
        attendees = ["party-1", "rc-1", "oc-1", "pm-1"]
        app.record_session(
            case,
            "council",
            clock.now(),
            attendees,
            [],
            positions,
            ["一户反对"],
            OC,
            council=council,
        )

    case, (vote,) = open_owners_vote(app, clock, estate, deliberate=deliberate)
    heads = heads_of(app, estate)
    for head in heads[:30]:
        app.cast_ballot(vote, "yes", owner(head.owners[0]))
    close_at_end(app, vote, OC)
    app.publish_result(case, "通过", OC)
    app.assign_implementation(case, "pm-1", "一个月内完成", clock.now() + timedelta(days=30), OC)

    # Councils: each party's position, and no consensus while one party reserves.
    council_view = q.council_positions(case)
    assert council_view.consensus is False
    latest = council_view.latest
    assert latest is not None and [p.party for p in latest.positions] == list(positions)
    assert latest.positions[3].position == "reserve" and latest.positions[3].holders == ("pm-1",)
    assert latest.dissent == ("一户反对",)

    # Implementation overdue appears on the estate's, the community's and the street's dashboards.
    clock.advance(days=31)
    for scope, ident in [
        ("estate", estate),
        ("community", community),
        ("street", app.estate(estate).street_id),
    ]:
        board = q.dashboard(scope, ident)
        assert board.cases_by_stage == {Stage.IMPLEMENTATION: 1}
        assert [d.kind for d in board.overdue] == [DeadlineKind.IMPLEMENTATION]
        assert board.overdue[0].overdue_by == timedelta(days=1)
        (turnout,) = board.turnout
        assert (
            turnout.participating_heads == 30
            and turnout.heads_rate == app.tally(vote).raw.quorum[1].ratio
        )

    app.give_feedback(case, "已完工", [], OC)
    app.open_evaluation(case, clock.now() + timedelta(days=5), OC)
    for i, rating in enumerate([Rating.SATISFIED, Rating.DISSATISFIED, Rating.BASICALLY_SATISFIED]):
        app.rate(case, rating.value, True, i == 0, owner(heads[i].owners[0]))
    outcome = app.close_evaluation(case, OC)
    (satisfaction,) = q.dashboard(Scope.ESTATE, estate).satisfaction
    assert satisfaction.satisfaction == outcome.rates.satisfaction
    assert satisfaction.participation == outcome.rates.participation and satisfaction.closed

    # The timeline lists every event of the case, its vote and its evaluation, in log order.
    timeline = q.case_timeline(case).entries
    kinds = {e.kind for e in timeline}
    assert kinds == {"case", "vote", "evaluation"}
    case_events = [e for e in timeline if e.kind == "case"]
    assert [e.version for e in case_events] == list(range(1, app.case(case).version + 1))
    assert [e.position for e in timeline] == sorted(e.position for e in timeline)
    assert all(e.actor and e.summary_zh and e.summary_en for e in timeline)
    assert all(e.summary_en != e.event for e in timeline)  # every event has a written summary
    rated = [e for e in timeline if e.event == "Rated"]
    assert len(rated) == 3 and all(
        "satisf" not in e.summary_en for e in rated
    )  # ratings stay private

    summary = q.case(case)
    assert summary.stage == Stage.EVALUATION == app.case(case).stage and summary.passed is True
    assert [c.case_id for c in q.cases(estate_id=estate)] == [case]
    assert q.cases(community_id=community, stage="archived") == ()


def test_cases_paged_in_sql_with_the_number_that_match(world: World) -> None:
    app, q, clock = world.app, world.queries, world.clock
    estate = setup_place(app, synthetic_roll(20))
    other = app.create_estate("EST2", "另一小区", "C01", OPERATOR)
    app.import_roll(other, synthetic_roll(10), RC, source_name="roll2.csv")
    submitted = []
    for i, head in enumerate(heads_of(app, estate)[:7]):
        clock.advance(minutes=5)
        case = app.submit_topic(estate, f"议题{i}", "说明", "online", owner(head.owners[0])).id
        if i % 3 == 0:
            app.confirm_topic(case, "owners-assembly", ["业主"], PARTY)
        submitted.append(case)
    for head in heads_of(app, other)[:2]:
        clock.advance(minutes=5)
        app.submit_topic(other, "别处议题", "说明", "online", owner(head.owners[0]))
    newest_first = submitted[::-1]

    pages = [q.case_page(estate_id=estate, limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p.items) for p in pages] == [3, 3, 1, 0]
    assert {p.total for p in pages} == {7}
    assert [c.case_id for p in pages for c in p.items] == newest_first
    assert [c.case_id for c in q.cases(estate_id=estate)] == newest_first
    one = q.case_page(estate_id=estate, limit=50)
    assert (one.total, len(one.items), one.limit, one.offset) == (7, 7, 50, 0)

    confirmed = q.case_page(estate_id=estate, stage=app.case(submitted[0]).stage, limit=2)
    assert confirmed.total == 3 and len(confirmed.items) == 2
    assert all(c.stage == app.case(submitted[0]).stage for c in confirmed.items)
    community = app.estate(estate).community_id
    assert community == app.estate(other).community_id
    everywhere = q.case_page(community_id=community, limit=4)
    assert everywhere.total == 9 and len(everywhere.items) == 4
    assert q.case_page(estate_id=other, stage="archived").total == 0
    for limit, offset in ((0, 0), (3, -1)):
        with pytest.raises(ValueError, match="limit"):
            q.case_page(estate_id=estate, limit=limit, offset=offset)


def test_the_past_as_of_any_moment(world: World) -> None:
    app, q, clock = world.app, world.queries, world.clock
    estate = setup_place(app, synthetic_roll(30))
    case, (vote,) = open_owners_vote(app, clock, estate)
    heads = heads_of(app, estate)
    seen: list[tuple[datetime, Any]] = []
    for i, head in enumerate(heads[:12]):
        clock.advance(hours=1)
        app.cast_ballot(vote, "yes" if i % 3 else "no", owner(head.owners[0]))
        if i == 5:
            clock.advance(hours=1)
            app.cast_ballot(vote, "abstain", owner(heads[0].owners[0]))  # a change
        seen.append((clock.now(), app.tally(vote)))
    clock.advance(hours=1)
    close_at_end(app, vote, OC)
    for moment, expected in seen:
        as_of = q.tally_as_of(vote, moment)
        assert as_of.result == expected
        assert q.tally_as_of(vote, moment + timedelta(minutes=30)).result == expected
    with pytest.raises(NotFoundError):
        q.tally_as_of(vote, clock.now() - timedelta(days=30))

    # The case as it stood: voting before the close, under notice before the meeting.
    during = seen[3][0]
    then = q.case_as_of(case, during)
    assert (
        then.case.stage == Stage.VOTING and then.version == app.case(case).version - 1
    )  # not yet concluded
    opened = q.vote_tally(vote).opened_at
    assert q.case_as_of(case, opened - timedelta(days=1)).case.stage == Stage.NOTICE

    # The roll: an owner changes; the roll as it stood before and after.
    before = clock.now()
    clock.advance(days=1)
    app.change_owner(estate, "U0003", ["NEW-1"], "person", "过户登记", RC)
    old, new = q.roll_as_of(estate, before), q.roll_as_of(estate, clock.now())
    assert (old.version, new.version) == (1, 2)
    assert old.units[3].owners != ("NEW-1",) and new.units[3].owners == ("NEW-1",)
    assert new.summary == app.roll_summary(estate)
    with pytest.raises(NotFoundError):
        q.roll_as_of(estate, before - timedelta(days=365))


def test_rebuild_gives_exactly_the_incremental_rows(world: World) -> None:
    app, clock = world.app, world.clock
    estate = setup_place(app, synthetic_roll(40))
    case, votes = open_owners_vote(app, clock, estate, items=2)
    heads = heads_of(app, estate)
    rng = random.Random(11)
    for head in heads:
        for vote in votes:
            if rng.random() < 0.7:
                app.cast_ballot(vote, rng.choice(["yes", "no", "abstain"]), owner(head.owners[0]))
    app.enter_paper_ballot(votes[0], heads[-1].head_id, "no", "P-9", TELLER_A)
    with contextlib.suppress(AlreadyVotedError):
        app.confirm_paper_ballot(votes[0], heads[-1].head_id, "no", TELLER_B)
    close_at_end(app, votes[0], OC)
    motion = app.open_motion(estate, "动议", "说明", owner(heads[0].owners[0])).motion_id
    app.sign_motion(motion, owner(heads[0].owners[0]))
    app.revoke(case, "街责1号", STREET, "程序违法")
    incremental = view_rows(world.store)
    assert incremental["view_ballot_event"] and incremental["view_case_event"]
    world.projector.rebuild()
    assert view_rows(world.store) == incremental
    world.projector.rebuild(["tallies"])
    assert view_rows(world.store) == incremental
    for vote in votes:
        assert world.queries.vote_tally(vote).result == app.tally(vote)


def test_a_changed_view_version_rebuilds_that_view(url: str, clock: FixedClock) -> None:
    w = World(url, clock)
    try:
        estate = setup_place(w.app, synthetic_roll(20))
        _, (vote,) = open_owners_vote(w.app, clock, estate)
        w.app.cast_ballot(vote, "yes", owner(heads_of(w.app, estate)[0].owners[0]))
        rows = view_rows(w.store)

        class TalliesV2(TalliesView):
            version = TalliesView.version + 1

        views = [
            TalliesV2(w.app, w.store) if v.name == "tallies" else v
            for v in default_views(w.app, w.store)
        ]
        upgraded = Projector(w.app, w.store, views=views)
        assert upgraded.positions()["tallies"] == 0 < upgraded.positions()["cases"]
        upgraded.catch_up()
        assert view_rows(w.store) == rows
    finally:
        w.close()


@pytest.mark.backends("sqlite", "postgres")  # the command opens the store in its own app
def test_cli_rebuild_run_and_status(
    url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULT_DATABASE_URL", url)
    w = World(url, clock)
    try:
        estate = setup_place(w.app, synthetic_roll(20))
        _, (vote,) = open_owners_vote(w.app, clock, estate)
        w.app.cast_ballot(vote, "no", owner(heads_of(w.app, estate)[0].owners[0]))
        rows = view_rows(w.store)
        runner = CliRunner()
        result = runner.invoke(projections_cli, ["rebuild", "tallies", "--section-size", "3"])
        assert result.exit_code == 0, result.output
        assert "rebuilt tallies up to log position" in result.output
        assert view_rows(w.store) == rows
        result = runner.invoke(projections_cli, ["rebuild", "nonsense"])
        assert result.exit_code == 2 and "nonsense" in result.output
        result = runner.invoke(projections_cli, ["status"])
        assert result.exit_code == 0 and result.output.count("up to date") == len(w.projector.names)
    finally:
        w.close()


@pytest.mark.parametrize("compressed", [False, True])
def test_ballot_rows_read_from_json_equal_the_mappers(clock: FixedClock, compressed: bool) -> None:
    env = {**ConsultationApp.env, "PERSISTENCE_MODULE": "eventsourcing.popo"}
    if compressed:
        env["COMPRESSOR_TOPIC"] = "eventsourcing.compressor:ZlibCompressor"
    app = ConsultationApp(env=env, clock=clock)
    estate = setup_place(app, synthetic_roll(12))
    _, (vote,) = open_owners_vote(app, clock, estate)
    for i, head in enumerate(heads_of(app, estate)):
        app.cast_ballot(vote, "yes", owner(head.owners[0]))
        if i % 2:
            clock.advance(seconds=1.5)
            app.cast_ballot(vote, "no", owner(head.owners[0]))
    decoder = EventDecoder(app.mapper)
    assert decoder.fast is not compressed
    ballots = [n for n in app.recorder.select_notifications(1, 10_000) if n.topic in BALLOT_TOPICS]
    assert len(ballots) > 12 and any(n.originator_version == 2 for n in ballots)
    for n in ballots:
        expected = ballot_row_from_event(n.id, app.mapper.to_domain_event(n))
        fields = (n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
        assert decoder.ballot(*fields) == expected
        if not compressed:
            assert ballot_row_from_json(*fields) == expected


@pytest.mark.backends("sqlite", "postgres")  # the child process opens the store itself
def test_a_rebuild_reading_the_log_in_a_child_process(
    url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = World(url, clock, section_size=7)
    started: list[ProcessReader] = []
    original = ProcessReader.__init__

    def spy(self: ProcessReader, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(ProcessReader, "__init__", spy)
    try:
        estate = setup_place(w.app, synthetic_roll(40))
        _, (vote,) = open_owners_vote(w.app, clock, estate)
        for i, head in enumerate(heads_of(w.app, estate)):
            w.app.cast_ballot(vote, "yes" if i % 3 else "no", owner(head.owners[0]))
        rows = view_rows(w.store)
        assert not started  # commands catch up a few events at a time: no process for that
        # Every section from the child ...
        monkeypatch.setattr(ProcessReader, "read_while_starting", False)
        projector = Projector(w.app, w.store, section_size=7, read_process_threshold=0)
        projector.spare_core = lambda: True  # however busy the machine running the tests
        projector.rebuild()
        assert len(started) == 1 and started[0]._process.poll() is not None
        assert started[0].taken == (w.app.recorder.max_notification_id() or 0) // 7 + 1
        assert view_rows(w.store) == rows
        assert w.queries.vote_tally(vote).result == w.app.tally(vote)
        # ... or the first ones read here while the child starts, the child's copies skipped.
        monkeypatch.setattr(ProcessReader, "read_while_starting", True)
        projector.rebuild()
        assert len(started) == 2 and started[1]._process.poll() is not None
        assert view_rows(w.store) == rows
        # No core to spare: the log is read in this process.
        projector.spare_core = lambda: False
        projector.rebuild()
        assert len(started) == 2 and view_rows(w.store) == rows
    finally:
        w.close()


def test_the_latest_evaluation_round_and_who_rated(world: World) -> None:
    app, q, clock = world.app, world.queries, world.clock
    estate = setup_place(app, synthetic_roll(20))
    case, (vote,) = open_owners_vote(app, clock, estate)
    app.change_settings(estate, {"evaluation_min_responses": 3}, OC)  # three answers decide
    heads = heads_of(app, estate)
    for head in heads[:15]:
        app.cast_ballot(vote, "yes", owner(head.owners[0]))
    close_at_end(app, vote, OC)
    app.publish_result(case, "通过", OC)
    app.assign_implementation(case, "pm-1", "施工", clock.now() + timedelta(days=30), OC)
    app.give_feedback(case, "已完工", [], OC)
    assert q.evaluation(case) is None
    app.open_evaluation(case, clock.now() + timedelta(days=5), OC)
    raters = [owner(h.owners[0]) for h in heads[:3]]
    for i, rating in enumerate([Rating.SATISFIED, Rating.DISSATISFIED, Rating.DISSATISFIED]):
        app.rate(case, rating.value, i != 2, i == 0, raters[i])
    ev = app.evaluation(case)
    rates = ev.rates()
    found = q.evaluation(case)
    assert found is not None and found.evaluation_id == ev.id and found.round_no == 1
    assert (found.eligible, found.respondents, found.closes_at) == (
        rates.eligible,
        rates.respondents,
        ev.closes_at,
    )
    assert (found.satisfaction, found.awareness, found.participation, found.response) == (
        rates.satisfaction,
        rates.awareness,
        rates.participation,
        rates.response,
    )
    assert dict(found.counts) == rates.counts and not found.closed
    assert q.has_rated(case, ev.id, raters[0].person_id)
    assert not q.has_rated(case, ev.id, owner(heads[5].owners[0]).person_id)

    # Dissatisfied: the round closes and the case is rectified; the next round is the latest.
    app.close_evaluation(case, OC)
    app.report_progress(case, 100, "已整改", OC)
    app.give_feedback(case, "已整改完毕", [], OC)
    app.open_evaluation(case, clock.now() + timedelta(days=5), OC)
    latest = q.evaluation(case)
    assert latest is not None and latest.round_no == 2 and latest.respondents == 0
    assert not q.has_rated(case, latest.evaluation_id, raters[0].person_id)

    # The case's version at a moment: none before it was submitted, the latest now.
    assert q.case_version_at(case, app.case(case).created_on - timedelta(seconds=1)) is None
    version, at = q.case_version_at(case, clock.now()) or (0, None)
    assert version == app.case(case).version and at == app.case(case).modified_on
