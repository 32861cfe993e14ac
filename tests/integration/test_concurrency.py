"""Concurrent writers against a real store: one ballot per head, one tabling, a clean close.

Several `ConsultationApp` instances on one database stand for several processes; each has its
own aggregate cache, so these tests also check that nothing relies on one process's memory.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from consult.application import BallotReceipt, ConsultationApp, SignatureResult
from consult.case import Case
from consult.clock import FixedClock
from consult.errors import (
    AlreadySignedError,
    AlreadyVotedError,
    ConcurrencyError,
    ConsultError,
    MotionClosedError,
    VoteClosedBeforeBallotError,
    VoteNotOpenError,
)
from consult.motion import MotionState
from consult.rules import Choice, MotionBasis, MotionEffect, ThresholdRule
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app
from tests.conftest import OC, OPERATOR, owner
from tests.integration.test_case import World, make_world, plain_units

THREADS = 16
INSTANCES = 4
CHOICES = ("yes", "no", "abstain")


@pytest.fixture
def apps(store_url: str, clock: FixedClock) -> Iterator[list[ConsultationApp]]:
    """Several applications (as if several processes) on the same database."""
    instances = [build_app(store_url, clock=clock) for _ in range(INSTANCES)]
    yield instances
    for app in instances:
        app.close()


@dataclass
class Outcome:
    thread: int
    key: str
    value: Any = None
    error: BaseException | None = None


def run_together(jobs: list[Callable[[], list[Outcome]]]) -> list[Outcome]:
    """Start every job at the same moment; return every outcome (or the job's crash)."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker(i: int, job: Callable[[], list[Outcome]]) -> None:
        barrier.wait()
        try:
            result = job()
        except BaseException as e:  # a crash of the harness itself must fail the test
            result = [Outcome(i, "<job>", error=e)]
        with lock:
            outcomes.extend(result)

    threads = [threading.Thread(target=worker, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def attempt(thread: int, key: str, call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(thread, key, value=call())
    except Exception as e:  # collected: the test decides which are acceptable
        return Outcome(thread, key, error=e)


def unexpected(outcomes: list[Outcome], allowed: tuple[type[ConsultError], ...]) -> list[Outcome]:
    return [o for o in outcomes if o.error is not None and not isinstance(o.error, allowed)]


def created_ballots(app: ConsultationApp, vote_id: UUID, head: str) -> int:
    topic = get_topic(Ballot.Created)
    return sum(1 for e in app.recorder.select_events(ballot_id(vote_id, head)) if e.topic == topic)


def open_owners_vote(w: World) -> UUID:
    cid = w.deliberating()
    return w.open_vote(cid, "1")


# --- one ballot per head --------------------------------------------------------------------------


@pytest.mark.parametrize("change_allowed", [False, True])
def test_concurrent_casts_store_exactly_one_ballot_per_head(
    apps: list[ConsultationApp], clock: FixedClock, change_allowed: bool
) -> None:
    heads = 8
    w = make_world(apps[0], clock, plain_units(heads))
    apps[0].change_settings(w.estate, {"vote_change_allowed": change_allowed}, OC)
    vote_id = open_owners_vote(w)

    def job(i: int) -> Callable[[], list[Outcome]]:
        app = apps[i % INSTANCES]
        mine = [1 + (i + 2 * k) % heads for k in range(4)]  # 16 x 4: each head 8 times
        choice = CHOICES[i % 3]
        return lambda: [
            attempt(i, f"H:O{n}", lambda n=n: app.cast_ballot(vote_id, choice, owner(f"O{n}")))
            for n in mine
        ]

    outcomes = run_together([job(i) for i in range(THREADS)])
    surprises = unexpected(outcomes, (AlreadyVotedError,))
    assert not surprises, surprises
    receipts: dict[str, list[BallotReceipt]] = defaultdict(list)
    for o in outcomes:
        if o.error is None:
            receipts[o.key].append(o.value)

    app = apps[0]
    counted = app.ballots(app.vote(vote_id))
    attempted = {o.key for o in outcomes}
    assert attempted == {f"H:O{n}" for n in range(1, heads + 1)}
    assert set(receipts) == attempted == set(counted)
    for head, got in receipts.items():
        assert created_ballots(app, vote_id, head) == 1
        assert sum(not r.changed for r in got) == 1
        assert sum(r.changed for r in got) <= (1 if change_allowed else 0)
        last = next((r for r in got if r.changed), got[0])
        assert counted[head] == last.choice
        assert len({r.ballot_id for r in got}) == 1
    result = app.close_vote(vote_id, OC).result
    assert result.raw.total.heads == heads
    assert result.raw.participating.heads + result.raw.not_voted.heads == heads
    assert sum(c.heads for c in result.raw.by_choice.values()) == len(attempted)
    assert app.tally(vote_id).to_dict() == result.to_dict()


# --- co-signatures --------------------------------------------------------------------------------


HALF_BY_HEADS = ThresholdRule(
    key="half",
    name_zh="半数",
    name_en="half",
    source_zh="测试",
    source_en="test",
    pct=Fraction(1, 2),
    basis=MotionBasis.HEADS,
    window_days=30,
    withdrawable=True,
    effect=MotionEffect.TABLE_TOPIC,
    answer_days=15,
)


def test_concurrent_cosignatures_count_each_head_once_and_table_once(
    apps: list[ConsultationApp], clock: FixedClock
) -> None:
    heads = 24  # tabled at 12 heads
    w = make_world(apps[0], clock, plain_units(heads))
    opened = apps[0].open_motion(w.estate, "议题", "内容", OPERATOR, rule=HALF_BY_HEADS)
    motion_id, case_id = opened.motion_id, opened.case_id

    def job(i: int) -> Callable[[], list[Outcome]]:
        app = apps[i % INSTANCES]
        mine = [1 + (i * 3 + k) % heads for k in range(3)]  # each head by 2 threads
        return lambda: [
            attempt(i, f"H:O{n}", lambda n=n: app.sign_motion(motion_id, owner(f"O{n}")))
            for n in mine
        ]

    outcomes = run_together([job(i) for i in range(THREADS)])
    # ConcurrencyError: a signer that lost every retry is told so.
    allowed = (AlreadySignedError, MotionClosedError, ConcurrencyError)
    surprises = unexpected(outcomes, allowed)
    assert not surprises, surprises
    results: list[SignatureResult] = [o.value for o in outcomes if o.error is None]
    signed_by_results = Counter(h for r in results for h in r.head_ids)
    assert all(n == 1 for n in signed_by_results.values())  # no head was counted twice

    app = apps[0]
    motion = app.motion(motion_id)
    assert set(motion.signed) == set(signed_by_results)
    assert len(motion.signed) == 12
    assert motion.state == MotionState.TABLED
    assert sum(r.tabled for r in results) == 1
    motion_events = Counter(type(e).__name__ for e in app.events.get(motion_id))  # type: ignore[attr-defined]
    assert motion_events["Signed"] == 12 and motion_events["Tabled"] == 1
    case_topics = [e.topic for e in app.recorder.select_events(case_id)]
    assert case_topics.count(get_topic(Case.Tabled)) == 1
    assert app.case(case_id).tabled_by_motion
    # Every refusal after the tabling says the motion is closed, not something vaguer.
    closed = [o for o in outcomes if isinstance(o.error, MotionClosedError)]
    assert all(o.error.params["state_en"].startswith("threshold reached") for o in closed)  # type: ignore[union-attr]


# --- casting while the vote closes ------------------------------------------------------------------


def test_a_cast_racing_the_close_is_counted_exactly_when_it_got_a_receipt(
    apps: list[ConsultationApp], clock: FixedClock, store_url: str
) -> None:
    heads = 48
    w = make_world(apps[0], clock, plain_units(heads))
    vote_id = open_owners_vote(w)
    some_receipts = threading.Event()
    receipts_so_far = Counter[str]()
    lock = threading.Lock()

    def caster(i: int) -> Callable[[], list[Outcome]]:
        app = apps[i % INSTANCES]
        mine = [1 + i * 3 + k for k in range(3)]  # distinct heads: 48 casts in all

        def cast(n: int) -> BallotReceipt:
            receipt = app.cast_ballot(vote_id, "yes", owner(f"O{n}"))
            with lock:
                receipts_so_far["n"] += 1
                if receipts_so_far["n"] >= 8:
                    some_receipts.set()
            return receipt

        return lambda: [attempt(i, f"H:O{n}", lambda n=n: cast(n)) for n in mine]

    # The closing process's clock has reached the published end; the casters' has not quite.
    closing_app = build_app(store_url, clock=FixedClock(apps[0].vote(vote_id).closes_at))

    def closer() -> list[Outcome]:
        some_receipts.wait(timeout=60)
        return [attempt(THREADS, "close", lambda: closing_app.close_vote(vote_id, OC))]

    try:
        outcomes = run_together([*(caster(i) for i in range(THREADS)), closer])
    finally:
        closing_app.close()
    close = next(o for o in outcomes if o.key == "close")
    assert close.error is None, close.error
    casts = [o for o in outcomes if o.key != "close"]
    refused_types = (VoteClosedBeforeBallotError, VoteNotOpenError)
    surprises = unexpected(casts, refused_types)
    assert not surprises, surprises

    app = apps[0]
    vote = app.vote(vote_id)
    assert vote.result is not None
    counted = app.ballots(vote, vote.result["close_position"])
    accepted = {o.key for o in casts if o.error is None}
    refused = {o.key for o in casts if o.error is not None}
    assert len(casts) == heads and not accepted & refused
    assert set(counted) == accepted  # a receipt means counted; a refusal means not counted
    assert all(choice == Choice.YES for choice in counted.values())
    result = app.tally(vote_id)
    assert result.raw.by_choice[Choice.YES].heads == len(accepted)
    assert len(accepted) >= 8
    # The result recorded at the close should equal this too; under this race it often counts
    # refused ballots: see the deterministic test below.


def test_a_ballot_committed_while_the_close_is_counted_is_not_in_the_recorded_result(
    app: ConsultationApp, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_world(app, clock)
    vote_id = open_owners_vote(w)
    app.cast_ballot(vote_id, "yes", owner("O1"))
    select_notifications = app.recorder.select_notifications
    late_ballots: list[UUID] = []

    def then_a_late_ballot_commits(*args: Any, **kwargs: Any) -> Any:
        batch = select_notifications(*args, **kwargs)
        if get_topic(Ballot.Created) in kwargs.get("topics", ()) and not late_ballots:
            # Another process checked the vote before the close and stores its ballot now.
            bid = ballot_id(vote_id, "H:O2")
            late = Ballot.start(
                bid, clock.now(), "O2", "", vote_id=vote_id, elector_id="H:O2", choice="yes",
                channel="online", receipt="LATE",
            )  # fmt: skip
            app.save(late)
            late_ballots.append(bid)
        return batch

    monkeypatch.setattr(app.recorder, "select_notifications", then_a_late_ballot_commits)
    clock.set(app.vote(vote_id).closes_at)  # the vote closes at its published end
    result = app.close_vote(vote_id, OC).result
    monkeypatch.undo()
    assert late_ballots  # the late ballot was stored after the close event
    assert result.raw.by_choice[Choice.YES].heads == 1
    recorded = app.vote(vote_id).result
    assert recorded is not None and recorded["raw"]["by_choice"]["yes"]["heads"] == 1
    assert app.tally(vote_id).to_dict() == result.to_dict()


# --- many writers, one case -----------------------------------------------------------------------


def test_concurrent_supports_and_statements_are_kept_exactly_when_acknowledged(
    apps: list[ConsultationApp], clock: FixedClock
) -> None:
    w = make_world(apps[0], clock, plain_units(THREADS))
    collecting = w.submit()
    deliberating = w.deliberating(opinion=False)

    def job(i: int) -> Callable[[], list[Outcome]]:
        app = apps[i % INSTANCES]
        person = owner(f"O{i + 1}")
        return lambda: [
            attempt(i, f"O{i + 1}", lambda: app.support_topic(collecting, person)),
            attempt(i, f"第{i}位发言", lambda: app.speak(deliberating, f"第{i}位发言", person)),
        ]

    outcomes = run_together([job(i) for i in range(THREADS)])
    # Losing every retry to the other writers is reported as a conflict.
    surprises = unexpected(outcomes, (ConcurrencyError,))
    assert not surprises, surprises
    done = {o.key for o in outcomes if o.error is None}
    app = apps[0]
    supporters = app.case(collecting).supporters
    assert len(supporters) == len(set(supporters))
    assert set(supporters) == {k for k in done if k.startswith("O")}
    said = [s["text"] for s in app.case(deliberating).statements][1:]  # after the first one
    assert sorted(said) == sorted(k for k in done if not k.startswith("O"))


def test_a_command_survives_losing_a_race_to_each_of_fifteen_other_writers(
    app: ConsultationApp, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_world(app, clock)
    cid = w.submit()
    insert_events = app.recorder.insert_events
    lost: list[int] = []

    def another_writer_won(*args: Any, **kwargs: Any) -> Any:
        if len(lost) < THREADS - 1:
            lost.append(1)
            raise IntegrityError("another writer saved this version first")
        return insert_events(*args, **kwargs)

    monkeypatch.setattr(app.recorder, "insert_events", another_writer_won)
    app.support_topic(cid, owner("O5"))
    monkeypatch.undo()
    assert app.case(cid).supporters == ["O5"]
