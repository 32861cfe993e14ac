"""Stalled views: a view that failed to apply a section of the log, and why.

The projector records a failure in ``view_fault`` (one row per view, the latest failure) and goes
on with the other views; the failed view stays where it was and is tried again later. A fault
counts while the view's tracked position is still the one it stalled at: once the view has moved
on (another process applied the section, a fix, a rebuild) its old fault is no longer shown.
Pages show a banner, ``consult projections status`` the lag and the error.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from projections.db import ViewText, tracking

#: Kept apart from the views' metadata: not a view, never compared or rebuilt.
fault_metadata = sa.MetaData()

view_fault = sa.Table(
    "view_fault",
    fault_metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),  # the view's position: it stalled there
    sa.Column("error", ViewText, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),  # microseconds since the epoch (UTC)
)

#: How much of an error's text is kept.
ERROR_CHARS = 2000


@dataclass(frozen=True)
class Fault:
    """A view stalled at ``position``: applying the events after it failed with ``error``."""

    name: str
    position: int
    error: str
    at: int


def describe(error: BaseException) -> str:
    """One line saying what went wrong (the exception's type and message, no traceback)."""
    text = " ".join("".join(traceback.format_exception_only(error)).split())
    return text[:ERROR_CHARS]


def record(conn: Connection, fault: Fault) -> None:
    conn.execute(sa.delete(view_fault).where(view_fault.c.name == fault.name))
    conn.execute(
        view_fault.insert().values(
            name=fault.name,
            position=fault.position,
            error=fault.error,
            at=fault.at,
        )
    )


def clear(conn: Connection, names: list[str]) -> None:
    conn.execute(sa.delete(view_fault).where(view_fault.c.name.in_(names)))


def current(conn: Connection) -> list[Fault]:
    """The faults of views still at the position they stalled at, by name."""
    rows = conn.execute(
        sa.select(view_fault.c.name, view_fault.c.position, view_fault.c.error, view_fault.c.at)
        .join(tracking, tracking.c.name == view_fault.c.name)
        .where(tracking.c.position == view_fault.c.position)
        .order_by(view_fault.c.name)
    )
    return [Fault(*row) for row in rows]
