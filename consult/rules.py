"""Counting rules: owners' joint decisions, other bodies' votes and threshold motions.

Pure domain code (standard library only). See docs/domain.md §3–§6.

- Every threshold and ratio is an exact `fractions.Fraction`; areas are `decimal.Decimal`
  (``Fraction(Decimal)`` is exact). Floats are refused everywhere.
- Counting words (民法典 Art. 1259): 以上 includes the number (``Comparison.AT_LEAST``, ≥);
  超过 and 过半数 exclude it (``Comparison.MORE_THAN``, strictly >).
- Each rule set is versioned and carries its legal source; each user-facing text has zh and en.
- Choices that DOMAIN.md leaves open (abstentions, invalid ballots, silent majority, Zhejiang floor)
  are `CountingOptions`; `CountingOptions.describe` states them for display beside every result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from consult.errors import SettingError

__all__ = [
    "DEFAULT_OPTIONS",
    "RULE_SETS",
    "THRESHOLD_PRESETS",
    "Choice",
    "Comparison",
    "Count",
    "CountingOptions",
    "Elector",
    "MotionBasis",
    "MotionEffect",
    "MotionProgress",
    "RuleSet",
    "RuleSetId",
    "SilentMajorityStatus",
    "Tally",
    "Threshold",
    "ThresholdCheck",
    "ThresholdRule",
    "VoteResult",
    "result_from_counts",
    "rule_set",
    "tally",
]


def _zh(lang: str) -> bool:
    return lang.startswith("zh")


def _exact(value: Fraction | Decimal | int, what: str) -> Fraction:
    """Convert an exact number to a Fraction; floats (and bools) are refused."""
    if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"{what} must be a Fraction, Decimal or int, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{what} must be finite, not {value}")
    return Fraction(value)


def _frac_str(value: Fraction) -> str:
    return str(value)


def _parse_fraction(value: object, field: str) -> Fraction:
    """Parse a serialised fraction ("2/3", "0.05", 1); floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | Fraction | Decimal):
        raise SettingError(
            field=field,
            reason=f"应为分数字符串（如“2/3”），而不是 {value!r}",
            reason_en=f"expected a fraction string such as '2/3', not {value!r}",
        )
    try:
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(value)
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise SettingError(
            field=field,
            reason=f"不是有效的分数：{value!r}",
            reason_en=f"not a valid fraction: {value!r}",
        ) from None


def _require_bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise SettingError(
            field=key,
            reason=f"应为是/否（布尔值），而不是 {value!r}",
            reason_en=f"expected true or false, not {value!r}",
        )
    return value


def _require_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise SettingError(
            field=key,
            reason=f"缺少文字字段或类型错误：{value!r}",
            reason_en=f"missing or non-text value: {value!r}",
        )
    return value


def _require_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(
            field=key,
            reason=f"应为整数，而不是 {value!r}",
            reason_en=f"expected an integer, not {value!r}",
        )
    return value


_E = TypeVar("_E", bound=StrEnum)


def _enum(enum: type[_E], value: object, field: str) -> _E:
    """Coerce a stored value to an enum member; anything else is a SettingError."""
    if isinstance(value, str) and value in {m.value for m in enum}:
        return enum(value)
    allowed = ", ".join(m.value for m in enum)
    raise SettingError(
        field=field,
        reason=f"无效的取值 {value!r}（可选：{allowed}）",
        reason_en=f"invalid value {value!r} (allowed: {allowed})",
    )


