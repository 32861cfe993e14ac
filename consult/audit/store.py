"""Where the chain, checkpoints and keys are kept: one interface, one implementation per backend.

Each backend reads the events exactly as the event store holds them (its own connection to the same
database) and keeps its rows in tables of its own beside them: ``audit_chain`` (one row per event,
the position being the event's notification id), ``audit_checkpoints`` and ``audit_keys``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import ClassVar, Protocol

from consult.audit.core import GENESIS, Checkpoint, EventRow, KeyRecord, LinkRow


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
