"""The read side as the web sees it: the names the views and templates use, from
:mod:`projections.queries`, which builds every page's figures (the web never reads the store)."""

from __future__ import annotations

from projections.queries import (
    BallotView,
    CaseDetail,
    CaseRow,
    EstateView,
    MotionView,
    Page,
    ResultRow,
    TallyView,
    TimelineEntry,
    VoteView,
    plain,
)
from projections.queries.pages import PageReads, Reads

__all__ = [
    "BallotView",
    "CaseDetail",
    "CaseRow",
    "EstateView",
    "MotionView",
    "Page",
    "PageReads",
    "Reads",
    "ResultRow",
    "TallyView",
    "TimelineEntry",
    "VoteView",
    "plain",
]