def _reject_unknown_keys(data: Mapping[str, Any], allowed: set[str], field: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        names = ", ".join(unknown)
        raise SettingError(
            field=field,
            reason=f"未知的设置项：{names}",
            reason_en=f"unknown setting(s): {names}",
        )


# ---------------------------------------------------------------------------------------------
# Choices and thresholds
# ---------------------------------------------------------------------------------------------


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"
    INVALID = "invalid"

    def label(self, lang: str = "zh") -> str:
        zh, en = _CHOICE_LABELS[self]
        return zh if _zh(lang) else en


_CHOICE_LABELS: dict[Choice, tuple[str, str]] = {
    Choice.YES: ("同意", "Yes"),
    Choice.NO: ("反对", "No"),
    Choice.ABSTAIN: ("弃权", "Abstain"),
    Choice.INVALID: ("无效票", "Invalid"),
}

NOT_VOTED = "not_voted"


class Comparison(StrEnum):
    AT_LEAST = "gte"  # 以上: part >= fraction * whole
    MORE_THAN = "gt"  # 超过 / 过半数: part > fraction * whole

    @property
    def symbol(self) -> str:
        return "≥" if self is Comparison.AT_LEAST else ">"


def _fraction_text(value: Fraction) -> str:
    """Halves, thirds, quarters and odd shares stay fractions (2/3); others read as percents (5%)."""
    if value.denominator in (2, 3, 4) or 100 % value.denominator != 0:
        return f"{value.numerator}/{value.denominator}"
    return f"{value * 100}%"


@dataclass(frozen=True)
class Threshold:
    """An exact share of a whole: ``part ≥ fraction·whole`` (以上) or ``part > fraction·whole``."""

    fraction: Fraction
    comparison: Comparison

    def __post_init__(self) -> None:
        raw: object = self.fraction
        if isinstance(raw, bool) or not isinstance(raw, Fraction | Decimal | int):
            raise SettingError(
                field="threshold.fraction",
                reason=f"门槛须为精确分数，不能是 {raw!r}",
                reason_en=f"a threshold must be an exact fraction, not {raw!r}",
            )
        fraction = Fraction(raw)
        if not 0 <= fraction <= 1:
            raise SettingError(
                field="threshold.fraction",
                reason=f"门槛须在0与1之间：{fraction}",
                reason_en=f"a threshold must lie between 0 and 1: {fraction}",
            )
        comparison = _enum(Comparison, self.comparison, "threshold.comparison")
        object.__setattr__(self, "fraction", fraction)
        object.__setattr__(self, "comparison", comparison)

    def met(self, part: Fraction | Decimal | int, whole: Fraction | Decimal | int) -> bool:
        """Exact comparison; a zero whole is never met (nothing to take a share of)."""
        p = _exact(part, "part")
        w = _exact(whole, "whole")
        if p < 0 or w < 0:
            raise ValueError(f"part and whole must not be negative: {p}, {w}")
        if w == 0:
            return False
        target = self.fraction * w
        if self.comparison is Comparison.AT_LEAST:
            return p >= target
        return p > target

    def label(self, lang: str = "zh") -> str:
        """Symbolic form, the same in both languages: "≥ 2/3", "> 1/2", "≥ 5%"."""
        return f"{self.comparison.symbol} {_fraction_text(self.fraction)}"

    def words(self, lang: str = "zh") -> str:
        """The statutory wording: "2/3以上（含本数）", "过半数（不含半数）", "at least 2/3"."""
        text = _fraction_text(self.fraction)
        if self.comparison is Comparison.AT_LEAST:
            if self.fraction == 1:
                return "全体（一致）" if _zh(lang) else "all (unanimous)"
            return f"{text}以上（含本数）" if _zh(lang) else f"at least {text}"
        if self.fraction == Fraction(1, 2):
            return "过半数（不含半数）" if _zh(lang) else "more than half"
        return f"超过{text}（不含本数）" if _zh(lang) else f"more than {text}"

    def to_dict(self) -> dict[str, Any]:
        return {"fraction": _frac_str(self.fraction), "comparison": self.comparison.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Threshold:
        if not isinstance(data, Mapping):
            raise SettingError(
                field="threshold",
                reason="门槛设置格式错误",
                reason_en="malformed threshold",
            )
        _reject_unknown_keys(data, {"fraction", "comparison"}, "threshold")
        fraction = _parse_fraction(data.get("fraction"), "threshold.fraction")
        comparison = _enum(Comparison, data.get("comparison"), "threshold.comparison")
        return cls(fraction, comparison)


_GTE_2_3 = Threshold(Fraction(2, 3), Comparison.AT_LEAST)
_GTE_3_4 = Threshold(Fraction(3, 4), Comparison.AT_LEAST)
_GT_1_2 = Threshold(Fraction(1, 2), Comparison.MORE_THAN)
_ALL = Threshold(Fraction(1), Comparison.AT_LEAST)


# ---------------------------------------------------------------------------------------------
# Rule sets
# ---------------------------------------------------------------------------------------------


class RuleSetId(StrEnum):
    CC278_ORDINARY = "cc278-ordinary"
    CC278_SPECIAL = "cc278-special"
    RESIDENTS_MEETING = "residents-meeting"
    VILLAGERS_MEETING = "villagers-meeting"
    REPRESENTATIVES_MEETING = "representatives-meeting"
    OWNERS_COMMITTEE = "owners-committee"
    COUNCIL_CONSENSUS = "council-consensus"


_CC278 = frozenset({RuleSetId.CC278_ORDINARY, RuleSetId.CC278_SPECIAL})


@dataclass(frozen=True)
class _Counting:
    """How a rule set counts (fixed per rule set id)."""

    quorum: Threshold  # participating heads / all heads (and area / area for CC278)
    household_quorum: Threshold | None  # villagers' meeting: OR branch on households
    passing: Threshold  # yes / participating (or / all members)
    pass_of_all: bool  # owners' committee: denominator = all members
    noun_zh: str  # who the heads are
    noun_en: str


_COUNTING: dict[RuleSetId, _Counting] = {
    RuleSetId.CC278_ORDINARY: _Counting(_GTE_2_3, None, _GT_1_2, False, "业主", "owners"),
    RuleSetId.CC278_SPECIAL: _Counting(_GTE_2_3, None, _GTE_3_4, False, "业主", "owners"),
    RuleSetId.RESIDENTS_MEETING: _Counting(_GT_1_2, None, _GT_1_2, False, "居民", "residents"),
    RuleSetId.VILLAGERS_MEETING: _Counting(
        _GT_1_2, _GTE_2_3, _GT_1_2, False, "成年村民", "adult villagers"
    ),
    RuleSetId.REPRESENTATIVES_MEETING: _Counting(
        _GTE_2_3, None, _GT_1_2, False, "村民代表", "representatives"
    ),
    RuleSetId.OWNERS_COMMITTEE: _Counting(
        _GT_1_2, None, _GT_1_2, True, "业主委员会委员", "committee members"
    ),
    RuleSetId.COUNCIL_CONSENSUS: _Counting(_ALL, None, _ALL, False, "协商方", "parties"),
}


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
        if self.silent_majority_allowed and rid not in _CC278:
            raise SettingError(
                field="silent_majority_allowed",
                reason="“沉默从众”只可用于业主共同决定，不得用于有到会门槛的会议或一致同意事项",
                reason_en=(
                    "the silent-majority rule is only for owners' joint decisions, never for "
                    "meetings with attendance quorums or unanimity matters"
                ),
            )
        if self.uses_area and rid not in _CC278:
            raise SettingError(
                field="uses_area",
                reason="只有业主共同决定按专有部分面积计票",
                reason_en="only owners' joint decisions count exclusive area",
            )

    @property
    def _counting(self) -> _Counting:
        return _COUNTING[self.id]

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
        return self._counting.noun_zh if _zh(lang) else self._counting.noun_en

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
        elif c.quorum == _ALL:
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
        if self.id is RuleSetId.RESIDENTS_MEETING:
            lines.append(
                "按成年居民、户代表或居民小组代表计数，由召集方确定"
                if zh
                else "Counted by adult residents, household representatives or group "
                "representatives, as the convener decides"
            )
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
    rs.id: rs
    for rs in (
        RuleSet(
            id=RuleSetId.CC278_ORDINARY,
            version="2021-01-01",
            name_zh="业主共同决定（一般事项）",
            name_en="Owners' joint decision (ordinary matter)",
            source_zh="《中华人民共和国民法典》第二百七十八条",
            source_en="Civil Code of the PRC, Art. 278",
            uses_area=True,
            proxies_allowed=True,
            binding=True,
            silent_majority_allowed=True,
        ),
        RuleSet(
            id=RuleSetId.CC278_SPECIAL,
            version="2021-01-01",
            name_zh="业主共同决定（筹集维修资金、改建重建、改变共有部分用途或经营）",
            name_en=(
                "Owners' joint decision (special matter: raising the maintenance fund, "
                "rebuilding, changing the use of or running a business on common parts)"
            ),
            source_zh="《中华人民共和国民法典》第二百七十八条第二款",
            source_en="Civil Code of the PRC, Art. 278(2)",
            uses_area=True,
            proxies_allowed=True,
            binding=True,
            silent_majority_allowed=True,
        ),
        RuleSet(
            id=RuleSetId.RESIDENTS_MEETING,
            version="2018-12-29",
            name_zh="居民会议",
            name_en="Residents' meeting",
            source_zh="《中华人民共和国城市居民委员会组织法》第九条",
            source_en="Organic Law of Urban Residents' Committees, Art. 9",
            uses_area=False,
            proxies_allowed=True,
            binding=True,
            silent_majority_allowed=False,
        ),
        RuleSet(
            id=RuleSetId.VILLAGERS_MEETING,
            version="2018-12-29",
            name_zh="村民会议",
            name_en="Villagers' meeting",
            source_zh="《中华人民共和国村民委员会组织法》第二十二条",
            source_en="Organic Law of Villagers' Committees, Art. 22",
            uses_area=False,
            proxies_allowed=True,
            binding=True,
            silent_majority_allowed=False,
        ),
        RuleSet(
            id=RuleSetId.REPRESENTATIVES_MEETING,
            version="2018-12-29",
            name_zh="村民代表会议",
            name_en="Villagers' representatives' meeting",
            source_zh="《中华人民共和国村民委员会组织法》第二十六条",
            source_en="Organic Law of Villagers' Committees, Art. 26",
            uses_area=False,
            proxies_allowed=True,
            binding=True,
            silent_majority_allowed=False,
        ),
        RuleSet(
            id=RuleSetId.OWNERS_COMMITTEE,
            version="2021-05-01",
            name_zh="业主委员会会议",
            name_en="Owners' committee meeting",
            source_zh="《北京市物业管理条例》第四十五条；上海市规定第二十六条（地方规定）",
            source_en="Beijing Property Management Regulations Art. 45; Shanghai Art. 26 (local)",
            uses_area=False,
            proxies_allowed=False,
            binding=True,
            silent_majority_allowed=False,
        ),
        RuleSet(
            id=RuleSetId.COUNCIL_CONSENSUS,
            version="practice",
            name_zh="联席协商（四位一体／六方联动）",
            name_en="Joint council consensus (four-in-one / six-party)",
            source_zh="基层实践；无法律赋予表决权",
            source_en="Local practice; no statute gives a binding vote",
            uses_area=False,
            proxies_allowed=True,
            binding=False,
            silent_majority_allowed=False,
        ),
    )
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


# ---------------------------------------------------------------------------------------------
# Electors and options
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Elector:
    """One head: an owner (head per JI Arts. 8–9), an adult, a household, a member or a party."""

    elector_id: str
    area: Decimal | None = None  # owners' votes only: the head's exclusive area (sum of units)
    building: str = ""  # for per-building breakdowns
    household: str | None = None  # villagers' meeting: the adult's household

    def __post_init__(self) -> None:
        if not isinstance(self.elector_id, str) or not self.elector_id:
            raise SettingError(
                field="elector_id",
                reason="投票人编号不能为空",
                reason_en="an elector needs a non-empty id",
            )
        area: object = self.area
        if area is not None and (not isinstance(area, Decimal) or not area.is_finite() or area < 0):
            raise SettingError(
                field="area",
                reason=f"面积须为非负的十进制数（Decimal）：{area!r}",
                reason_en=f"an area must be a non-negative Decimal: {area!r}",
            )


@dataclass(frozen=True)
class CountingOptions:
    """The [open] counting choices; show `describe()` beside every result."""

    abstain_participates: bool = True  # DOMAIN.md §3 default [open]
    invalid_participates: bool = False  # DOMAIN.md §3 default [open]
    silent_majority: bool = False  # DOMAIN.md §5, off by default
    covenant_ref: str | None = None  # the adopted covenant version; required with silent majority
    zhejiang_floor: bool = False  # DOMAIN.md §5 Zhejiang floor (with silent majority only)

    def validate(self, rs: RuleSet) -> None:
        for name in (
            "abstain_participates",
            "invalid_participates",
            "silent_majority",
            "zhejiang_floor",
        ):
            if not isinstance(getattr(self, name), bool):
                raise SettingError(
                    field=name,
                    reason=f"应为是/否：{getattr(self, name)!r}",
                    reason_en=f"expected true or false: {getattr(self, name)!r}",
                )
        if self.covenant_ref is not None and not isinstance(self.covenant_ref, str):
            raise SettingError(
                field="covenant_ref",
                reason="管理规约引用应为文字",
                reason_en="the covenant reference must be text",
            )
        if self.silent_majority:
            if not rs.silent_majority_allowed:
                raise SettingError(
                    field="silent_majority",
                    reason=f"“{rs.name_zh}”不得适用“沉默从众”规则",
                    reason_en=f"the silent-majority rule may not be used for '{rs.name_en}'",
                )
            if not self.covenant_ref or not self.covenant_ref.strip():
                raise SettingError(
                    field="covenant_ref",
                    reason="启用“沉默从众”须注明业主已通过的管理规约或议事规则版本",
                    reason_en=(
                        "the silent-majority rule needs a reference to the adopted covenant or "
                        "rules-of-procedure version"
                    ),
                )
        elif self.zhejiang_floor:
            raise SettingError(
                field="zhejiang_floor",
                reason="浙江底线只适用于启用“沉默从众”的表决",
                reason_en="the Zhejiang floor only applies when the silent-majority rule is on",
            )

    def describe(self, lang: str = "zh") -> list[str]:
        """One sentence per [open] choice, to print beside every result."""
        zh = _zh(lang)
        open_tag = "（本小区设置）" if zh else " (this estate's setting)"
        lines: list[str] = []
        if self.abstain_participates:
            lines.append(
                "弃权票计入参与表决（计入分母），但不计为同意" + open_tag
                if zh
                else "Abstentions count as participating (in the denominator) but not as yes"
                + open_tag
            )
        else:
            lines.append(
                "弃权票不计入参与表决" + open_tag
                if zh
                else "Abstentions do not count as participating" + open_tag
            )
        if self.invalid_participates:
            lines.append(
                "无效票计入参与表决（计入分母），但不计为同意" + open_tag
                if zh
                else "Invalid ballots count as participating (in the denominator) but not as yes"
                + open_tag
            )
        else:
            lines.append(
                "无效票不计入参与表决" + open_tag
                if zh
                else "Invalid ballots do not count as participating" + open_tag
            )
        if self.silent_majority:
            ref = self.covenant_ref or ""
            lines.append(
                f"已启用“沉默从众”（依据业主通过的{ref}）：达到参与表决门槛后，未投票者计入"
                "已投票的多数一方；此规则在《民法典》下的效力存在争议，原始计票同时公布" + open_tag
                if zh
                else f"Silent-majority rule on (adopted in {ref}): once the participation quorum "
                "is met, non-voters are added to the majority side of the votes cast; its "
                "validity under the Civil Code is disputed, and the raw tally is published "
                "beside the deemed one" + open_tag
            )
            if self.zhejiang_floor:
                lines.append(
                    "适用浙江底线：多数一方（含视为随多数者）须超过全体面积和全体人数的1/2"
                    if zh
                    else "Zhejiang floor applies: the deemed majority side must exceed 1/2 of all "
                    "area and of all owners"
                )
            else:
                lines.append("未适用浙江底线" if zh else "The Zhejiang floor does not apply")
        else:
            lines.append(
                "未启用“沉默从众”：未投票者不计入任何一方" + open_tag
                if zh
                else "Silent-majority rule off: non-voters count for no side" + open_tag
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "abstain_participates": self.abstain_participates,
            "invalid_participates": self.invalid_participates,
            "silent_majority": self.silent_majority,
            "covenant_ref": self.covenant_ref,
            "zhejiang_floor": self.zhejiang_floor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CountingOptions:
        """Missing keys take the defaults; unknown keys and wrong types are refused."""
        if not isinstance(data, Mapping):
            raise SettingError(
                field="options", reason="计票设置格式错误", reason_en="malformed counting options"
            )
        _reject_unknown_keys(
            data,
            {
                "abstain_participates",
                "invalid_participates",
                "silent_majority",
                "covenant_ref",
                "zhejiang_floor",
            },
            "options",
        )
        covenant = data.get("covenant_ref")
        if covenant is not None and not isinstance(covenant, str):
            raise SettingError(
                field="covenant_ref",
                reason="管理规约引用应为文字",
                reason_en="the covenant reference must be text",
            )
        return cls(
            abstain_participates=_require_bool(data, "abstain_participates", True),
            invalid_participates=_require_bool(data, "invalid_participates", False),
            silent_majority=_require_bool(data, "silent_majority", False),
            covenant_ref=covenant,
            zhejiang_floor=_require_bool(data, "zhejiang_floor", False),
        )


DEFAULT_OPTIONS = CountingOptions()


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    heads: int
    area: Decimal | None  # None when the rule set does not count area

    def __add__(self, other: Count) -> Count:
        area = None if self.area is None or other.area is None else self.area + other.area
        return Count(self.heads + other.heads, area)

    def to_dict(self) -> dict[str, Any]:
        return {"heads": self.heads, "area": None if self.area is None else str(self.area)}


@dataclass(frozen=True)
class ThresholdCheck:
    key: str  # "quorum.area", "quorum.heads", "quorum.households", "pass.area", "pass.heads", ...
    label_zh: str
    label_en: str
    numerator: Fraction
    denominator: Fraction
    required: Threshold
    met: bool

    @property
    def ratio(self) -> Fraction | None:
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if _zh(lang) else self.label_en

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "key": self.key,
            "label": {"zh": self.label_zh, "en": self.label_en},
            "numerator": _frac_str(self.numerator),
            "denominator": _frac_str(self.denominator),
            "ratio": None if ratio is None else _frac_str(ratio),
            "required": self.required.to_dict(),
            "required_label": self.required.label(),
            "met": self.met,
        }


def _check(
    key: str,
    label_zh: str,
    label_en: str,
    part: Fraction | Decimal | int,
    whole: Fraction | Decimal | int,
    required: Threshold,
) -> ThresholdCheck:
    numerator = _exact(part, key)
    denominator = _exact(whole, key)
    return ThresholdCheck(
        key=key,
        label_zh=label_zh,
        label_en=label_en,
        numerator=numerator,
        denominator=denominator,
        required=required,
        met=required.met(numerator, denominator),
    )


@dataclass(frozen=True)
class Tally:
    by_choice: dict[Choice, Count]
    not_voted: Count
    total: Count
    participating: Count
    quorum: tuple[ThresholdCheck, ...]
    quorum_met: bool
    passing: tuple[ThresholdCheck, ...]
    passed: bool  # implies quorum_met

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_choice": {c.value: n.to_dict() for c, n in self.by_choice.items()},
            "not_voted": self.not_voted.to_dict(),
            "total": self.total.to_dict(),
            "participating": self.participating.to_dict(),
            "quorum": [c.to_dict() for c in self.quorum],
            "quorum_met": self.quorum_met,
            "passing": [c.to_dict() for c in self.passing],
            "passed": self.passed,
        }


class SilentMajorityStatus(StrEnum):
    OFF = "off"  # the rule is not on
    NO_QUORUM = "no-quorum"  # raw quorum not met: non-voters never rescue it
    NO_MAJORITY = "no-majority"  # heads and area disagree, or a tie: nobody is deemed
    APPLIED = "applied"  # non-voters added to the majority side

    def label(self, lang: str = "zh") -> str:
        zh, en = _SM_LABELS[self]
        return zh if _zh(lang) else en


_SM_LABELS: dict[SilentMajorityStatus, tuple[str, str]] = {
    SilentMajorityStatus.OFF: ("未启用“沉默从众”", "Silent-majority rule off"),
    SilentMajorityStatus.NO_QUORUM: (
        "未达到参与表决门槛，“沉默从众”不适用（未投票者不得用于凑足参与门槛）",
        "Participation quorum not met: the silent-majority rule does not apply "
        "(non-voters never count toward the quorum)",
    ),
    SilentMajorityStatus.NO_MAJORITY: (
        "已投票者中没有人数和面积同时占多数的一方，未投票者不计入任何一方",
        "No side of the votes cast leads in both heads and area: non-voters count for no side",
    ),
    SilentMajorityStatus.APPLIED: (
        "未投票者已计入已投票的多数一方",
        "Non-voters were added to the majority side of the votes cast",
    ),
}


@dataclass(frozen=True)
class VoteResult:
    rule_set: RuleSet
    options: CountingOptions
    raw: Tally
    deemed: Tally | None  # only when the silent-majority rule is on
    passed: bool  # decisive: deemed.passed when deemed exists, else raw.passed
    by_building: dict[str, dict[Choice | str, Count]]  # raw counts per building
    silent_majority: SilentMajorityStatus = SilentMajorityStatus.OFF
    deemed_side: Choice | None = None  # the side non-voters were added to

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_set": self.rule_set.to_dict(),
            "options": self.options.to_dict(),
            "options_text": {
                "zh": self.options.describe("zh"),
                "en": self.options.describe("en"),
            },
            "raw": self.raw.to_dict(),
            "deemed": None if self.deemed is None else self.deemed.to_dict(),
            "passed": self.passed,
            "silent_majority": {
                "status": self.silent_majority.value,
                "label": {
                    "zh": self.silent_majority.label("zh"),
                    "en": self.silent_majority.label("en"),
                },
                "side": None if self.deemed_side is None else self.deemed_side.value,
            },
            "by_building": {
                building: {str(key): count.to_dict() for key, count in row.items()}
                for building, row in self.by_building.items()
            },
        }


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------


