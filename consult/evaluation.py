"""Evaluation of an implemented outcome (DOMAIN.md §7): ratings and the published rates.

A rate is published with its number of responses and its base (the eligible heads); a decision on
it (reopening for rectification) is taken only when enough heads answered (`RateDecision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate, natural_id
from consult.errors import VoteNotOpenError
from consult.validation import invalid, parse_enum


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
    return parse_enum(Rating, value, "rating", "rating", "rating_choice")


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


def conclusive(respondents: int, eligible: int, min_responses: int) -> bool:
    """Whether rates from ``respondents`` of ``eligible`` heads are enough to decide on: at least
    ``min_responses`` answers, or every eligible head where fewer are eligible."""
    return respondents > 0 and respondents >= min(min_responses, eligible)


@dataclass(frozen=True)
class RateDecision:
    """What the closing of a round decides from its rates, under the estate's settings."""

    threshold: Fraction
    min_responses: int
    conclusive: bool  # enough responses to decide on the rates
    reopened: bool  # conclusive and satisfaction below the threshold: rectification

    @classmethod
    def of(cls, rates: Rates, threshold: Fraction, min_responses: int) -> RateDecision:
        enough = conclusive(rates.respondents, rates.eligible, min_responses)
        low = rates.satisfaction is not None and rates.satisfaction < threshold
        return cls(threshold, min_responses, enough, enough and low)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": str(self.threshold),
            "min_responses": self.min_responses,
            "conclusive": self.conclusive,
        }


class Evaluation(ConsultAggregate):
    """One round of evaluation of a case; the responses are held here so that each counts once."""

    class Created(ConsultAggregate.Created):
        case_id: UUID
        round_no: int
        eligible: int
        closes_at: datetime
        # the owners' roll whose heads may rate (None in rounds recorded before heads)
        roll_version: int | None = None

    def __init__(
        self,
        case_id: UUID,
        round_no: int,
        eligible: int,
        closes_at: datetime,
        roll_version: int | None = None,
    ) -> None:
        self.case_id = case_id
        self.round_no = round_no
        self.eligible = eligible
        self.closes_at = closes_at
        self.roll_version = roll_version
        # One response per owners' head (like a ballot), so that respondents never exceed eligible.
        self.responses: dict[str, dict[str, Any]] = {}
        self.raters: set[str] = set()
        self.closed = False

    class Rated(ConsultAggregate.Event):
        rating: str
        aware: bool
        participated: bool
        head: str | None = None  # the head rated for; None in rounds recorded before heads

        def apply(self, ev: Evaluation) -> None:
            ev.raters.add(self.actor)
            ev.responses[self.head or self.actor] = {
                "rating": self.rating,
                "aware": self.aware,
                "participated": self.participated,
            }

    class Closed(ConsultAggregate.Event):
        def apply(self, ev: Evaluation) -> None:
            ev.closed = True

    def has_rated(self, person: str) -> bool:
        return person in self.raters

    def rate(
        self,
        person: str,
        heads: tuple[str, ...],
        rating: Rating,
        aware: bool,
        participated: bool,
        at: datetime,
    ) -> None:
        """Record ``person``'s rating for each of the heads they may answer for.

        A head answers once: a co-owner cannot rate a head another co-owner has rated.
        """
        if self.closed or at >= self.closes_at:
            raise VoteNotOpenError(
                field="rating", state="评价已结束", state_en="the evaluation has ended"
            )
        if not heads:
            raise invalid("rating", "rating", "rater_not_owner")
        open_heads = [h for h in heads if h not in self.responses]
        if person in self.raters or not open_heads:
            raise invalid("rating", "rating", "already_rated")
        for head in open_heads:
            self.record(
                Evaluation.Rated,
                at,
                person,
                "",
                rating=rating.value,
                aware=aware,
                participated=participated,
                head=head,
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
