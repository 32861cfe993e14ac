"""Group commit of ballots (``consult.adapters.committer``) against real SQLite and PostgreSQL stores.

Concurrent first ballots are saved in one transaction. These tests hold the committer's first
transaction back (a gate before the real save) so that a batch forms deterministically behind it,
then check what every caller was told against what the store holds: each acknowledged ballot is
stored exactly once, a conflicting ballot fails alone, and a batch committed after the close is
refused and never counted. The last test casts from several real processes while the vote closes.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from consult.application import BallotReceipt, ConsultationApp
from consult.clock import FixedClock
from consult.errors import (
    AlreadyVotedError,
    ConsultError,
    VoteClosedBeforeBallotError,
    VoteNotOpenError,
)
from consult.rules import Choice
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app
from tests.conftest import OC, owner
from tests.integration.test_case import World, make_world, plain_units

HEADS = 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    )


@pytest.fixture
def app(url: str, clock: FixedClock) -> Iterator[ConsultationApp]:
    application = build_app(url, clock=clock)
    yield application
    application.close()


def open_vote(w: World) -> UUID:
    return w.open_vote(w.deliberating(), "1")


class Gate:
    """Holds the committer's first transaction until opened; later ones pass."""

    def __init__(self, app: ConsultationApp) -> None:
        self.committer = app._ballot_committer()
        self.real_save = self.committer._save
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.committer._save = self.save

    def save(self, *events: Any) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            assert self.opened.wait(60)
        return self.real_save(*events)

    def queued(self, n: int) -> None:
        """Wait until ``n`` callers are queued behind the held transaction."""
        deadline = time.monotonic() + 60
        while len(self.committer._queue) < n:
            assert time.monotonic() < deadline, "the casts did not queue"
            time.sleep(0.005)


def cast_in_thread(
    app: ConsultationApp, vote_id: UUID, person: str, choice: str, results: dict[str, Any]
) -> threading.Thread:
    def run() -> None:
        try:
            results[person] = app.cast_ballot(vote_id, choice, owner(person))
        except ConsultError as e:
            results[person] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def stored_events(app: ConsultationApp, vote_id: UUID, person: str) -> list[str]:
    """The ballot events of the head of owner ``person`` (each owner O<n> is one head)."""
    head = f"H:{person}"
    return [s.topic for s in app.recorder.select_events(ballot_id(vote_id, head))]


CREATED, CHANGED = get_topic(Ballot.Created), get_topic(Ballot.Changed)


def test_concurrent_first_ballots_commit_together_and_each_is_stored_once(
    app: ConsultationApp, clock: FixedClock
) -> None:
    w = make_world(app, clock, plain_units(HEADS))
    vote_id = open_vote(w)
    gate = Gate(app)
    results: dict[str, Any] = {}
    threads = [cast_in_thread(app, vote_id, "O1", "yes", results)]
    assert gate.entered.wait(60)
    threads += [cast_in_thread(app, vote_id, f"O{i}", "no", results) for i in range(2, HEADS + 1)]
    gate.queued(HEADS - 1)
    gate.opened.set()
    for t in threads:
        t.join(60)

    receipts = [results[f"O{i}"] for i in range(1, HEADS + 1)]
    assert all(isinstance(r, BallotReceipt) and not r.changed for r in receipts), receipts
    assert gate.committer.batches == 2  # the held one, then everyone queued behind it at once
    assert len({r.position for r in receipts}) == HEADS
    for i in range(1, HEADS + 1):
        assert stored_events(app, vote_id, f"O{i}") == [CREATED]
    result = app.tally(vote_id)
    assert result.raw.by_choice[Choice.YES].heads == 1
    assert result.raw.by_choice[Choice.NO].heads == HEADS - 1
    # The receipt's position is where the ballot is in the log.
    for r in receipts:
        assert app.recorder.select_notifications(r.position, 1)[0].originator_id == r.ballot_id


@pytest.mark.parametrize("change_allowed", [True, False])
def test_a_ballot_that_exists_fails_alone_and_its_batch_is_stored(
    app: ConsultationApp, clock: FixedClock, change_allowed: bool
) -> None:
    w = make_world(app, clock, plain_units(HEADS))
    if not change_allowed:
        app.change_settings(w.estate, {"vote_change_allowed": False}, OC)
    vote_id = open_vote(w)
    app.cast_ballot(vote_id, "yes", owner("O2"))  # O2 has voted before the batch
    gate = Gate(app)
    results: dict[str, Any] = {}
    threads = [cast_in_thread(app, vote_id, "O1", "yes", results)]
    assert gate.entered.wait(60)
    # O2 again, amid first ballots: the batch transaction fails on O2's id.
    threads += [cast_in_thread(app, vote_id, f"O{i}", "no", results) for i in range(2, HEADS + 1)]
    gate.queued(HEADS - 1)
    gate.opened.set()
    for t in threads:
        t.join(60)

    for i in [1, *range(3, HEADS + 1)]:
        receipt = results[f"O{i}"]
        assert isinstance(receipt, BallotReceipt) and not receipt.changed, receipt
        assert stored_events(app, vote_id, f"O{i}") == [CREATED]
    if change_allowed:
        assert isinstance(results["O2"], BallotReceipt) and results["O2"].changed
        assert stored_events(app, vote_id, "O2") == [CREATED, CHANGED]
        assert app.tally(vote_id).raw.by_choice[Choice.NO].heads == HEADS - 1
    else:
        assert isinstance(results["O2"], AlreadyVotedError)
        assert stored_events(app, vote_id, "O2") == [CREATED]
        assert app.tally(vote_id).raw.by_choice[Choice.NO].heads == HEADS - 2
    assert app.tally(vote_id).raw.participating.heads == HEADS


