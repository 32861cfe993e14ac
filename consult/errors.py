"""Domain errors, each with a stable code and a message in Chinese (first) and English.

Every refusal the domain makes is one of these. The interface shows `message(lang)`; the API
returns `code`, `field` and both messages. Templates use `str.format` with the error's params.
A moment is passed as a ``datetime`` param, never as text: the interface formats it in the
platform's time zone (``message(lang, moment)``), the API's params carry it as ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

LANGS = ("zh", "en")


class ConsultError(Exception):
    """Base of every error the domain raises on purpose."""

    code: ClassVar[str] = "error"
    zh: ClassVar[str] = "操作未能完成。"
    en: ClassVar[str] = "The operation could not be completed."

    def __init__(self, field: str | None = None, **params: Any) -> None:
        self.field = field
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh", moment: Callable[[datetime], str] | None = None) -> str:
        """The message in ``lang``; ``moment`` formats datetime params (default: minutes, UTC)."""
        template = self.zh if lang.startswith("zh") else self.en
        show = moment or _utc_minutes
        params = {k: show(v) if isinstance(v, datetime) else v for k, v in self.params.items()}
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template

    def as_dict(self, moment: Callable[[datetime], str] | None = None) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "message": {"zh": self.message("zh", moment), "en": self.message("en", moment)},
            "params": {
                k: v.isoformat() if isinstance(v, datetime) else str(v)
                for k, v in self.params.items()
            },
        }


def _utc_minutes(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class NotFoundError(ConsultError):
    code = "not_found"
    zh = "{kind}不存在：{ident}"
    en = "No such {kind_en}: {ident}"


class ValidationError(ConsultError):
    """A value given to a command is malformed or out of range."""

    code = "invalid"
    zh = "{label}无效：{reason}"
    en = "Invalid {label_en}: {reason_en}"


class PermissionDeniedError(ConsultError):
    code = "forbidden"
    zh = "您没有权限执行此操作：需要{role}身份。"
    en = "You may not do this: it needs the role {role_en}."


class IllegalTransitionError(ConsultError):
    code = "illegal_transition"
    zh = "当前阶段为“{stage}”，不能{action}。"
    en = "The case is at stage “{stage_en}”; it cannot {action_en} now."


class NoticePeriodError(ConsultError):
    code = "notice_period"
    zh = "公示期未满：公示须满{days}天，最早可于{earliest}开始。"
    en = "The notice period has not elapsed: {days} days are required; the earliest start is {earliest}."


class MotionRejectionForbiddenError(ConsultError):
    code = "motion_tabled"
    zh = "该动议已达到联署门槛并自动列入议题，不得驳回。"
    en = "This motion reached its co-signature threshold and was tabled automatically: it may not be rejected."


class MotionWithdrawalForbiddenError(ConsultError):
    code = "motion_tabled"
    zh = "该动议已达到联署门槛并自动列入议题，不得撤回。"
    en = "This motion reached its co-signature threshold and was tabled automatically: it may not be withdrawn."


class AlreadySignedError(ConsultError):
    code = "already_signed"
    zh = "该户（业主）已经联署过此动议。"
    en = "This owner (head) has already co-signed this motion."


class NotSignedError(ConsultError):
    code = "not_signed"
    zh = "该户（业主）尚未联署此动议，无法撤回。"
    en = "This owner (head) has not co-signed this motion; there is nothing to withdraw."


class SignatureWithdrawalForbiddenError(ConsultError):
    code = "withdrawal_forbidden"
    zh = "此动议的规则不允许撤回联署。"
    en = "This motion's rule does not allow signatures to be withdrawn."


class MotionClosedError(ConsultError):
    code = "motion_closed"
    zh = "联署已结束（{state}），不能再联署或撤回。"
    en = "Co-signing has ended ({state_en}); signatures can no longer be added or withdrawn."


class NotOnRollError(ConsultError):
    """Not an elector. ``person`` is what the user typed for someone else; None means the user
    themself ("您"), never their internal id. ``version`` is the frozen roll's or register's version
    (None for a list of members or parties, which has none)."""

    code = "not_on_roll"
    zh = "{who}不在本次冻结的{roll}中，或没有表决权。"
    en = "{who_en} not a voter on the frozen {roll_en}."

    def __init__(
        self, field: str | None = None, person: str | None = None, version: object = None
    ) -> None:
        numbered = version not in (None, "", "-")
        super().__init__(
            field,
            person=person or "",
            version="" if not numbered else str(version),
            who=person if person else "您",
            who_en=f"{person} is" if person else "You are",
            roll=f"名册（第{version}版）" if numbered else "名单",
            roll_en=f"roll (version {version})" if numbered else "list",
        )


class NotAMemberError(ConsultError):
    """The person is on neither the estate's owners' roll nor its residents' register."""

    code = "not_a_member"
    zh = "您不在本小区的业主名册或居民名册上，不能{action}。"
    en = "You are on neither this estate's owners' roll nor its residents' register: you may not {action_en}."


