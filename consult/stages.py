"""A case's stages and vocabulary: stage names, matters, channels, session kinds, positions.

Kept apart from the `Case` aggregate (consult/case.py) so pages and views can name stages
without the aggregate; `stage_error` and `require_text` are the guards the case's methods share.
"""

from __future__ import annotations

from enum import StrEnum

from consult.errors import IllegalTransitionError
from consult.validation import invalid


class Stage(StrEnum):
    COLLECTING = "collecting"
    CONFIRMED = "confirmed"
    NOTICE = "notice"
    DELIBERATION = "deliberation"
    VOTING = "voting"
    RESULT = "result"
    IMPLEMENTATION = "implementation"
    FEEDBACK = "feedback"
    EVALUATION = "evaluation"
    RECTIFICATION = "rectification"
    ARCHIVED = "archived"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    REFERRED = "referred"
    REVOKED = "revoked"
    ANNULLED = "annulled"


STAGE_NAMES: dict[Stage, tuple[str, str]] = {
    Stage.COLLECTING: ("收集议题", "topic collection"),
    Stage.CONFIRMED: ("确定议题", "topic confirmed"),
    Stage.NOTICE: ("公示告知", "public notice"),
    Stage.DELIBERATION: ("开展协商", "deliberation"),
    Stage.VOTING: ("表决", "vote"),
    Stage.RESULT: ("结果公示", "result notice"),
    Stage.IMPLEMENTATION: ("组织实施", "implementation"),
    Stage.FEEDBACK: ("反馈", "feedback"),
    Stage.EVALUATION: ("评价", "evaluation"),
    Stage.RECTIFICATION: ("整改", "rectification"),
    Stage.ARCHIVED: ("归档", "archived"),
    Stage.WITHDRAWN: ("已撤回", "withdrawn"),
    Stage.REJECTED: ("不予立项", "rejected"),
    Stage.REFERRED: ("已转交", "referred"),
    Stage.REVOKED: ("街道撤销", "revoked by the street"),
    Stage.ANNULLED: ("法院撤销", "annulled by a court"),
}

TERMINAL = frozenset(
    {Stage.ARCHIVED, Stage.WITHDRAWN, Stage.REJECTED, Stage.REFERRED, Stage.REVOKED, Stage.ANNULLED}
)

#: 民法典 Art. 278 matters; (6)(7)(8) are special matters (3/4 majorities).
MATTERS: dict[int, tuple[str, str]] = {
    1: ("制定和修改业主大会议事规则", "rules of procedure"),
    2: ("制定和修改管理规约", "management covenant"),
    3: ("选举业主委员会或者更换业主委员会成员", "elect or replace the owners' committee"),
    4: ("选聘和解聘物业服务企业或者其他管理人", "hire or dismiss the property company"),
    5: ("使用建筑物及其附属设施的维修资金", "use the maintenance fund"),
    6: ("筹集建筑物及其附属设施的维修资金", "raise the maintenance fund"),
    7: ("改建、重建建筑物及其附属设施", "rebuild or reconstruct"),
    8: (
        "改变共有部分的用途或者利用共有部分从事经营活动",
        "change the use of common parts or run a business on them",
    ),
    9: ("有关共有和共同管理权利的其他重大事项", "other major matters"),
}
SPECIAL_MATTERS = frozenset({6, 7, 8})

SESSION_KINDS: dict[str, tuple[str, str]] = {
    "council": ("议事会", "council meeting"),
    "hearing": ("听证会", "hearing"),
    "dialogue": ("恳谈会", "dialogue meeting"),
    "coordination": ("协调会", "coordination meeting"),
    "review": ("评议会", "review meeting"),
    "online": ("网上协商", "online deliberation"),
}

CHANNELS: dict[str, tuple[str, str]] = {
    "meeting": ("会议", "meeting"),
    "consultation": ("协商", "consultation"),
    "interview": ("走访", "interview"),
    "written": ("书面", "written"),
    "online": ("网上", "online"),
    "grid": ("网格上报", "grid report"),
    "motion": ("联署动议", "threshold motion"),
}

POSITIONS: dict[str, tuple[str, str]] = {
    "agree": ("同意", "agree"),
    "disagree": ("反对", "disagree"),
    "reserve": ("保留意见", "reserve"),
    "absent": ("缺席", "absent"),
}
POSITIONS_AGREE = frozenset({"agree"})


def stage_error(stage: Stage, action: str, action_en: str) -> IllegalTransitionError:
    zh, en = STAGE_NAMES[stage]
    return IllegalTransitionError(
        field="stage", stage=zh, stage_en=en, action=action, action_en=action_en
    )


def require_text(value: str, field: str, label: str, label_en: str, max_len: int = 20000) -> str:
    text = (value or "").strip()
    if not text:
        raise invalid(field, (label, label_en), "empty")
    if len(text) > max_len:
        raise invalid(field, (label, label_en), "too_long", max=max_len)
    return text
