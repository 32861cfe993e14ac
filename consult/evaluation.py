"""Evaluation of an implemented outcome (DOMAIN.md §7): ratings and the published rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate, natural_id
from consult.errors import ValidationError, VoteNotOpenError


class Rating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically-satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


RATING_NAMES: dict[Rating, tuple[str, str]] = {
    Rating.SATISFIED: ("满意", "satisfied"),
    Rating.BASICALLY_SATISFIED: ("基本满意", "basically satisfied"),
    Rating.DISSATISFIED: ("不满意", "dissatisfied"),
}


def evaluation_id(case_id: UUID, round_no: int) -> UUID:
    return natural_id("evaluation", case_id, round_no)


def parse_rating(value: str) -> Rating:
    try:
        return Rating(value)
    except ValueError:
        raise ValidationError(
            field="rating",
            label="评价",
            label_en="rating",
            reason="须为 满意、基本满意、不满意 之一",
            reason_en="must be one of satisfied, basically-satisfied, dissatisfied",
        ) from None


@dataclass(frozen=True)
class Rates:
    """Survey rates; each is None when nobody responded."""

    eligible: int
    respondents: int
    response: Fraction | None  # respondents / eligible
    awareness: Fraction | None  # 知晓率: aware / respondents
    participation: Fraction | None  # 参与率: took part / respondents
    satisfaction: Fraction | None  # 满意率: (满意 + 基本满意) / respondents
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        def f(x: Fraction | None) -> str | None:
            return None if x is None else str(x)

        return {
            "eligible": self.eligible,
            "respondents": self.respondents,
            "response": f(self.response),
            "awareness": f(self.awareness),
            "participation": f(self.participation),
            "satisfaction": f(self.satisfaction),
            "counts": dict(self.counts),
        }


class Evaluation(ConsultAggregate):
    """One round of evaluation of a case; the responses are held here so that each counts once."""

    class Created(ConsultAggregate.Created):
        case_id: UUID
        round_no: int
        eligible: int
        closes_at: datetime

    def __init__(self, case_id: UUID, round_no: int, eligible: int, closes_at: datetime) -> None:
        self.case_id = case_id
        self.round_no = round_no
        self.eligible = eligible
        self.closes_at = closes_at
        self.responses: dict[str, dict[str, Any]] = {}
        self.closed = False

    class Rated(ConsultAggregate.Event):
        rating: str
        aware: bool
        participated: bool

        def apply(self, ev: Evaluation) -> None:
            ev.responses[self.actor] = {
                "rating": self.rating,
                "aware": self.aware,
                "participated": self.participated,
            }

    class Closed(ConsultAggregate.Event):
        def apply(self, ev: Evaluation) -> None:
            ev.closed = True

    def rate(
        self, person: str, rating: Rating, aware: bool, participated: bool, at: datetime
    ) -> None:
        if self.closed or at >= self.closes_at:
            raise VoteNotOpenError(
                field="rating", state="评价已结束", state_en="the evaluation has ended"
            )
        if person in self.responses:
            raise ValidationError(
                field="rating",
                label="评价",
                label_en="rating",
                reason="您已评价过",
                reason_en="you have already rated",
            )
        self.record(
            Evaluation.Rated,
            at,
            person,
            "",
            rating=rating.value,
            aware=aware,
            participated=participated,
        )

    def rates(self) -> Rates:
        n = len(self.responses)
        counts = {r.value: 0 for r in Rating}
        aware = took_part = 0
        for resp in self.responses.values():
            counts[resp["rating"]] += 1
            aware += bool(resp["aware"])
            took_part += bool(resp["participated"])

        def ratio(a: int, b: int) -> Fraction | None:
            return Fraction(a, b) if b else None

        return Rates(
            eligible=self.eligible,
            respondents=n,
            response=ratio(n, self.eligible),
            awareness=ratio(aware, n),
            participation=ratio(took_part, n),
            satisfaction=ratio(counts[Rating.SATISFIED] + counts[Rating.BASICALLY_SATISFIED], n),
            counts=counts,
        )
