"""Council sessions: each party's position and the consensus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from consult.bodies import PARTY_NAMES, Party
from consult.case import POSITIONS
from projections.db import moment
from projections.queries.base import (
    Pair,
    QueryBase,
    Row,
    _maybe_id,
)
from projections.views.councils import view_council_seat, view_session, view_session_position

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class PartyPosition:
    party: str
    name_zh: str
    name_en: str
    position: str | None  # agree / disagree / reserve / absent; None when not recorded
    position_zh: str
    position_en: str
    text: str
    holders: tuple[str, ...]


@dataclass(frozen=True)
class SessionPositions:
    seq: int
    kind: str
    council_id: UUID | None
    held_at: datetime
    recorded_by: str
    consensus: bool | None  # every party of the council agreed; None without a council
    positions: tuple[PartyPosition, ...]
    dissent: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class CouncilPositions:
    case_id: UUID
    sessions: tuple[SessionPositions, ...]
    consensus: bool | None  # of the latest council session; None when none was held
    position: int

    @property
    def latest(self) -> SessionPositions | None:
        councils = [s for s in self.sessions if s.council_id is not None]
        return councils[-1] if councils else None


def _party_position(party: str, row: Row | None, holders: tuple[str, ...]) -> PartyPosition:
    try:
        name_zh, name_en = PARTY_NAMES[Party(party)]
    except ValueError:
        name_zh = name_en = party
    position = row["position"] if row is not None else None
    pos_zh, pos_en = POSITIONS.get(position or "", ("未记录", "not recorded"))
    return PartyPosition(
        party=party,
        name_zh=name_zh,
        name_en=name_en,
        position=position,
        position_zh=pos_zh,
        position_en=pos_en,
        text=row["text"] if row is not None else "",
        holders=holders,
    )


@dataclass(frozen=True)
class CouncilView:
    id: UUID
    kind: str
    name: Pair
    seats: tuple[tuple[str, Pair, tuple[str, ...]], ...]


class CouncilQueries(QueryBase):
    """Council queries over the views."""

    def council_positions(self, case_id: UUID) -> CouncilPositions:
        s, p, seat = view_session.c, view_session_position.c, view_council_seat.c
        with self.store.read() as conn:
            sessions = (
                conn.execute(
                    sa.select(view_session).where(s.case_id == case_id.hex).order_by(s.seq)
                )
                .mappings()
                .all()
            )
            positions = (
                conn.execute(sa.select(view_session_position).where(p.case_id == case_id.hex))
                .mappings()
                .all()
            )
            councils = {r["council_id"] for r in sessions if r["council_id"]}
            seats: dict[tuple[str, str], tuple[str, ...]] = {}
            if councils:
                for r in conn.execute(
                    sa.select(view_council_seat).where(seat.council_id.in_(councils))
                ).mappings():
                    seats[(r["council_id"], r["party"])] = tuple(json.loads(r["holders"]))
            position = self._position(conn, "councils")
        by_session: dict[int, dict[str, RowMapping]] = {}
        for r in positions:
            by_session.setdefault(r["seq"], {})[r["party"]] = r
        result = []
        for r in sessions:
            recorded = by_session.get(r["seq"], {})
            parties = json.loads(r["parties"]) or sorted(recorded)
            result.append(
                SessionPositions(
                    seq=r["seq"],
                    kind=r["kind"],
                    council_id=_maybe_id(r["council_id"]),
                    held_at=moment(r["held_at"]),
                    recorded_by=r["recorded_by"],
                    consensus=None if r["consensus"] is None else bool(r["consensus"]),
                    positions=tuple(
                        _party_position(
                            party, recorded.get(party), seats.get((r["council_id"], party), ())
                        )
                        for party in parties
                    ),
                    dissent=tuple(json.loads(r["dissent"])),
                    summary=r["summary"],
                )
            )
        councils_held = [x for x in result if x.council_id is not None]
        consensus = councils_held[-1].consensus if councils_held else None
        return CouncilPositions(case_id, tuple(result), consensus, position)
