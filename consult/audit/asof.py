"""A case (or any aggregate) as it stood at a given time, for "as of" views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from consult.case import Case
from consult.errors import NotFoundError
from consult.validation import invalid

T = TypeVar("T")


@dataclass(frozen=True)
class AsOf(Generic[T]):
    """``state`` is the aggregate after its event ``version``, the last one recorded at or before
    ``moment``; ``recorded_at`` is that event's time."""

    state: T
    version: int
    recorded_at: datetime
    moment: datetime


def version_at(app: Any, aggregate_id: UUID, moment: datetime) -> tuple[int, datetime] | None:
    """The last version of an aggregate recorded at or before ``moment`` (None if it did not exist)."""
    if moment.tzinfo is None:
        raise invalid("as_of", "time", "needs_timezone")
    found: tuple[int, datetime] | None = None
    for event in app.events.get(aggregate_id):
        if event.timestamp > moment:
            break
        found = (event.originator_version, event.timestamp)
    return found


def case_as_of(app: Any, case_id: UUID, moment: datetime) -> AsOf[Case]:
    """The case as it stood at ``moment``: what the case view shows when asked "as of"."""
    found = version_at(app, case_id, moment)
    if found is None:
        raise NotFoundError(
            field="as_of",
            kind="该时间点的协商事项",
            kind_en="case at that time",
            ident=str(case_id),
        )
    case: Case = app.case(case_id, version=found[0])
    return AsOf(case, found[0], found[1], moment)
