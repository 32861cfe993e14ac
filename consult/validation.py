"""Field errors in one place: one message table, one constructor, enum parsing written once.

A refused value is a :class:`~consult.errors.ValidationError` naming the field, what it is and why,
in Chinese first and English. Every label and reason a command uses is a key of :data:`MESSAGES`
(a pair of ``str.format`` templates), or a (zh, en) pair its caller was given (a text field's
label, a roll cell's problem); :func:`invalid` builds the error from the two and
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
    "building": ("楼栋", "building"),
    "entrance": ("单元", "entrance"),
    "room": ("房号", "room"),
    "unit_kind": ("类型", "kind"),
    "merge": ("业主人数合并规则", "head merge rule"),
    "parking_votes": ("车位是否参与表决", "parking votes"),
    "roll": ("名册", "roll"),
    "roll_file": ("名册文件", "file"),
    "support": ("附议", "support"),
    "referral_target": ("转交对象", "referral target"),
    "vote_item": ("表决事项", "vote item"),
    "due": ("完成期限", "due date"),
    "progress": ("进度", "progress"),
    "explanation": ("对异议者的解释", "explanation to a dissenter"),
    "evaluation_deadline": ("评价截止时间", "evaluation deadline"),
    "estate": ("小区", "estate"),
    "street_code": ("街道编号", "street code"),
    "community_code": ("社区编号", "community code"),
    "output_file": ("输出文件", "output file"),
    "version": ("版本", "version"),
    "username": ("用户名", "user name"),
    "person_id": ("人员编号", "person id"),
    "display_name": ("姓名", "name"),
    "roles": ("身份", "roles"),
    "password": ("密码", "password"),
    # --- why it is refused ------------------------------------------------------------------
    "exists": ("{value} 已存在", "{value} already exists"),
    "either": ("须为 {values}", "must be {values}"),
    "one_of": ("须为 {values} 之一", "must be one of {values}"),
    "empty": ("不能为空", "must not be empty"),
    "blank": ("不能为空", "must not be blank"),
    "too_long": ("不能超过{max}字", "must be at most {max} characters"),
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
    # case (consult/case.py)
    "already_supported": ("您已附议过", "you already support it"),
    "referral_targets": ("只能转交街道或业主大会", "only the street or the owners' assembly"),
    "agenda_needed": ("至少需要一项议程", "at least one agenda item is needed"),
    "not_on_agenda": (
        "“{item}”不在已公示的议程中，不得表决",
        "“{item}” is not on the published agenda and may not be voted on",
    ),
    "item_voted": ("该事项已经表决过", "this item has already been put to the vote"),
    "percent_0_100": ("须在0到100之间", "must be between 0 and 100"),
    "explanation_needs": ("须写明对象和内容", "needs both whom it is for and what it says"),
    # estates, rolls and accounts (consult CLI, account rules, account pages)
    "no_estate": ("小区 {code} 不存在", "estate {code} does not exist"),
    "no_estate_create": (
        "小区 {code} 不存在，请先运行 consult estate create",
        "estate {code} does not exist; create it with 'consult estate create'",
    ),
    "exists_leave_out": (
        "{kind} {code} 已存在；要使用它，请去掉 {option}",
        "{kind} {code} already exists; leave out {option} to use it",
    ),
    "give_street": ("须同时给出 --street", "give --street too"),
    "community_needs_street": ("创建社区须给出 --street", "creating a community needs --street"),
    "no_folder": ("文件夹 {folder} 不存在", "the folder {folder} does not exist"),
    "no_roll_yet": (
        "小区 {code} 还没有名册，请先运行 consult roll import",
        "estate {code} has no roll yet; import one with 'consult roll import'",
    ),
    "no_roll_version": (
        "小区 {code} 的名册没有第{version}版（最新为第{latest}版）",
        "the roll of estate {code} has no version {version} (the latest is {latest})",
    ),
    "bad_username": (
        "须为3至64位小写字母、数字、点、横线或下划线，以字母或数字开头",
        "use 3 to 64 lower-case letters, digits, dots, dashes or underscores, "
        "starting with a letter or digit",
    ),
    "bad_person_id": (
        "不能为空，且不能超过{max}个字",
        "must not be empty or longer than {max} characters",
    ),
    "name_too_long": ("不能超过{max}个字", "must not be longer than {max} characters"),
    "estate_bound": (
        "除街道和平台管理员外，账号须属于一个小区",
        "every account except street and operator accounts belongs to an estate",
    ),
    "taken": ("已被使用，请换一个", "is taken; choose another"),
    "no_such_role": (
        "没有“{value}”这种身份；可选：{options}",
        "there is no role '{value}'; choose from {options}",
    ),
    "not_an_option": (
        "“{value}”不是可选值（可选：{listed}）",
        "{value!r} is not one of: {listed}",
    ),
    "choose_role": ("至少选择一种身份", "choose at least one role"),
    "password_length": ("须为{min}至{max}个字符", "use {min} to {max} characters"),
    "password_spaces": ("不能以空格开头或结尾", "must not begin or end with a space"),
    "own_estate_accounts": (
        "您只能为本小区创建账号",
        "you can create accounts for your own estate only",
    ),
    "cannot_grant": ("您不能授予{roles}", "you may not grant {roles}"),
    "no_such_estate": ("没有这个小区", "there is no such estate"),
    "choose_estate": ("请选择小区", "choose an estate"),
}


def invalid(
    field: str, label: str | Pair, reason: str | Pair, **params: str | int | Pair
) -> ValidationError:
    """The error for ``field``: what it is (``label``) and why it is refused (``reason``), each a
    key of :data:`MESSAGES` or, when the caller already holds both words (a label its own caller
    named, a roll cell's problem), a (Chinese, English) pair; a parameter given as a pair is used
    per language."""
    label_zh, label_en = MESSAGES[label] if isinstance(label, str) else label
    reason_zh, reason_en = MESSAGES[reason] if isinstance(reason, str) else reason
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
    (or giving ``reason``, a key of :data:`MESSAGES` that may name ``{value}`` and the allowed
    values as ``{options}``, joined by "、" and ", ", or ``{listed}``, by ", " in both)."""
    try:
        return cls(value)
    except ValueError:
        if reason:
            options = [str(m.value) for m in cls]
            listed = ", ".join(options)
            raise invalid(
                field,
                label,
                reason,
                value=str(value),
                options=("、".join(options), listed),
                listed=listed,
            ) from None
        raise invalid(field, label, "either", values=either(str(m.value) for m in cls)) from None


def one_of(value: object, allowed: Iterable[str], field: str, label: str) -> str:
    """``value`` if it is among ``allowed``, or a field error listing them."""
    options = list(allowed)
    if value not in options:
        raise invalid(field, label, "one_of", values=", ".join(options))
    return str(value)
