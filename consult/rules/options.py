"""Counting options: the choices DOMAIN.md leaves [open] that change how a vote is counted.

Abstentions, invalid ballots, the silent-majority rule (with its covenant) and the Zhejiang
floor; `CountingOptions.describe` states them for display beside every result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consult.errors import SettingError
from consult.rules.fields import _reject_unknown_keys, _require_bool, _zh
from consult.rules.rule_sets import RuleSet


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
