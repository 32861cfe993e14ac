"""The history of each owners' roll: every version with its time, actor and supporting document,
so the roll as it stood at any moment is found without reading the roll's (large) events."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.registers import Roll
from projections.db import ViewString, ViewText, metadata, micros
from projections.summaries import summarize
from projections.views.base import EventByEventView, Handler, Projected, topic

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore

view_roll_version = sa.Table(
    "view_roll_version",
    metadata,
    sa.Column("roll_id", ViewString(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("estate_id", ViewString(32), nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("event", ViewString(64), nullable=False),
    sa.Column("actor", ViewText, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("reason", ViewText, nullable=False),
    sa.Column("summary_zh", ViewText, nullable=False),
    sa.Column("summary_en", ViewText, nullable=False),
)

ROLL_EVENTS = (
    Roll.Created,
    Roll.Reimported,
    Roll.UnitAdded,
    Roll.OwnerChanged,
    Roll.AreaCorrected,
    Roll.HeadRulesChanged,
)


class RollsView(EventByEventView):
    name = "rolls"
    tables = (view_roll_version,)

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        super().__init__(app, store)
        self._estates: dict[str, str] = {}  # roll -> estate: facts of the log, never changed

    def handlers(self) -> dict[str, Handler]:
        return {topic(cls): self._version for cls in ROLL_EVENTS}

    def _version(self, conn: Connection, p: Projected) -> None:
        e = p.event
        roll_id = e.originator_id.hex
        if e.originator_version == 1:
            estate_id = self._estates[roll_id] = e.estate_id.hex
        else:
            estate_id = self._estates.get(roll_id) or self._estate_of(conn, roll_id)
        zh, en = summarize(e)
        conn.execute(
            view_roll_version.insert().values(
                roll_id=roll_id,
                version=e.originator_version,
                estate_id=estate_id,
                position=p.position,
                event=type(e).__name__,
                actor=e.actor,
                at=micros(e.timestamp),
                reason=e.reason,
                summary_zh=zh,
                summary_en=en,
            )
        )

    def _estate_of(self, conn: Connection, roll_id: str) -> str:
        r = view_roll_version.c
        estate_id = conn.execute(
            sa.select(r.estate_id).where(r.roll_id == roll_id, r.version == 1)
        ).scalar_one()
        self._estates[roll_id] = estate_id
        return str(estate_id)
