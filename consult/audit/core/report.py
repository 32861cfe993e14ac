"""What a verification found: problems (evidence of tampering), notes, and the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .links import GENESIS

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "altered": (
        "第 {position} 位的事件与链不符：内容被修改（{event}）",
        "Position {position}: the event does not match its chain link: it was altered ({event})",
    ),
    "replaced": (
        "第 {position} 位现为 {event}，链中记录的却是 {expected}：事件被替换、插入或调换了顺序",
        "Position {position} now holds {event} but the chain recorded {expected}: events were "
        "replaced, inserted or reordered",
    ),
    "deleted": (
        "第 {position} 位的事件被删除：链中有它（{expected}），存储中没有",
        "Position {position}: the event was deleted: the chain has it ({expected}), the store has not",
    ),
    "inserted": (
        "第 {position} 位的事件不在链中：它是被插入的（{event}）",
        "Position {position}: the event is not in the chain: it was inserted ({event})",
    ),
    "malformed": (
        "第 {position} 位的记录已损坏，无法读作事件：{why}",
        "Position {position}: the stored row is damaged and cannot be read as an event: {why}",
    ),
    "link-row": (
        "第 {position} 位的链记录被修改：记录的是 {expected}，事件是 {event}",
        "Position {position}: the chain row was altered: it names {expected}, the event is {event}",
    ),
    "order": (
        "第 {position} 位的事件顺序错误：不在第 {previous} 位之后",
        "Position {position}: events out of order: it does not come after position {previous}",
    ),
    "checkpoint": (
        "截至第 {position} 位的历史与{source_zh}检查点（{time}，链头 {head_short}）不符："
        "第 {after} 位之后至第 {position} 位之间的事件或链被改写",
        "the history up to position {position} does not match the {source} checkpoint of {time} "
        "(head {head_short}): events or chain links after position {after} and up to {position} "
        "were rewritten",
    ),
    "truncated": (
        "{source_zh}检查点覆盖到第 {position} 位，存储却只到第 {last} 位：其后的事件被删除",
        "the {source} checkpoint covers position {position} but the store ends at {last}: "
        "later events were deleted",
    ),
    "signature": (
        "第 {position} 位的{source_zh}检查点签名无效：检查点被伪造或修改",
        "the {source} checkpoint at position {position} has an invalid signature: "
        "it was forged or altered",
    ),
    "untrusted": (
        "第 {position} 位的{source_zh}检查点由不受信任的密钥 {key} 签名",
        "the {source} checkpoint at position {position} is signed by key {key}, which is not trusted",
    ),
    "retired": (
        "第 {position} 位的{source_zh}检查点由已于 {retired} 轮换停用的密钥 {key} 在 {time} 签名",
        "the {source} checkpoint at position {position} was signed at {time} by key {key}, "
        "retired at {retired}",
    ),
    "key-record": ("密钥记录 {key} 无效：{why}", "the key record {key} is invalid: {why}"),
    "bundle": (
        "审计包不完整或格式错误：{why}",
        "the audit bundle is incomplete or malformed: {why}",
    ),
}

SOURCES: Final = {"stored": "存储的", "published": "公布的", "bundle": "审计包中的"}


@dataclass(frozen=True)
class Problem:
    """One piece of evidence that the history was changed; ``position`` locates it in the log."""

    kind: str
    position: int | None
    after: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.kind]
        source = str(self.params.get("source", ""))
        values = {
            "position": self.position,
            "after": self.after,
            "source_zh": SOURCES.get(source, source),
            **self.params,
        }
        return (zh if lang.startswith("zh") else en).format(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "after": self.after,
            "message": {"zh": self.message("zh"), "en": self.message("en")},
            "params": {k: str(v) for k, v in self.params.items()},
        }

    def sort_key(self) -> tuple[bool, int]:
        return (self.position is None, self.position or 0)


@dataclass(frozen=True)
class Note:
    """Something an auditor should know that is not itself evidence of tampering."""

    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass
class Report:
    """What a verification found. ``first`` is the earliest bad position (None when intact)."""

    events: int = 0
    last_position: int = 0
    chained_to: int = 0
    head: str = GENESIS.hex()
    unchained: int = 0
    checkpoints: int = 0
    trusted_keys: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=Problem.sort_key) if self.problems else None

    def summary(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        if self.ok:
            text = (
                f"完整：{self.events} 个事件（至第 {self.last_position} 位）与链一致，"
                f"链头 {self.head}，已核对 {self.checkpoints} 个签名检查点。"
                if zh
                else f"Intact: {self.events} events (to position {self.last_position}) match the chain, "
                f"head {self.head}, {self.checkpoints} signed checkpoints checked."
            )
        else:
            first = self.first
            assert first is not None
            if first.position is None:
                where = "密钥或审计包" if zh else "in the keys or the bundle"
            else:
                where = f"第 {first.position} 位" if zh else f"at position {first.position}"
            text = (
                f"历史已被篡改：首个问题在{where}。{first.message('zh')}"
                if zh
                else f"The history was tampered with: the first problem is {where}. "
                f"{first.message('en')}"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "events": self.events,
            "last_position": self.last_position,
            "chained_to": self.chained_to,
            "head": self.head,
            "unchained": self.unchained,
            "checkpoints": self.checkpoints,
            "trusted_keys": list(self.trusted_keys),
            "first_bad_position": first.position if first else None,
            "problems": [p.to_dict() for p in sorted(self.problems, key=Problem.sort_key)],
            "problems_truncated": self.truncated,
            "notes": [{"zh": n.zh, "en": n.en} for n in self.notes],
        }
