"""The roll as of a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa

from consult.errors import NotFoundError
from consult.registers import roll_id
from consult.roll import HeadRules, RollSummary, Unit, summarize
from projections.db import micros, moment
from projections.queries.base import (
    QueryBase,
    _last_by,
)
from projections.views.rolls import view_roll_version

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class RollAsOf:
    estate_id: UUID
    moment: datetime
    version: int
    at: datetime  # when that version was recorded
    summary: RollSummary
    head_rules: HeadRules
    units: tuple[Unit, ...]


class RollQueries(QueryBase):
    """Roll queries over the views."""

    def roll_as_of(self, estate_id: UUID, at: datetime) -> RollAsOf:
        """The roll as it stood at ``at``: the roll history view gives the last version recorded
        by then (event time); the roll is read from the event store at that version."""
        app = self._app()
        r = view_roll_version.c
        with self.store.read() as conn:
            versions = conn.execute(
                sa.select(r.version, r.at)
                .where(r.roll_id == roll_id(estate_id).hex)
                .order_by(r.version)
            ).all()
        found = _last_by(versions, micros(at))
        if found is None:
            raise NotFoundError(
                field="at", kind="该时间的名册", kind_en="roll at that time", ident=at.isoformat()
            )
        version, recorded = found
        roll = app.roll(estate_id, version)
        units = tuple(roll.units.values())
        return RollAsOf(
            estate_id,
            at,
            version,
            moment(recorded),
            summarize(list(units), roll.head_rules),
            roll.head_rules,
            units,
        )
