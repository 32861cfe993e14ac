"""Threshold motions (DOMAIN.md §4): co-signatures counted by head against the frozen roll.

The motion aggregate holds the signed heads, so two concurrent signatures for one head meet as a
version conflict in the store and the retry sees the first: no head is ever counted twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate
from consult.errors import (
    AlreadySignedError,
    MotionClosedError,
    MotionWithdrawalForbiddenError,
    NotSignedError,
    SignatureWithdrawalForbiddenError,
)
from consult.rules import MotionProgress, ThresholdRule


class MotionState(StrEnum):
    OPEN = "open"
    TABLED = "tabled"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


MOTION_STATE_NAMES: dict[MotionState, tuple[str, str]] = {
    MotionState.OPEN: ("联署中", "collecting signatures"),
    MotionState.TABLED: ("已达门槛并列入议题", "threshold reached, tabled"),
    MotionState.LAPSED: ("未达门槛已失效", "lapsed without reaching the threshold"),
    MotionState.WITHDRAWN: ("议题已撤回，联署终止", "the topic was withdrawn; signing ended"),
}


class Motion(ConsultAggregate):
    class Created(ConsultAggregate.Created):
        estate_id: UUID
        case_id: UUID
        title: str
        rule: dict[str, Any]
        roll_id: UUID
        roll_version: int
        total_heads: int
        total_area: Decimal
        closes_at: datetime

    def __init__(
        self,
        estate_id: UUID,
        case_id: UUID,
        title: str,
        rule: dict[str, Any],
        roll_id: UUID,
        roll_version: int,
        total_heads: int,
        total_area: Decimal,
        closes_at: datetime,
    ) -> None:
        self.estate_id = estate_id
        self.case_id = case_id
        self.title = title
        self.rule = ThresholdRule.from_dict(rule)
        self.roll_id = roll_id
        self.roll_version = roll_version
        self.total_heads = total_heads
        self.total_area = total_area
        self.closes_at = closes_at
        self.state = MotionState.OPEN
        self.signed: dict[str, dict[str, Any]] = {}  # head id -> {"area": str, "person": str}
        self.signed_area = Decimal(0)
        self.tabled_at: datetime | None = None

    class Signed(ConsultAggregate.Event):
        head_id: str
        area: Decimal

        def apply(self, motion: Motion) -> None:
            motion.signed[self.head_id] = {"area": str(self.area), "person": self.actor}
            motion.signed_area += self.area

    class SignatureWithdrawn(ConsultAggregate.Event):
        head_id: str

        def apply(self, motion: Motion) -> None:
            entry = motion.signed.pop(self.head_id)
            motion.signed_area -= Decimal(entry["area"])

    class Tabled(ConsultAggregate.Event):
        def apply(self, motion: Motion) -> None:
            motion.state = MotionState.TABLED
            motion.tabled_at = self.timestamp

    class Lapsed(ConsultAggregate.Event):
        def apply(self, motion: Motion) -> None:
            motion.state = MotionState.LAPSED

    class Withdrawn(ConsultAggregate.Event):
        """The motion's topic was withdrawn before the threshold: no more signatures."""

        def apply(self, motion: Motion) -> None:
            motion.state = MotionState.WITHDRAWN

    def progress(self) -> MotionProgress:
        return self.rule.progress(
            len(self.signed), self.signed_area, self.total_heads, self.total_area
        )

    def _expect_open(self, at: datetime) -> None:
        if self.state == MotionState.OPEN and at >= self.closes_at:
            state = MotionState.LAPSED
        else:
            state = self.state
        if state != MotionState.OPEN:
            zh, en = MOTION_STATE_NAMES[state]
            raise MotionClosedError(field="motion", state=zh, state_en=en)

    def sign(self, head_id: str, area: Decimal, person: str, at: datetime) -> bool:
        """Count one head's signature; returns True when this signature tabled the motion."""
        self._expect_open(at)
        if head_id in self.signed:
            raise AlreadySignedError(field="head_id")
        self.record(Motion.Signed, at, person, "", head_id=head_id, area=area)
        if self.progress().reached:
            self.record(
                Motion.Tabled,
                at,
                "system",
                "联署达到门槛，自动列入议题 / threshold reached; tabled automatically",
            )
            return True
        return False

    def withdraw_signature(self, head_id: str, person: str, at: datetime) -> None:
        self._expect_open(at)
        if not self.rule.withdrawable:
            raise SignatureWithdrawalForbiddenError(field="motion")
        if head_id not in self.signed:
            raise NotSignedError(field="head_id")
        self.record(Motion.SignatureWithdrawn, at, person, "", head_id=head_id)

    def withdraw(self, at: datetime, actor: str, reason: str) -> None:
        """End the signing with the topic's withdrawal (only while it may still be signed)."""
        if self.state == MotionState.TABLED:
            raise MotionWithdrawalForbiddenError(field="case")
        self._expect_open(at)
        self.record(Motion.Withdrawn, at, actor, reason)

    def lapse_if_due(self, at: datetime) -> bool:
        if self.state == MotionState.OPEN and at >= self.closes_at:
            self.record(
                Motion.Lapsed,
                at,
                "system",
                "联署期届满未达门槛 / the window closed below the threshold",
            )
            return True
        return False
