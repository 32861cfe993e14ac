"""Topics and cases: submission, support, confirmation of a route, deliberation, and the way
out (result, implementation, feedback, archive, withdrawal, revocation, annulment)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consult import membership
from consult.actors import Actor, Role
from consult.aggregate import natural_id
from consult.application.base import new_id
from consult.application.results import Done
from consult.application.rolls import RollService
from consult.case import CHANNELS, Case, require_text
from consult.motion import MotionState
from consult.settings import NOTICE_ROUTES
from consult.validation import one_of

#: Routes whose meetings the owners' committee convenes.
OWNER_ROUTES = frozenset({"owners-assembly", "owners-assembly-extraordinary", "owners-committee"})


class CaseService(RollService):
    def submit_topic(
        self, estate: UUID, title: str, description: str, channel: str, actor: Actor
    ) -> Done:
        self.estate(estate)
        membership.require_submitter(actor, self._member_of(estate))
        one_of(channel, (c for c in CHANNELS if c != "motion"), "channel", "channel")
        case = self._new_case(estate, title, description, channel, actor, None)
        return Done(case.id, self._save(case))

    def _new_case(
        self,
        estate: UUID,
        title: str,
        description: str,
        channel: str,
        actor: Actor,
        motion_id: UUID | None,
    ) -> Case:
        title = require_text(title, "title", "议题标题", "topic title", 200)
        description = require_text(description, "description", "议题内容", "topic description")
        cid = natural_id("case", motion_id) if motion_id else new_id()
        return Case.start(
            cid,
            self.now(),
            actor.person_id,
            "",
            estate_id=estate,
            title=title,
            description=description,
            channel=channel,
            submitted_by=actor.person_id,
            motion_id=motion_id,
        )

    def _case_command(self, case_id: UUID, change: Callable[[Case, datetime], None]) -> Done:
        return Done(case_id, self._command(lambda: self.case(case_id), change))

    def _convened(
        self, case_id: UUID, actor: Actor, change: Callable[[Case, datetime], None]
    ) -> Done:
        """A command only the case's convener may give (:meth:`require_convener`)."""
        self.require_convener(self.case(case_id), actor)
        return self._case_command(case_id, change)

    def support_topic(self, case_id: UUID, actor: Actor) -> Done:
        estate = self.case(case_id).estate_id
        membership.require_resident(actor, self._member_of(estate), membership.SUPPORT)
        return self._case_command(case_id, lambda c, at: c.support(actor.person_id, at))

    def confirm_topic(
        self, case_id: UUID, route: str, participants: Sequence[str], actor: Actor, reason: str = ""
    ) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        one_of(route, NOTICE_ROUTES, "route", "route")
        people = [p.strip() for p in participants if p.strip()]
        return self._case_command(
            case_id, lambda c, at: c.confirm(route, people, at, actor.person_id, reason)
        )

    def reject_topic(self, case_id: UUID, actor: Actor, reason: str) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        return self._case_command(case_id, lambda c, at: c.reject(at, actor.person_id, reason))

    def refer_topic(self, case_id: UUID, to: str, actor: Actor, reason: str) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        return self._case_command(case_id, lambda c, at: c.refer(to, at, actor.person_id, reason))

    def require_convener(self, case: Case, actor: Actor) -> None:
        """Owners' matters are convened by the owners' committee, or by the residents' committee only
        while its announced acting arrangement is in force; others by the residents' committee or
        the Party organisation."""
        if case.route in OWNER_ROUTES:
            estate = self.estate(case.estate_id)
            if estate.acting is not None and not estate.has_owners_committee:
                actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
            else:
                actor.require(Role.OWNERS_COMMITTEE)
        else:
            actor.require(Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION)

    def speak(self, case_id: UUID, text: str, actor: Actor) -> Done:
        membership.require_speaker(actor, self._member_of(self.case(case_id).estate_id))
        return self._case_command(case_id, lambda c, at: c.speak(actor.person_id, text, at))

    def form_opinion(self, case_id: UUID, opinion: str, actor: Actor) -> Done:
        return self._convened(
            case_id, actor, lambda c, at: c.form_opinion(opinion, at, actor.person_id)
        )

    # --- result, implementation, feedback, exits ----------------------------------------------

    def publish_result(self, case_id: UUID, summary: str, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        outcome: dict[str, Any] = {"votes": {}, "opinion": case.opinion}
        for vid in case.votes:
            vote = self.vote(UUID(vid))
            outcome["votes"][vid] = {
                "item_id": vote.item_id,
                "title": vote.title,
                "result": vote.result,
            }
        return self._case_command(
            case_id, lambda c, at: c.publish_result(summary, outcome, at, actor.person_id)
        )

    def assign_implementation(
        self, case_id: UUID, assignee: str, plan: str, due: datetime, actor: Actor
    ) -> Done:
        return self._convened(
            case_id, actor, lambda c, at: c.assign(assignee, plan, due, at, actor.person_id)
        )

    def report_progress(self, case_id: UUID, percent: int, text: str, actor: Actor) -> Done:
        case = self.case(case_id)
        if not (case.implementation and case.implementation["assignee"] == actor.person_id):
            actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE, Role.PROPERTY_COMPANY)
        return self._case_command(
            case_id, lambda c, at: c.report_progress(percent, text, at, actor.person_id)
        )

    def give_feedback(
        self, case_id: UUID, summary: str, explanations: Sequence[dict[str, str]], actor: Actor
    ) -> Done:
        return self._convened(
            case_id,
            actor,
            lambda c, at: c.give_feedback(
                summary, [dict(e) for e in explanations], at, actor.person_id
            ),
        )

    def archive(self, case_id: UUID, actor: Actor) -> Done:
        return self._convened(case_id, actor, lambda c, at: c.archive(at, actor.person_id))

    def withdraw(self, case_id: UUID, actor: Actor, reason: str) -> Done:
        case = self.case(case_id)
        if case.submitted_by != actor.person_id:
            actor.require(Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION, Role.OWNERS_COMMITTEE)
        motion_id = case.motion_id
        if motion_id is None:
            return self._case_command(
                case_id, lambda c, at: c.withdraw(at, actor.person_id, reason)
            )

        def attempt() -> Done:
            # The topic of a motion still collecting signatures: its signing ends with it, in the
            # same transaction, so that no later signature can table a withdrawn topic.
            c, at = self.case(case_id), self.now()
            c.withdraw(at, actor.person_id, reason)
            motion = self.motion(motion_id)
            if motion.state == MotionState.OPEN and not motion.lapse_if_due(at):
                motion.withdraw(at, actor.person_id, reason)
            return Done(c.id, self._save(c, motion))

        return self._retrying(attempt)

    def revoke(self, case_id: UUID, order_ref: str, actor: Actor, reason: str) -> Done:
        """The street orders a correction or revokes the decision (物业管理条例 Art. 19)."""
        actor.require(Role.STREET)
        return self._case_command(
            case_id, lambda c, at: c.revoke(order_ref, at, actor.person_id, reason)
        )

    def annul(
        self, case_id: UUID, court: str, judgment_ref: str, actor: Actor, reason: str
    ) -> Done:
        """Record a court's annulment of a decision (民法典 Art. 280)."""
        actor.require(Role.STREET)
        return self._case_command(
            case_id, lambda c, at: c.annul(court, judgment_ref, at, actor.person_id, reason)
        )
