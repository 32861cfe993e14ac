"""Rule sets: the versioned counting rules built from the table, and their wording.

`RULE_SETS` holds one `RuleSet` per row of `consult.rules.table.RULE_SET_TABLE`; a rule set
reads its thresholds from its row, so no code here depends on which rule set it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consult.errors import SettingError
from consult.rules.fields import _enum, _require_str, _zh
from consult.rules.table import RULE_SET_TABLE, RuleSetId, RuleSetRow
from consult.rules.thresholds import UNANIMOUS, Threshold

_ROWS: dict[RuleSetId, RuleSetRow] = {row.id: row for row in RULE_SET_TABLE}
#: Owners' joint decisions (民法典 Art. 278): the rule sets whose row counts area.
_JOINT_DECISIONS = frozenset(row.id for row in RULE_SET_TABLE if row.uses_area)


@dataclass(frozen=True)
class RuleSet:
    """A versioned counting rule with its legal source."""

    id: RuleSetId
    version: str
    name_zh: str
    name_en: str
    source_zh: str
    source_en: str
    uses_area: bool
    proxies_allowed: bool
    binding: bool
    silent_majority_allowed: bool

    def __post_init__(self) -> None:
        rid = _enum(RuleSetId, self.id, "rule_set")
        object.__setattr__(self, "id", rid)
        if self.silent_majority_allowed and rid not in _JOINT_DECISIONS:
            raise SettingError(
                field="silent_majority_allowed",
                reason="“沉默从众”只可用于业主共同决定，不得用于有到会门槛的会议或一致同意事项",
                reason_en=(
                    "the silent-majority rule is only for owners' joint decisions, never for "
                    "meetings with attendance quorums or unanimity matters"
                ),
            )
        if self.uses_area and rid not in _JOINT_DECISIONS:
            raise SettingError(
                field="uses_area",
                reason="只有业主共同决定按专有部分面积计票",
                reason_en="only owners' joint decisions count exclusive area",
            )

    @property
    def _counting(self) -> RuleSetRow:
        return _ROWS[self.id]

    @property
    def quorum_threshold(self) -> Threshold:
        """Participating / all (heads; and area for the CC278 sets)."""
        return self._counting.quorum

    @property
    def household_quorum_threshold(self) -> Threshold | None:
        """Villagers' meeting only: the alternative (OR) quorum on households."""
        return self._counting.household_quorum

    @property
    def pass_threshold(self) -> Threshold:
        return self._counting.passing

    @property
    def pass_of_all_members(self) -> bool:
        """True when yes is measured against all members, not the participating ones."""
        return self._counting.pass_of_all

    def name(self, lang: str = "zh") -> str:
        return self.name_zh if _zh(lang) else self.name_en

    def source(self, lang: str = "zh") -> str:
        return self.source_zh if _zh(lang) else self.source_en

    def noun(self, lang: str = "zh") -> str:
        noun_zh, noun_en = self._counting.noun
        return noun_zh if _zh(lang) else noun_en

    def describe(self, lang: str = "zh") -> list[str]:
        """The counting rule in words."""
        zh = _zh(lang)
        c = self._counting
        noun = self.noun(lang)
        lines: list[str] = []
        if self.uses_area:
            lines.append(
                f"参与：参与表决的专有部分面积占总面积的{c.quorum.words(lang)}，"
                f"且参与表决的{noun}占全体{noun}的{c.quorum.words(lang)}"
                if zh
                else f"Quorum: participating exclusive area {c.quorum.words(lang)} of the total "
                f"and participating {noun} {c.quorum.words(lang)} of all {noun}"
            )
            lines.append(
                f"通过：同意的专有部分面积与{noun}人数均占参与表决部分的{c.passing.words(lang)}"
                if zh
                else f"Passes: yes-area and yes-{noun} each {c.passing.words(lang)} of the "
                f"participating area and participating {noun}"
            )
        elif c.quorum == UNANIMOUS:
            lines.append(
                f"参与：全体{noun}均参与表决"
                if zh
                else f"Quorum: every one of the {noun} takes part"
            )
            lines.append(
                f"通过：参与的{noun}一致同意（形成共识）"
                if zh
                else f"Passes: every participating one of the {noun} votes yes (consensus)"
            )
        else:
            quorum = (
                f"参与：参与表决的{noun}占全体{noun}的{c.quorum.words(lang)}"
                if zh
                else f"Quorum: participating {noun} {c.quorum.words(lang)} of all {noun}"
            )
            if c.household_quorum is not None:
                quorum += (
                    f"，或有成员参与的户数占全体户数的{c.household_quorum.words(lang)}"
                    if zh
                    else f", or households with a participating member "
                    f"{c.household_quorum.words(lang)} of all households"
                )
            lines.append(quorum)
            base_zh, base_en = ("全体", "all") if c.pass_of_all else ("参与表决的", "participating")
            lines.append(
                f"通过：同意的{noun}占{base_zh}{noun}的{c.passing.words(lang)}"
                if zh
                else f"Passes: yes {c.passing.words(lang)} of {base_en} {noun}"
            )
        if c.note is not None:
            lines.append(c.note[0] if zh else c.note[1])
        if not self.binding:
            lines.append(
                "协商意见，无法定约束力；有约束力的结果须由有权机构表决"
                if zh
                else "A consultation opinion without binding force; a binding outcome needs the "
                "competent body's vote"
            )
        if not self.proxies_allowed:
            lines.append("不得委托投票" if zh else "No proxies")
        lines.append(("依据：" if zh else "Source: ") + self.source(lang))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id.value,
            "version": self.version,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "source": {"zh": self.source_zh, "en": self.source_en},
            "uses_area": self.uses_area,
            "proxies_allowed": self.proxies_allowed,
            "binding": self.binding,
            "silent_majority_allowed": self.silent_majority_allowed,
            "quorum": self.quorum_threshold.to_dict(),
            "household_quorum": (
                None
                if self.household_quorum_threshold is None
                else self.household_quorum_threshold.to_dict()
            ),
            "passing": self.pass_threshold.to_dict(),
            "pass_of_all_members": self.pass_of_all_members,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Look the rule set up by id; a stored version that no longer exists is refused."""
        if not isinstance(data, Mapping):
            raise SettingError(
                field="rule_set", reason="表决规则格式错误", reason_en="malformed rule set"
            )
        found = rule_set(_require_str(data, "id"))
        version = data.get("version", found.version)
        if version != found.version:
            raise SettingError(
                field="rule_set.version",
                reason=f"表决规则“{found.name_zh}”没有版本 {version!r}（现行 {found.version}）",
                reason_en=(
                    f"rule set '{found.name_en}' has no version {version!r} "
                    f"(current: {found.version})"
                ),
            )
        return found


RULE_SETS: dict[RuleSetId, RuleSet] = {
    row.id: RuleSet(
        id=row.id,
        version=row.version,
        name_zh=row.name[0],
        name_en=row.name[1],
        source_zh=row.source[0],
        source_en=row.source[1],
        uses_area=row.uses_area,
        proxies_allowed=row.proxies_allowed,
        binding=row.binding,
        silent_majority_allowed=row.silent_majority_allowed,
    )
    for row in RULE_SET_TABLE
}


def rule_set(id: RuleSetId | str) -> RuleSet:
    """The current rule set with this id; unknown ids are a SettingError."""
    try:
        return RULE_SETS[RuleSetId(id)]
    except (ValueError, KeyError):
        raise SettingError(
            field="rule_set",
            reason=f"未知的表决规则：{id!r}",
            reason_en=f"unknown rule set: {id!r}",
        ) from None
