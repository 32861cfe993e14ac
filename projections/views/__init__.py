"""The read models, one module each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.views.base import Projected, View
from projections.views.cases import CasesView
from projections.views.councils import CouncilsView
from projections.views.motions import MotionsView
from projections.views.rolls import RollsView
from projections.views.tallies import TalliesView
from projections.views.timeline import TimelineView

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore

VIEW_CLASSES: tuple[type[View], ...] = (
    TalliesView,
    MotionsView,
    CouncilsView,
    TimelineView,
    CasesView,
    RollsView,
)


def default_views(app: ConsultationApp, store: ViewStore) -> list[View]:
    return [cls(app, store) for cls in VIEW_CLASSES]


__all__ = ["VIEW_CLASSES", "Projected", "View", "default_views"]