class _Acc:
    __slots__ = ("area", "heads")

    def __init__(self) -> None:
        self.heads = 0
        self.area = Decimal(0)

    def add(self, elector: Elector) -> None:
        self.heads += 1
        if elector.area is not None:
            self.area += elector.area

    def count(self, uses_area: bool) -> Count:
        return Count(self.heads, self.area if uses_area else None)


def _check_roll(rs: RuleSet, electors: Sequence[Elector]) -> dict[str, Elector]:
    roll: dict[str, Elector] = {}
    for elector in electors:
        if not isinstance(elector, Elector):
            raise SettingError(
                field="electors",
                reason=f"名册条目类型错误：{elector!r}",
                reason_en=f"not an elector: {elector!r}",
            )
        if elector.elector_id in roll:
            raise SettingError(
                field="electors",
                reason=f"名册中重复的投票人：{elector.elector_id}",
                reason_en=f"duplicate elector on the roll: {elector.elector_id}",
            )
        if rs.uses_area and elector.area is None:
            raise SettingError(
                field="electors",
                reason=f"“{rs.name_zh}”按面积计票，投票人{elector.elector_id}缺少专有部分面积",
                reason_en=(
                    f"'{rs.name_en}' counts area, but elector {elector.elector_id} has no area"
                ),
            )
        if rs.household_quorum_threshold is not None and not elector.household:
            raise SettingError(
                field="electors",
                reason=f"“{rs.name_zh}”须知道每位村民所属的户：{elector.elector_id}缺少户号",
                reason_en=(
                    f"'{rs.name_en}' needs each adult's household: {elector.elector_id} has none"
                ),
            )
        roll[elector.elector_id] = elector
    return roll


