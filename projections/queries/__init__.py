"""The read API: typed queries over the views, one module per family of pages, each returning
frozen dataclasses; :class:`PageReads` (``pages``) is what the web reads through.

Every figure comes from the view tables (one consistent snapshot per query), never from replaying
aggregates, except the "as of a moment" queries, which say how they find the past.
"""

from __future__ import annotations

from projections.queries.base import QueryBase
from projections.queries.cases import (
    CaseDetail,
    CasePage,
    CaseQueries,
    CaseRow,
    CaseSummary,
    CaseVote,
    EstateView,
    Page,
)
from projections.queries.councils import (
    CouncilPositions,
    CouncilQueries,
    CouncilView,
    PartyPosition,
    SessionPositions,
)
from projections.queries.dashboards import (
    DEADLINE_NAMES,
    Dashboard,
    DashboardQueries,
    Deadline,
    DeadlineKind,
    Scope,
    Turnout,
)
from projections.queries.evaluations import EvaluationQueries, EvaluationView, Satisfaction
from projections.queries.motions import HeadSignature, MotionQueries, MotionStatus, MotionView
from projections.queries.results import ResultRow
from projections.queries.rolls import RollAsOf, RollQueries
from projections.queries.timeline import (
    CaseAsOf,
    CaseTimeline,
    TimelineEntry,
    TimelineQueries,
    plain,
)
from projections.queries.votes import (
    BallotStatus,
    BallotView,
    CheckView,
    ChoiceCount,
    Count,
    ElectorOption,
    ElectorRef,
    PaperEntryView,
    QuorumProgress,
    TallyAsOf,
    TallyPart,
    TallyView,
    VoteQueries,
    VoteTally,
    VoteView,
    quorum_progress,
)


class Queries(
    VoteQueries,
    MotionQueries,
    CaseQueries,
    TimelineQueries,
    EvaluationQueries,
    CouncilQueries,
    DashboardQueries,
    RollQueries,
    QueryBase,
):
    """Queries over the views of one store. ``app`` is needed only by the as-of queries."""


__all__ = [
    "DEADLINE_NAMES",
    "BallotStatus",
    "BallotView",
    "CaseAsOf",
    "CaseDetail",
    "CasePage",
    "CaseRow",
    "CaseSummary",
    "CaseTimeline",
    "CaseVote",
    "CheckView",
    "ChoiceCount",
    "CouncilPositions",
    "CouncilView",
    "Count",
    "Dashboard",
    "Deadline",
    "DeadlineKind",
    "ElectorOption",
    "ElectorRef",
    "EstateView",
    "EvaluationView",
    "HeadSignature",
    "MotionStatus",
    "MotionView",
    "Page",
    "PaperEntryView",
    "PartyPosition",
    "Queries",
    "QuorumProgress",
    "ResultRow",
    "RollAsOf",
    "Satisfaction",
    "Scope",
    "SessionPositions",
    "TallyAsOf",
    "TallyPart",
    "TallyView",
    "TimelineEntry",
    "Turnout",
    "VoteTally",
    "VoteView",
    "plain",
    "quorum_progress",
]
