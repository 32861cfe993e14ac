"""The use-case boundary: application services by area, composed as :class:`ConsultationApp`.

Commands take plain values and an :class:`~consult.actors.Actor`, enforce roles and rules, and
return the log position of what they stored (for read-your-writes). Each area is one small module
on the shared base (:mod:`consult.application.base`: get -> act -> save, retried when another
writer got there first); :mod:`consult.application.app` composes them.
"""

from consult.application.app import ConsultationApp
from consult.application.cases import OWNER_ROUTES
from consult.application.meetings import ROUTE_RULES
from consult.application.results import (
    BallotReceipt,
    Done,
    EvaluationOutcome,
    MotionOpened,
    SignatureResult,
    VoteClosed,
)
from consult.application.voting import RESULT_NOTICE_DAYS

__all__ = [
    "OWNER_ROUTES",
    "RESULT_NOTICE_DAYS",
    "ROUTE_RULES",
    "BallotReceipt",
    "ConsultationApp",
    "Done",
    "EvaluationOutcome",
    "MotionOpened",
    "SignatureResult",
    "VoteClosed",
]
