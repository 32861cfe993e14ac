"""Cases for lists and dashboards: where each stands, its deadlines, and evaluation figures.

A case's stage and deadlines are computed by the case aggregate itself: each case event is applied
to the case as it stood at the previous version (kept in a small cache, or read at that version
from the store), so this view never re-implements the lifecycle's rules.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.aggregate import ConsultAggregate
from consult.bodies import Estate, Jurisdiction
from consult.case import Case
from consult.evaluation import Evaluation, Rating
from projections.db import ViewString, ViewText, metadata, micros
from projections.errors import ProjectionError
from projections.views.base import EventByEventView, Handler, Projected, topic

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore
    from projections.decoding import BallotRow

view_jurisdiction = sa.Table(
    "view_jurisdiction",
    metadata,
    sa.Column("jurisdiction_id", ViewString(32), primary_key=True),
    sa.Column("kind", ViewString(16), nullable=False),  # street / community
    sa.Column("code", ViewText, nullable=False),
    sa.Column("name", ViewText, nullable=False),
    sa.Column("parent_id", ViewString(32)),
)

view_estate = sa.Table(
    "view_estate",
    metadata,
    sa.Column("estate_id", ViewString(32), primary_key=True),
    sa.Column("code", ViewText, nullable=False),
    sa.Column("name", ViewText, nullable=False),
    sa.Column("community_id", ViewString(32), nullable=False, index=True),
    sa.Column("street_id", ViewString(32), nullable=False, index=True),
)

view_case = sa.Table(
    "view_case",
    metadata,
    sa.Column("case_id", ViewString(32), primary_key=True),
    sa.Column("estate_id", ViewString(32), nullable=False, index=True),
    sa.Column("title", ViewText, nullable=False),
    sa.Column("channel", ViewString(32), nullable=False),
    sa.Column("stage", ViewString(32), nullable=False, index=True),
    sa.Column("route", ViewString(64)),
    sa.Column("motion_id", ViewString(32)),
    sa.Column("submitted_by", ViewText, nullable=False),
    sa.Column("submitted_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("supporters", sa.Integer, nullable=False),
    sa.Column("tabled", sa.Boolean, nullable=False),
    sa.Column("answer_due", sa.BigInteger),  # tabled by a motion: the convener answers by then
    sa.Column("escalated", sa.Boolean, nullable=False),
    sa.Column("meeting_at", sa.BigInteger),  # from the published notice
    sa.Column("earliest_start", sa.BigInteger),  # end of the minimum notice period
    sa.Column("result_due", sa.BigInteger),  # a vote concluded: results published by then
    sa.Column("implementation_due", sa.BigInteger),
    sa.Column("assignee", ViewText),
    sa.Column("progress", sa.Integer),  # last reported percent
    sa.Column("votes", sa.Integer, nullable=False),
    sa.Column("passed", sa.Boolean),
    sa.Column("evaluation_rounds", sa.Integer, nullable=False),
    sa.Column("evaluation_open", sa.Boolean, nullable=False),
    sa.Column("exit_reason", ViewText),
)

view_evaluation = sa.Table(
    "view_evaluation",
    metadata,
    sa.Column("evaluation_id", ViewString(32), primary_key=True),
    sa.Column("case_id", ViewString(32), nullable=False, index=True),
    sa.Column("round_no", sa.Integer, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=False),
    sa.Column("opened_at", sa.BigInteger, nullable=False),
    sa.Column("closes_at", sa.BigInteger, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("respondents", sa.Integer, nullable=False),
    sa.Column("satisfied", sa.Integer, nullable=False),
    sa.Column("basically_satisfied", sa.Integer, nullable=False),
    sa.Column("dissatisfied", sa.Integer, nullable=False),
    sa.Column("aware", sa.Integer, nullable=False),
    sa.Column("participated", sa.Integer, nullable=False),
)

RATING_COLUMNS = {
    Rating.SATISFIED.value: "satisfied",
    Rating.BASICALLY_SATISFIED.value: "basically_satisfied",
    Rating.DISSATISFIED.value: "dissatisfied",
}

#: Every event class of the case aggregate (a new one is picked up without editing this view).
CASE_EVENTS = tuple(
    cls
    for cls in vars(Case).values()
    if isinstance(cls, type) and issubclass(cls, ConsultAggregate.Event)
)


def _when(value: datetime | str | None) -> int | None:
    if value is None:
        return None
    return micros(datetime.fromisoformat(value) if isinstance(value, str) else value)


def case_row(case: Case) -> dict[str, Any]:
    """The row of a case as the aggregate has it."""
    return {
        "case_id": case.id.hex,
        "estate_id": case.estate_id.hex,
        "title": case.title,
        "channel": case.channel,
        "stage": case.stage.value,
        "route": case.route,
        "motion_id": case.motion_id.hex if case.motion_id else None,
        "submitted_by": case.submitted_by,
        "submitted_at": micros(case.created_on),
        "updated_at": micros(case.modified_on),
        "version": case.version,
        "supporters": len(case.supporters),
        "tabled": case.tabled_by_motion,
        "answer_due": _when(case.answer_due),
        "escalated": case.escalated,
        "meeting_at": _when(case.notice["meeting_at"]) if case.notice else None,
        "earliest_start": _when(case.earliest_start),
        "result_due": _when(case.result_due),
        "implementation_due": _when(case.implementation["due"]) if case.implementation else None,
        "assignee": case.implementation["assignee"] if case.implementation else None,
        "progress": case.progress[-1]["percent"] if case.progress else None,
        "votes": len(case.votes),
        "passed": case.passed,
        "evaluation_rounds": case.evaluation_rounds,
        "evaluation_open": case.evaluation_open,
        "exit_reason": case.exit_reason,
    }


class CasesView(EventByEventView):
    name = "cases"
    tables = (view_jurisdiction, view_estate, view_case, view_evaluation)
    cache_size = 256

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        super().__init__(app, store)
        self._cases: OrderedDict[UUID, Case] = OrderedDict()  # recently changed cases
        self._working: dict[UUID, Case] = {}  # the section's cases, as they stand

    def reset(self) -> None:
        self._cases.clear()
        self._working = {}

    def prepare(self, events: Sequence[Projected], ballots: Sequence[BallotRow]) -> None:
        """Each case of the section as it stood before the section's first event of it."""
        working: dict[UUID, Case] = {}
        for item in events:
            e = item.event
            if (
                item.topic not in self._case_topics
                or e.originator_id in working
                or e.originator_version == 1
            ):
                continue
            before = e.originator_version - 1
            case = self._cases.get(e.originator_id)
            if case is None or case.version != before:
                case = self.app.case(e.originator_id, version=before)
            working[e.originator_id] = case
        self._working = working

    def project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None:
        try:
            super().project(conn, events, ballots)
        finally:
            for case_id, case in self._working.items():
                self._cases[case_id] = case
                self._cases.move_to_end(case_id)
            while len(self._cases) > self.cache_size:
                self._cases.popitem(last=False)
            self._working = {}

    _case_topics = frozenset(topic(cls) for cls in CASE_EVENTS)

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {topic(cls): self._case for cls in CASE_EVENTS}
        handlers.update(
            {
                topic(Jurisdiction.Created): self._jurisdiction,
                topic(Estate.Created): self._estate,
                topic(Evaluation.Created): self._evaluation,
                topic(Evaluation.Rated): self._rated,
                topic(Evaluation.Closed): self._evaluation_closed,
            }
        )
        return handlers

    def _jurisdiction(self, conn: Connection, p: Projected) -> None:
        e = p.event
        conn.execute(
            view_jurisdiction.insert().values(
                jurisdiction_id=e.originator_id.hex,
                kind=e.kind,
                code=e.code,
                name=e.name,
                parent_id=e.parent_id.hex if e.parent_id else None,
            )
        )

    def _estate(self, conn: Connection, p: Projected) -> None:
        e = p.event
        conn.execute(
            view_estate.insert().values(
                estate_id=e.originator_id.hex,
                code=e.code,
                name=e.name,
                community_id=e.community_id.hex,
                street_id=e.street_id.hex,
            )
        )

    def _case(self, conn: Connection, p: Projected) -> None:
        e = p.event
        case_id: UUID = e.originator_id
        if e.originator_version == 1:
            case = cast(Case, e.mutate(None))
        else:
            previous = self._working.get(case_id)
            if previous is None or previous.version != e.originator_version - 1:
                raise ProjectionError(
                    f"case {case_id} version {e.originator_version - 1} was not prepared"
                )
            case = cast(Case, e.mutate(previous))
        self._working[case_id] = case
        row = case_row(case)
        if e.originator_version == 1:
            conn.execute(view_case.insert().values(**row))
        else:
            conn.execute(
                sa.update(view_case).where(view_case.c.case_id == row.pop("case_id")).values(**row)
            )

    def _evaluation(self, conn: Connection, p: Projected) -> None:
        e = p.event
        conn.execute(
            view_evaluation.insert().values(
                evaluation_id=e.originator_id.hex,
                case_id=e.case_id.hex,
                round_no=e.round_no,
                eligible=e.eligible,
                opened_at=micros(e.timestamp),
                closes_at=micros(e.closes_at),
                closed=False,
                respondents=0,
                satisfied=0,
                basically_satisfied=0,
                dissatisfied=0,
                aware=0,
                participated=0,
            )
        )

    def _rated(self, conn: Connection, p: Projected) -> None:
        e = p.event
        v = view_evaluation.c
        rating = RATING_COLUMNS[e.rating]
        conn.execute(
            sa.update(view_evaluation)
            .where(v.evaluation_id == e.originator_id.hex)
            .values(
                {
                    v.respondents: v.respondents + 1,
                    v[rating]: v[rating] + 1,
                    v.aware: v.aware + int(bool(e.aware)),
                    v.participated: v.participated + int(bool(e.participated)),
                }
            )
        )

    def _evaluation_closed(self, conn: Connection, p: Projected) -> None:
        v = view_evaluation.c
        conn.execute(
            sa.update(view_evaluation)
            .where(v.evaluation_id == p.event.originator_id.hex)
            .values(closed=True)
        )
