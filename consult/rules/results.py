"""What a count produces: counts, threshold checks, the raw and deemed tallies, the result.

Every value here is exact and serialises with ``to_dict`` for the API and the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from consult.rules.fields import _exact, _frac_str, _zh
from consult.rules.options import CountingOptions
from consult.rules.rule_sets import RuleSet
from consult.rules.thresholds import Choice, Threshold


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


def threshold_check(
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