def _check_ballots(roll: Mapping[str, Elector], ballots: Mapping[str, Choice]) -> dict[str, Choice]:
    votes: dict[str, Choice] = {}
    for elector_id, choice in ballots.items():
        if elector_id not in roll:
            raise SettingError(
                field="ballots",
                reason=f"选票来自不在名册中的投票人：{elector_id!r}",
                reason_en=f"a ballot from someone not on the roll: {elector_id!r}",
            )
        try:
            votes[elector_id] = Choice(choice)
        except ValueError:
            raise SettingError(
                field="ballots",
                reason=f"无法识别的表决意见：{choice!r}",
                reason_en=f"unknown choice: {choice!r}",
            ) from None
    return votes


def _participating_choices(options: CountingOptions) -> tuple[Choice, ...]:
    choices = [Choice.YES, Choice.NO]
    if options.abstain_participates:
        choices.append(Choice.ABSTAIN)
    if options.invalid_participates:
        choices.append(Choice.INVALID)
    return tuple(choices)


def _sum(counts: Sequence[Count], uses_area: bool) -> Count:
    total = Count(0, Decimal(0) if uses_area else None)
    for count in counts:
        total = total + count
    return total


def _quorum_checks(
    rs: RuleSet,
    participating: Count,
    total: Count,
    households: tuple[int, int] | None,
) -> tuple[tuple[ThresholdCheck, ...], bool]:
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if rs.uses_area:
        assert participating.area is not None and total.area is not None
        checks.append(
            _check(
                "quorum.area",
                "参与表决的专有部分面积 / 全体专有部分面积",
                "Participating exclusive area / total exclusive area",
                participating.area,
                total.area,
                rs.quorum_threshold,
            )
        )
    checks.append(
        _check(
            "quorum.heads",
            f"参与表决的{noun_zh} / 全体{noun_zh}",
            f"Participating {noun_en} / all {noun_en}",
            participating.heads,
            total.heads,
            rs.quorum_threshold,
        )
    )
    household_rule = rs.household_quorum_threshold
    if household_rule is not None:
        assert households is not None
        checks.append(
            _check(
                "quorum.households",
                "有成员参与的户数 / 全体户数",
                "Households with a participating member / all households",
                households[0],
                households[1],
                household_rule,
            )
        )
        # Villagers' meeting: adults OR households (VCL Art. 22).
        return tuple(checks), any(c.met for c in checks)
    return tuple(checks), all(c.met for c in checks)


