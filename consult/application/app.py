"""The consultation platform's application: the area services composed on one shared base."""

from __future__ import annotations

from consult.application.deadlines import DeadlineService
from consult.application.estates import EstateService
from consult.application.evaluations import EvaluationService
from consult.application.motions import MotionService
from consult.application.paper import PaperBallotService


class ConsultationApp(
    EstateService, PaperBallotService, MotionService, EvaluationService, DeadlineService
):
    """The consultation platform's application service: every use case, by area.

    estates and councils (:mod:`.estates`), rolls and registers (:mod:`.rolls`), cases
    (:mod:`.cases`), meetings (:mod:`.meetings`), votes (:mod:`.voting`), online ballots and
    proxies (:mod:`.ballots`), paper ballots (:mod:`.paper`), motions (:mod:`.motions`),
    evaluations (:mod:`.evaluations`) and deadlines (:mod:`.deadlines`).
    """

    name = "consult"
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
    log_section_size = 1000
