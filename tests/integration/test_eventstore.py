"""The event store's one-statement inserts (consult.adapters.eventstore), on real SQLite files and a real
PostgreSQL database, and SQLite's writers' lock (consult.adapters.writelock) across real processes."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

import consult.adapters.eventstore
from consult.adapters.eventstore import (
    BatchedPostgresApplicationRecorder,
    BatchedSQLiteApplicationRecorder,
)
from consult.adapters.writelock import WriteLock, lock_for
from entrypoints.bootstrap import build_app


def stored(n: int, originator: object = None) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=originator or uuid4(),  # type: ignore[arg-type]
            originator_version=i + 1 if originator else 1,
            topic="tests:Event",
            state=f'{{"n":{i}}}'.encode(),
        )
        for i in range(n)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def recorder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        app = build_app(f"sqlite:///{tmp_path / 'events.db'}")
        assert isinstance(app.recorder, BatchedSQLiteApplicationRecorder)
    else:
        app = build_app(str(request.getfixturevalue("postgres_url")))
        assert isinstance(app.recorder, BatchedPostgresApplicationRecorder)
    yield app.recorder
    app.close()


@pytest.mark.postgres
def test_a_postgres_batch_notifies_the_followers_channel(postgres_url: str) -> None:
    """The batched insert sends the NOTIFY a PostgreSQL follower waits on (consult.adapters.followers)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    from consult.config import postgres_params

    app = build_app(postgres_url)
    try:
        recorder = app.recorder
        conninfo = make_conninfo(**postgres_params(postgres_url))
        with psycopg.connect(conninfo, autocommit=True) as listener:
            listener.execute(f'LISTEN "{recorder.channel_name}"')
            ids = recorder.insert_events(stored(3))
            heard = list(listener.notifies(timeout=10, stop_after=1))
        assert len(ids or []) == 3 and [n.channel for n in heard] == [recorder.channel_name]
    finally:
        app.close()


@pytest.mark.parametrize("rows_per_statement", [2000, 3])
def test_the_ids_given_are_the_notification_ids_read_back(
    recorder: Any,
    rows_per_statement: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consult.adapters.eventstore, "ROWS_PER_STATEMENT", rows_per_statement)
    before = recorder.max_notification_id() or 0
    single = recorder.insert_events(stored(1))
    batch = stored(7)
    ids = recorder.insert_events(batch)
    assert list(single or []) == [before + 1]
    assert list(ids or []) == list(range(before + 2, before + 9))
    notes = recorder.select_notifications(before + 2, 100)
    assert [(n.id, n.originator_id) for n in notes] == [
        (i, e.originator_id) for i, e in zip(ids or [], batch, strict=True)
    ]


def test_a_batch_with_a_taken_id_stores_nothing(recorder: Any) -> None:
    taken = stored(1)
    recorder.insert_events(taken)
    before = recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        recorder.insert_events([*stored(3), *taken])
    assert recorder.max_notification_id() == before


def test_concurrent_batches_from_threads_each_get_their_own_ids(
    recorder: Any,
) -> None:
    results: list[tuple[list[StoredEvent], list[int]]] = []
    lock = threading.Lock()

    def insert() -> None:
        for _ in range(20):
            batch = stored(5)
            ids = list(recorder.insert_events(batch) or [])
            with lock:
                results.append((batch, ids))

    threads = [threading.Thread(target=insert) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_id = {n.id: n.originator_id for n in recorder.select_notifications(1, 10_000)}
    assert len(by_id) == 600
    for batch, ids in results:
        assert [by_id[i] for i in ids] == [e.originator_id for e in batch]


def _hold(
    path: str, held: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    lock = WriteLock(path)
    with lock.held():
        held.set()
        release.wait(30)


def test_the_write_lock_queues_writers_of_other_processes(tmp_path: Path) -> None:
    lock = lock_for(str(tmp_path / "consult.sqlite3"))
    assert lock is not None and lock_for(":memory:") is None
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(lock.path, held, release))
    child.start()
    try:
        assert held.wait(60)
        got = threading.Event()

        def take() -> None:
            with lock.held():
                got.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert not got.wait(0.3)  # the other process holds it
        release.set()
        assert got.wait(30)  # and hands it over as soon as it lets go
        taker.join()
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0
