"""Evaluation rounds: rates, counts and who rated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa

from projections.db import moment
from projections.queries.base import (
    Pair,
    QueryBase,
    Row,
    _id,
    _ratio,
)
from projections.views.cases import (
    view_evaluation,
)
from projections.views.timeline import view_case_event

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Satisfaction:
    evaluation_id: UUID
    case_id: UUID
    round_no: int
    closed: bool
    closes_at: datetime
    eligible: int
    respondents: int
    counts: Mapping[str, int]  # per rating
    satisfaction: Fraction | None  # (satisfied + basically satisfied) / respondents
    awareness: Fraction | None
    participation: Fraction | None
    response: Fraction | None


def satisfaction_of(row: Row) -> Satisfaction:
    respondents = row["respondents"]
    counts = {
        "satisfied": row["satisfied"],
        "basically-satisfied": row["basically_satisfied"],
        "dissatisfied": row["dissatisfied"],
    }
    return Satisfaction(
        evaluation_id=_id(row["evaluation_id"]),
        case_id=_id(row["case_id"]),
        round_no=row["round_no"],
        closed=bool(row["closed"]),
        closes_at=moment(row["closes_at"]),
        eligible=row["eligible"],
        respondents=respondents,
        counts=counts,
        satisfaction=_ratio(row["satisfied"] + row["basically_satisfied"], respondents),
        awareness=_ratio(row["aware"], respondents),
        participation=_ratio(row["participated"], respondents),
        response=_ratio(respondents, row["eligible"]),
    )


@dataclass(frozen=True)
class EvaluationView:
    case_id: UUID
    round_no: int
    eligible: int
    respondents: int
    closes_at: datetime
    closed: bool
    awareness: Fraction | None
    participation: Fraction | None
    satisfaction: Fraction | None
    response: Fraction | None
    counts: tuple[tuple[str, Pair, int], ...]
    rated_by_me: bool
    # The decision rule shown with the result: the minimum number of answers to decide on the
    # rates, whether this round has them, and the satisfaction threshold.
    min_responses: int = 0
    conclusive: bool = False
    threshold: Fraction | None = None


class EvaluationQueries(QueryBase):
    """Evaluation queries over the views."""

    def evaluation(self, case_id: UUID) -> Satisfaction | None:
        """The case's latest evaluation round (None before one is opened)."""
        ev = view_evaluation.c
        with self.store.read() as conn:
            row = (
                conn.execute(
                    sa.select(view_evaluation)
                    .where(ev.case_id == case_id.hex)
                    .order_by(ev.round_no.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return None if row is None else satisfaction_of(row)

    def has_rated(self, case_id: UUID, evaluation_id: UUID, person_id: str) -> bool:
        """Whether the person has rated in this evaluation round (the timeline names each rater)."""
        t = view_case_event.c
        with self.store.read() as conn:
            found = conn.execute(
                sa.select(t.position)
                .where(
                    t.case_id == case_id.hex,
                    t.aggregate_id == evaluation_id.hex,
                    t.event == "Rated",
                    t.actor == person_id,
                )
                .limit(1)
            ).first()
        return found is not None
