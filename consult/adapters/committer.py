"""Group commit: the events of many concurrent callers saved in one transaction.

A durable commit costs the same whether it holds one event or a hundred (an fsync on SQLite; on
PostgreSQL the table lock the recorder takes for every insert transaction, which serialises the
writers of one application). Callers :meth:`GroupCommitter.submit` their new aggregates and wait; a
committer thread saves everything that arrived while the previous commit was running in one
transaction, checks the batch once (``verify``), and only then answers each caller: a caller is
told its position only after its events are committed.

When the batch transaction fails on an integrity check (one caller's aggregate id is already
taken), nothing of it was stored; each caller's events are then saved on their own, so that only the
caller whose events conflict gets :class:`~eventsourcing.persistence.IntegrityError`. Any other
failure of the batch (the database is down) goes to every caller of the batch: nothing was stored.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

logger = logging.getLogger(__name__)

#: ``verify(key, positions)``: for each committed position of the batch under ``key``, None if it
#: stands, or the error its caller gets instead (the events stay stored).
Verify = Callable[[Hashable, Sequence[int]], Sequence[BaseException | None]]


def _latch() -> threading.Lock:
    """A lock taken at once: the caller blocks on it until the committer releases it (a tenth of
    the cost of a ``threading.Event``, whose condition variable allocates on every wait)."""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Pending:
    key: Hashable
    events: list[Any]
    #: released by the committer, once, when the caller's answer is ready
    done: threading.Lock = field(default_factory=_latch)
    position: int = 0
    error: BaseException | None = None

    def ids(self) -> set[Any]:
        return {e.originator_id for e in self.events}


class GroupCommitter:
    """Saves the new aggregates of concurrent callers together; one thread, started on first use."""

    def __init__(
        self,
        save: Callable[..., list[Recording[Any]]],
        verify: Verify | None = None,
        max_batch: int = 256,
        name: str = "group-commit",
    ) -> None:
        self._save = save
        self._verify = verify
        self._max_batch = max_batch
        self._name = name
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        #: batches committed and callers answered, for benchmarks and tests
        self.batches = 0
        self.saved = 0

    def submit(self, key: Hashable, aggregate: Aggregate) -> int:
        """Save the aggregate's pending events with others'; return the log position of its last.

        Raises the integrity error if its events conflict with stored ones (nothing of it stored),
        or the error ``verify`` gave for it (its events are stored).
        """
        return self.submit_events(key, list(aggregate.collect_events()))

    def submit_events(self, key: Hashable, events: list[Any]) -> int:
        """:meth:`submit` for new events made without their aggregate."""
        pending = self._enqueue(_Pending(key, events))
        pending.done.acquire()
        if pending.error is not None:
            raise pending.error
        return pending.position

    def _enqueue(self, pending: _Pending) -> _Pending:
        if not pending.events:
            raise ValueError("nothing to save")
        with self._cond:
            if self._closed:
                raise RuntimeError("the committer is closed")
            self._ensure_thread()
            self._queue.append(pending)
            self._cond.notify()
        return pending

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(10)

    def _ensure_thread(self) -> None:
        # After a fork (a web server's worker) the parent's thread is gone: start our own.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            try:
                self._commit(batch)
            except BaseException as error:  # never leave a caller waiting
                logger.exception("group commit failed")
                for p in batch:
                    p.error = error
            finally:
                for p in batch:
                    p.done.release()

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            recordings = self._save(*(e for p in batch for e in p.events))
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].error = error
                return
            stored = []
            for p in batch:  # one by one: only the conflicting caller fails
                try:
                    self._assign([p], self._save(*p.events))
                    stored.append(p)
                except IntegrityError as e:
                    p.error = e
            self._check(stored)
            self.batches += len(batch)
            return
        self._assign(batch, recordings)
        self._check(batch)
        self.batches += 1

    def _assign(self, batch: list[_Pending], recordings: list[Recording[Any]]) -> None:
        position: dict[Any, int] = {}
        for r in recordings:
            oid = r.domain_event.originator_id
            position[oid] = max(position.get(oid, 0), r.notification.id)
        for p in batch:
            p.position = max(position[i] for i in p.ids())
        self.saved += len(batch)

    def _check(self, stored: list[_Pending]) -> None:
        if self._verify is None:
            return
        by_key: dict[Hashable, list[_Pending]] = {}
        for p in stored:
            by_key.setdefault(p.key, []).append(p)
        for key, items in by_key.items():
            for p, error in zip(items, self._verify(key, [p.position for p in items]), strict=True):
                p.error = error