def _pass_checks(
    rs: RuleSet, yes: Count, participating: Count, total: Count
) -> tuple[ThresholdCheck, ...]:
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if rs.uses_area:
        assert yes.area is not None and participating.area is not None
        checks.append(
            _check(
                "pass.area",
                "同意的专有部分面积 / 参与表决的专有部分面积",
                "Yes area / participating area",
                yes.area,
                participating.area,
                rs.pass_threshold,
            )
        )
    if rs.pass_of_all_members:
        checks.append(
            _check(
                "pass.heads",
                f"同意的{noun_zh} / 全体{noun_zh}",
                f"Yes {noun_en} / all {noun_en}",
                yes.heads,
                total.heads,
                rs.pass_threshold,
            )
        )
    else:
        checks.append(
            _check(
                "pass.heads",
                f"同意的{noun_zh} / 参与表决的{noun_zh}",
                f"Yes {noun_en} / participating {noun_en}",
                yes.heads,
                participating.heads,
                rs.pass_threshold,
            )
        )
    return tuple(checks)


def _floor_checks(
    rs: RuleSet, side: Choice, side_count: Count, total: Count
) -> list[ThresholdCheck]:
    side_zh, side_en = side.label("zh"), side.label("en").lower()
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if side_count.area is not None and total.area is not None:
        checks.append(
            _check(
                "floor.area",
                f"多数方（{side_zh}，含视为随多数者）面积 / 全体面积（浙江底线）",
                f"Deemed majority ({side_en}) area / all area (Zhejiang floor)",
                side_count.area,
                total.area,
                _GT_1_2,
            )
        )
    checks.append(
        _check(
            "floor.heads",
            f"多数方（{side_zh}，含视为随多数者）{noun_zh} / 全体{noun_zh}（浙江底线）",
            f"Deemed majority ({side_en}) {noun_en} / all {noun_en} (Zhejiang floor)",
            side_count.heads,
            total.heads,
            _GT_1_2,
        )
    )
    return checks


def _majority_side(yes: Count, no: Count) -> Choice | None:
    """YES (NO) when it leads in heads and, where area counts, in area too; else None."""
    if yes.heads > no.heads and (yes.area is None or no.area is None or yes.area > no.area):
        return Choice.YES
    if no.heads > yes.heads and (yes.area is None or no.area is None or no.area > yes.area):
        return Choice.NO
    return None


