"""Motions: signatures against the threshold, and what the motion page shows."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa

from consult.errors import NotFoundError
from consult.motion import MotionState
from consult.rules import (
    MotionProgress,
    ThresholdRule,
)
from projections.db import area, maybe_moment, moment
from projections.queries.base import (
    DAY,
    Pair,
    QueryBase,
    Row,
    _id,
)
from projections.queries.votes import CheckView
from projections.views.motions import view_motion

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class MotionStatus:
    motion_id: UUID
    case_id: UUID
    estate_id: UUID
    title: str
    rule: ThresholdRule
    state: MotionState
    signed_heads: int
    signed_area: Decimal
    total_heads: int
    total_area: Decimal
    progress: MotionProgress  # signatures against the threshold on each basis
    opened_at: datetime
    closes_at: datetime
    days_left: int | None  # whole days left to sign while open (0 on the last day)
    tabled_at: datetime | None
    lapsed_at: datetime | None
    answer_due: datetime | None
    answered_at: datetime | None
    escalated_at: datetime | None
    position: int


def _motion_status(row: Row, now: datetime, position: int) -> MotionStatus:
    rule = ThresholdRule.from_dict(json.loads(row["rule"]))
    signed_area, total_area = area(row["signed_area"]), area(row["total_area"])
    state = MotionState(row["state"])
    closes_at = moment(row["closes_at"])
    days_left = None
    if state == MotionState.OPEN:
        days_left = max(0, math.floor((closes_at - now) / DAY)) if closes_at > now else 0
    return MotionStatus(
        motion_id=_id(row["motion_id"]),
        case_id=_id(row["case_id"]),
        estate_id=_id(row["estate_id"]),
        title=row["title"],
        rule=rule,
        state=state,
        signed_heads=row["signed_heads"],
        signed_area=signed_area,
        total_heads=row["total_heads"],
        total_area=total_area,
        progress=rule.progress(row["signed_heads"], signed_area, row["total_heads"], total_area),
        opened_at=moment(row["opened_at"]),
        closes_at=closes_at,
        days_left=days_left,
        tabled_at=maybe_moment(row["tabled_at"]),
        lapsed_at=maybe_moment(row["lapsed_at"]),
        answer_due=maybe_moment(row["answer_due"]),
        answered_at=maybe_moment(row["answered_at"]),
        escalated_at=maybe_moment(row["escalated_at"]),
        position=position,
    )


@dataclass(frozen=True)
class MotionView:
    id: UUID
    case_id: UUID
    estate_id: UUID
    title: str
    state: MotionState
    state_name: Pair
    rule_name: Pair
    rule_source: Pair
    effect: Pair
    basis: str
    pct: Fraction
    withdrawable: bool
    answer_days: int
    opened_at: datetime
    closes_at: datetime
    tabled_at: datetime | None
    roll_version: int
    heads: CheckView
    area: CheckView
    reached: bool
    heads_needed: int
    heads_missing: int
    area_needed: Decimal
    area_missing: Decimal
    signed_heads: int
    signed_area: Decimal
    total_heads: int
    total_area: Decimal

    @property
    def open(self) -> bool:
        return self.state == MotionState.OPEN


@dataclass(frozen=True)
class HeadSignature:
    head_id: str
    units: tuple[str, ...]
    signed: bool


class MotionQueries(QueryBase):
    """Motion queries over the views."""

    def motion_progress(self, motion_id: UUID, now: datetime | None = None) -> MotionStatus:
        with self.store.read() as conn:
            row = (
                conn.execute(sa.select(view_motion).where(view_motion.c.motion_id == motion_id.hex))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(
                    field="motion_id", kind="动议", kind_en="motion", ident=str(motion_id)
                )
            position = self._position(conn, "motions")
        return _motion_status(row, now or self.clock.now(), position)

    def motions(self, estate_id: UUID, now: datetime | None = None) -> tuple[MotionStatus, ...]:
        m = view_motion.c
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    sa.select(view_motion).where(m.estate_id == estate_id.hex).order_by(m.opened_at)
                )
                .mappings()
                .all()
            )
            position = self._position(conn, "motions")
        when = now or self.clock.now()
        return tuple(_motion_status(r, when, position) for r in rows)
