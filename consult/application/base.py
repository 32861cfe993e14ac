"""The shared base of the application services: the repository, saving, and get -> act -> save.

Every area service (:mod:`consult.application`) is a mixin on :class:`ServiceBase`. It loads an
aggregate (:meth:`ServiceBase._get`, or a named loader such as :meth:`ServiceBase.case`), lets the
aggregate act (its guards refuse what its rules forbid) and saves (:meth:`ServiceBase._save`),
again when another writer got there first (:meth:`ServiceBase._command`). Library errors become
domain errors here; the write lock, the listeners and the event log's named reads are adapters
(:mod:`consult.adapters.writelock`, :mod:`consult.adapters.eventlog`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import IntegrityError, Recording

from consult.adapters.eventlog import EventLog
from consult.adapters.writelock import lock_for
from consult.aggregate import ConsultAggregate
from consult.bodies import Council, Estate
from consult.caches import MadeOnce, RecentViews
from consult.case import Case
from consult.clock import Clock, SystemClock
from consult.config import yes_no_setting
from consult.errors import ConcurrencyError, NotFoundError
from consult.motion import Motion
from consult.retry import retrying
from consult.validation import invalid
from consult.vote import Vote

T = TypeVar("T")
A = TypeVar("A", bound=ConsultAggregate)
logger = logging.getLogger(__name__)


def position(recordings: Sequence[Recording[Any]]) -> int:
    """The log position of the last of these recordings (0 if none)."""
    return max((r.notification.id for r in recordings), default=0)


def new_id() -> UUID:
    return uuid4()


class ServiceBase(Application[UUID]):
    """Repository, save and retry, shared by every area service."""

    retry_seconds = 15.0
    vote_view_seconds = 1.0

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env=env)
        self.clock: Clock = clock or SystemClock()
        self.eventlog = EventLog(self.recorder, self.mapper)
        self._electorates = MadeOnce(maxsize=16)
        self._vote_views: RecentViews[Vote] = RecentViews(self.vote_view_seconds)
        # CONSULT_GROUP_COMMIT (eventsourcing's environment: the app's name, then the bare name)
        self.group_commit = yes_no_setting(
            "CONSULT_GROUP_COMMIT", self.env.get("GROUP_COMMIT"), True
        )
        #: SQLite: this product's writers queue on a lock beside the file (consult.adapters.writelock).
        self._write_lock = (
            lock_for(str(self.env.get("SQLITE_DBNAME") or ""))
            if str(self.env.get("PERSISTENCE_MODULE") or "") == "eventsourcing.sqlite"
            else None
        )
        #: Called with the log position after every successful save (e.g. to update projections
        #: in the embedded default). A failing listener never undoes a committed command.
        self.listeners: list[Callable[[int], None]] = []

    def close(self) -> None:
        super().close()
        if self._write_lock is not None:
            self._write_lock.close()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        if self._write_lock is None:
            recordings = self._store(objs, kwargs)
        else:
            with self._write_lock.held():
                recordings = self._store(objs, kwargs)
        for obj in objs:
            if isinstance(obj, Vote):  # this process changed it: its next cast reads it afresh
                self._vote_views.drop(obj.id)
        at = position(recordings)
        for listener in self.listeners:
            try:
                listener(at)
            except Exception:  # the events are stored; a follower catches up later
                logger.exception("listener failed after position %s", at)
        return recordings

    def _store(self, objs: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Recording[Any]]:
        """``Application.save``; new events alone (the group committer's batches) are put as
        they are. The library's ``save`` asks of every object whether it is an event or an
        aggregate through runtime-checkable Protocols, about 12 us an object: more than the
        rest of a ballot's save."""
        if kwargs or not objs or not all(isinstance(o, CanMutateAggregate) for o in objs):
            return super().save(*objs, **kwargs)
        processing: ProcessingEvent[Any] = ProcessingEvent()
        processing.events.extend(objs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def now(self) -> datetime:
        return self.clock.now()

    # --- the repository -----------------------------------------------------------------------

    def _get(
        self,
        cls: type[T],
        aggregate_id: UUID,
        kind: str,
        kind_en: str,
        version: int | None = None,
        read_only: bool = False,
    ) -> T:
        """Load an aggregate; ``read_only`` skips the defensive copy of the cached object."""
        try:
            agg: Any = self.repository.get(
                aggregate_id, version=version, deepcopy_from_cache=not read_only
            )
        except AggregateNotFoundError:
            agg = None
        if not isinstance(agg, cls):
            raise NotFoundError(field="id", kind=kind, kind_en=kind_en, ident=str(aggregate_id))
        return agg

    def exists(self, aggregate_id: UUID) -> bool:
        return self.eventlog.last_version(aggregate_id) is not None

    # --- reads for the read side: the web and the projections' queries never open the store ---

    def log_position(self) -> int:
        """The position of the last event recorded in the notification log (0 when empty)."""
        return self.eventlog.end()

    def created_ids(self, created: type) -> Iterator[UUID]:
        """The ids of the aggregates created by event class ``created``, in log order."""
        return self.eventlog.originators(created)

    def find(self, cls: type[T], aggregate_id: UUID, kind: str, kind_en: str) -> T:
        """The aggregate of class ``cls`` with this id (NotFoundError naming ``kind`` if none)."""
        return self._get(cls, aggregate_id, kind, kind_en)

    def events_of(self, aggregate_id: UUID, up_to: int | None = None) -> list[Any]:
        """The domain events of one aggregate, oldest first, up to version ``up_to`` if given."""
        return self.eventlog.events(aggregate_id, up_to)

    def case(self, case_id: UUID, version: int | None = None) -> Case:
        return self._get(Case, case_id, "协商事项", "case", version)

    def estate(self, estate: UUID) -> Estate:
        return self._get(Estate, estate, "小区", "estate")

    def vote(self, vote_id: UUID, read_only: bool = False) -> Vote:
        return self._get(Vote, vote_id, "表决", "vote", read_only=read_only)

    def motion(self, motion_id: UUID) -> Motion:
        return self._get(Motion, motion_id, "动议", "motion")

    def council(self, council: UUID) -> Council:
        return self._get(Council, council, "议事会", "council")

    # --- saving -------------------------------------------------------------------------------

    def _save(self, *aggs: ConsultAggregate | None) -> int:
        """Save; a writer that lost the race to another gets :class:`ConcurrencyError`."""
        try:
            return position(self.save(*aggs))
        except IntegrityError:
            raise ConcurrencyError() from None

    def _save_new(self, agg: ConsultAggregate, label: str, code: str) -> int:
        """Save a new aggregate whose id comes from ``code``: refused if the code is taken."""
        try:
            return position(self.save(agg))
        except IntegrityError:
            raise invalid("code", label, "exists", value=code) from None

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run get-change-save again when another writer got there first (consult.retry)."""
        return retrying(attempt, self.retry_seconds)

    def _command(self, load: Callable[[], A], act: Callable[[A, datetime], None]) -> int:
        """get -> act -> save, again if another writer got there first: the log position."""

        def attempt() -> int:
            agg = load()
            act(agg, self.now())
            return self._save(agg)

        return self._retrying(attempt)
