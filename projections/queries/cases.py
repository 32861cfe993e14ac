"""Estates and cases: the case lists (paged in SQL) and what the case pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.case import CHANNELS, STAGE_NAMES, TERMINAL, Case, Stage
from consult.errors import NotFoundError
from consult.settings import ROUTE_NAMES
from projections.db import maybe_moment, moment
from projections.queries.base import (
    Pair,
    QueryBase,
    Row,
    T,
    _id,
    _maybe_id,
)
from projections.views.cases import (
    view_case,
    view_estate,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class CaseSummary:
    case_id: UUID
    estate_id: UUID
    title: str
    channel: str
    stage: Stage
    route: str | None
    motion_id: UUID | None
    submitted_by: str
    submitted_at: datetime
    updated_at: datetime
    version: int
    supporters: int
    tabled: bool
    answer_due: datetime | None
    escalated: bool
    meeting_at: datetime | None
    earliest_start: datetime | None
    result_due: datetime | None
    implementation_due: datetime | None
    assignee: str | None
    progress: int | None
    votes: int
    passed: bool | None
    evaluation_rounds: int
    evaluation_open: bool
    exit_reason: str | None

    @property
    def stage_zh(self) -> str:
        return STAGE_NAMES[self.stage][0]

    @property
    def stage_en(self) -> str:
        return STAGE_NAMES[self.stage][1]


@dataclass(frozen=True)
class CasePage:
    """One page of cases and how many match the filters (counted in the same snapshot)."""

    items: tuple[CaseSummary, ...]
    total: int
    limit: int
    offset: int


def _case_query(
    estate_id: UUID | None,
    stage: Stage | str | None,
    community_id: UUID | None,
    street_id: UUID | None,
) -> sa.Select[Any]:
    """The cases in a place (estate, community or street) and stage, unordered."""
    c, e = view_case.c, view_estate.c
    query = sa.select(view_case).join(view_estate, e.estate_id == c.estate_id)
    if estate_id is not None:
        query = query.where(c.estate_id == estate_id.hex)
    if community_id is not None:
        query = query.where(e.community_id == community_id.hex)
    if street_id is not None:
        query = query.where(e.street_id == street_id.hex)
    if stage is not None:
        query = query.where(c.stage == Stage(stage).value)
    return query


def case_summary(row: Row) -> CaseSummary:
    return CaseSummary(
        case_id=_id(row["case_id"]),
        estate_id=_id(row["estate_id"]),
        title=row["title"],
        channel=row["channel"],
        stage=Stage(row["stage"]),
        route=row["route"],
        motion_id=_maybe_id(row["motion_id"]),
        submitted_by=row["submitted_by"],
        submitted_at=moment(row["submitted_at"]),
        updated_at=moment(row["updated_at"]),
        version=row["version"],
        supporters=row["supporters"],
        tabled=bool(row["tabled"]),
        answer_due=maybe_moment(row["answer_due"]),
        escalated=bool(row["escalated"]),
        meeting_at=maybe_moment(row["meeting_at"]),
        earliest_start=maybe_moment(row["earliest_start"]),
        result_due=maybe_moment(row["result_due"]),
        implementation_due=maybe_moment(row["implementation_due"]),
        assignee=row["assignee"],
        progress=row["progress"],
        votes=row["votes"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        evaluation_rounds=row["evaluation_rounds"],
        evaluation_open=bool(row["evaluation_open"]),
        exit_reason=row["exit_reason"],
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class EstateView:
    id: UUID
    code: str
    name: str
    owners_committee: tuple[str, ...]
    acting: bool
    property_company: str | None
    councils: tuple[UUID, ...]


@dataclass(frozen=True)
class CaseRow:
    id: UUID
    estate_id: UUID
    title: str
    stage: Stage
    channel: str
    submitted_by: str
    created_at: datetime
    updated_at: datetime
    motion_id: UUID | None
    tabled: bool
    answer_due: datetime | None
    escalated: bool

    @property
    def stage_name(self) -> Pair:
        return STAGE_NAMES[self.stage]

    @property
    def terminal(self) -> bool:
        return self.stage in TERMINAL


@dataclass(frozen=True)
class CaseVote:
    vote_id: UUID
    item_id: str
    closed: bool
    passed: bool | None


@dataclass(frozen=True)
class CaseDetail(CaseRow):
    description: str
    version: int
    supporters: tuple[str, ...]
    route: str | None
    participants: tuple[str, ...]
    notice: dict[str, Any] | None
    earliest_start: datetime | None
    agenda: tuple[dict[str, Any], ...]
    sessions: tuple[dict[str, Any], ...]
    statements: tuple[dict[str, Any], ...]
    opinion: str | None
    votes: tuple[CaseVote, ...]
    result: dict[str, Any] | None
    result_due: datetime | None
    implementation: dict[str, Any] | None
    progress: tuple[dict[str, Any], ...]
    feedback: dict[str, Any] | None
    evaluation_rounds: int
    evaluation_open: bool
    evaluation_outcome: dict[str, Any] | None
    exit_reason: str | None

    @property
    def route_name(self) -> Pair | None:
        return ROUTE_NAMES.get(self.route) if self.route else None

    @property
    def channel_name(self) -> Pair:
        return CHANNELS.get(self.channel, (self.channel, self.channel))

    @property
    def notice_elapsed_at(self) -> datetime | None:
        return self.earliest_start

    @property
    def passed(self) -> bool | None:
        if not self.votes:
            return None
        return all(v.passed for v in self.votes)


def case_detail(case: Case) -> CaseDetail:
    return CaseDetail(
        id=case.id,
        estate_id=case.estate_id,
        title=case.title,
        stage=case.stage,
        channel=case.channel,
        submitted_by=case.submitted_by,
        created_at=case.created_on,
        updated_at=case.modified_on,
        motion_id=case.motion_id,
        tabled=case.tabled_by_motion,
        answer_due=case.answer_due,
        escalated=case.escalated,
        description=case.description,
        version=case.version,
        supporters=tuple(case.supporters),
        route=case.route,
        participants=tuple(case.participants),
        notice=dict(case.notice) if case.notice else None,
        earliest_start=case.earliest_start,
        agenda=tuple(dict(i) for i in case.agenda),
        sessions=tuple(dict(s) for s in case.sessions),
        statements=tuple(dict(s) for s in case.statements),
        opinion=case.opinion,
        votes=tuple(
            CaseVote(UUID(vid), v["item_id"], bool(v["closed"]), v["passed"])
            for vid, v in case.votes.items()
        ),
        result=dict(case.result) if case.result else None,
        result_due=case.result_due,
        implementation=dict(case.implementation) if case.implementation else None,
        progress=tuple(dict(p) for p in case.progress),
        feedback=dict(case.feedback) if case.feedback else None,
        evaluation_rounds=case.evaluation_rounds,
        evaluation_open=case.evaluation_open,
        evaluation_outcome=dict(case.evaluation_outcome) if case.evaluation_outcome else None,
        exit_reason=case.exit_reason,
    )


def case_list_row(s: Any) -> CaseRow:
    return CaseRow(
        id=s.case_id,
        estate_id=s.estate_id,
        title=s.title,
        stage=s.stage,
        channel=s.channel,
        submitted_by=s.submitted_by,
        created_at=s.submitted_at,
        updated_at=s.updated_at,
        motion_id=s.motion_id,
        tabled=s.tabled,
        answer_due=s.answer_due,
        escalated=s.escalated,
    )


class CaseQueries(QueryBase):
    """Case queries over the views."""

    def case(self, case_id: UUID) -> CaseSummary:
        with self.store.read() as conn:
            row = (
                conn.execute(sa.select(view_case).where(view_case.c.case_id == case_id.hex))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(
                field="case_id", kind="协商事项", kind_en="case", ident=str(case_id)
            )
        return case_summary(row)

    def cases(
        self,
        estate_id: UUID | None = None,
        stage: Stage | str | None = None,
        community_id: UUID | None = None,
        street_id: UUID | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[CaseSummary, ...]:
        """Cases, newest first, filtered by place and stage."""
        query = _case_query(estate_id, stage, community_id, street_id)
        with self.store.read() as conn:
            return self._case_rows(conn, query, limit, offset)

    def case_page(
        self,
        estate_id: UUID | None = None,
        stage: Stage | str | None = None,
        community_id: UUID | None = None,
        street_id: UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CasePage:
        """One page of cases, newest first, filtered by place and stage, and how many cases the
        filters match: paged and counted in SQL, in one snapshot, so only the page's rows are
        read."""
        query = _case_query(estate_id, stage, community_id, street_id)
        with self.store.read() as conn:
            items = self._case_rows(conn, query, limit, offset)
            if offset == 0 and len(items) < limit:
                total = len(items)  # the whole list is on this page
            else:
                counted = sa.select(sa.func.count()).select_from(query.subquery())
                total = conn.execute(counted).scalar_one()
        return CasePage(items, total, limit, offset)

    @staticmethod
    def _case_rows(
        conn: Connection, query: sa.Select[Any], limit: int, offset: int
    ) -> tuple[CaseSummary, ...]:
        if limit < 1 or offset < 0:
            raise ValueError(f"a page needs limit >= 1 and offset >= 0, not {limit} and {offset}")
        c = view_case.c
        paged = query.order_by(c.submitted_at.desc(), c.case_id).limit(limit).offset(offset)
        return tuple(case_summary(r) for r in conn.execute(paged).mappings())
