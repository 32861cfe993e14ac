"""The owners' roll (业主名册): import it, validate every row, and count heads (业主人数).

A roll lists exclusive units (专有部分) with their area and owners. Votes under 民法典 Art. 278
count both area and heads; JI Arts. 8–9 say how: area always in full, all of the developer's units
together one head, one buyer of several units one head. Whether other overlaps merge
(`HeadMergePolicy`) and whether parking spaces vote are the estate's settings (`HeadRules`).

Areas are exact decimals throughout; no float is ever involved.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from enum import StrEnum
from operator import itemgetter
from typing import Any, TypeVar

from consult.errors import RollValidationError, RowProblem, ValidationError

__all__ = [
    "AreaSource",
    "Head",
    "HeadMergePolicy",
    "HeadRules",
    "OwnerKind",
    "RollSummary",
    "Unit",
    "UnitKind",
    "compute_heads",
    "owner_index",
    "parse_roll",
    "read_roll_file",
    "summarize",
]


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


_DEVELOPER_HEAD_ID = "H:developer"
_HEAD_PREFIX = "H:"

_COLUMNS = (
    "unit_id",
    "building",
    "entrance",
    "room",
    "kind",
    "area_m2",
    "area_source",
    "owners",
    "owner_kind",
)
_COLUMN_SET = frozenset(_COLUMNS)

_LABELS_ZH = {
    "unit_id": "专有部分编号",
    "building": "楼栋",
    "entrance": "单元",
    "room": "房号",
    "kind": "类型",
    "area_m2": "面积",
    "area": "面积",
    "area_source": "面积来源",
    "owners": "业主",
    "owner_kind": "业主类型",
    "merge": "业主人数合并规则",
    "parking_votes": "车位是否参与表决",
    "units": "名册",
    "file": "名册文件",
}

_KINDS = {m.value: m for m in UnitKind}
_SOURCES = {m.value: m for m in AreaSource}
_OWNER_KINDS = {m.value: m for m in OwnerKind}
_MERGES = {m.value: m for m in HeadMergePolicy}

_E = TypeVar("_E", bound=StrEnum)

_AREA_RE = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
_NEGATIVE_RE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
_SCIENTIFIC_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_TOO_PRECISE_RE = re.compile(r"[0-9]+\.[0-9]{3,}")


# The default context keeps 28 digits; this one never rounds (and would raise if it had to).
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[Inexact, InvalidOperation, Overflow, DivisionByZero],
)


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    add = _EXACT.add
    total = Decimal(0)
    for value in values:
        total = add(total, value)
    return total


def _invalid(field: str, reason: str, reason_en: str) -> ValidationError:
    return ValidationError(
        field=field,
        label=_LABELS_ZH.get(field, field),
        label_en=field,
        reason=reason,
        reason_en=reason_en,
    )


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
        merge = d.get("merge", HeadMergePolicy.IDENTICAL.value)
        if merge not in _MERGES:
            allowed = ", ".join(_MERGES)
            raise _invalid(
                "merge",
                f"“{merge}”不是可选值（可选：{allowed}）",
                f"{merge!r} is not one of: {allowed}",
            )
        parking_votes = d.get("parking_votes", False)
        if not isinstance(parking_votes, bool):
            raise _invalid(
                "parking_votes",
                f"应为 true 或 false，而不是“{parking_votes}”",
                f"must be true or false, not {parking_votes!r}",
            )
        return cls(merge=_MERGES[merge], parking_votes=parking_votes)


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
            kind=_enum_from_dict(d, "kind", _KINDS),
            area=Decimal(area_text),
            area_source=_enum_from_dict(d, "area_source", _SOURCES),
            owners=tuple(owners),
            owner_kind=_enum_from_dict(d, "owner_kind", _OWNER_KINDS),
        )


def _enum_from_dict(d: Mapping[str, Any], name: str, members: Mapping[str, _E]) -> _E:
    value = d.get(name)
    if not isinstance(value, str) or value not in members:
        allowed = ", ".join(members)
        raise _invalid(
            name,
            f"“{value}”不是可选值（可选：{allowed}）",
            f"{value!r} is not one of: {allowed}",
        )
    return members[value]


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


# --- parsing ------------------------------------------------------------------------------------


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


def _records(text: str, problems: list[RowProblem]) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first line, last line, stripped cells) of each non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    strip = str.strip
    last = 0
    while True:
        try:
            for raw in reader:
                first, last = last + 1, reader.line_num
                cells = list(map(strip, raw))
                if any(cells):
                    yield first, last, cells
            return
        except csv.Error as exc:
            line = max(reader.line_num, last + 1)
            problems.append(
                RowProblem(line, "", "", f"CSV 格式错误：{exc}", f"malformed CSV: {exc}")
            )
            if reader.line_num == last:
                return
            last = reader.line_num


def _header_problems(line: int, header: list[str]) -> tuple[list[RowProblem], dict[str, int]]:
    problems: list[RowProblem] = []
    positions: dict[str, int] = {}
    expected = ",".join(_COLUMNS)
    if not _COLUMN_SET.intersection(header):
        problems.append(
            RowProblem(
                line,
                "",
                ",".join(header),
                f"第一行不是表头：名册须以表头行开始，表头为 {expected}",
                f"the first line is not a header; the roll must start with the header {expected}",
            )
        )
        return problems, positions
    for number, name in enumerate(header, start=1):
        if name in positions:
            problems.append(
                RowProblem(
                    line,
                    name,
                    name,
                    f"表头第{number}列“{name}”与第{positions[name] + 1}列重复",
                    f"header column {number} '{name}' repeats column {positions[name] + 1}",
                )
            )
        elif name not in _COLUMN_SET:
            problems.append(
                RowProblem(
                    line,
                    name,
                    name,
                    f"表头第{number}列“{name}”不是名册的列；表头应为 {expected}",
                    f"header column {number} '{name}' is not a roll column; expected {expected}",
                )
            )
        else:
            positions[name] = number - 1
    for name in _COLUMNS:
        if name not in positions:
            problems.append(
                RowProblem(
                    line,
                    name,
                    "",
                    f"表头缺少“{name}”（{_LABELS_ZH[name]}）列；表头应为 {expected}",
                    f"the header lacks the column '{name}'; expected {expected}",
                )
            )
    return problems, positions


def parse_roll(text: str) -> list[Unit]:
    """Parse a roll CSV; all or nothing.

    Raises `RollValidationError` listing every bad row and every bad cell in it.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    problems: list[RowProblem] = []
    records = _records(text, problems)
    header_record = next(records, None)
    if header_record is None:
        problems.append(
            RowProblem(
                1, "", "", "名册为空：没有表头，也没有任何专有部分", "no units: the file is empty"
            )
        )
        raise RollValidationError(problems)
    header_line, _, header = header_record
    header_problems, positions = _header_problems(header_line, header)
    if header_problems:
        raise RollValidationError(problems + header_problems)

    width = len(header)
    pick = itemgetter(*(positions[name] for name in _COLUMNS))
    units: list[Unit] = []
    first_seen: dict[str, int] = {}
    add = problems.append
    area_ok = _AREA_RE.fullmatch
    # The frozen dataclass __init__ costs 2 µs a row; the validated fields go in directly.
    new = object.__new__
    strip = str.strip
    has_nul = "\x00" in text

    for line, last_line, cells in records:
        if has_nul and any("\x00" in c for c in cells):
            add(
                RowProblem(
                    line,
                    "",
                    ",".join(cells).replace("\x00", "\\0"),
                    "含有空字符（\\0），文件可能已损坏",
                    "contains a NUL character (\\0): the file may be damaged",
                )
            )
            continue
        if len(cells) != width:
            span_zh = span_en = ""
            if last_line != line:
                span_zh = f"；此记录跨越第{line}–{last_line}行，可能有未闭合的引号"
                span_en = f"; this record spans lines {line}-{last_line}: an unclosed quote?"
            add(
                RowProblem(
                    line,
                    "",
                    ",".join(cells),
                    f"应有{width}个字段，实际有{len(cells)}个{span_zh}",
                    f"expected {width} fields, found {len(cells)}{span_en}",
                )
            )
            continue
        (
            unit_id,
            building,
            entrance,
            room,
            kind_text,
            area_text,
            source_text,
            owners_text,
            owner_kind_text,
        ) = pick(cells)
        before = len(problems)

        if not unit_id:
            add(RowProblem(line, "unit_id", "", "专有部分编号为空", "unit_id is empty"))
        else:
            earlier = first_seen.setdefault(unit_id, line)
            if earlier != line:
                add(
                    RowProblem(
                        line,
                        "unit_id",
                        unit_id,
                        f"专有部分编号重复：第{earlier}行已使用该编号",
                        f"duplicate unit_id: line {earlier} already has it",
                    )
                )
        if not building:
            add(RowProblem(line, "building", "", "楼栋为空", "building is empty"))
        if not room:
            add(RowProblem(line, "room", "", "房号为空", "room is empty"))

        kind = _KINDS.get(kind_text)
        if kind is None:
            add(
                RowProblem(
                    line,
                    "kind",
                    kind_text,
                    "类型无效：应为 residential（住宅）、commercial（商业）或 parking（车位）",
                    "unknown kind: must be residential, commercial or parking",
                )
            )

        area: Decimal | None = None
        if area_ok(area_text):
            area = Decimal(area_text)
        if not area:
            area = None
            area_problem = _area_problem(area_text)
            assert area_problem is not None
            add(RowProblem(line, "area_m2", area_text, *area_problem))

        source = _SOURCES.get(source_text)
        if source is None:
            add(
                RowProblem(
                    line,
                    "area_source",
                    source_text,
                    "面积来源无效：应为 register（登记簿）、survey（实测）或 contract（买卖合同）",
                    "unknown area_source: must be register, survey or contract",
                )
            )

        if owners_text and ";" not in owners_text:
            owners: tuple[str, ...] = (owners_text,)
        else:
            owner_ids = list(map(strip, owners_text.split(";"))) if owners_text else []
            owners = tuple(owner_ids)
            owners_problem = _owners_problem(owner_ids, owners_text)
            if owners_problem is not None:
                add(RowProblem(line, "owners", owners_text, *owners_problem))

        owner_kind = _OWNER_KINDS.get(owner_kind_text)
        if owner_kind is None:
            add(
                RowProblem(
                    line,
                    "owner_kind",
                    owner_kind_text,
                    "业主类型无效：应为 person（个人）、company（单位）或 developer（建设单位）",
                    "unknown owner_kind: must be person, company or developer",
                )
            )

        if len(problems) == before:
            assert kind is not None and area is not None
            assert source is not None and owner_kind is not None
            unit = new(Unit)
            unit.__dict__.update(
                unit_id=unit_id,
                building=building,
                entrance=entrance,
                room=room,
                kind=kind,
                area=area,
                area_source=source,
                owners=owners,
                owner_kind=owner_kind,
            )
            units.append(unit)

    if not units and not problems:
        problems.append(
            RowProblem(
                header_line,
                "",
                "",
                "名册中没有任何专有部分（只有表头）",
                "no units: the file has a header but no rows",
            )
        )
    if problems:
        raise RollValidationError(problems)
    return units


