"""What every view is: a name, its tables, the event topics it reads, and a function of a section
of events into rows (the same code for incremental updates and for rebuilds from zero).

A section comes in two parts, each in log order: the decoded events other than ballots
(:class:`Projected`), and the ballot events as plain rows (:data:`~projections.decoding.BallotRow`,
nine events in ten of a busy log), which only a view whose topics include the ballot topics gets.
A view that reads both orders them by their positions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import sqlalchemy as sa
from eventsourcing.utils import get_topic
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore
    from projections.decoding import BallotRow


class Projected(NamedTuple):
    """One decoded event and its position in the application's notification log."""

    position: int
    topic: str
    event: Any  # the domain event (its attributes are the event class's fields)


def topic(cls: type) -> str:
    return get_topic(cls)


class View(ABC):
    """A read model. ``project`` gets the events of one section that this view reads (the ballot
    events apart, as rows), inside the transaction that also moves the view's tracking position;
    ``prepare`` gets the same events just before, outside that transaction."""

    name: ClassVar[str]
    #: Raise when the tables or their meaning change: a stored older version is rebuilt.
    version: ClassVar[int] = 1
    tables: ClassVar[tuple[sa.Table, ...]]

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        self.app = app
        self.store = store

    @property
    @abstractmethod
    def topics(self) -> frozenset[str]:
        """The topics of the events this view reads."""

    def prepare(self, events: Sequence[Projected], ballots: Sequence[BallotRow]) -> None:
        """Read what ``project`` will need from the event store, before the updater lock is taken.

        ``project`` runs while the views' database is locked for writing; on SQLite the event
        store's writers wait on that lock holding its connections, so ``project`` must not read
        the event store itself.
        """
        return None

    @abstractmethod
    def project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None: ...

    def reset(self) -> None:
        """Forget any in-memory cache (after a rebuild or a failed section)."""
        return None

    def warm(self) -> None:
        """Fill the in-memory caches that live sections will need (a follower calls it once, as
        it starts), so that the first of them does not wait for that."""
        return None


Handler = Callable[[Connection, Projected], None]


class EventByEventView(View):
    """A low-volume view whose handlers write each event's rows as it comes."""

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        super().__init__(app, store)
        self._handlers = self.handlers()

    @abstractmethod
    def handlers(self) -> dict[str, Handler]: ...

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None:
        for item in events:
            self._handlers[item.topic](conn, item)
