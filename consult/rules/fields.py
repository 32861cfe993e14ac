"""Reading stored settings: exact numbers, typed fields and enum values.

Shared by the rule modules; every refusal is a `SettingError` naming the field, in zh and en.
Floats are never accepted where an exact number is wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from consult.errors import SettingError


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
