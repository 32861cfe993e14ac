"""Case timelines: every event of a case and of its votes, its motion and its evaluations, with
actor, time, reason and a summary in Chinese and English. Ballots are not listed one by one (the
tally shows them counted); roll changes have their own history (``rolls``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.aggregate import ConsultAggregate
from consult.case import Case
from consult.evaluation import Evaluation
from consult.motion import Motion
from consult.vote import Vote
from projections.db import ViewString, ViewText, metadata, micros
from projections.errors import ProjectionError
from projections.summaries import summarize
from projections.views.base import Projected, View, topic

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore
    from projections.decoding import BallotRow

#: Which case each vote, motion and evaluation belongs to.
view_case_link = sa.Table(
    "view_case_link",
    metadata,
    sa.Column("aggregate_id", ViewString(32), primary_key=True),
    sa.Column("case_id", ViewString(32), nullable=False),
    sa.Column("kind", ViewString(16), nullable=False),
)

view_case_event = sa.Table(
    "view_case_event",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("case_id", ViewString(32), nullable=False, index=True),
    sa.Column("kind", ViewString(16), nullable=False),  # case / vote / motion / evaluation
    sa.Column("aggregate_id", ViewString(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event", ViewString(64), nullable=False),
    sa.Column("actor", ViewText, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("reason", ViewText, nullable=False),
    sa.Column("summary_zh", ViewText, nullable=False),
    sa.Column("summary_en", ViewText, nullable=False),
)


def _events_of(cls: type) -> list[type]:
    return [
        c
        for c in vars(cls).values()
        if isinstance(c, type) and issubclass(c, ConsultAggregate.Event)
    ]


KINDS: dict[type, str] = {Case: "case", Vote: "vote", Motion: "motion", Evaluation: "evaluation"}


class TimelineView(View):
    name = "timeline"
    tables = (view_case_link, view_case_event)

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        super().__init__(app, store)
        self._kind: dict[str, str] = {}
        self._created: set[str] = set()
        for aggregate, kind in KINDS.items():
            for cls in _events_of(aggregate):
                self._kind[topic(cls)] = kind
                if issubclass(cls, ConsultAggregate.Created):
                    self._created.add(topic(cls))
        self._links: dict[str, str] = {}  # aggregate -> case: facts of the log, never changed

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._kind)

    def project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None:
        links: list[dict[str, str]] = []
        rows: list[dict[str, Any]] = []
        for item in events:
            e = item.event
            kind = self._kind[item.topic]
            aggregate_id = e.originator_id.hex
            if kind == "case":
                case_id = aggregate_id
            elif item.topic in self._created:
                case_id = e.case_id.hex
                self._links[aggregate_id] = case_id
                links.append({"aggregate_id": aggregate_id, "case_id": case_id, "kind": kind})
            else:
                case_id = self._case_of(conn, aggregate_id)
            zh, en = summarize(e)
            rows.append(
                {
                    "position": item.position,
                    "case_id": case_id,
                    "kind": kind,
                    "aggregate_id": aggregate_id,
                    "version": e.originator_version,
                    "event": type(e).__name__,
                    "actor": e.actor,
                    "at": micros(e.timestamp),
                    "reason": e.reason,
                    "summary_zh": zh,
                    "summary_en": en,
                }
            )
        if links:
            conn.execute(view_case_link.insert(), links)
        if rows:
            conn.execute(view_case_event.insert(), rows)

    def _case_of(self, conn: Connection, aggregate_id: str) -> str:
        case_id = self._links.get(aggregate_id)
        if case_id is None:
            link = view_case_link.c
            case_id = conn.execute(
                sa.select(link.case_id).where(link.aggregate_id == aggregate_id)
            ).scalar()
            if case_id is None:
                raise ProjectionError(f"no case is known for aggregate {aggregate_id}")
            self._links[aggregate_id] = case_id
        return case_id
