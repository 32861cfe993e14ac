"""The case timeline, a case as of a moment, and the one timeline entry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa

from consult.errors import NotFoundError
from consult.evaluation import evaluation_id
from consult.vote import (
    ballot_id,
    paper_entry_id,
)
from projections.db import micros, moment
from projections.queries.base import (
    QueryBase,
    _id,
    _last_by,
)
from projections.queries.cases import CaseSummary, case_summary
from projections.views.cases import (
    case_row,
)
from projections.views.timeline import view_case_event

if TYPE_CHECKING:
    from consult.application import ConsultationApp


@dataclass(frozen=True)
class TimelineEntry:
    """One recorded event: from the timeline view (with its log ``position`` and a line in each
    language) or, for the auditors, from the event store (with its fields in ``data``)."""

    at: datetime
    kind: str  # case / motion / vote / ballot / paper / evaluation / access
    aggregate_id: UUID
    version: int
    event: str
    actor: str
    reason: str
    position: int = 0  # the log position (entries of the timeline view)
    summary_zh: str = ""
    summary_en: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseTimeline:
    case_id: UUID
    entries: tuple[TimelineEntry, ...]
    position: int


@dataclass(frozen=True)
class CaseAsOf:
    """The case as it stood at ``moment``: its state after event ``version`` (recorded at ``at``)."""

    moment: datetime
    version: int
    at: datetime
    case: CaseSummary


def plain(value: Any) -> Any:
    """A JSON-safe copy of an event field."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | Fraction):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


_EVENT_META = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "reason",
    "originator_topic",
}


class TimelineQueries(QueryBase):
    """Timeline queries over the views."""

    def case_timeline(self, case_id: UUID) -> CaseTimeline:
        t = view_case_event.c
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    sa.select(view_case_event).where(t.case_id == case_id.hex).order_by(t.position)
                )
                .mappings()
                .all()
            )
            position = self._position(conn, "timeline")
        if not rows:
            raise NotFoundError(
                field="case_id", kind="协商事项", kind_en="case", ident=str(case_id)
            )
        entries = tuple(
            TimelineEntry(
                position=r["position"],
                at=moment(r["at"]),
                kind=r["kind"],
                aggregate_id=_id(r["aggregate_id"]),
                version=r["version"],
                event=r["event"],
                actor=r["actor"],
                reason=r["reason"],
                summary_zh=r["summary_zh"],
                summary_en=r["summary_en"],
            )
            for r in rows
        )
        return CaseTimeline(case_id, entries, position)

    def case_version_at(self, case_id: UUID, at: datetime) -> tuple[int, datetime] | None:
        """The case's last version recorded by ``at`` (event time) and when it was recorded;
        None before the case was submitted."""
        t = view_case_event.c
        with self.store.read() as conn:
            versions = conn.execute(
                sa.select(t.version, t.at)
                .where(t.case_id == case_id.hex, t.aggregate_id == case_id.hex)
                .order_by(t.version)
            ).all()
        found = _last_by(versions, micros(at))
        return None if found is None else (found[0], moment(found[1]))

    def case_as_of(self, case_id: UUID, at: datetime) -> CaseAsOf:
        """The case as it stood at ``at``: the timeline gives the last version recorded by then
        (event time), and the case is read from the event store at that version."""
        app = self._app()
        found = self.case_version_at(case_id, at)
        if found is None:
            raise NotFoundError(
                field="at",
                kind="该时间的协商事项",
                kind_en="case at that time",
                ident=at.isoformat(),
            )
        version, recorded = found
        case = app.case(case_id, version=version)
        return CaseAsOf(at, version, recorded, case_summary(case_row(case)))


# --- the auditors' timeline: every event of a case's aggregates, with its fields ----------------

_ORDER = {"case": 0, "motion": 1, "vote": 2, "paper": 3, "ballot": 4, "evaluation": 5}


def _streams(app: ConsultationApp, case_id: UUID) -> list[tuple[str, UUID]]:
    case = app.case(case_id)
    streams: list[tuple[str, UUID]] = [("case", case_id)]
    if case.motion_id:
        streams.append(("motion", case.motion_id))
    for vid in case.votes:
        vote_id = UUID(vid)
        streams.append(("vote", vote_id))
        for e in app.electorate(app.vote(vote_id)).electors:
            streams.append(("ballot", ballot_id(vote_id, e.elector_id)))
            streams.append(("paper", paper_entry_id(vote_id, e.elector_id)))
    for n in range(1, case.evaluation_rounds + 1):
        streams.append(("evaluation", evaluation_id(case_id, n)))
    return streams


def event_entries(app: ConsultationApp, kind: str, aggregate_id: UUID) -> Iterator[TimelineEntry]:
    """The events of one aggregate as timeline entries with their fields."""
    for event in app.events_of(aggregate_id):
        yield TimelineEntry(
            at=event.timestamp,
            kind=kind,
            aggregate_id=aggregate_id,
            version=event.originator_version,
            event=type(event).__qualname__.split(".")[-1],
            actor=str(getattr(event, "actor", "")),
            reason=str(getattr(event, "reason", "")),
            data={k: plain(v) for k, v in vars(event).items() if k not in _EVENT_META},
        )


def audit_timeline(app: ConsultationApp, case_id: UUID) -> list[TimelineEntry]:
    """Every event of the case, its motion, votes, ballots, paper sheets and evaluations."""
    entries = [e for kind, sid in _streams(app, case_id) for e in event_entries(app, kind, sid)]
    entries.sort(key=lambda e: (e.at, _ORDER.get(e.kind, 9), e.version))
    return entries


def access_log(app: ConsultationApp, limit: int = 200) -> list[TimelineEntry]:
    """The latest reads of personal data recorded in the access logs, newest first."""
    from consult.access import AccessLog

    entries: list[TimelineEntry] = []
    for aid in dict.fromkeys(app.created_ids(AccessLog.Created)):
        entries.extend(event_entries(app, "access", aid))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