def tally(
    rs: RuleSet,
    electors: Sequence[Elector],
    ballots: Mapping[str, Choice],
    options: CountingOptions = DEFAULT_OPTIONS,
) -> VoteResult:
    """Count `ballots` (elector_id -> choice) cast by `electors` under `rs`.

    Electors without a ballot did not vote. A ballot from an id not on the roll is refused.
    """
    if not isinstance(rs, RuleSet):
        raise SettingError(
            field="rule_set", reason="缺少表决规则", reason_en="a rule set is required"
        )
    options.validate(rs)
    roll = _check_roll(rs, electors)
    votes = _check_ballots(roll, ballots)
    uses_area = rs.uses_area

    accs = {choice: _Acc() for choice in Choice}
    not_voted_acc = _Acc()
    total_acc = _Acc()
    buildings: dict[str, dict[Choice | str, _Acc]] = {}
    participating_choices = _participating_choices(options)
    all_households: set[str] = set()
    participating_households: set[str] = set()
    for elector_id, elector in roll.items():
        total_acc.add(elector)
        row = buildings.setdefault(
            elector.building, {**{c: _Acc() for c in Choice}, NOT_VOTED: _Acc()}
        )
        choice = votes.get(elector_id)
        if choice is None:
            not_voted_acc.add(elector)
            row[NOT_VOTED].add(elector)
        else:
            accs[choice].add(elector)
            row[choice].add(elector)
        if elector.household is not None:
            all_households.add(elector.household)
            if choice in participating_choices:
                participating_households.add(elector.household)

    households = (
        (len(participating_households), len(all_households))
        if rs.household_quorum_threshold is not None
        else None
    )
    return result_from_counts(
        rs,
        {choice: accs[choice].count(uses_area) for choice in Choice},
        not_voted_acc.count(uses_area),
        total_acc.count(uses_area),
        options,
        by_building={
            building: {key: acc.count(uses_area) for key, acc in row.items()}
            for building, row in sorted(buildings.items())
        },
        households=households,
    )


def result_from_counts(
    rs: RuleSet,
    by_choice: Mapping[Choice, Count],
    not_voted: Count,
    total: Count,
    options: CountingOptions = DEFAULT_OPTIONS,
    *,
    by_building: dict[str, dict[Choice | str, Count]] | None = None,
    households: tuple[int, int] | None = None,
) -> VoteResult:
    """The result of a vote from its counts rather than its ballots: the one place where the
    rule set's quorum and pass thresholds, and the silent-majority option, are applied.

    ``by_choice`` gives, for each `Choice`, the heads and (where ``rs.uses_area``) the area of
    the electors who cast it (a choice left out counts zero); ``not_voted`` those of the electors without a ballot; ``total``
    those of all electors (the roll); the three must add up. Areas are `Decimal` when the rule
    set counts area and None when it does not. ``households`` is (households with a member whose
    choice participates, all households), required by rule sets with a household quorum
    (villagers' meetings) and ignored by others. ``by_building`` is carried into the result as
    given (raw counts per building, for display).

    `tally` counts ballot by ballot and then calls this; a projection that keeps counters calls
    it directly, so both give the same `VoteResult`. Counts that do not fit the rule set raise
    `SettingError` naming the argument.
    """
    if not isinstance(rs, RuleSet):
        raise SettingError(
            field="rule_set", reason="缺少表决规则", reason_en="a rule set is required"
        )
    options.validate(rs)
    uses_area = rs.uses_area
    zero = Count(0, Decimal(0) if uses_area else None)
    counts = {choice: by_choice.get(choice, zero) for choice in Choice}
    for name, count in (*((c.value, n) for c, n in counts.items()), ("not_voted", not_voted)):
        _check_count(rs, name, count)
    _check_count(rs, "total", total)
    voted = _sum(list(counts.values()), uses_area)
    if voted + not_voted != total:
        raise SettingError(
            field="total",
            reason=f"各表决意见与未投票之和（{_count_text(voted + not_voted)}）不等于全体"
            f"（{_count_text(total)}）",
            reason_en=f"the choices and the non-voters ({_count_text(voted + not_voted)}) do not "
            f"add up to all electors ({_count_text(total)})",
        )
    by_choice = counts
    participating = _sum([by_choice[c] for c in _participating_choices(options)], uses_area)
    if rs.household_quorum_threshold is None:
        households = None
    elif households is None or not 0 <= households[0] <= households[1]:
        raise SettingError(
            field="households",
            reason=f"“{rs.name_zh}”须给出有成员参与的户数与全体户数：{households!r}",
            reason_en=f"'{rs.name_en}' needs the households with a participating member and all "
            f"households: {households!r}",
        )
    quorum, quorum_met = _quorum_checks(rs, participating, total, households)
    passing = _pass_checks(rs, by_choice[Choice.YES], participating, total)
    raw = Tally(
        by_choice=by_choice,
        not_voted=not_voted,
        total=total,
        participating=participating,
        quorum=quorum,
        quorum_met=quorum_met,
        passing=passing,
        passed=quorum_met and all(c.met for c in passing),
    )

    deemed: Tally | None = None
    status = SilentMajorityStatus.OFF
    side: Choice | None = None
    if options.silent_majority:
        if not raw.quorum_met:
            deemed, status = raw, SilentMajorityStatus.NO_QUORUM
        else:
            side = _majority_side(by_choice[Choice.YES], by_choice[Choice.NO])
            if side is None:
                deemed, status = raw, SilentMajorityStatus.NO_MAJORITY
            else:
                deemed = _deem(rs, raw, side, options)
                status = SilentMajorityStatus.APPLIED
    return VoteResult(
        rule_set=rs,
        options=options,
        raw=raw,
        deemed=deemed,
        passed=deemed.passed if deemed is not None else raw.passed,
        by_building={} if by_building is None else by_building,
        silent_majority=status,
        deemed_side=side,
    )


def _check_count(rs: RuleSet, name: str, count: object) -> None:
    """A count given to `result_from_counts`: heads never negative, area as the rule set says."""
    if isinstance(count, Count) and isinstance(count.heads, int) and count.heads >= 0:
        if rs.uses_area and isinstance(count.area, Decimal) and count.area >= 0:
            return
        if not rs.uses_area and count.area is None:
            return
    if rs.uses_area:
        wanted_zh, wanted_en = (
            "人数与面积（Decimal，不为负）",
            "heads and an area (Decimal, not negative)",
        )
    else:
        wanted_zh, wanted_en = "人数（不为负，不计面积）", "heads (not negative) and no area"
    raise SettingError(
        field=name,
        reason=f"“{rs.name_zh}”的计数 {name} 须为{wanted_zh}：{count!r}",
        reason_en=f"count '{name}' under '{rs.name_en}' must be {wanted_en}: {count!r}",
    )


