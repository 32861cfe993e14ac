"""The application's named reads of its event log (the notification log and stored events).

Use cases ask questions of the log by name: where a vote's close was recorded (the close-race
rule: a ballot stored after its vote's close is never counted), which aggregates an event type
started, which ballot events came after a position, an aggregate's last version. The raw
recorder and mapper stay here, behind these methods.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification, StoredEvent
from eventsourcing.utils import get_topic

#: Notifications read per query when scanning the log.
SECTION = 1000


class EventLog:
    """Questions about what is stored, answered from the recorder."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> None:
        self.recorder = recorder
        self.mapper = mapper

    def notifications(self, *types: type[Any], start: int | None = None) -> Iterator[Notification]:
        """Every notification of these event types, in log order, from ``start``."""
        topics = [get_topic(t) for t in types]
        position = start
        while True:
            batch = self.recorder.select_notifications(position, SECTION, topics=topics)
            yield from batch
            if len(batch) < SECTION:
                return
            position = batch[-1].id + 1

    def originators(self, *types: type[Any]) -> Iterator[UUID]:
        """The aggregate of every event of these types, in log order (e.g. every motion opened)."""
        for n in self.notifications(*types):
            oid = n.originator_id
            yield oid if isinstance(oid, UUID) else UUID(oid)

    def position_of(
        self, event_type: type[Any], aggregate_id: UUID, start: int | None = None
    ) -> int | None:
        """The log position of the aggregate's first ``event_type`` event at or after ``start``
        (None if there is none): e.g. where a vote was closed."""
        for n in self.notifications(event_type, start=start):
            if n.originator_id == aggregate_id:
                return n.id
        return None

    def versions_after(
        self, position: int, ids: Collection[UUID], *types: type[Any]
    ) -> set[tuple[UUID | str, int]]:
        """(aggregate id, version) of the events of these types and aggregates stored after
        ``position``."""
        return {
            (n.originator_id, n.originator_version)
            for n in self.notifications(*types, start=position + 1)
            if n.originator_id in ids
        }

    def stored(self, aggregate_id: UUID) -> Sequence[StoredEvent]:
        """The aggregate's stored events, oldest first."""
        return self.recorder.select_events(aggregate_id)

    def event(self, stored: StoredEvent) -> Any:
        return self.mapper.to_domain_event(stored)

    def events(self, aggregate_id: UUID, up_to: int | None = None) -> list[Any]:
        """The aggregate's domain events, oldest first, up to version ``up_to`` if given."""
        return [self.event(s) for s in self.recorder.select_events(aggregate_id, lte=up_to)]

    def end(self) -> int:
        """The position of the last event in the log (0 when it is empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def last_version(self, aggregate_id: UUID) -> int | None:
        """The aggregate's latest version (None if nothing is stored for it)."""
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else None

    def version_at(self, aggregate_id: UUID, moment: datetime) -> int:
        """The aggregate's last version recorded at or before ``moment`` (0 if none)."""
        version = 0
        for stored in self.recorder.select_events(aggregate_id):
            if self.event(stored).timestamp > moment:
                break
            version = stored.originator_version
        return version
