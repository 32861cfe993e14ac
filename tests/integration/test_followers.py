"""The followers under load, with real threads on the real stores: events saved while a follower
lingers after a catch-up are applied together; two projectors on one store apply every event once
whichever of them gets there first; a starting follower loads the open votes' electorates before
its first catch-up."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from consult.application import ConsultationApp
from consult.audit import verify_store
from consult.audit.chain import ChainFollower
from consult.audit.stores import open_store as open_audit_store
from consult.clock import FixedClock
from entrypoints.bootstrap import build_app
from projections import Projector, Queries, open_store
from tests.conftest import owner
from tests.integration.test_projections_support import (
    open_owners_vote,
    setup_place,
    synthetic_roll,
    view_rows,
)

pytestmark = pytest.mark.backends("sqlite", "postgres")

#: Long enough that the few saves of a test fall inside it on a busy machine.
LINGER = 3.0


@pytest.fixture
def app(store_url: str, clock: FixedClock) -> Iterator[ConsultationApp]:
    application = build_app(store_url, clock=clock)
    try:
        yield application
    finally:
        application.close()


def open_vote(app: ConsultationApp, clock: FixedClock, units: int) -> tuple[UUID, list[Any]]:
    estate = setup_place(app, synthetic_roll(units))
    _, (vote,) = open_owners_vote(app, clock, estate)
    heads = [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]
    return vote, heads


def head_of(app: ConsultationApp) -> int:
    return app.recorder.max_notification_id() or 0


def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    done = threading.Event()
    while not condition():
        if done.wait(0.01) or timeout <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        timeout -= 0.01


def running(
    target: Callable[..., object], stop: threading.Event | None = None, **kwargs: Any
) -> tuple[threading.Thread, threading.Event]:
    """``target(stop=..., **kwargs)`` in a thread of its own."""
    stop = stop or threading.Event()
    thread = threading.Thread(target=target, kwargs={**kwargs, "stop": stop})
    thread.start()
    return thread, stop


def test_ballots_saved_while_the_projector_lingers_are_applied_in_one_section(
    app: ConsultationApp, store_url: str, clock: FixedClock
) -> None:
    vote, heads = open_vote(app, clock, 40)
    store = open_store(store_url)
    projector = Projector(app, store)
    sections: list[int] = []
    thread, stop = running(
        projector.run_forever,
        poll_interval=0.01,
        on_section=lambda position, _target: sections.append(position),
        linger=LINGER,
    )
    try:
        until(lambda: projector.position() == head_of(app), "the set-up to be applied")
        app.cast_ballot(vote, "yes", owner(heads[0].owners[0]))
        first = head_of(app)
        until(lambda: bool(sections) and sections[-1] >= first, "the first ballot")
        before = len(sections)
        # The follower has just caught up and lingers: these arrive one by one meanwhile.
        for head in heads[1:6]:
            app.cast_ballot(vote, "no", owner(head.owners[0]))
        last = head_of(app)
        assert last >= first + 5
        until(lambda: projector.position() >= last, "the five ballots")
        assert len(sections) == before + 1 and sections[-1] == last
        tally = Queries(store, app).vote_tally(vote)
        assert tally is not None and tally.result == app.tally(vote)
    finally:
        stop.set()
        thread.join(30)
        store.dispose()
    assert not thread.is_alive()


def test_the_chain_follower_lingers_too_and_chains_every_event_once(
    app: ConsultationApp, store_url: str, clock: FixedClock
) -> None:
    vote, heads = open_vote(app, clock, 40)
    chain = ChainFollower(open_audit_store(store_url, app))
    batches: list[int] = []
    stop = threading.Event()
    thread, _ = running(
        chain.follow,
        stop,
        wait=lambda: stop.wait(0.01),
        log_head=lambda: head_of(app),
        on_chained=batches.append,
        linger=LINGER,
    )
    try:
        until(lambda: chain.chained_to == head_of(app), "the set-up to be chained")
        app.cast_ballot(vote, "yes", owner(heads[0].owners[0]))
        first = head_of(app)
        until(lambda: bool(batches) and batches[-1] >= first, "the first ballot")
        before = len(batches)
        for head in heads[1:6]:
            app.cast_ballot(vote, "no", owner(head.owners[0]))
        last = head_of(app)
        until(lambda: chain.chained_to >= last, "the five ballots")
        assert len(batches) == before + 1 and batches[-1] == last
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    report = verify_store(chain.store)
    assert report.ok and report.events == head_of(app)
    chain.store.close()


def test_two_projectors_on_one_store_apply_every_event_once(
    app: ConsultationApp, store_url: str, clock: FixedClock
) -> None:
    """Each projector starts a section from the positions it last committed; when the other one
    moved them meanwhile, the updater lock sees it and that section is read again from where the
    views are. First they take turns at random, then both follow live in threads while ballots
    arrive."""
    vote, heads = open_vote(app, clock, 120)
    stores = [open_store(store_url) for _ in range(2)]
    try:
        projectors = [Projector(app, s) for s in stores]
        rng = random.Random(3)
        for head in heads[:20]:
            app.cast_ballot(vote, rng.choice(["yes", "no", "abstain"]), owner(head.owners[0]))
            rng.choice(projectors).catch_up()
        followers = [
            running(p.run_forever, poll_interval=0.002, linger=rng.choice([0.0, 0.005]))
            for p in projectors
        ]
        try:
            for head in heads[20:]:
                app.cast_ballot(vote, rng.choice(["yes", "no", "abstain"]), owner(head.owners[0]))
            last = head_of(app)
            for p in projectors:
                until(lambda p=p: p.position() >= last, "both projectors")
        finally:
            for thread, stop in followers:
                stop.set()
                thread.join(30)
        assert all(not thread.is_alive() for thread, _ in followers)
        assert projectors[0].positions() == projectors[1].positions()
        tally = Queries(stores[0], app).vote_tally(vote)
        assert tally is not None and tally.result == app.tally(vote)
        live = view_rows(stores[0])
        projectors[1].rebuild()
        assert view_rows(stores[0]) == live  # nothing applied twice, nothing skipped
    finally:
        for store in stores:
            store.dispose()


def test_a_starting_follower_loads_the_open_votes_electorates_first(
    app: ConsultationApp, store_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    vote, heads = open_vote(app, clock, 40)
    before = open_store(store_url)
    Projector(app, before).catch_up()  # the views as a restarted follower finds them
    before.dispose()
    follower = build_app(store_url, clock=clock)  # the follower process's own application
    loaded: list[UUID] = []
    electorate = follower.electorate

    def counted(v: Any) -> Any:
        loaded.append(v.id)
        return electorate(v)

    monkeypatch.setattr(follower, "electorate", counted)
    store = open_store(store_url)
    projector = Projector(follower, store)
    thread, stop = running(projector.run_forever, poll_interval=0.01)
    try:
        until(lambda: bool(loaded), "the electorate to be loaded")
        assert loaded == [vote]  # before any ballot needed it
        app.cast_ballot(vote, "yes", owner(heads[0].owners[0]))
        last = head_of(app)
        until(lambda: projector.position() >= last, "the ballot")
        assert loaded == [vote]  # the first section used it
        tally = Queries(store, app).vote_tally(vote)
        assert tally is not None and tally.result == app.tally(vote)
    finally:
        stop.set()
        thread.join(30)
        store.dispose()
        follower.close()


@pytest.mark.backends("postgres")
def test_a_resting_postgres_watcher_takes_the_notifications_of_what_arrived(
    app: ConsultationApp, store_url: str
) -> None:
    """A busy follower rests instead of waiting; the notifications of that time are taken then,
    so they neither pile up on the server nor wake the follower again once it waits."""
    from consult.adapters.followers import PostgresWatcher
    from tests.conftest import OPERATOR

    stop = threading.Event()
    # A fallback of ten minutes: returning sooner means a notification woke it.
    watcher = PostgresWatcher(store_url, app.recorder.channel_name, stop, fallback=600)
    try:
        app.create_street("S01", "示范街道", OPERATOR)
        app.create_community("C01", "示范社区", "S01", OPERATOR)
        watcher.rest(0.05)
        waiting = threading.Thread(target=watcher.wait)
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # nothing left to wake it
        app.create_estate("EST", "示范小区", "C01", OPERATOR)
        waiting.join(60)
        assert not waiting.is_alive() and watcher.listening
    finally:
        stop.set()
        watcher.close()
