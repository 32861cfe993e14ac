"""Import a roll: parse its CSV (or file) and validate every row, all or nothing.

Every bad row and every bad cell is reported at once in a `RollValidationError`, in zh and en.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from decimal import Decimal
from operator import itemgetter

from consult.errors import RollValidationError, RowProblem
from consult.roll.units import (
    _AREA_RE,
    _KINDS,
    _OWNER_KINDS,
    _SOURCES,
    Unit,
    _area_problem,
    _invalid,
    _label,
    _owners_problem,
)

COLUMNS = (
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
_COLUMN_SET = frozenset(COLUMNS)


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
    expected = ",".join(COLUMNS)
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
    for name in COLUMNS:
        if name not in positions:
            problems.append(
                RowProblem(
                    line,
                    name,
                    "",
                    f"表头缺少“{name}”（{_label(name)[0]}）列；表头应为 {expected}",
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
    pick = itemgetter(*(positions[name] for name in COLUMNS))
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