def test_a_batch_committed_after_the_close_is_refused_and_never_counted(
    app: ConsultationApp, clock: FixedClock, url: str
) -> None:
    w = make_world(app, clock, plain_units(HEADS))
    vote_id = open_vote(w)
    app.cast_ballot(vote_id, "yes", owner("O1"))  # counted: before the close
    gate = Gate(app)
    results: dict[str, Any] = {}
    threads = [cast_in_thread(app, vote_id, "O2", "yes", results)]
    assert gate.entered.wait(60)
    threads += [cast_in_thread(app, vote_id, f"O{i}", "no", results) for i in range(3, 7)]
    gate.queued(4)
    # Another process, its clock at the published end, closes the vote while the batch waits.
    closer = build_app(url, clock=FixedClock(app.vote(vote_id).closes_at))
    try:
        closed = closer.close_vote(vote_id, OC)
    finally:
        closer.close()
    gate.opened.set()
    for t in threads:
        t.join(60)

    for i in range(2, 7):
        assert isinstance(results[f"O{i}"], VoteClosedBeforeBallotError), results[f"O{i}"]
        assert stored_events(app, vote_id, f"O{i}") == [CREATED]  # stored after the close
    assert closed.result.raw.participating.heads == 1
    result = app.tally(vote_id)
    assert result.raw.participating.heads == 1 and result.raw.by_choice[Choice.YES].heads == 1
    # A cast after the close is refused before anything is stored.
    with pytest.raises(VoteNotOpenError):
        app.cast_ballot(vote_id, "yes", owner("O8"))
    assert stored_events(app, vote_id, "O8") == []


# --- real processes ------------------------------------------------------------------------------

PROCESSES = 4
PROCESS_HEADS = 60


def _cast_all(url: str, vote_id: str, start: float) -> list[tuple[str, str, int]]:
    """In a process of its own: cast every head's ballot (threads); (head, outcome, position)."""
    app = build_app(url)
    outcomes: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def run(heads: list[int]) -> None:
        for n in heads:
            try:
                r = app.cast_ballot(UUID(vote_id), "yes", owner(f"O{n}"))
                outcome = ("receipt", r.position)
            except ConsultError as e:
                outcome = (type(e).__name__, 0)
            with lock:
                outcomes.append((f"O{n}", *outcome))

    while time.time() < start:
        time.sleep(0.001)
    threads = [
        threading.Thread(target=run, args=(list(range(1 + k, PROCESS_HEADS + 1, 8)),))
        for k in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.close()
    return outcomes


@pytest.mark.slow
def test_processes_casting_while_the_vote_closes_count_exactly_the_acknowledged(
    url: str,
) -> None:
    """Every process tries every head (changes are not allowed) while the vote closes: each head is
    stored at most once, and it is counted exactly when some process was given its receipt."""
    # The processes cast on the real clock: the vote opens a day ago and closes in six days.
    clock = FixedClock(datetime.now(tz=UTC) - timedelta(days=16))
    app = build_app(url, clock=clock)
    w = make_world(app, clock, plain_units(PROCESS_HEADS))
    app.change_settings(w.estate, {"vote_change_allowed": False}, OC)
    vote_id = open_vote(w)
    app.close()
    start = time.time() + 2.0
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        pending = [
            pool.apply_async(_cast_all, (url, str(vote_id), start)) for _ in range(PROCESSES)
        ]
        at_the_end = FixedClock()  # the closing process's clock is at the published end
        closer = build_app(url, clock=at_the_end)
        at_the_end.set(closer.vote(vote_id).closes_at)
        try:
            # Close once a third of the heads have voted: the rest race the close.
            deadline = time.monotonic() + 120
            while len(closer.recorder.select_notifications(1, 10_000, topics=[CREATED])) < 20:
                assert time.monotonic() < deadline, "no ballot arrived"
                time.sleep(0.002)
            closer.close_vote(vote_id, OC)
            outcomes = [o for p in pending for o in p.get(120)]
            vote = closer.vote(vote_id)
            assert vote.result is not None
            counted = closer.ballots(vote, vote.result["close_position"])
            stored = {
                f"O{n}": stored_events(closer, vote_id, f"O{n}")
                for n in range(1, PROCESS_HEADS + 1)
            }
        finally:
            closer.close()

    allowed = {"receipt", "AlreadyVotedError", "VoteClosedBeforeBallotError", "VoteNotOpenError"}
    assert {kind for _, kind, _ in outcomes} <= allowed, outcomes
    assert len(outcomes) == PROCESSES * PROCESS_HEADS
    acknowledged = [f"H:{person}" for person, kind, _ in outcomes if kind == "receipt"]
    assert len(acknowledged) == len(set(acknowledged))  # one receipt per head at most
    assert len(acknowledged) >= 20  # those stored before the close
    assert set(counted) == set(acknowledged)
    assert all(events in ([], [CREATED]) for events in stored.values())
