"""Where the chain, checkpoints and keys are kept: one interface, one implementation per backend.

Each backend reads the events exactly as the event store holds them (its own connection to the same
database) and keeps its rows in tables of its own beside them: ``audit_chain`` (one row per event,
the position being the event's notification id), ``audit_checkpoints`` and ``audit_keys``.
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from consult.audit.core import GENESIS, Checkpoint, EventRow, KeyRecord, LinkRow
from consult.audit.errors import StoreError
from consult.config import backend_of, eventsourcing_env, sqlite_path


@dataclass(frozen=True)
class ChainHead:
    """The last chained position and its link (position 0 and :data:`GENESIS` when empty)."""

    position: int = 0
    link: bytes = GENESIS


class Snapshot(Protocol):
    """A consistent read of the store, for verification and export."""

    @property
    def chained_to(self) -> int: ...

    def events(self, after: int = 0, upto: int | None = None) -> Iterator[EventRow]: ...

    def links(self, after: int = 0) -> Iterator[LinkRow]:
        """The chain rows after ``after`` up to :attr:`chained_to`."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...

    def key_records(self) -> list[KeyRecord]: ...


class AuditStore(ABC):
    backend: ClassVar[str]

    @abstractmethod
    def extend_chain(self, limit: int) -> tuple[int, ChainHead]:
        """Chain up to ``limit`` events after the head, links and head in one transaction."""

    @abstractmethod
    def head(self) -> ChainHead: ...

    @abstractmethod
    def unchained(self) -> int:
        """How many stored events are after the chain's head."""

    @abstractmethod
    def log_end(self) -> int:
        """The last position of the event log as stored now (0 when empty)."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[Snapshot]: ...

    @abstractmethod
    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    @abstractmethod
    def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, oldest first."""

    @abstractmethod
    def latest_checkpoint(self) -> Checkpoint | None: ...

    @abstractmethod
    def add_key(self, record: KeyRecord) -> None: ...

    @abstractmethod
    def key_records(self) -> list[KeyRecord]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_memory_stores: weakref.WeakKeyDictionary[Any, AuditStore] = weakref.WeakKeyDictionary()


def open_store(url: str, app: Any = None) -> AuditStore:
    """The audit store beside the event store at ``url`` (an in-memory store needs its ``app``).

    ``app`` (a ConsultationApp), when given, supplies the events table's name.
    """
    backend = backend_of(url)
    table = getattr(getattr(app, "recorder", None), "events_table_name", None)
    if backend == "memory":
        if app is None:
            raise StoreError(
                reason="内存存储须与应用一起打开",
                reason_en="an in-memory store needs its application",
            )
        store = _memory_stores.get(app.recorder)
        if store is None:
            from consult.audit.memory_store import MemoryAuditStore

            store = _memory_stores[app.recorder] = MemoryAuditStore(app.recorder)
        return store
    if backend == "sqlite":
        from consult.audit.sqlite_store import SQLiteAuditStore

        path = sqlite_path(url)
        if path == ":memory:":
            raise StoreError(
                reason="SQLite 内存库无法共享",
                reason_en="an in-memory SQLite database cannot be shared",
            )
        return SQLiteAuditStore(path, table or "stored_events")
    from consult.audit.postgres_store import PostgresAuditStore

    env = eventsourcing_env(url)
    params = {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
    }
    return PostgresAuditStore(params, table or "consult_events")
