"""The roll's values: units, heads, head-counting settings and summaries, with their checks.

A `Unit` is one exclusive unit (专有部分) with its area and owners; a `Head` is one owner for
counting; `HeadRules` are the estate's [open] settings. Areas are exact decimals, never floats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from consult.errors import ValidationError
from consult.validation import MESSAGES, Pair, invalid, parse_enum


class UnitKind(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    PARKING = "parking"


class AreaSource(StrEnum):
    """Where an area comes from, in JI Art. 8's order of preference."""

    REGISTER = "register"
    SURVEY = "survey"
    CONTRACT = "contract"


class OwnerKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    DEVELOPER = "developer"


class HeadMergePolicy(StrEnum):
    """How units of overlapping owners merge into heads (DOMAIN.md §3, an [open] setting).

    IDENTICAL: only units with the same owner set are one head (the default).
    OVERLAPPING: units sharing any owner are one head, transitively.
    """

    IDENTICAL = "identical"
    OVERLAPPING = "overlapping"


#: A roll field (or CSV column) whose key in MESSAGES is not its own name.
_LABEL_KEYS = {"kind": "unit_kind", "area_m2": "area", "units": "roll", "file": "roll_file"}

_KINDS = {m.value: m for m in UnitKind}
_SOURCES = {m.value: m for m in AreaSource}
_OWNER_KINDS = {m.value: m for m in OwnerKind}

_E = TypeVar("_E", bound=StrEnum)

_AREA_RE = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
_NEGATIVE_RE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
_SCIENTIFIC_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_TOO_PRECISE_RE = re.compile(r"[0-9]+\.[0-9]{3,}")


def _label(field: str) -> Pair:
    """What a roll field (or CSV column) is, in both languages."""
    return MESSAGES[_LABEL_KEYS.get(field, field)]


def _invalid(field: str, reason: str, reason_en: str) -> ValidationError:
    """A refused roll value; its reason is the cell's own (zh, en), as in the row reports."""
    return invalid(field, _label(field), (reason, reason_en))


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadRules:
    """The estate's head-counting settings; the defaults are DOMAIN.md §3's."""

    merge: HeadMergePolicy = HeadMergePolicy.IDENTICAL
    parking_votes: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"merge": self.merge.value, "parking_votes": self.parking_votes}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HeadRules:
        unknown = sorted(set(d) - {"merge", "parking_votes"})
        if unknown:
            names = ", ".join(unknown)
            raise _invalid("merge", f"未知的设置项：{names}", f"unknown setting(s): {names}")
        merge = parse_enum(
            HeadMergePolicy,
            d.get("merge", HeadMergePolicy.IDENTICAL.value),
            "merge",
            "merge",
            "not_an_option",
        )
        parking_votes = d.get("parking_votes", False)
        if not isinstance(parking_votes, bool):
            raise _invalid(
                "parking_votes",
                f"应为 true 或 false，而不是“{parking_votes}”",
                f"must be true or false, not {parking_votes!r}",
            )
        return cls(merge=merge, parking_votes=parking_votes)


