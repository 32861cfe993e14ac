"""Auditors' reads, recorded as events so that they enter the tamper-evident log.

One :class:`AccessLog` per auditor per day (a natural id), holding one ``Read`` event per page or
export served: what was read, with which parameters, when and by whom.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from consult.actors import Actor
from consult.aggregate import ConsultAggregate, natural_id
from consult.application import ConsultationApp
from consult.errors import ConcurrencyError

RETRIES = 12


def access_log_id(person_id: str, day: str) -> UUID:
    return natural_id("access-log", person_id, day)


class AccessLog(ConsultAggregate):
    """What one auditor read on one day."""

    class Created(ConsultAggregate.Created):
        person_id: str
        day: str

    def __init__(self, person_id: str, day: str) -> None:
        self.person_id = person_id
        self.day = day
        self.reads = 0

    class Read(ConsultAggregate.Event):
        resource: str
        params: dict[str, str]
        roles: list[str]

        def apply(self, log: AccessLog) -> None:
            log.reads += 1

    def read(
        self, resource: str, params: Mapping[str, str], roles: list[str], at: datetime, actor: str
    ) -> None:
        self.record(
            AccessLog.Read,
            at,
            actor,
            "",
            resource=resource[:500],
            params={str(k)[:100]: str(v)[:500] for k, v in params.items()},
            roles=roles,
        )


def record_read(
    app: ConsultationApp, actor: Actor, resource: str, params: Mapping[str, str]
) -> int:
    """Record one read by ``actor``; returns the log position. Raises if it cannot be stored."""
    roles = sorted(r.value for r in actor.roles)
    for _ in range(RETRIES + 1):
        at = app.now()
        lid = access_log_id(actor.person_id, at.date().isoformat())
        try:
            log: Any = app.repository.get(lid)
        except AggregateNotFoundError:
            log = AccessLog.start(
                lid, at, actor.person_id, person_id=actor.person_id, day=at.date().isoformat()
            )
        log.read(resource, params, roles, at, actor.person_id)
        try:
            recordings = app.save(log)
        except IntegrityError:
            continue  # another read of the same auditor got there first
        return max((r.notification.id for r in recordings), default=0)
    raise ConcurrencyError(field="access")