class VoteNotOpenError(ConsultError):
    code = "vote_not_open"
    zh = "表决不在进行中（{state}），选票未被接受。"
    en = "The vote is not open ({state_en}); the ballot was not accepted."


class VoteClosedBeforeBallotError(ConsultError):
    code = "vote_closed"
    zh = "表决已于您的选票送达之前结束，您的选票不计入结果。"
    en = "The vote closed before your ballot arrived; it is not counted."


class AlreadyVotedError(ConsultError):
    code = "already_voted"
    zh = "该户（业主）已经投票，且{why}"
    en = "This owner (head) has already voted, and {why_en}"


class ProxyError(ConsultError):
    code = "proxy"
    zh = "委托无效：{reason}"
    en = "Invalid proxy: {reason_en}"


class PaperBallotError(ConsultError):
    code = "paper_ballot"
    zh = "纸质选票录入有误：{reason}"
    en = "Paper ballot entry refused: {reason_en}"


class EarlyCloseError(ConsultError):
    code = "early_close"
    zh = (
        "表决截止时间为{closes_at}，尚有{missing}个表决单位（{noun}）未投票，不能提前结束。"
        "全部投票后方可提前结束，否则请于截止时间后结束。"
    )
    en = (
        "The vote closes at {closes_at} and {missing} of its {noun_en} have not voted, so it "
        "cannot be closed early. It may close early only once everyone has voted; otherwise "
        "close it at its published end."
    )


class ExtensionError(ConsultError):
    code = "extension"
    zh = "不能延期：{reason}"
    en = "The vote cannot be extended: {reason_en}"


class ExtensionLimitError(ExtensionError):
    zh = "不能延期：延期不得超过{days}天（至{until}）"
    en = "The vote cannot be extended: an extension may be at most {days} days (until {until})"


class SettingError(ConsultError):
    code = "setting"
    zh = "设置无效：{reason}"
    en = "Invalid setting: {reason_en}"


class StoreUnavailableError(ConsultError):
    """The store named by CONSULT_DATABASE_URL cannot be reached or entered (consult.adapters.storecheck)."""

    code = "store_unavailable"
    zh = "无法连接数据库（CONSULT_DATABASE_URL）：{reason}"
    en = "Cannot connect to the database (CONSULT_DATABASE_URL): {reason_en}"


class ConcurrencyError(ConsultError):
    code = "conflict"
    zh = "该记录正在被他人同时修改，请重试。"
    en = "Someone changed this record at the same time; please try again."


@dataclass(frozen=True)
class RowProblem:
    """One problem in one row of an imported file."""

    line: int
    column: str
    value: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        if lang.startswith("zh"):
            return f"第{self.line}行，“{self.column}”列：{self.zh}（值：{self.value!r}）"
        return f"line {self.line}, column '{self.column}': {self.en} (value: {self.value!r})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": {"zh": self.zh, "en": self.en},
        }


class RollValidationError(ConsultError):
    """An imported roll has bad rows. Nothing was imported."""

    code = "roll_invalid"
    zh = "名册有{count}处错误，未导入任何数据。"
    en = "The roll has {count} problem(s); nothing was imported."

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        super().__init__(field="file", count=len(self.problems))

    def as_dict(self, moment: Callable[[datetime], str] | None = None) -> dict[str, Any]:
        data = super().as_dict(moment)
        data["problems"] = [p.as_dict() for p in self.problems]
        return data
