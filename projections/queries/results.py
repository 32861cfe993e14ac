"""Result rows of the votes, for the auditors' exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from consult.case import Case
from projections.queries.votes import ChoiceCount, TallyPart, VoteView

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ResultRow:
    case_id: UUID
    case_title: str
    estate_id: UUID
    vote_id: UUID
    item_id: str
    title: str
    state: str
    closed_at: datetime | None
    rule_set_id: str
    participating_heads: int
    participating_area: Decimal | None
    yes_heads: int
    yes_area: Decimal | None
    no_heads: int
    abstain_heads: int
    total_heads: int
    total_area: Decimal | None
    quorum_met: bool
    passed: bool


def result_row(case: Case, vote: VoteView, raw: TallyPart) -> ResultRow:
    """One vote's row of results: its counted figures and whether it passed."""
    by = {c.choice: c for c in raw.by_choice}
    zero = ChoiceCount("", ("", ""), 0, None)
    return ResultRow(
        case_id=case.id,
        case_title=case.title,
        estate_id=case.estate_id,
        vote_id=vote.id,
        item_id=vote.item_id,
        title=vote.title,
        state=vote.state.value,
        closed_at=vote.closed_at,
        rule_set_id=vote.rule_set_id,
        participating_heads=raw.participating.heads,
        participating_area=raw.participating.area,
        yes_heads=by.get("yes", zero).heads,
        yes_area=by.get("yes", zero).area,
        no_heads=by.get("no", zero).heads,
        abstain_heads=by.get("abstain", zero).heads,
        total_heads=raw.total.heads,
        total_area=raw.total.area,
        quorum_met=raw.quorum_met,
        passed=raw.passed,
    )
