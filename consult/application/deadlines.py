"""Deadlines run by the clock: motions past their window lapse, tabled topics not answered in
time are escalated. Run periodically (``consult deadlines``); a concurrent change wins."""

from __future__ import annotations

from uuid import UUID

from consult.application.base import ServiceBase
from consult.case import Case, Stage
from consult.errors import ConsultError
from consult.motion import Motion, MotionState


class DeadlineService(ServiceBase):
    def process_deadlines(self) -> dict[str, list[UUID]]:
        """Lapse motions past their window and escalate tabled topics not answered in time."""
        now = self.now()
        lapsed: list[UUID] = []
        escalated: list[UUID] = []
        for motion_id in self.eventlog.originators(Motion.Created):
            motion = self.motion(motion_id)
            if motion.state == MotionState.OPEN and now >= motion.closes_at:
                motion.lapse_if_due(now)
                try:
                    self._save(motion)
                    lapsed.append(motion.id)
                except ConsultError:
                    pass  # a concurrent signature or lapse won; the next run sees it
        for case_id in self.eventlog.originators(Case.Tabled):
            case = self.case(case_id)
            if (
                case.stage == Stage.COLLECTING
                and case.answer_due
                and now > case.answer_due
                and not case.escalated
            ):
                case.escalate(now)
                try:
                    self._save(case)
                    escalated.append(case.id)
                except ConsultError:
                    pass  # changed concurrently (answered or escalated); the next run sees it
        return {"lapsed": lapsed, "escalated": escalated}
