"""The audit store of an in-memory application (tests and throw-away demos)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from consult.audit.core import Checkpoint, EventRow, KeyRecord, LinkRow, derive_links
from consult.audit.store import AuditStore, ChainHead

SECTION = 10_000


class MemoryAuditStore(AuditStore):
    """Reads the events through the application's recorder; keeps its rows in lists."""

    backend = "memory"

    def __init__(self, recorder: Any) -> None:
        self._recorder = recorder
        self._links: list[LinkRow] = []
        self._checkpoints: list[Checkpoint] = []
        self._keys: dict[str, KeyRecord] = {}
        self._lock = threading.RLock()

    def _events(self, after: int, limit: int) -> list[EventRow]:
        return [
            (
                n.id,
                n.originator_id.hex if isinstance(n.originator_id, UUID) else n.originator_id,
                n.originator_version,
                n.topic,
                n.state,
            )
            for n in self._recorder.select_notifications(after, limit, inclusive_of_start=False)
        ]

    def _head(self) -> ChainHead:
        return ChainHead(self._links[-1][0], self._links[-1][3]) if self._links else ChainHead()

    def extend_chain(self, limit: int) -> tuple[int, ChainHead]:
        with self._lock:
            head = self._head()
            links = derive_links(head.link, self._events(head.position, limit))
            self._links.extend(links)
            return len(links), self._head()

    def head(self) -> ChainHead:
        with self._lock:
            return self._head()

    def unchained(self) -> int:
        return max(0, int(self._recorder.max_notification_id() or 0) - self.head().position)

    def log_end(self) -> int:
        return int(self._recorder.max_notification_id() or 0)

    @contextmanager
    def reading(self) -> Iterator[MemorySnapshot]:
        with self._lock:
            snapshot = MemorySnapshot(
                self, list(self._links), self._recorder.max_notification_id() or 0
            )
        yield snapshot

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._checkpoints.append(checkpoint)

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            return list(self._checkpoints)

    def latest_checkpoint(self) -> Checkpoint | None:
        with self._lock:
            return self._checkpoints[-1] if self._checkpoints else None

    def add_key(self, record: KeyRecord) -> None:
        with self._lock:
            self._keys.setdefault(record.key, record)

    def key_records(self) -> list[KeyRecord]:
        with self._lock:
            return list(self._keys.values())

    def close(self) -> None:
        """Nothing to release: the rows live as long as the application."""


class MemorySnapshot:
    def __init__(self, store: MemoryAuditStore, links: list[LinkRow], last: int) -> None:
        self._store = store
        self._links = links
        self._last = last
        self.chained_to = links[-1][0] if links else 0

    def events(self, after: int = 0, upto: int | None = None) -> Iterator[EventRow]:
        stop = self._last if upto is None else min(upto, self._last)
        while after < stop:
            batch = [e for e in self._store._events(after, SECTION) if e[0] <= stop]
            if not batch:
                return
            yield from batch
            after = batch[-1][0]

    def links(self, after: int = 0) -> Iterator[LinkRow]:
        return (lr for lr in self._links if lr[0] > after)

    def checkpoints(self) -> list[Checkpoint]:
        return self._store.checkpoints()

    def key_records(self) -> list[KeyRecord]:
        return self._store.key_records()
