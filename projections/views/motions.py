"""Threshold motions: signatures against the frozen roll, and what became of the tabled topic."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.case import Case
from consult.motion import Motion
from projections.db import ViewString, ViewText, hundredths, metadata, micros
from projections.errors import ProjectionError
from projections.views.base import EventByEventView, Handler, Projected, topic

view_motion = sa.Table(
    "view_motion",
    metadata,
    sa.Column("motion_id", ViewString(32), primary_key=True),
    sa.Column("case_id", ViewString(32), nullable=False, index=True),
    sa.Column("estate_id", ViewString(32), nullable=False, index=True),
    sa.Column("title", ViewText, nullable=False),
    sa.Column("rule", ViewText, nullable=False),  # ThresholdRule.to_dict() as JSON
    sa.Column("roll_version", sa.Integer, nullable=False),
    sa.Column("total_heads", sa.BigInteger, nullable=False),
    sa.Column("total_area", sa.BigInteger, nullable=False),
    sa.Column("signed_heads", sa.BigInteger, nullable=False),
    sa.Column("signed_area", sa.BigInteger, nullable=False),
    sa.Column("state", ViewString(16), nullable=False),  # open / tabled / lapsed / withdrawn
    sa.Column("opened_at", sa.BigInteger, nullable=False),
    sa.Column("opened_by", ViewText, nullable=False),
    sa.Column("closes_at", sa.BigInteger, nullable=False),
    sa.Column("tabled_at", sa.BigInteger),
    sa.Column("lapsed_at", sa.BigInteger),
    sa.Column("answer_due", sa.BigInteger),  # the convener must answer the tabled topic by then
    sa.Column("answered_at", sa.BigInteger),  # the topic was confirmed, rejected or referred
    sa.Column("escalated_at", sa.BigInteger),  # not answered in time: escalated to the street
)

view_motion_signature = sa.Table(
    "view_motion_signature",
    metadata,
    sa.Column("motion_id", ViewString(32), primary_key=True),
    sa.Column("head_id", ViewText, primary_key=True),
    sa.Column("area", sa.BigInteger, nullable=False),
    sa.Column("person", ViewText, nullable=False),
    sa.Column("signed_at", sa.BigInteger, nullable=False),
)


class MotionsView(EventByEventView):
    name = "motions"
    tables = (view_motion, view_motion_signature)

    def handlers(self) -> dict[str, Handler]:
        return {
            topic(Motion.Created): self._created,
            topic(Motion.Signed): self._signed,
            topic(Motion.SignatureWithdrawn): self._withdrawn,
            topic(Motion.Tabled): self._tabled,
            topic(Motion.Lapsed): self._lapsed,
            topic(Motion.Withdrawn): self._motion_withdrawn,
            topic(Case.Tabled): self._case_tabled,
            topic(Case.Confirmed): self._answered,
            topic(Case.Rejected): self._answered,
            topic(Case.Referred): self._answered,
            topic(Case.EscalatedToStreet): self._escalated,
        }

    def _created(self, conn: Connection, p: Projected) -> None:
        e = p.event
        conn.execute(
            view_motion.insert().values(
                motion_id=e.originator_id.hex,
                case_id=e.case_id.hex,
                estate_id=e.estate_id.hex,
                title=e.title,
                rule=json.dumps(e.rule, sort_keys=True),
                roll_version=e.roll_version,
                total_heads=e.total_heads,
                total_area=hundredths(e.total_area),
                signed_heads=0,
                signed_area=0,
                state="open",
                opened_at=micros(e.timestamp),
                opened_by=e.actor,
                closes_at=micros(e.closes_at),
            )
        )

    def _update(self, conn: Connection, motion_id: str, **values: object) -> None:
        conn.execute(
            sa.update(view_motion).where(view_motion.c.motion_id == motion_id).values(**values)
        )

    def _signed(self, conn: Connection, p: Projected) -> None:
        e = p.event
        motion_id, area = e.originator_id.hex, hundredths(e.area)
        conn.execute(
            view_motion_signature.insert().values(
                motion_id=motion_id,
                head_id=e.head_id,
                area=area,
                person=e.actor,
                signed_at=micros(e.timestamp),
            )
        )
        m = view_motion.c
        self._update(
            conn, motion_id, signed_heads=m.signed_heads + 1, signed_area=m.signed_area + area
        )

    def _withdrawn(self, conn: Connection, p: Projected) -> None:
        e = p.event
        motion_id = e.originator_id.hex
        s = view_motion_signature.c
        where = (s.motion_id == motion_id, s.head_id == e.head_id)
        area = conn.execute(sa.select(s.area).where(*where)).scalar()
        if area is None:
            raise ProjectionError(
                f"signature of {e.head_id} on motion {motion_id} withdrawn but never made"
            )
        conn.execute(sa.delete(view_motion_signature).where(*where))
        m = view_motion.c
        self._update(
            conn, motion_id, signed_heads=m.signed_heads - 1, signed_area=m.signed_area - area
        )

    def _tabled(self, conn: Connection, p: Projected) -> None:
        self._update(
            conn, p.event.originator_id.hex, state="tabled", tabled_at=micros(p.event.timestamp)
        )

    def _lapsed(self, conn: Connection, p: Projected) -> None:
        self._update(
            conn, p.event.originator_id.hex, state="lapsed", lapsed_at=micros(p.event.timestamp)
        )

    def _motion_withdrawn(self, conn: Connection, p: Projected) -> None:
        self._update(conn, p.event.originator_id.hex, state="withdrawn")

    def _by_case(self, conn: Connection, p: Projected, **values: object) -> None:
        m = view_motion.c
        conn.execute(
            sa.update(view_motion).where(m.case_id == p.event.originator_id.hex).values(**values)
        )

    def _case_tabled(self, conn: Connection, p: Projected) -> None:
        self._by_case(conn, p, answer_due=micros(p.event.answer_due))

    def _answered(self, conn: Connection, p: Projected) -> None:
        self._by_case(conn, p, answered_at=micros(p.event.timestamp))

    def _escalated(self, conn: Connection, p: Projected) -> None:
        self._by_case(conn, p, escalated_at=micros(p.event.timestamp))