def _count_text(count: Count) -> str:
    return f"{count.heads}" if count.area is None else f"{count.heads} / {count.area} m²"


def _deem(rs: RuleSet, raw: Tally, side: Choice, options: CountingOptions) -> Tally:
    """Add the non-voters to `side` and to participating; recompute the pass checks."""
    by_choice = dict(raw.by_choice)
    by_choice[side] = by_choice[side] + raw.not_voted
    participating = raw.participating + raw.not_voted
    zero = Count(0, Decimal(0) if rs.uses_area else None)
    passing = list(_pass_checks(rs, by_choice[Choice.YES], participating, raw.total))
    if options.zhejiang_floor:
        passing.extend(_floor_checks(rs, side, by_choice[side], raw.total))
    return Tally(
        by_choice=by_choice,
        not_voted=zero,
        total=raw.total,
        participating=participating,
        quorum=raw.quorum,
        quorum_met=raw.quorum_met,
        passing=tuple(passing),
        passed=raw.quorum_met and all(c.met for c in passing),
    )


# ---------------------------------------------------------------------------------------------
# Threshold motions (DOMAIN.md §4)
# ---------------------------------------------------------------------------------------------


class MotionBasis(StrEnum):
    HEADS = "heads"
    AREA = "area"
    BOTH = "both"  # heads AND area
    EITHER = "either"  # heads OR area

    @property
    def uses_heads(self) -> bool:
        return self is not MotionBasis.AREA

    @property
    def uses_area(self) -> bool:
        return self is not MotionBasis.HEADS


class MotionEffect(StrEnum):
    TABLE_TOPIC = "table-topic"  # tabled automatically; may not be rejected at confirmation
    CONVENE_EXTRAORDINARY = "convene-extraordinary"  # owners' committee must convene
    FOUND_ASSEMBLY = "found-assembly"  # application to found the owners' assembly

    def label(self, lang: str = "zh") -> str:
        zh, en = _EFFECT_LABELS[self]
        return zh if _zh(lang) else en


_EFFECT_LABELS: dict[MotionEffect, tuple[str, str]] = {
    MotionEffect.TABLE_TOPIC: (
        "自动列入议题，确定议题时不得驳回",
        "Tabled automatically; may not be rejected at topic confirmation",
    ),
    MotionEffect.CONVENE_EXTRAORDINARY: (
        "业主委员会应当召集业主大会临时会议",
        "The owners' committee must convene an extraordinary owners' assembly",
    ),
    MotionEffect.FOUND_ASSEMBLY: (
        "可申请成立业主大会",
        "May apply to found the owners' assembly",
    ),
}


@dataclass(frozen=True)
class MotionProgress:
    heads: ThresholdCheck
    area: ThresholdCheck
    reached: bool  # BOTH: heads and area; EITHER: heads or area; HEADS / AREA: that one
    heads_needed: int  # smallest head count meeting the pct (0 when there are no heads)
    area_needed: Decimal  # smallest area (at the roll's precision, at least 0.01) meeting it

    @property
    def heads_missing(self) -> int:
        return max(0, self.heads_needed - int(self.heads.numerator))

    @property
    def area_missing(self) -> Decimal:
        missing = Fraction(self.area_needed) - self.area.numerator
        if missing <= 0:
            return Decimal(0)
        return Decimal(missing.numerator) / Decimal(missing.denominator)

    def to_dict(self) -> dict[str, Any]:
        return {
            "heads": self.heads.to_dict(),
            "area": self.area.to_dict(),
            "reached": self.reached,
            "heads_needed": self.heads_needed,
            "area_needed": str(self.area_needed),
        }


def _smallest_int(required: Threshold, whole: Fraction) -> int:
    """The smallest integer n with `required.met(n, whole)` (whole > 0)."""
    target = required.fraction * whole
    if required.comparison is Comparison.AT_LEAST:
        return math.ceil(target)
    return math.floor(target) + 1


