"""The base of every aggregate: each event records who acted, when (from the clock) and why.

Event classes are explicit and nested in their aggregate; their stored topics are
``consult.<module>:<Aggregate>.<Event>``, so modules and class names here must stay stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound="ConsultAggregate")

NAMESPACE = uuid5(NAMESPACE_URL, "https://consult.example.org/ids")


def natural_id(*parts: object) -> UUID:
    """A deterministic id from a natural key: saving a second aggregate with it fails."""
    return uuid5(NAMESPACE, "/".join(str(p) for p in parts))


class ConsultAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        reason: str

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def start(
        cls: type[A], id: UUID, at: datetime, actor: str, reason: str = "", **fields: Any
    ) -> A:
        """Create the aggregate with its Created event stamped by the domain clock."""
        return cls._create(cls.Created, id=id, timestamp=at, actor=actor, reason=reason, **fields)

    def record(
        self,
        event_class: type[Aggregate.Event],
        at: datetime,
        actor: str,
        reason: str = "",
        **fields: Any,
    ) -> None:
        """Trigger an event stamped by the domain clock (guards are checked before calling this)."""
        self.trigger_event(event_class, timestamp=at, actor=actor, reason=reason, **fields)
