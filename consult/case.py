"""A consultation case and its lifecycle (DOMAIN.md §2, OP15).

collect → confirm → notice → deliberate → vote → result notice → implement → feedback → evaluate
→ archive, with the side exits withdrawn, rejected, referred, revoked by the street, annulled.
Guards live in the public methods; the event classes only apply changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate
from consult.clock import minute_up
from consult.errors import (
    MotionRejectionForbiddenError,
    MotionWithdrawalForbiddenError,
    NoticePeriodError,
)
from consult.stages import (  # pages, views and the application name the vocabulary from here
    CHANNELS,  # noqa: F401
    MATTERS,  # noqa: F401
    POSITIONS,  # noqa: F401
    POSITIONS_AGREE,  # noqa: F401
    SESSION_KINDS,  # noqa: F401
    SPECIAL_MATTERS,  # noqa: F401
    STAGE_NAMES,  # noqa: F401
    TERMINAL,
    Stage,
    require_text,
    stage_error,
)
from consult.validation import invalid


class Case(ConsultAggregate):
    class Created(ConsultAggregate.Created):
        estate_id: UUID
        title: str
        description: str
        channel: str
        submitted_by: str
        motion_id: UUID | None

    def __init__(
        self,
        estate_id: UUID,
        title: str,
        description: str,
        channel: str,
        submitted_by: str,
        motion_id: UUID | None,
    ) -> None:
        self.estate_id = estate_id
        self.title = title
        self.description = description
        self.channel = channel
        self.submitted_by = submitted_by
        self.motion_id = motion_id
        self.stage = Stage.COLLECTING
        self.supporters: list[str] = []
        self.tabled_by_motion = False
        self.answer_due: datetime | None = None
        self.escalated = False
        self.route: str | None = None
        self.participants: list[str] = []
        self.notice: dict[str, Any] | None = None
        self.earliest_start: datetime | None = None
        self.agenda: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []
        self.statements: list[dict[str, Any]] = []
        self.opinion: str | None = None
        self.votes: dict[str, dict[str, Any]] = {}  # vote id hex -> {"item_id", "closed", "passed"}
        self.result: dict[str, Any] | None = None
        self.result_due: datetime | None = None
        self.implementation: dict[str, Any] | None = None
        self.progress: list[dict[str, Any]] = []
        self.feedback: dict[str, Any] | None = None
        self.evaluation_rounds = 0
        self.evaluation_open = False
        self.evaluation_outcome: dict[str, Any] | None = None
        self.exit_reason: str | None = None

    # --- events -------------------------------------------------------------------------

    class Supported(ConsultAggregate.Event):
        person: str

        def apply(self, case: Case) -> None:
            case.supporters.append(self.person)

    class Tabled(ConsultAggregate.Event):
        """A threshold motion reached its threshold: the topic must be answered, not rejected."""

        answer_due: datetime

        def apply(self, case: Case) -> None:
            case.tabled_by_motion = True
            case.answer_due = self.answer_due

    class Confirmed(ConsultAggregate.Event):
        route: str
        participants: list[str]

        def apply(self, case: Case) -> None:
            case.stage = Stage.CONFIRMED
            case.route = self.route
            case.participants = list(self.participants)
            case.answer_due = None

    class Rejected(ConsultAggregate.Event):
        def apply(self, case: Case) -> None:
            case.stage = Stage.REJECTED
            case.exit_reason = self.reason

    class Referred(ConsultAggregate.Event):
        to: str

        def apply(self, case: Case) -> None:
            case.stage = Stage.REFERRED
            case.exit_reason = self.reason
            case.answer_due = None

    class EscalatedToStreet(ConsultAggregate.Event):
        def apply(self, case: Case) -> None:
            case.escalated = True

    class NoticePublished(ConsultAggregate.Event):
        content: str
        place: str
        form: str
        meeting_at: datetime
        agenda: list[dict[str, Any]]
        notice_days: int
        earliest_start: datetime

        def apply(self, case: Case) -> None:
            case.stage = Stage.NOTICE
            case.agenda = [dict(i) for i in self.agenda]
            case.earliest_start = self.earliest_start
            case.notice = {
                "content": self.content,
                "place": self.place,
                "form": self.form,
                "meeting_at": self.meeting_at.isoformat(),
                "published_at": self.timestamp.isoformat(),
                "notice_days": self.notice_days,
                "earliest_start": self.earliest_start.isoformat(),
            }

    class SessionRecorded(ConsultAggregate.Event):
        session: dict[str, Any]

        def apply(self, case: Case) -> None:
            case.stage = Stage.DELIBERATION if case.stage == Stage.NOTICE else case.stage
            case.sessions.append(dict(self.session))

    class StatementMade(ConsultAggregate.Event):
        speaker: str
        text: str

        def apply(self, case: Case) -> None:
            if case.stage == Stage.NOTICE:
                case.stage = Stage.DELIBERATION
            case.statements.append(
                {"speaker": self.speaker, "text": self.text, "at": self.timestamp.isoformat()}
            )

    class OpinionFormed(ConsultAggregate.Event):
        opinion: str

        def apply(self, case: Case) -> None:
            case.opinion = self.opinion

    class VoteOpened(ConsultAggregate.Event):
        vote_id: UUID
        item_id: str

        def apply(self, case: Case) -> None:
            case.stage = Stage.VOTING
            case.votes[self.vote_id.hex] = {
                "item_id": self.item_id,
                "closed": False,
                "passed": None,
            }

    class VoteConcluded(ConsultAggregate.Event):
        vote_id: UUID
        passed: bool
        result_due: datetime

        def apply(self, case: Case) -> None:
            case.votes[self.vote_id.hex].update(closed=True, passed=self.passed)
            case.result_due = self.result_due

    class ResultPublished(ConsultAggregate.Event):
        summary: str
        outcome: dict[str, Any]

        def apply(self, case: Case) -> None:
            case.stage = Stage.RESULT
            case.result = {
                "summary": self.summary,
                "outcome": dict(self.outcome),
                "at": self.timestamp.isoformat(),
            }
            case.result_due = None

    class ImplementationAssigned(ConsultAggregate.Event):
        assignee: str
        plan: str
        due: datetime

        def apply(self, case: Case) -> None:
            if case.stage == Stage.RESULT:
                case.stage = Stage.IMPLEMENTATION
            case.implementation = {
                "assignee": self.assignee,
                "plan": self.plan,
                "due": self.due.isoformat(),
            }

    class ProgressReported(ConsultAggregate.Event):
        percent: int
        text: str

        def apply(self, case: Case) -> None:
            case.progress.append(
                {"percent": self.percent, "text": self.text, "at": self.timestamp.isoformat()}
            )

    class FeedbackGiven(ConsultAggregate.Event):
        summary: str
        explanations: list[dict[str, str]]

        def apply(self, case: Case) -> None:
            case.stage = Stage.FEEDBACK
            case.feedback = {
                "summary": self.summary,
                "explanations": [dict(e) for e in self.explanations],
            }

    class EvaluationOpened(ConsultAggregate.Event):
        closes_at: datetime

        def apply(self, case: Case) -> None:
            case.stage = Stage.EVALUATION
            case.evaluation_rounds += 1
            case.evaluation_open = True

    class EvaluationClosed(ConsultAggregate.Event):
        outcome: dict[str, Any]
        reopened: bool

        def apply(self, case: Case) -> None:
            case.evaluation_open = False
            case.evaluation_outcome = dict(self.outcome)
            if self.reopened:
                case.stage = Stage.RECTIFICATION

    class Archived(ConsultAggregate.Event):
        def apply(self, case: Case) -> None:
            case.stage = Stage.ARCHIVED

    class Withdrawn(ConsultAggregate.Event):
        def apply(self, case: Case) -> None:
            case.stage = Stage.WITHDRAWN
            case.exit_reason = self.reason

    class RevokedByStreet(ConsultAggregate.Event):
        order_ref: str

        def apply(self, case: Case) -> None:
            case.stage = Stage.REVOKED
            case.exit_reason = self.reason

    class Annulled(ConsultAggregate.Event):
        court: str
        judgment_ref: str

        def apply(self, case: Case) -> None:
            case.stage = Stage.ANNULLED
            case.exit_reason = self.reason

    # --- guarded commands ------------------------------------------------------------------

    def _expect(self, stages: set[Stage], action: str, action_en: str) -> None:
        if self.stage not in stages:
            raise stage_error(self.stage, action, action_en)

    def support(self, person: str, at: datetime) -> None:
        self._expect({Stage.COLLECTING}, "附议", "be supported")
        if person in self.supporters:
            raise invalid("person", "support", "already_supported")
        self.record(Case.Supported, at, person, person=person)

    def table(self, answer_days: int, at: datetime, actor: str, reason: str) -> None:
        self._expect({Stage.COLLECTING}, "列入议题", "be tabled")
        self.record(Case.Tabled, at, actor, reason, answer_due=at + timedelta(days=answer_days))

    def confirm(
        self, route: str, participants: list[str], at: datetime, actor: str, reason: str
    ) -> None:
        self._expect({Stage.COLLECTING}, "确定议题", "be confirmed")
        self.record(Case.Confirmed, at, actor, reason, route=route, participants=participants)

    def reject(self, at: datetime, actor: str, reason: str) -> None:
        self._expect({Stage.COLLECTING}, "不予立项", "be rejected")
        if self.tabled_by_motion:
            raise MotionRejectionForbiddenError(field="case")
        require_text(reason, "reason", "公开理由", "published reason")
        self.record(Case.Rejected, at, actor, reason)

    def refer(self, to: str, at: datetime, actor: str, reason: str) -> None:
        self._expect({Stage.COLLECTING}, "转交", "be referred")
        if to not in ("street", "owners-assembly"):
            raise invalid("to", "referral_target", "referral_targets")
        require_text(reason, "reason", "转交理由", "reason for the referral")
        self.record(Case.Referred, at, actor, reason, to=to)

    def escalate(self, at: datetime) -> None:
        if self.escalated or self.stage in TERMINAL:
            return
        self.record(
            Case.EscalatedToStreet,
            at,
            "system",
            "召集人未在期限内答复，已报街道 / the convener did not answer in time; escalated to the street",
        )

    def publish_notice(
        self,
        content: str,
        place: str,
        form: str,
        meeting_at: datetime,
        agenda: list[dict[str, Any]],
        notice_days: int,
        at: datetime,
        actor: str,
    ) -> None:
        self._expect({Stage.CONFIRMED}, "发布公示", "publish a notice")
        require_text(content, "content", "公示内容", "notice content")
        require_text(place, "place", "地点", "place", 500)
        require_text(form, "form", "形式", "form", 200)
        if not agenda:
            raise invalid("agenda", "agenda", "agenda_needed")
        earliest = at + timedelta(days=notice_days)
        if meeting_at < earliest:
            raise NoticePeriodError(
                field="meeting_at", days=notice_days, earliest=minute_up(earliest)
            )
        self.record(
            Case.NoticePublished,
            at,
            actor,
            "",
            content=content,
            place=place,
            form=form,
            meeting_at=meeting_at,
            agenda=agenda,
            notice_days=notice_days,
            earliest_start=earliest,
        )

    def check_notice_elapsed(self, at: datetime) -> None:
        assert self.earliest_start is not None and self.notice is not None
        if at < self.earliest_start:
            raise NoticePeriodError(
                field="at",
                days=self.notice["notice_days"],
                earliest=minute_up(self.earliest_start),
            )

    def record_session(self, session: dict[str, Any], at: datetime, actor: str) -> None:
        self._expect(
            {Stage.NOTICE, Stage.DELIBERATION}, "记录协商会议", "record a deliberation session"
        )
        self.check_notice_elapsed(at)
        self.record(Case.SessionRecorded, at, actor, "", session=session)

    def speak(self, speaker: str, text: str, at: datetime) -> None:
        self._expect({Stage.NOTICE, Stage.DELIBERATION}, "发言", "take statements")
        self.check_notice_elapsed(at)
        body = require_text(text, "text", "发言内容", "statement", 5000)
        self.record(Case.StatementMade, at, speaker, "", speaker=speaker, text=body)

    def form_opinion(self, opinion: str, at: datetime, actor: str) -> None:
        self._expect({Stage.DELIBERATION}, "形成协商意见", "form a consultation opinion")
        body = require_text(opinion, "opinion", "协商意见", "consultation opinion")
        self.record(Case.OpinionFormed, at, actor, "", opinion=body)

    def agenda_item(self, item_id: str) -> dict[str, Any]:
        for item in self.agenda:
            if item["item_id"] == item_id:
                return item
        raise invalid("item_id", "vote_item", "not_on_agenda", item=item_id)

    def open_vote(self, vote_id: UUID, item_id: str, at: datetime, actor: str) -> dict[str, Any]:
        self._expect({Stage.NOTICE, Stage.DELIBERATION, Stage.VOTING}, "开始表决", "open a vote")
        self.check_notice_elapsed(at)
        item = self.agenda_item(item_id)
        if any(v["item_id"] == item_id for v in self.votes.values()):
            raise invalid("item_id", "vote_item", "item_voted")
        self.record(Case.VoteOpened, at, actor, "", vote_id=vote_id, item_id=item_id)
        return item

    def conclude_vote(
        self, vote_id: UUID, passed: bool, result_days: int, at: datetime, actor: str
    ) -> None:
        if vote_id.hex not in self.votes or self.votes[vote_id.hex]["closed"]:
            return
        self.record(
            Case.VoteConcluded,
            at,
            actor,
            "",
            vote_id=vote_id,
            passed=passed,
            result_due=at + timedelta(days=result_days),
        )

    def publish_result(
        self, summary: str, outcome: dict[str, Any], at: datetime, actor: str
    ) -> None:
        self._expect({Stage.VOTING, Stage.DELIBERATION}, "公示结果", "publish a result")
        if self.stage == Stage.VOTING and not all(v["closed"] for v in self.votes.values()):
            raise stage_error(
                self.stage, "在表决结束前公示结果", "publish a result before every vote has closed"
            )
        if self.stage == Stage.DELIBERATION and self.route != "consultation":
            raise stage_error(
                self.stage,
                "在未表决的情况下公示须经表决事项的结果",
                "publish a result without the vote its route requires",
            )
        if self.stage == Stage.DELIBERATION and not self.opinion:
            raise stage_error(
                self.stage,
                "在形成协商意见前公示结果",
                "publish a result before an opinion is formed",
            )
        body = require_text(summary, "summary", "结果说明", "result summary")
        self.record(Case.ResultPublished, at, actor, "", summary=body, outcome=outcome)

    @property
    def passed(self) -> bool | None:
        if not self.votes:
            return None
        return all(v["passed"] for v in self.votes.values())

    def assign(self, assignee: str, plan: str, due: datetime, at: datetime, actor: str) -> None:
        self._expect({Stage.RESULT, Stage.RECTIFICATION}, "安排实施", "assign implementation")
        if self.passed is False:
            raise stage_error(
                self.stage, "实施未通过的事项", "implement a matter that did not pass"
            )
        require_text(assignee, "assignee", "承办人", "assignee", 200)
        body = require_text(plan, "plan", "实施方案", "plan")
        if due <= at:
            raise invalid("due", "due", "later_than_now")
        self.record(
            Case.ImplementationAssigned, at, actor, "", assignee=assignee, plan=body, due=due
        )

    def report_progress(self, percent: int, text: str, at: datetime, actor: str) -> None:
        self._expect({Stage.IMPLEMENTATION, Stage.RECTIFICATION}, "报告进度", "report progress")
        if self.implementation is None:
            raise stage_error(
                self.stage, "在安排实施前报告进度", "report progress before assignment"
            )
        if not 0 <= percent <= 100:
            raise invalid("percent", "progress", "percent_0_100")
        body = require_text(text, "text", "进展说明", "progress note", 5000)
        self.record(Case.ProgressReported, at, actor, "", percent=percent, text=body)

    def give_feedback(
        self, summary: str, explanations: list[dict[str, str]], at: datetime, actor: str
    ) -> None:
        self._expect({Stage.IMPLEMENTATION, Stage.RECTIFICATION}, "反馈", "give feedback")
        if self.implementation is None:
            raise stage_error(self.stage, "在安排实施前反馈", "give feedback before assignment")
        body = require_text(summary, "summary", "反馈说明", "feedback")
        for i, e in enumerate(explanations):
            if not str(e.get("to", "")).strip() or not str(e.get("text", "")).strip():
                raise invalid(f"explanations[{i}]", "explanation", "explanation_needs")
        self.record(Case.FeedbackGiven, at, actor, "", summary=body, explanations=explanations)

    def open_evaluation(self, closes_at: datetime, at: datetime, actor: str) -> None:
        self._expect({Stage.FEEDBACK}, "开始评价", "open the evaluation")
        if closes_at <= at:
            raise invalid("closes_at", "evaluation_deadline", "later_than_now")
        self.record(Case.EvaluationOpened, at, actor, "", closes_at=closes_at)

    def close_evaluation(
        self, outcome: dict[str, Any], reopened: bool, at: datetime, actor: str
    ) -> None:
        if self.stage != Stage.EVALUATION or not self.evaluation_open:
            raise stage_error(self.stage, "结束评价", "close the evaluation")
        self.record(Case.EvaluationClosed, at, actor, "", outcome=outcome, reopened=reopened)

    def archive(self, at: datetime, actor: str) -> None:
        finished_evaluation = self.stage == Stage.EVALUATION and not self.evaluation_open
        failed_vote = self.stage == Stage.RESULT and self.passed is False
        consultation_only = (
            self.stage == Stage.RESULT and self.passed is None and self.route == "consultation"
        )
        if not (finished_evaluation or failed_vote or consultation_only):
            raise stage_error(self.stage, "归档", "be archived")
        self.record(Case.Archived, at, actor, "")

    def withdraw(self, at: datetime, actor: str, reason: str) -> None:
        self._expect(
            {Stage.COLLECTING, Stage.CONFIRMED, Stage.NOTICE, Stage.DELIBERATION},
            "撤回",
            "be withdrawn",
        )
        if self.tabled_by_motion:
            raise MotionWithdrawalForbiddenError(field="case")
        require_text(reason, "reason", "撤回理由", "reason for withdrawal")
        self.record(Case.Withdrawn, at, actor, reason)

    def revoke(self, order_ref: str, at: datetime, actor: str, reason: str) -> None:
        if self.stage in TERMINAL and self.stage != Stage.ARCHIVED:
            raise stage_error(self.stage, "由街道撤销", "be revoked by the street")
        require_text(order_ref, "order_ref", "责令文书编号", "order reference", 200)
        require_text(reason, "reason", "撤销理由", "reason for revocation")
        self.record(Case.RevokedByStreet, at, actor, reason, order_ref=order_ref)

    def annul(self, court: str, judgment_ref: str, at: datetime, actor: str, reason: str) -> None:
        if self.result is None or self.stage in (Stage.REVOKED, Stage.ANNULLED):
            raise stage_error(
                self.stage, "由法院撤销", "be annulled (only a published decision can be)"
            )
        require_text(court, "court", "法院", "court", 200)
        require_text(judgment_ref, "judgment_ref", "判决书编号", "judgment reference", 200)
        require_text(reason, "reason", "撤销理由", "reason for the annulment")
        self.record(Case.Annulled, at, actor, reason, court=court, judgment_ref=judgment_ref)