@dataclass(frozen=True)
class ThresholdRule:
    """A co-signature threshold (DOMAIN.md §4); the denominator is the roll frozen at opening."""

    key: str
    name_zh: str
    name_en: str
    source_zh: str
    source_en: str
    pct: Fraction
    basis: MotionBasis
    window_days: int
    withdrawable: bool
    effect: MotionEffect
    answer_days: int  # days the convener has to answer before escalation to the street
    comparison: Comparison = Comparison.AT_LEAST  # 以上

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise SettingError(
                field="key", reason="门槛规则须有编号", reason_en="a threshold rule needs a key"
            )
        pct: object = self.pct
        if isinstance(pct, bool) or not isinstance(pct, Fraction | Decimal | int):
            raise SettingError(
                field="pct",
                reason=f"比例须为精确分数：{pct!r}",
                reason_en=f"the percentage must be an exact fraction: {pct!r}",
            )
        if isinstance(pct, Decimal) and not pct.is_finite():
            raise SettingError(
                field="pct",
                reason=f"比例须为有限数：{pct!r}",
                reason_en=f"the percentage must be finite: {pct!r}",
            )
        value = Fraction(pct)
        if not 0 < value <= 1:
            raise SettingError(
                field="pct",
                reason=f"比例须大于0且不超过100%：{value}",
                reason_en=f"the percentage must be above 0 and at most 100%: {value}",
            )
        object.__setattr__(self, "pct", value)
        object.__setattr__(self, "basis", _enum(MotionBasis, self.basis, "basis"))
        object.__setattr__(self, "effect", _enum(MotionEffect, self.effect, "effect"))
        object.__setattr__(self, "comparison", _enum(Comparison, self.comparison, "comparison"))
        for name in ("window_days", "answer_days"):
            days = getattr(self, name)
            if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
                raise SettingError(
                    field=name,
                    reason=f"天数须为正整数：{days!r}",
                    reason_en=f"the number of days must be a positive integer: {days!r}",
                )
        if not isinstance(self.withdrawable, bool):
            raise SettingError(
                field="withdrawable",
                reason=f"应为是/否：{self.withdrawable!r}",
                reason_en=f"expected true or false: {self.withdrawable!r}",
            )

    @property
    def threshold(self) -> Threshold:
        return Threshold(self.pct, self.comparison)

    def name(self, lang: str = "zh") -> str:
        return self.name_zh if _zh(lang) else self.name_en

    def source(self, lang: str = "zh") -> str:
        return self.source_zh if _zh(lang) else self.source_en

    def progress(
        self, signed_heads: int, signed_area: Decimal, total_heads: int, total_area: Decimal
    ) -> MotionProgress:
        """Where the co-signatures stand against the frozen roll."""
        for name, number in (("signed_heads", signed_heads), ("total_heads", total_heads)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise SettingError(
                    field=name,
                    reason=f"人数须为非负整数：{number!r}",
                    reason_en=f"a head count must be a non-negative integer: {number!r}",
                )
        for name, amount in (("signed_area", signed_area), ("total_area", total_area)):
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise SettingError(
                    field=name,
                    reason=f"面积须为非负的十进制数（Decimal）：{amount!r}",
                    reason_en=f"an area must be a non-negative Decimal: {amount!r}",
                )
        if signed_heads > total_heads or signed_area > total_area:
            raise SettingError(
                field="signatures",
                reason="联署人数或面积超过了冻结名册的总数",
                reason_en="the signatures exceed the totals of the frozen roll",
            )
        if self.basis.uses_heads and total_heads == 0:
            raise SettingError(
                field="total_heads",
                reason="名册中没有业主，无法按人数计算门槛",
                reason_en="the roll has no heads; a head threshold cannot be computed",
            )
        if self.basis.uses_area and total_area == 0:
            raise SettingError(
                field="total_area",
                reason="名册总面积为零，无法按面积计算门槛",
                reason_en="the roll has no area; an area threshold cannot be computed",
            )
        required = self.threshold
        heads = _check(
            "motion.heads",
            "联署人数 / 冻结名册总人数",
            "Co-signers / heads on the frozen roll",
            signed_heads,
            total_heads,
            required,
        )
        area = _check(
            "motion.area",
            "联署者专有部分面积 / 冻结名册总面积",
            "Co-signers' exclusive area / area on the frozen roll",
            signed_area,
            total_area,
            required,
        )
        if self.basis is MotionBasis.HEADS:
            reached = heads.met
        elif self.basis is MotionBasis.AREA:
            reached = area.met
        elif self.basis is MotionBasis.BOTH:
            reached = heads.met and area.met
        else:
            reached = heads.met or area.met
        heads_needed = _smallest_int(required, Fraction(total_heads)) if total_heads else 0
        roll_exponent = total_area.as_tuple().exponent
        assert isinstance(roll_exponent, int)  # total_area is finite
        exponent: int = min(roll_exponent, -2)  # the roll's precision, at least 0.01
        quantum = Fraction(1, 10 ** (-exponent))
        area_units = _smallest_int(required, Fraction(total_area) / quantum) if total_area else 0
        area_needed = Decimal(f"{area_units}E{exponent}")
        return MotionProgress(
            heads=heads,
            area=area,
            reached=reached,
            heads_needed=heads_needed,
            area_needed=area_needed,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "source": {"zh": self.source_zh, "en": self.source_en},
            "pct": _frac_str(self.pct),
            "basis": self.basis.value,
            "window_days": self.window_days,
            "withdrawable": self.withdrawable,
            "effect": self.effect.value,
            "answer_days": self.answer_days,
            "comparison": self.comparison.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdRule:
        if not isinstance(data, Mapping):
            raise SettingError(
                field="threshold_rule",
                reason="门槛规则格式错误",
                reason_en="malformed threshold rule",
            )
        _reject_unknown_keys(
            data,
            {
                "key",
                "name",
                "source",
                "pct",
                "basis",
                "window_days",
                "withdrawable",
                "effect",
                "answer_days",
                "comparison",
            },
            "threshold_rule",
        )
        texts: dict[str, tuple[str, str]] = {}
        for name in ("name", "source"):
            pair = data.get(name)
            if not isinstance(pair, Mapping):
                raise SettingError(
                    field=name,
                    reason="须同时给出中文和英文",
                    reason_en="needs both a Chinese and an English text",
                )
            texts[name] = (_require_str(pair, "zh"), _require_str(pair, "en"))
        withdrawable = data.get("withdrawable")
        if not isinstance(withdrawable, bool):
            raise SettingError(
                field="withdrawable",
                reason=f"应为是/否：{withdrawable!r}",
                reason_en=f"expected true or false: {withdrawable!r}",
            )
        return cls(
            key=_require_str(data, "key"),
            name_zh=texts["name"][0],
            name_en=texts["name"][1],
            source_zh=texts["source"][0],
            source_en=texts["source"][1],
            pct=_parse_fraction(data.get("pct"), "pct"),
            basis=_enum(MotionBasis, data.get("basis"), "basis"),
            window_days=_require_int(data, "window_days"),
            withdrawable=withdrawable,
            effect=_enum(MotionEffect, data.get("effect"), "effect"),
            answer_days=_require_int(data, "answer_days"),
            comparison=_enum(
                Comparison, data.get("comparison", Comparison.AT_LEAST.value), "comparison"
            ),
        )


THRESHOLD_PRESETS: dict[str, ThresholdRule] = {
    rule.key: rule
    for rule in (
        ThresholdRule(
            key="motion-5pct",
            name_zh="5%动议（议题动议）",
            name_en="5% motion (topic motion)",
            source_zh="基层协商实践：5%的业主或5%的专有部分面积联署即可提出议题（本小区规则，非法律规定）",
            source_en=(
                "Community consultation practice: 5% of the owners or of the exclusive area may "
                "table a topic (this estate's rule, not a statutory one)"
            ),
            pct=Fraction(5, 100),
            basis=MotionBasis.EITHER,
            window_days=30,
            withdrawable=True,
            effect=MotionEffect.TABLE_TOPIC,
            answer_days=15,
        ),
        ThresholdRule(
            key="extraordinary-20pct",
            name_zh="提议召开业主大会临时会议（20%）",
            name_en="Request for an extraordinary owners' assembly (20%)",
            source_zh="《业主大会和业主委员会指导规则》第二十一条；《物业管理条例》第十三条",
            source_en=(
                "Guiding Rules for Owners' Assemblies and Owners' Committees, Art. 21; "
                "Property Management Regulations, Art. 13"
            ),
            pct=Fraction(20, 100),
            basis=MotionBasis.BOTH,
            window_days=30,
            withdrawable=True,
            effect=MotionEffect.CONVENE_EXTRAORDINARY,
            answer_days=30,
        ),
        ThresholdRule(
            key="founding-5pct",
            name_zh="申请成立业主大会（5%）",
            name_en="Application to found the owners' assembly (5%)",
            source_zh="《北京市物业管理条例》第三十条；青岛市规定第二十二条（地方规定）",
            source_en="Beijing Property Management Regulations, Art. 30; Qingdao Art. 22 (local)",
            pct=Fraction(5, 100),
            basis=MotionBasis.EITHER,
            window_days=90,
            withdrawable=False,
            effect=MotionEffect.FOUND_ASSEMBLY,
            answer_days=30,
        ),
    )
}
