"""What the application's commands answer: the aggregate concerned and the log position stored."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from consult.evaluation import Rates
from consult.rules import Choice, MotionProgress, VoteResult


@dataclass(frozen=True)
class Done:
    """What a command stored: the aggregate it concerned and the log position of its last event."""

    id: UUID
    position: int


@dataclass(frozen=True)
class BallotReceipt:
    ballot_id: UUID
    vote_id: UUID
    elector_id: str
    choice: Choice
    channel: str
    receipt: str
    changed: bool
    position: int


@dataclass(frozen=True)
class SignatureResult:
    motion_id: UUID
    head_ids: tuple[str, ...]
    progress: MotionProgress
    tabled: bool
    position: int


@dataclass(frozen=True)
class EvaluationOutcome:
    rates: Rates
    threshold: str
    reopened: bool
    position: int
    min_responses: int = 0
    conclusive: bool = False


@dataclass(frozen=True)
class MotionOpened:
    """A threshold motion and its topic case, and the log position of their events."""

    motion_id: UUID
    case_id: UUID
    position: int


@dataclass(frozen=True)
class VoteClosed:
    """A closed vote's counted result, and the log position of its close and recorded result."""

    vote_id: UUID
    result: VoteResult
    position: int
