"""Threshold motions (DOMAIN.md §4): co-signature rules measured against a frozen roll.

A `ThresholdRule` says what share of heads and/or area must sign, within how many days, and
what follows; `THRESHOLD_PRESETS` holds the rules an estate can adopt as they stand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from consult.errors import SettingError
from consult.rules.fields import (
    _enum,
    _frac_str,
    _parse_fraction,
    _reject_unknown_keys,
    _require_int,
    _require_str,
    _zh,
)
from consult.rules.results import ThresholdCheck, threshold_check
from consult.rules.thresholds import Comparison, Threshold


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
        heads = threshold_check(
            "motion.heads",
            "联署人数 / 冻结名册总人数",
            "Co-signers / heads on the frozen roll",
            signed_heads,
            total_heads,
            required,
        )
        area = threshold_check(
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
