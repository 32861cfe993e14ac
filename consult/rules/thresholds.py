"""Choices and exact thresholds, with the Civil Code's counting words (民法典 Art. 1259).

以上 includes the number (``Comparison.AT_LEAST``, ≥); 超过 and 过半数 exclude it
(``Comparison.MORE_THAN``, strictly >). Every share is an exact `Fraction`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from consult.errors import SettingError
from consult.rules.fields import (
    _enum,
    _exact,
    _frac_str,
    _parse_fraction,
    _reject_unknown_keys,
    _zh,
)


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


GTE_2_3 = Threshold(Fraction(2, 3), Comparison.AT_LEAST)
GTE_3_4 = Threshold(Fraction(3, 4), Comparison.AT_LEAST)
GT_1_2 = Threshold(Fraction(1, 2), Comparison.MORE_THAN)
UNANIMOUS = Threshold(Fraction(1), Comparison.AT_LEAST)
