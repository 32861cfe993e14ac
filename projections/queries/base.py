"""What every family of queries shares: the store, the application, the clock and helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.clock import Clock, SystemClock
from projections.db import ViewStore, tracking

if TYPE_CHECKING:
    from consult.application import ConsultationApp

Pair = tuple[str, str]
T = TypeVar("T")

DAY = timedelta(days=1)
Row = Mapping[Any, Any]  # a result row by column name


def _id(hex_id: str) -> UUID:
    return UUID(hex_id)


def _maybe_id(hex_id: str | None) -> UUID | None:
    return None if hex_id is None else UUID(hex_id)


def _ratio(part: int | Decimal, whole: int | Decimal) -> Fraction | None:
    return Fraction(part) / Fraction(whole) if whole else None


_POSITION = sa.select(tracking.c.position).where(tracking.c.name == sa.bindparam("name"))


def _last_by(versions: Sequence[Any], at: int) -> tuple[int, int] | None:
    """The last (version, time) recorded at or before ``at``, stopping at the first later one."""
    found: tuple[int, int] | None = None
    for version, recorded in versions:
        if recorded > at:
            break
        found = (version, recorded)
    return found


class QueryBase:
    """Queries over the views of one store. ``app`` is needed only by the as-of queries."""

    def __init__(
        self, store: ViewStore, app: ConsultationApp | None = None, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.app = app
        self.clock: Clock = clock or (app.clock if app is not None else SystemClock())

    def _position(self, conn: Connection, name: str) -> int:
        value = conn.execute(_POSITION, {"name": name}).scalar()
        return int(value or 0)

    def _app(self) -> ConsultationApp:
        if self.app is None:
            raise RuntimeError(
                "this query reads the event store: build Queries with the application"
            )
        return self.app
