"""Councils (四位一体 / 六方联动): seats, and each party's position in every deliberation session."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.bodies import Council
from consult.case import Case
from projections.db import ViewString, ViewText, metadata, micros
from projections.views.base import EventByEventView, Handler, Projected, topic

view_council = sa.Table(
    "view_council",
    metadata,
    sa.Column("council_id", ViewString(32), primary_key=True),
    sa.Column("estate_id", ViewString(32), nullable=False, index=True),
    sa.Column("kind", ViewString(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

view_council_seat = sa.Table(
    "view_council_seat",
    metadata,
    sa.Column("council_id", ViewString(32), primary_key=True),
    sa.Column("party", ViewString(64), primary_key=True),
    sa.Column("holders", ViewText, nullable=False),  # JSON list of person ids
)

#: One row per deliberation session of a case; ``seq`` is the case event's version.
view_session = sa.Table(
    "view_session",
    metadata,
    sa.Column("case_id", ViewString(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("council_id", ViewString(32)),
    sa.Column("kind", ViewString(32), nullable=False),
    sa.Column("held_at", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Column("recorded_by", ViewText, nullable=False),
    sa.Column("consensus", sa.Boolean),  # None when no council took part
    sa.Column("parties", ViewText, nullable=False),  # JSON: the council's parties, in order
    sa.Column("attendees", ViewText, nullable=False),  # JSON list
    sa.Column("dissent", ViewText, nullable=False),  # JSON list
    sa.Column("summary", ViewText, nullable=False),
)

view_session_position = sa.Table(
    "view_session_position",
    metadata,
    sa.Column("case_id", ViewString(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("party", ViewString(64), primary_key=True),
    sa.Column("position", ViewString(16), nullable=False),
    sa.Column("text", ViewText, nullable=False),
)


class CouncilsView(EventByEventView):
    name = "councils"
    tables = (view_council, view_council_seat, view_session, view_session_position)

    def handlers(self) -> dict[str, Handler]:
        return {
            topic(Council.Created): self._created,
            topic(Council.SeatsAssigned): self._seats,
            topic(Case.SessionRecorded): self._session,
        }

    def _created(self, conn: Connection, p: Projected) -> None:
        e = p.event
        conn.execute(
            view_council.insert().values(
                council_id=e.originator_id.hex,
                estate_id=e.estate_id.hex,
                kind=e.kind,
                created_at=micros(e.timestamp),
            )
        )

    def _seats(self, conn: Connection, p: Projected) -> None:
        e = p.event
        row = {
            "council_id": e.originator_id.hex,
            "party": e.party,
            "holders": json.dumps(list(e.holders)),
        }
        self.store.upsert(conn, view_council_seat, [row], ("council_id", "party"))

    def _session(self, conn: Connection, p: Projected) -> None:
        e = p.event
        s = e.session
        case_id, seq = e.originator_id.hex, e.originator_version
        council = s.get("council_id")
        conn.execute(
            view_session.insert().values(
                case_id=case_id,
                seq=seq,
                council_id=council or None,
                kind=s["kind"],
                held_at=micros(datetime.fromisoformat(s["held_at"])),
                recorded_at=micros(e.timestamp),
                recorded_by=e.actor,
                consensus=s.get("consensus"),
                parties=json.dumps(list(s.get("parties", []))),
                attendees=json.dumps(list(s.get("attendees", [])), ensure_ascii=False),
                dissent=json.dumps(list(s.get("dissent", [])), ensure_ascii=False),
                summary=s.get("summary", ""),
            )
        )
        rows = [
            {
                "case_id": case_id,
                "seq": seq,
                "party": party,
                "position": pos["position"],
                "text": pos.get("text", ""),
            }
            for party, pos in sorted(s.get("positions", {}).items())
        ]
        if rows:
            conn.execute(view_session_position.insert(), rows)
