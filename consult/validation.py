"""Field errors in one place: one message table, one constructor, enum parsing written once.

A refused value is a :class:`~consult.errors.ValidationError` naming the field, what it is and why,
in Chinese first and English. Every label and reason a command uses is a key of :data:`MESSAGES`
(a pair of ``str.format`` templates); :func:`invalid` builds the error from two keys and
:func:`parse_enum` / :func:`one_of` refuse a value outside a fixed set, listing what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import TypeVar

from consult.errors import ValidationError

E = TypeVar("E", bound=Enum)

#: A parameter given in both languages: (Chinese, English).
Pair = tuple[str, str]

#: Message key -> (Chinese, English) templates: what a field is (labels) and why it is refused.
MESSAGES: dict[str, Pair] = {
    # --- what the field is ------------------------------------------------------------------
    "agenda": ("议程", "agenda"),
    "area": ("面积", "area"),
    "area_source": ("面积来源", "area source"),
    "basis": ("表决基数", "basis"),
    "channel": ("渠道", "channel"),
    "choice": ("表决意见", "choice"),
    "code": ("编号", "code"),
    "council": ("议事会", "council"),
    "council_kind": ("议事会类型", "council kind"),
    "covenant_ref": ("规约编号", "covenant reference"),
    "deadline": ("截止时间", "deadline"),
    "election_months": ("选举期限", "election deadline"),
    "elector": ("投票对象", "elector"),
    "estate_code": ("小区编号", "estate code"),
    "household": ("户", "household"),
    "holders": ("席位人员", "seat holders"),
    "matter": ("表决事项类别", "matter"),
    "members": ("委员", "members"),
    "motion_rule": ("动议规则", "motion rule"),
    "owners": ("业主", "owners"),
    "owner_kind": ("业主类型", "owner kind"),
    "party": ("参会方", "party"),
    "party_positions": ("各方立场", "party positions"),
    "position": ("立场", "position"),
    "rating": ("评价", "rating"),
    "representatives": ("代表名单", "representatives"),
    "route": ("议事途径", "route"),
    "session_kind": ("会议形式", "session kind"),
    "staff": ("工作人员", "staff"),
    "statement": ("发言", "statement"),
    "time": ("时间", "time"),
    "unit_id": ("专有部分编号", "unit id"),
    # --- why it is refused ------------------------------------------------------------------
    "exists": ("{value} 已存在", "{value} already exists"),
    "either": ("须为 {values}", "must be {values}"),
    "one_of": ("须为 {values} 之一", "must be one of {values}"),
    "empty": ("不能为空", "must not be empty"),
    "duplicates": ("有重复", "contains duplicates"),
    "bad_code": (
        "须为1至64个字符，不含空格和斜杠",
        "must be 1 to 64 characters without spaces or slashes",
    ),
    "committee_size": ("业主委员会至少3人", "an owners' committee has at least 3 members"),
    "months_1_24": ("须在1至24个月之间", "must be between 1 and 24 months"),
    "covenant_recorded": ("该版本已登记", "this version is already recorded"),
    "bad_area": (
        "须为大于0、最多两位小数的数",
        "must be a positive number with at most two decimals",
    ),
    "household_needs": ("须有户号和至少一名成年人", "needs an id and at least one adult"),
    "agenda_ids_repeat": ("议程编号重复", "agenda item ids repeat"),
    "cc278_matter": (
        "须为《民法典》第278条第1至9项之一",
        "must be one of Civil Code Art. 278 matters 1 to 9",
    ),
    "list_representatives": ("须列出全体代表", "list every representative"),
    "consensus_council": ("协商表决须指定议事会", "a consensus vote needs a council"),
    "speaker_and_text": ("须有发言人和内容", "needs a speaker and a text"),
    "missing_parties": (
        "须记录每一方的立场，缺少：{missing}",
        "record every party's position; missing: {missing}",
    ),
    "later_than_now": ("须晚于当前时间", "must be later than now"),
    "choose_elector": (
        "您可代表多户投票，请选择其中一户",
        "you may vote for several owners; choose one",
    ),
    "online_choice": ("网上投票只能选择同意、反对或弃权", "an online ballot is yes, no or abstain"),
    "not_a_party": ("{party} 不是{council}的组成方", "{party} is not a party of the {council}"),
    "unit_on_roll": ("{unit} 已在名册中", "{unit} is already on the roll"),
    "rater_not_owner": (
        "您不在本小区的业主名册上，不能参与本轮评价",
        "you are not on this estate's owners' roll, so you cannot rate this round",
    ),
    "ballot_choice": (
        "须为 同意(yes)、反对(no)、弃权(abstain) 之一",
        "must be one of yes, no, abstain",
    ),
    "rating_choice": (
        "须为 满意、基本满意、不满意 之一",
        "must be one of satisfied, basically-satisfied, dissatisfied",
    ),
    "needs_timezone": ("须包含时区", "it needs a timezone"),
    "already_rated": (
        "您（或与您共有房屋的业主）已评价过",
        "you (or a co-owner of your unit) have already rated",
    ),
}


def invalid(field: str, label: str, reason: str, **params: str | Pair) -> ValidationError:
    """The error for ``field``: what it is (``label``) and why it is refused (``reason``), both
    keys of :data:`MESSAGES`; a parameter given as a (Chinese, English) pair is used per language."""
    label_zh, label_en = MESSAGES[label]
    reason_zh, reason_en = MESSAGES[reason]
    zh = {k: v[0] if isinstance(v, tuple) else v for k, v in params.items()}
    en = {k: v[1] if isinstance(v, tuple) else v for k, v in params.items()}
    return ValidationError(
        field=field,
        label=label_zh,
        label_en=label_en,
        reason=reason_zh.format(**zh),
        reason_en=reason_en.format(**en),
    )


def either(values: Iterable[str]) -> Pair:
    """The allowed values as "a、b 或 c" and "a, b or c"."""
    *head, last = list(values)
    if not head:
        return last, last
    return f"{'、'.join(head)} 或 {last}", f"{', '.join(head)} or {last}"


def parse_enum(cls: type[E], value: object, field: str, label: str, reason: str = "") -> E:
    """The member of ``cls`` whose value is ``value``, or a field error listing the allowed values
    (or giving ``reason``, a key of :data:`MESSAGES`)."""
    try:
        return cls(value)
    except ValueError:
        if reason:
            raise invalid(field, label, reason) from None
        raise invalid(field, label, "either", values=either(str(m.value) for m in cls)) from None


def one_of(value: object, allowed: Iterable[str], field: str, label: str) -> str:
    """``value`` if it is among ``allowed``, or a field error listing them."""
    options = list(allowed)
    if value not in options:
        raise invalid(field, label, "one_of", values=", ".join(options))
    return str(value)