@dataclass(frozen=True)
class Unit:
    """One exclusive unit (专有部分) of the roll. `owners` keeps the file's order."""

    unit_id: str
    building: str
    entrance: str
    room: str
    kind: UnitKind
    area: Decimal
    area_source: AreaSource
    owners: tuple[str, ...]
    owner_kind: OwnerKind

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "building": self.building,
            "entrance": self.entrance,
            "room": self.room,
            "kind": self.kind.value,
            "area": str(self.area),
            "area_source": self.area_source.value,
            "owners": list(self.owners),
            "owner_kind": self.owner_kind.value,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Unit:
        """Inverse of `to_dict`; refuses a malformed value (a float area, an unknown kind, ...)."""
        texts: dict[str, str] = {}
        for name in ("unit_id", "building", "entrance", "room"):
            value = d.get(name)
            if not isinstance(value, str):
                raise _invalid(name, "缺失或不是文本", "missing or not a string")
            if name != "entrance" and not value:
                raise _invalid(name, "不能为空", "must not be empty")
            texts[name] = value
        area_text = d.get("area")
        if not isinstance(area_text, str):
            raise _invalid(
                "area",
                "应为形如“88.91”的文本（不接受浮点数）",
                "must be a string such as '88.91' (floats are not accepted)",
            )
        area_problem = _area_problem(area_text)
        if area_problem is not None:
            raise _invalid("area", *area_problem)
        owners = d.get("owners")
        if not isinstance(owners, list | tuple) or not all(isinstance(o, str) for o in owners):
            raise _invalid("owners", "应为业主编号列表", "must be a list of owner ids")
        owners_problem = _owners_problem(list(owners), ";".join(owners))
        if owners_problem is not None:
            raise _invalid("owners", *owners_problem)
        if any(";" in o or o != o.strip() for o in owners):
            raise _invalid(
                "owners",
                "业主编号不能包含分号或首尾空白",
                "an owner id must not contain ';' or surrounding whitespace",
            )
        return cls(
            unit_id=texts["unit_id"],
            building=texts["building"],
            entrance=texts["entrance"],
            room=texts["room"],
            kind=_enum_from_dict(d, "kind", UnitKind),
            area=Decimal(area_text),
            area_source=_enum_from_dict(d, "area_source", AreaSource),
            owners=tuple(owners),
            owner_kind=_enum_from_dict(d, "owner_kind", OwnerKind),
        )


def _enum_from_dict(d: Mapping[str, Any], name: str, cls: type[_E]) -> _E:
    return parse_enum(cls, d.get(name), name, _LABEL_KEYS.get(name, name), "not_an_option")


@dataclass(frozen=True)
class Head:
    """One owner for counting (业主人数): one ballot covering all of `unit_ids`."""

    head_id: str
    owners: tuple[str, ...]
    unit_ids: tuple[str, ...]
    area: Decimal
    building: str
    is_developer: bool


@dataclass(frozen=True)
class RollSummary:
    """Counts of a roll under given rules.

    `total_area` sums the voting units only; `parking_units` and `developer_units` count every
    such unit, voting or not.
    """

    units: int
    voting_units: int
    heads: int
    total_area: Decimal
    parking_units: int
    developer_units: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "voting_units": self.voting_units,
            "heads": self.heads,
            "total_area": str(self.total_area),
            "parking_units": self.parking_units,
            "developer_units": self.developer_units,
        }


# --- checks of one cell, shared with parsing ---------------------------------------------------


def _area_problem(text: str) -> tuple[str, str] | None:
    """Why `text` is not a valid area (zh, en), or None if it is one."""
    if _AREA_RE.fullmatch(text):
        if Decimal(text) > 0:
            return None
        return ("面积必须大于 0", "the area must be greater than 0")
    if not text:
        return ("面积为空", "the area is empty")
    if _NEGATIVE_RE.fullmatch(text):
        if Decimal(text) == 0:
            return ("面积必须大于 0", "the area must be greater than 0")
        return ("面积不能为负数", "the area must not be negative")
    if _SCIENTIFIC_RE.fullmatch(text):
        return (
            "不接受科学计数法（如 1e3），请写成普通小数，如 1000.00",
            "scientific notation (such as 1e3) is not accepted; write a plain decimal: 1000.00",
        )
    if _TOO_PRECISE_RE.fullmatch(text):
        return ("面积最多保留两位小数", "the area may have at most two decimal places")
    return (
        "面积不是有效数字，应写成形如 88.91 的数（半角数字，最多两位小数）",
        "the area is not a valid number; write it like 88.91 (ASCII digits, at most two decimals)",
    )


def _owners_problem(ids: list[str], cell: str) -> tuple[str, str] | None:
    """Why a row's owner ids are unacceptable (zh, en), or None."""
    if not cell:
        return ("业主为空：每个专有部分至少要有一位业主", "no owner: every unit needs at least one")
    if "" in ids:
        position = ids.index("") + 1
        return (
            f"第{position}个业主编号为空（分号之间、开头或结尾不能为空）",
            f"owner id number {position} is empty (nothing between semicolons, or a stray ';')",
        )
    if len(set(ids)) != len(ids):
        dups = ", ".join(sorted({o for o in ids if ids.count(o) > 1}))
        return (f"业主编号重复：{dups}", f"owner id listed more than once: {dups}")
    return None