def read_roll_file(path: str | os.PathLike[str]) -> list[Unit]:
    """Read and parse a UTF-8 roll file (a leading BOM is ignored)."""
    shown = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise _invalid("file", f"文件不存在：{shown}", f"no such file: {shown}") from None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise _invalid(
            "file",
            f"无法读取文件 {shown}（{reason}）",
            f"cannot read {shown} ({reason})",
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _invalid(
            "file",
            f"文件不是 UTF-8 编码（第{line}行，第{exc.start + 1}字节）；"
            "如用 Excel，请另存为“CSV UTF-8（逗号分隔）”",
            f"the file is not UTF-8 (line {line}, byte {exc.start + 1}); "
            "in Excel, save it as 'CSV UTF-8 (comma delimited)'",
        ) from None
    return parse_roll(text)


# --- heads --------------------------------------------------------------------------------------


def _votes(unit: Unit, rules: HeadRules) -> bool:
    return rules.parking_votes or unit.kind != UnitKind.PARKING


def _make_head(members: list[Unit], developer: bool) -> Head:
    if len(members) == 1:
        unit = members[0]
        owners = unit.owners if len(unit.owners) == 1 else tuple(sorted(set(unit.owners)))
        unit_ids: tuple[str, ...] = (unit.unit_id,)
        area = unit.area
    else:
        members.sort(key=_by_unit_id)
        owners = tuple(sorted({o for u in members for o in u.owners}))
        unit_ids = tuple(u.unit_id for u in members)
        area = _exact_sum(u.area for u in members)
    if developer:
        head_id = _DEVELOPER_HEAD_ID
    else:
        head_id = _HEAD_PREFIX + ";".join(owners)
        if head_id == _DEVELOPER_HEAD_ID:
            raise _invalid(
                "units",
                f"业主编号“developer”与建设单位的合并户号冲突（{unit_ids[0]}）",
                f"owner id 'developer' clashes with the developer's head ({unit_ids[0]})",
            )
    head = object.__new__(Head)  # as in parse_roll: the frozen __init__ is the slow part
    head.__dict__.update(
        head_id=head_id,
        owners=owners,
        unit_ids=unit_ids,
        area=area,
        building=members[0].building,
        is_developer=developer,
    )
    return head


def _by_unit_id(unit: Unit) -> str:
    return unit.unit_id


def _by_head_id(head: Head) -> str:
    return head.head_id


def _components(units: list[Unit]) -> list[list[Unit]]:
    """Group units that share an owner, transitively (union-find on owner ids)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = parent.setdefault(x, x)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    for unit in units:
        if len(unit.owners) == 1:
            find(unit.owners[0])
            continue
        anchor = find(unit.owners[0])
        for other in unit.owners[1:]:
            root = find(other)
            if root != anchor:
                parent[root] = anchor
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        root = find(unit.owners[0])
        group = groups.get(root)
        if group is None:
            groups[root] = [unit]
        else:
            group.append(unit)
    return list(groups.values())


def compute_heads(units: Sequence[Unit], rules: HeadRules) -> list[Head]:
    """The heads of the voting units under `rules`, sorted by head_id.

    All developer units form the one head `H:developer`; other heads are named by their owners.
    """
    if len({u.unit_id for u in units}) != len(units):
        counts = Counter(u.unit_id for u in units)
        dups = ", ".join(sorted(k for k, n in counts.items() if n > 1))
        raise _invalid("units", f"专有部分编号重复：{dups}", f"duplicate unit_id: {dups}")

    developer: list[Unit] = []
    others: list[Unit] = []
    parking_votes = rules.parking_votes
    for unit in units:
        if parking_votes or unit.kind != UnitKind.PARKING:
            if not unit.owners:
                raise _invalid(
                    "units", f"{unit.unit_id}没有业主", f"unit {unit.unit_id} has no owner"
                )
            (developer if unit.owner_kind == OwnerKind.DEVELOPER else others).append(unit)

    if rules.merge == HeadMergePolicy.IDENTICAL:
        by_owners: dict[str, list[Unit]] = {}
        for unit in others:
            owners = unit.owners
            key = owners[0] if len(owners) == 1 else ";".join(sorted(set(owners)))
            group = by_owners.get(key)
            if group is None:
                by_owners[key] = [unit]
            else:
                group.append(unit)
        groups = list(by_owners.values())
    else:
        groups = _components(others)

    heads = [_make_head(members, False) for members in groups]
    if developer:
        heads.append(_make_head(developer, True))
    heads.sort(key=_by_head_id)
    return heads


def owner_index(heads: Sequence[Head]) -> dict[str, tuple[str, ...]]:
    """Owner id -> the head ids that owner may cast a ballot for (sorted)."""
    index: dict[str, set[str]] = {}
    for head in heads:
        for owner in head.owners:
            index.setdefault(owner, set()).add(head.head_id)
    return {owner: tuple(sorted(index[owner])) for owner in sorted(index)}


def summarize(units: Sequence[Unit], rules: HeadRules) -> RollSummary:
    voting = [u for u in units if _votes(u, rules)]
    return RollSummary(
        units=len(units),
        voting_units=len(voting),
        heads=len(compute_heads(units, rules)),
        total_area=_exact_sum(u.area for u in voting),
        parking_units=sum(1 for u in units if u.kind == UnitKind.PARKING),
        developer_units=sum(1 for u in units if u.owner_kind == OwnerKind.DEVELOPER),
    )
