"""One line in Chinese and in English saying what an event recorded, for timelines.

Individual choices stay private here: a ballot or an evaluation rating is summarised without the
choice (the tally and the published rates show the totals).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from consult.bodies import Council
from consult.case import CHANNELS, SESSION_KINDS, Case
from consult.evaluation import Evaluation
from consult.motion import Motion
from consult.registers import Roll
from consult.rules import RULE_SETS, RuleSetId
from consult.settings import ROUTE_NAMES
from consult.vote import Vote

Summary = tuple[str, str]


def _at(value: datetime | str) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _pair(table: dict[str, tuple[str, str]], key: str | None) -> tuple[str, str]:
    return table.get(key or "", (key or "", key or ""))


def _rule(rule_set_id: str) -> tuple[str, str]:
    try:
        rs = RULE_SETS[RuleSetId(rule_set_id)]
    except ValueError:
        return rule_set_id, rule_set_id
    return rs.name_zh, rs.name_en


def _case_created(e: Any) -> Summary:
    zh, en = _pair(CHANNELS, e.channel)
    return f"提交议题“{e.title}”（渠道：{zh}）", f"Topic “{e.title}” submitted (channel: {en})"


def _confirmed(e: Any) -> Summary:
    zh, en = _pair(ROUTE_NAMES, e.route)
    return f"确定议题，议事途径：{zh}", f"Topic confirmed for the {en}"


def _referred(e: Any) -> Summary:
    zh, en = ("街道", "the street") if e.to == "street" else ("业主大会", "the owners' assembly")
    return f"转交{zh}", f"Referred to {en}"


def _notice(e: Any) -> Summary:
    return (
        f"发布公示：{_at(e.meeting_at)}于{e.place}召开（{e.form}），公示期{e.notice_days}日",
        f"Notice published: meeting {_at(e.meeting_at)} at {e.place} ({e.form}), {e.notice_days} days' notice",
    )


def _session(e: Any) -> Summary:
    zh, en = _pair(SESSION_KINDS, e.session.get("kind"))
    consensus = e.session.get("consensus")
    if consensus is None:
        return f"召开{zh}", f"{en.capitalize()} held"
    verdict_zh, verdict_en = (
        ("各方达成共识", "consensus reached") if consensus else ("未达成共识", "no consensus")
    )
    return f"召开{zh}，{verdict_zh}", f"{en.capitalize()} held: {verdict_en}"


def _vote_concluded(e: Any) -> Summary:
    zh, en = ("通过", "passed") if e.passed else ("未通过", "did not pass")
    return f"表决结束：{zh}", f"Vote concluded: {en}"


def _percent(value: str | None) -> str:
    """A rate as a percentage rounded down to 0.1 %, so that it never overstates."""
    if value is None:
        return "—"
    share = Fraction(value) * 1000
    return f"{(Decimal(share.numerator // share.denominator) / 10).quantize(Decimal('0.1'))}%"


def _evaluation_closed(e: Any) -> Summary:
    out = e.outcome
    rate = _percent(out.get("satisfaction"))
    n, base = out.get("respondents", 0), out.get("eligible", 0)
    zh = f"评价结束，满意率{rate}（{n}/{base} 人作答）"
    en = f"Evaluation closed: satisfaction {rate} ({n} of {base} answered)"
    if e.reopened:
        return f"{zh}，低于门槛，进入整改", f"{en}, below the threshold; rectification"
    if out.get("conclusive") is False:
        minimum = out.get("min_responses")
        return (
            f"{zh}；回答不足{minimum}份，不作结论",
            f"{en}; fewer than {minimum} answers, not conclusive",
        )
    return zh, en


def _vote_created(e: Any) -> Summary:
    zh, en = _rule(e.rule_set_id)
    return (
        f"开始表决“{e.title}”（{zh}），截止{_at(e.closes_at)}",
        f"Vote “{e.title}” opened ({en}), closes {_at(e.closes_at)}",
    )


def _result_recorded(e: Any) -> Summary:
    zh, en = ("通过", "passed") if e.result.get("passed") else ("未通过", "not passed")
    return f"计票结果已记录：{zh}", f"Tally recorded: {en}"


def _motion_created(e: Any) -> Summary:
    name = e.rule.get("name", {})
    return (
        f"发起联署动议“{e.title}”（{name.get('zh', '')}），截止{_at(e.closes_at)}",
        f"Motion “{e.title}” opened ({name.get('en', '')}), closes {_at(e.closes_at)}",
    )


def _roll_units(e: Any) -> Summary:
    source = f"（{e.source_name}）" if e.source_name else ""
    source_en = f" ({e.source_name})" if e.source_name else ""
    return (
        f"导入名册：{len(e.units)}个专有部分{source}",
        f"Roll imported: {len(e.units)} units{source_en}",
    )


SUMMARIES: dict[type, Callable[[Any], Summary]] = {
    Case.Created: _case_created,
    Case.Supported: lambda e: (f"{e.person} 附议", f"{e.person} supports the topic"),
    Case.Tabled: lambda e: (
        f"联署达到门槛，自动列入议题，须于{_at(e.answer_due)}前答复",
        f"Threshold reached: tabled; to be answered by {_at(e.answer_due)}",
    ),
    Case.Confirmed: _confirmed,
    Case.Rejected: lambda e: ("不予立项", "Rejected"),
    Case.Referred: _referred,
    Case.EscalatedToStreet: lambda e: (
        "逾期未答复，已报街道",
        "Not answered in time: escalated to the street",
    ),
    Case.NoticePublished: _notice,
    Case.SessionRecorded: _session,
    Case.StatementMade: lambda e: (f"{e.speaker} 发言", f"Statement by {e.speaker}"),
    Case.OpinionFormed: lambda e: ("形成协商意见", "Consultation opinion formed"),
    Case.VoteOpened: lambda e: (
        f"议程第{e.item_id}项开始表决",
        f"Vote opened on agenda item {e.item_id}",
    ),
    Case.VoteConcluded: _vote_concluded,
    Case.ResultPublished: lambda e: ("公示结果", "Result published"),
    Case.ImplementationAssigned: lambda e: (
        f"安排实施：{e.assignee}，{_at(e.due)}前完成",
        f"Implementation assigned to {e.assignee}, due {_at(e.due)}",
    ),
    Case.ProgressReported: lambda e: (f"实施进度{e.percent}%", f"Progress {e.percent}%"),
    Case.FeedbackGiven: lambda e: (
        "反馈实施情况及对异议的解释",
        "Feedback and explanations to dissenters given",
    ),
    Case.EvaluationOpened: lambda e: (
        f"开始评价，截止{_at(e.closes_at)}",
        f"Evaluation opened, closes {_at(e.closes_at)}",
    ),
    Case.EvaluationClosed: _evaluation_closed,
    Case.Archived: lambda e: ("归档", "Archived"),
    Case.Withdrawn: lambda e: ("撤回", "Withdrawn"),
    Case.RevokedByStreet: lambda e: (
        f"街道责令撤销（{e.order_ref}）",
        f"Revoked by the street ({e.order_ref})",
    ),
    Case.Annulled: lambda e: (
        f"{e.court}判决撤销（{e.judgment_ref}）",
        f"Annulled by {e.court} ({e.judgment_ref})",
    ),
    Vote.Created: _vote_created,
    Vote.ProxyRegistered: lambda e: (
        f"登记书面委托：{e.principal} 委托 {e.holder}",
        f"Written proxy registered: {e.principal} to {e.holder}",
    ),
    Vote.ProxyRevoked: lambda e: (f"撤销委托：{e.principal}", f"Proxy revoked: {e.principal}"),
    Vote.Extended: lambda e: (
        f"表决延期至{_at(e.closes_at)}",
        f"Vote extended to {_at(e.closes_at)}",
    ),
    Vote.Closed: lambda e: ("表决截止", "Vote closed"),
    Vote.ResultRecorded: _result_recorded,
    Motion.Created: _motion_created,
    Motion.Signed: lambda e: (f"{e.head_id} 联署", f"{e.head_id} co-signed"),
    Motion.SignatureWithdrawn: lambda e: (
        f"{e.head_id} 撤回联署",
        f"{e.head_id} withdrew the signature",
    ),
    Motion.Tabled: lambda e: ("达到门槛，动议成立", "Threshold reached: the motion is tabled"),
    Motion.Lapsed: lambda e: (
        "联署期届满未达门槛，动议失效",
        "The window closed below the threshold: lapsed",
    ),
    Motion.Withdrawn: lambda e: (
        f"议题撤回，联署终止：{e.reason}",
        f"The topic was withdrawn; signing ended: {e.reason}",
    ),
    Evaluation.Created: lambda e: (
        f"第{e.round_no}轮评价开始，应评{e.eligible}户",
        f"Evaluation round {e.round_no} opened for {e.eligible} eligible",
    ),
    Evaluation.Rated: lambda e: ("一位居民提交了评价", "A resident submitted a rating"),
    Evaluation.Closed: lambda e: ("评价结束", "Evaluation closed"),
    Roll.Created: _roll_units,
    Roll.Reimported: lambda e: (
        f"重新导入名册：{len(e.units)}个专有部分",
        f"Roll re-imported: {len(e.units)} units",
    ),
    Roll.UnitAdded: lambda e: (
        f"增加专有部分 {e.unit['unit_id']}",
        f"Unit {e.unit['unit_id']} added",
    ),
    Roll.OwnerChanged: lambda e: (f"{e.unit_id} 业主变更", f"Owner of {e.unit_id} changed"),
    Roll.AreaCorrected: lambda e: (
        f"{e.unit_id} 面积更正为 {e.area} m²",
        f"Area of {e.unit_id} corrected to {e.area} m²",
    ),
    Roll.HeadRulesChanged: lambda e: ("业主人数计算规则变更", "Head-counting rules changed"),
    Council.Created: lambda e: ("设立议事会", "Council set up"),
    Council.SeatsAssigned: lambda e: (
        f"{e.party} 席位：{'、'.join(e.holders)}",
        f"Seats of {e.party}: {', '.join(e.holders)}",
    ),
}


def summarize(event: Any) -> Summary:
    """(zh, en) for a domain event; the event's class name where no summary is written."""
    describe = SUMMARIES.get(type(event))
    if describe is None:
        name = type(event).__name__
        return name, name
    return describe(event)
