"""Dashboards of an estate, a community or a street: stages, deadlines, turnout."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.case import TERMINAL, Stage
from consult.errors import NotFoundError
from consult.rules import (
    Choice,
    CountingOptions,
    rule_set,
)
from projections.db import area, micros, moment
from projections.queries.base import (
    QueryBase,
    Row,
    _id,
    _ratio,
)
from projections.queries.evaluations import Satisfaction, satisfaction_of
from projections.views.cases import (
    view_case,
    view_estate,
    view_evaluation,
    view_jurisdiction,
)
from projections.views.tallies import view_vote

if TYPE_CHECKING:
    pass


class Scope(StrEnum):
    ESTATE = "estate"
    COMMUNITY = "community"
    STREET = "street"


class DeadlineKind(StrEnum):
    NOTICE = "notice"  # the announced meeting time passed and nothing was deliberated
    ANSWER = "answer"  # a tabled motion's topic was not answered in time
    ESCALATION = "escalation"  # escalated to the street, still unanswered
    RESULT = "result"  # a vote concluded but its result was not published in time
    IMPLEMENTATION = "implementation"  # implementation past its due date


DEADLINE_NAMES: dict[DeadlineKind, tuple[str, str]] = {
    DeadlineKind.NOTICE: ("公示的会议时间已过", "meeting time passed"),
    DeadlineKind.ANSWER: ("动议议题逾期未答复", "motion topic not answered"),
    DeadlineKind.ESCALATION: ("已报街道待处理", "escalated to the street"),
    DeadlineKind.RESULT: ("表决结果逾期未公示", "vote result not published"),
    DeadlineKind.IMPLEMENTATION: ("实施逾期", "implementation overdue"),
}


@dataclass(frozen=True)
class Deadline:
    case_id: UUID
    estate_id: UUID
    title: str
    kind: DeadlineKind
    due: datetime
    overdue_by: timedelta


@dataclass(frozen=True)
class Turnout:
    vote_id: UUID
    case_id: UUID
    title: str
    state: str
    participating_heads: int
    total_heads: int
    participating_area: Decimal
    total_area: Decimal
    heads_rate: Fraction | None
    area_rate: Fraction | None


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    scope_id: UUID
    name: str
    now: datetime
    cases_by_stage: Mapping[Stage, int]
    open_cases: int
    overdue: tuple[Deadline, ...]
    turnout: tuple[Turnout, ...]
    satisfaction: tuple[Satisfaction, ...]
    position: int

    @property
    def total_cases(self) -> int:
        return sum(self.cases_by_stage.values())


def _turnout(row: Row) -> Turnout:
    options = CountingOptions.from_dict(json.loads(row["options"]))
    choices = [Choice.YES, Choice.NO]
    if options.abstain_participates:
        choices.append(Choice.ABSTAIN)
    if options.invalid_participates:
        choices.append(Choice.INVALID)
    heads = sum(row[f"{c.value}_heads"] for c in choices)
    hundredths = sum(row[f"{c.value}_area"] for c in choices)
    uses_area = rule_set(row["rule_set_id"]).uses_area
    return Turnout(
        vote_id=_id(row["vote_id"]),
        case_id=_id(row["case_id"]),
        title=row["title"],
        state=row["state"],
        participating_heads=heads,
        total_heads=row["total_heads"],
        participating_area=area(hundredths),
        total_area=area(row["total_area"]),
        heads_rate=_ratio(heads, row["total_heads"]),
        area_rate=_ratio(hundredths, row["total_area"]) if uses_area else None,
    )


class DashboardQueries(QueryBase):
    """Dashboard queries over the views."""

    def dashboard(
        self, scope: Scope | str, scope_id: UUID, now: datetime | None = None
    ) -> Dashboard:
        """Cases by stage, overdue deadlines, turnout and satisfaction for an estate, a community
        or a street."""
        scope = Scope(scope)
        when = now or self.clock.now()
        c, e = view_case.c, view_estate.c
        where = {
            Scope.ESTATE: e.estate_id == scope_id.hex,
            Scope.COMMUNITY: e.community_id == scope_id.hex,
            Scope.STREET: e.street_id == scope_id.hex,
        }[scope]
        in_scope = sa.select(c.case_id).join(view_estate, e.estate_id == c.estate_id).where(where)
        with self.store.read() as conn:
            name = self._scope_name(conn, scope, scope_id)
            stages = conn.execute(
                sa.select(c.stage, sa.func.count())
                .join(view_estate, e.estate_id == c.estate_id)
                .where(where)
                .group_by(c.stage)
            ).all()
            overdue = self._overdue(conn, where, micros(when))
            v = view_vote.c
            votes = (
                conn.execute(
                    sa.select(view_vote).where(v.case_id.in_(in_scope)).order_by(v.opened_at)
                )
                .mappings()
                .all()
            )
            ev = view_evaluation.c
            evaluations = (
                conn.execute(
                    sa.select(view_evaluation)
                    .where(ev.case_id.in_(in_scope))
                    .order_by(ev.opened_at)
                )
                .mappings()
                .all()
            )
            position = min(self._position(conn, n) for n in ("cases", "tallies"))
        by_stage = {Stage(stage): n for stage, n in stages}
        return Dashboard(
            scope=scope,
            scope_id=scope_id,
            name=name,
            now=when,
            cases_by_stage=by_stage,
            open_cases=sum(n for s, n in by_stage.items() if s not in TERMINAL),
            overdue=overdue,
            turnout=tuple(_turnout(r) for r in votes),
            satisfaction=tuple(satisfaction_of(r) for r in evaluations),
            position=position,
        )

    def _scope_name(self, conn: Connection, scope: Scope, scope_id: UUID) -> str:
        if scope is Scope.ESTATE:
            name = conn.execute(
                sa.select(view_estate.c.name).where(view_estate.c.estate_id == scope_id.hex)
            ).scalar()
        else:
            j = view_jurisdiction.c
            name = conn.execute(
                sa.select(j.name).where(j.jurisdiction_id == scope_id.hex, j.kind == scope.value)
            ).scalar()
        if name is None:
            zh = {Scope.ESTATE: "小区", Scope.COMMUNITY: "社区", Scope.STREET: "街道"}[scope]
            raise NotFoundError(field="scope_id", kind=zh, kind_en=scope.value, ident=str(scope_id))
        return str(name)

    def _overdue(self, conn: Connection, where: Any, now: int) -> tuple[Deadline, ...]:
        c, e = view_case.c, view_estate.c
        rules: list[tuple[DeadlineKind, Any, Any]] = [
            (
                DeadlineKind.NOTICE,
                c.meeting_at,
                sa.and_(c.stage == Stage.NOTICE.value, c.meeting_at < now),
            ),
            (
                DeadlineKind.ANSWER,
                c.answer_due,
                sa.and_(
                    c.stage == Stage.COLLECTING.value, c.answer_due < now, sa.not_(c.escalated)
                ),
            ),
            (
                DeadlineKind.ESCALATION,
                c.answer_due,
                sa.and_(c.stage == Stage.COLLECTING.value, c.escalated),
            ),
            (
                DeadlineKind.RESULT,
                c.result_due,
                sa.and_(c.stage == Stage.VOTING.value, c.result_due < now),
            ),
            (
                DeadlineKind.IMPLEMENTATION,
                c.implementation_due,
                sa.and_(
                    c.stage.in_([Stage.IMPLEMENTATION.value, Stage.RECTIFICATION.value]),
                    c.implementation_due < now,
                ),
            ),
        ]
        found: list[Deadline] = []
        for kind, due, condition in rules:
            query = (
                sa.select(c.case_id, c.estate_id, c.title, due)
                .join(view_estate, e.estate_id == c.estate_id)
                .where(where, condition)
            )
            for case_id, estate_id, title, when in conn.execute(query):
                due_at = moment(when)
                found.append(
                    Deadline(
                        _id(case_id), _id(estate_id), title, kind, due_at, moment(now) - due_at
                    )
                )
        return tuple(sorted(found, key=lambda d: (d.due, d.kind.value, d.case_id.hex)))
