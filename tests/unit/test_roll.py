"""The owners' roll: import, validation, heads (DOMAIN.md §3, docs/roll-format.md)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consult.errors import RollValidationError, RowProblem, ValidationError
from consult.roll import (
    AreaSource,
    Head,
    HeadMergePolicy,
    HeadRules,
    OwnerKind,
    RollSummary,
    Unit,
    UnitKind,
    compute_heads,
    owner_index,
    parse_roll,
    read_roll_file,
    summarize,
)
from tests.conftest import PACKAGED_DEMO_ROLL

HEADER = "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind"
IDENTICAL = HeadRules()
OVERLAPPING = HeadRules(merge=HeadMergePolicy.OVERLAPPING)
CJK = re.compile(r"[\u4e00-\u9fff]")


def roll(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def row(
    unit_id: str = "U1",
    building: str = "1",
    entrance: str = "1",
    room: str = "0101",
    kind: str = "residential",
    area: str = "88.91",
    source: str = "register",
    owners: str = "P1",
    owner_kind: str = "person",
) -> str:
    return ",".join((unit_id, building, entrance, room, kind, area, source, owners, owner_kind))


def problems_of(text: str) -> list[RowProblem]:
    with pytest.raises(RollValidationError) as caught:
        parse_roll(text)
    problems = caught.value.problems
    assert caught.value.params["count"] == len(problems)
    for problem in problems:
        assert CJK.search(problem.zh), problem
        assert problem.en and not CJK.search(problem.en), problem
    return problems


def only_problem(text: str) -> RowProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def unit(
    unit_id: str,
    owners: tuple[str, ...],
    area: str = "100.00",
    kind: UnitKind = UnitKind.RESIDENTIAL,
    owner_kind: OwnerKind = OwnerKind.PERSON,
    building: str = "1",
) -> Unit:
    return Unit(
        unit_id=unit_id,
        building=building,
        entrance="1",
        room=unit_id,
        kind=kind,
        area=Decimal(area),
        area_source=AreaSource.REGISTER,
        owners=owners,
        owner_kind=owner_kind,
    )


# --- the demo roll and the generated rolls ---------------------------------------------------


def independent_counts(path: Path, parking_votes: bool) -> tuple[int, int, Decimal]:
    """Units, heads and voting area computed straight from the CSV, without consult.roll."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    voting = [r for r in rows if parking_votes or r["kind"] != "parking"]
    owner_sets = {
        frozenset(r["owners"].split(";")) for r in voting if r["owner_kind"] != "developer"
    }
    developer = any(r["owner_kind"] == "developer" for r in voting)
    area = sum((Decimal(r["area_m2"]) for r in voting), Decimal(0))
    return len(rows), len(owner_sets) + developer, area


@pytest.mark.parametrize(
    ("name", "units", "heads"),
    [("roll-demo.csv", 240, 212), ("roll-1200.csv", 1200, None), ("roll-20000.csv", 20000, None)],
)
def test_rolls_match_an_independent_count(
    name: str, units: int, heads: int | None, roll_file: Callable[[str], Path]
) -> None:
    path = roll_file(name)
    parsed = read_roll_file(path)
    summary = summarize(parsed, IDENTICAL)
    expected_units, expected_heads, expected_area = independent_counts(path, parking_votes=False)
    assert (summary.units, summary.heads) == (expected_units, expected_heads)
    assert summary.units == units
    if heads is not None:  # the demo's published count
        assert summary.heads == heads
    assert summary.total_area == expected_area
    computed = compute_heads(parsed, IDENTICAL)
    assert len(computed) == expected_heads
    assert sum((h.area for h in computed), Decimal(0)) == expected_area
    assert summary.parking_units == sum(1 for u in parsed if u.kind == UnitKind.PARKING)
    assert summary.voting_units == units - summary.parking_units


def test_demo_roll_total_area_is_exact() -> None:
    path = PACKAGED_DEMO_ROLL
    with path.open(encoding="utf-8", newline="") as handle:
        cells = [r["area_m2"] for r in csv.DictReader(handle) if r["kind"] != "parking"]
    expected = Decimal(0)
    for text in cells:
        expected += Decimal(text)
    total = summarize(read_roll_file(path), IDENTICAL).total_area
    assert isinstance(total, Decimal)
    assert total == expected
    assert str(total) == str(expected)


def test_demo_roll_with_voting_parking_matches_an_independent_count() -> None:
    path = PACKAGED_DEMO_ROLL
    units = read_roll_file(path)
    _, heads, area = independent_counts(path, parking_votes=True)
    summary = summarize(units, HeadRules(parking_votes=True))
    assert summary.heads == heads
    assert summary.total_area == area
    assert summary.voting_units == summary.units == 240
    assert summary.heads > summarize(units, IDENTICAL).heads


# --- reading files ------------------------------------------------------------------------------


def test_read_roll_file_strips_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "roll.csv"
    path.write_bytes(b"\xef\xbb\xbf" + roll(row()).encode("utf-8"))
    [only] = read_roll_file(path)
    assert only.unit_id == "U1"


def test_read_roll_file_accepts_chinese_text(tmp_path: Path) -> None:
    path = tmp_path / "roll.csv"
    path.write_text(roll(row(building="三号楼", owners="张三")), encoding="utf-8")
    [only] = read_roll_file(str(path))
    assert (only.building, only.owners) == ("三号楼", ("张三",))


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(ValidationError) as caught:
        read_roll_file(path)
    assert caught.value.field == "file"
    assert "nope.csv" in caught.value.message("zh") and "不存在" in caught.value.message("zh")
    assert "no such file" in caught.value.message("en")


def test_unreadable_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        read_roll_file(tmp_path)  # a directory
    assert caught.value.field == "file"
    assert "无法读取" in caught.value.message("zh")
    assert "cannot read" in caught.value.message("en")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(roll(row(), row(unit_id="U2", owners="张三")).encode("gbk"))
    with pytest.raises(ValidationError) as caught:
        read_roll_file(path)
    assert caught.value.field == "file"
    assert "第3行" in caught.value.message("zh") and "UTF-8" in caught.value.message("zh")
    assert "line 3" in caught.value.message("en")


def test_non_utf8_after_a_bom_counts_bytes_from_the_file_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"ab\n\xff")
    with pytest.raises(ValidationError) as caught:
        read_roll_file(path)
    assert "line 2, byte 7" in caught.value.message("en")


# --- the header and empty files -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "   \n", "\ufeff"])
def test_empty_file_has_no_units(text: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.column) == (1, "")
    assert "no units" in problem.en


def test_header_only_has_no_units() -> None:
    problem = only_problem(HEADER + "\n\n")
    assert (problem.line, problem.column) == (1, "")
    assert "no units" in problem.en and "没有任何专有部分" in problem.zh


def test_missing_column_stops_before_the_rows() -> None:
    header = HEADER.removesuffix(",owner_kind")
    text = header + "\n" + "U1,1,1,0101,residential,-1,register,P1\n"
    problem = only_problem(text)
    assert (problem.line, problem.column) == (1, "owner_kind")
    assert "lacks the column 'owner_kind'" in problem.en and "缺少" in problem.zh


def test_unknown_and_duplicated_columns_are_reported_on_line_1() -> None:
    text = HEADER + ",remarks,kind\n" + row() + ",x,residential\n"
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [(1, "remarks"), (1, "kind")]
    assert "not a roll column" in problems[0].en and "不是名册的列" in problems[0].zh
    assert "repeats column 5" in problems[1].en and "重复" in problems[1].zh


def test_a_roll_without_a_header_is_reported_once() -> None:
    problem = only_problem(row() + "\n" + row(unit_id="U2") + "\n")
    assert (problem.line, problem.column) == (1, "")
    assert "not a header" in problem.en


def test_columns_may_come_in_any_order() -> None:
    text = "owners,unit_id,area_m2,building,entrance,room,kind,area_source,owner_kind\n"
    text += "P1;P2,U7,12.5,P,,0007,parking,survey,company\n"
    [only] = parse_roll(text)
    assert only == Unit(
        "U7",
        "P",
        "",
        "0007",
        UnitKind.PARKING,
        Decimal("12.5"),
        AreaSource.SURVEY,
        ("P1", "P2"),
        OwnerKind.COMPANY,
    )


# --- rows ---------------------------------------------------------------------------------------


def test_a_good_row_becomes_a_unit() -> None:
    [only] = parse_roll(roll(row(owners="P2;P1", source="contract", owner_kind="developer")))
    assert only == Unit(
        unit_id="U1",
        building="1",
        entrance="1",
        room="0101",
        kind=UnitKind.RESIDENTIAL,
        area=Decimal("88.91"),
        area_source=AreaSource.CONTRACT,
        owners=("P2", "P1"),
        owner_kind=OwnerKind.DEVELOPER,
    )


def test_whitespace_around_cells_and_owner_ids_is_stripped() -> None:
    text = HEADER + "\n  U1 , 1 ,  , 0101 , parking , 15.20 , survey , P1 ; P2 , company \n"
    [only] = parse_roll(text)
    assert (only.unit_id, only.building, only.entrance, only.room) == ("U1", "1", "", "0101")
    assert (only.kind, only.area, only.area_source) == (
        UnitKind.PARKING,
        Decimal("15.20"),
        AreaSource.SURVEY,
    )
    assert (only.owners, only.owner_kind) == (("P1", "P2"), OwnerKind.COMPANY)


def test_blank_lines_are_skipped_and_lines_keep_their_file_numbers() -> None:
    text = HEADER + "\r\n\r\n" + row() + "\r\n   \r\n,,,,,,,,\r\n" + row(unit_id="U2", kind="x")
    problem = only_problem(text)
    assert (problem.line, problem.column, problem.value) == (6, "kind", "x")


def test_wrong_number_of_fields() -> None:
    problem = only_problem(roll(row(), "U2,1,1,0102,residential,70.00,register,P2"))
    assert (problem.line, problem.column) == (3, "")
    assert "expected 9 fields, found 8" in problem.en and "应有9个字段，实际有8个" in problem.zh


def test_an_unclosed_quote_names_the_lines_it_swallowed() -> None:
    text = roll(row(), row(unit_id='"U2'), row(unit_id="U3"))
    problem = only_problem(text)
    assert (problem.line, problem.column) == (3, "")
    assert "spans lines 3-4" in problem.en and "未闭合的引号" in problem.zh


def test_a_quoted_field_may_hold_a_comma() -> None:
    [only] = parse_roll(roll(row(room='"A,1"')))
    assert only.room == "A,1"


def test_a_nul_character_is_refused() -> None:
    problem = only_problem(roll(row(room="01\x0001")))
    assert (problem.line, problem.column) == (2, "")
    assert "NUL" in problem.en


def test_empty_unit_id() -> None:
    problem = only_problem(roll(row(unit_id="  ")))
    assert (problem.line, problem.column) == (2, "unit_id")
    assert "unit_id is empty" in problem.en and "编号为空" in problem.zh


def test_duplicated_unit_id_names_the_earlier_line() -> None:
    problem = only_problem(roll(row(), row(unit_id="U2"), row(unit_id="U1", room="0103")))
    assert (problem.line, problem.column, problem.value) == (4, "unit_id", "U1")
    assert "line 2 already has it" in problem.en and "第2行已使用" in problem.zh


@pytest.mark.parametrize(
    ("column", "cells", "en", "zh"),
    [
        ("building", {"building": ""}, "building is empty", "楼栋为空"),
        ("room", {"room": " "}, "room is empty", "房号为空"),
        ("kind", {"kind": "shop"}, "unknown kind", "类型无效"),
        ("kind", {"kind": "Residential"}, "unknown kind", "类型无效"),
        ("area_source", {"source": "estimate"}, "unknown area_source", "面积来源无效"),
        ("owners", {"owners": ""}, "no owner", "业主为空"),
        ("owners", {"owners": "P1;;P2"}, "owner id number 2 is empty", "第2个业主编号为空"),
        ("owners", {"owners": "P1;"}, "owner id number 2 is empty", "第2个业主编号为空"),
        ("owners", {"owners": ";"}, "owner id number 1 is empty", "第1个业主编号为空"),
        ("owners", {"owners": "P1;P2;P1"}, "more than once: P1", "业主编号重复：P1"),
        ("owner_kind", {"owner_kind": "government"}, "unknown owner_kind", "业主类型无效"),
    ],
)
def test_bad_cell(column: str, cells: dict[str, str], en: str, zh: str) -> None:
    problem = only_problem(roll(row(unit_id="U0", room="0001"), row(**cells)))
    assert (problem.line, problem.column) == (3, column)
    assert en in problem.en and zh in problem.zh
    assert problem.value == cells[next(iter(cells))].strip()


def test_entrance_may_be_empty() -> None:
    [only] = parse_roll(roll(row(entrance="")))
    assert only.entrance == ""


@pytest.mark.parametrize(
    ("area", "en", "zh"),
    [
        ("-5", "must not be negative", "不能为负数"),
        ("-12.50", "must not be negative", "不能为负数"),
        ("0", "greater than 0", "必须大于 0"),
        ("0.00", "greater than 0", "必须大于 0"),
        ("-0", "greater than 0", "必须大于 0"),
        ("abc", "not a valid number", "不是有效数字"),
        ("88.", "not a valid number", "不是有效数字"),
        ("+88", "not a valid number", "不是有效数字"),
        ("８８.９１", "not a valid number", "半角数字"),
        ("1,000.00", "not a valid number", "不是有效数字"),
        ("1e3", "scientific notation", "科学计数法"),
        ("1.5E+2", "scientific notation", "科学计数法"),
        ("88.123", "at most two decimal places", "最多保留两位小数"),
        ("", "the area is empty", "面积为空"),
        ("NaN", "not a valid number", "不是有效数字"),
        ("Infinity", "not a valid number", "不是有效数字"),
    ],
)
def test_bad_area(area: str, en: str, zh: str) -> None:
    problem = only_problem(roll(row(area=f'"{area}"')))
    assert (problem.line, problem.column, problem.value) == (2, "area_m2", area)
    assert en in problem.en and zh in problem.zh


def test_each_kind_of_bad_area_has_its_own_reason() -> None:
    bad = ["-5", "0", "abc", "1e3", "88.123"]
    problems = problems_of(roll(*(row(unit_id=f"U{i}", area=a) for i, a in enumerate(bad))))
    assert [p.line for p in problems] == [2, 3, 4, 5, 6]
    assert len({p.en for p in problems}) == len(bad)
    assert len({p.zh for p in problems}) == len(bad)


@pytest.mark.parametrize(
    "area", ["1", "1.5", "88.91", "0.01", "007.50", "123456789012345678901234.99"]
)
def test_good_area_is_kept_exactly(area: str) -> None:
    [only] = parse_roll(roll(row(area=area)))
    assert only.area == Decimal(area)
    assert only.area.as_tuple() == Decimal(area).as_tuple()


def test_every_bad_cell_of_a_row_is_reported() -> None:
    text = roll(row(building="", kind="villa", area="1e3", owners="P1;P1", owner_kind="x"))
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [
        (2, "building"),
        (2, "kind"),
        (2, "area_m2"),
        (2, "owners"),
        (2, "owner_kind"),
    ]


def test_every_bad_row_of_a_file_is_reported_and_nothing_is_imported() -> None:
    text = roll(
        row(unit_id="U1"),
        row(unit_id="U2", area="-3"),
        row(unit_id="U3"),
        row(unit_id="U4", owners=""),
        "",
        row(unit_id="U2", kind="garage"),
        "U6,1,1",
        row(unit_id="U7"),
    )
    with pytest.raises(RollValidationError) as caught:
        parse_roll(text)
    error = caught.value
    assert [(p.line, p.column) for p in error.problems] == [
        (3, "area_m2"),
        (5, "owners"),
        (7, "unit_id"),
        (7, "kind"),
        (8, ""),
    ]
    assert "第3行" in error.problems[0].message("zh") and "line 5" in error.problems[1].message(
        "en"
    )
    assert "5处错误" in error.message("zh") and "5 problem(s)" in error.message("en")
    data = error.as_dict()
    assert data["field"] == "file" and len(data["problems"]) == 5
    assert data["problems"][0]["message"]["en"] == "the area must not be negative"


# --- heads --------------------------------------------------------------------------------------


def test_identical_policy_keeps_a_co_owned_and_a_sole_unit_apart() -> None:
    units = [unit("U1", ("A", "B"), "80.00"), unit("U2", ("A",), "60.50")]
    heads = compute_heads(units, IDENTICAL)
    assert heads == [
        Head("H:A", ("A",), ("U2",), Decimal("60.50"), "1", False),
        Head("H:A;B", ("A", "B"), ("U1",), Decimal("80.00"), "1", False),
    ]
    assert owner_index(heads) == {"A": ("H:A", "H:A;B"), "B": ("H:A;B",)}


def test_overlapping_policy_merges_them() -> None:
    units = [unit("U1", ("A", "B"), "80.00"), unit("U2", ("A",), "60.50")]
    heads = compute_heads(units, OVERLAPPING)
    assert heads == [Head("H:A;B", ("A", "B"), ("U1", "U2"), Decimal("140.50"), "1", False)]
    assert owner_index(heads) == {"A": ("H:A;B",), "B": ("H:A;B",)}


def test_overlapping_policy_merges_transitively() -> None:
    units = [
        unit("U1", ("A", "B")),
        unit("U2", ("C",)),
        unit("U3", ("C", "B")),
        unit("U4", ("D",)),
    ]
    heads = compute_heads(units, OVERLAPPING)
    assert [(h.head_id, h.unit_ids) for h in heads] == [
        ("H:A;B;C", ("U1", "U2", "U3")),
        ("H:D", ("U4",)),
    ]
    assert len(compute_heads(units, IDENTICAL)) == 4


def test_identical_owner_sets_merge_whatever_the_order() -> None:
    units = [
        unit("U2", ("B", "A"), "10.01", building="2"),
        unit("U1", ("A", "B"), "20.02", building="1"),
    ]
    [head] = compute_heads(units, IDENTICAL)
    assert head == Head("H:A;B", ("A", "B"), ("U1", "U2"), Decimal("30.03"), "1", False)


def test_developer_units_are_one_head_whatever_their_owner_ids() -> None:
    units = [
        unit("U1", ("DEV-A",), "90.00", owner_kind=OwnerKind.DEVELOPER, building="3"),
        unit("U2", ("DEV-B",), "10.00", owner_kind=OwnerKind.DEVELOPER, building="2"),
        unit("U3", ("DEV-A", "P1"), "5.25", owner_kind=OwnerKind.DEVELOPER),
        unit("U4", ("P1",), "70.00"),
        unit("U5", ("DEV-A",), "50.00", owner_kind=OwnerKind.COMPANY),
    ]
    for rules in (IDENTICAL, OVERLAPPING):
        heads = compute_heads(units, rules)
        assert [h.head_id for h in heads] == ["H:DEV-A", "H:P1", "H:developer"]
        developer = heads[-1]
        assert developer == Head(
            "H:developer",
            ("DEV-A", "DEV-B", "P1"),
            ("U1", "U2", "U3"),
            Decimal("105.25"),
            "3",
            True,
        )
        assert not heads[0].is_developer and not heads[1].is_developer
        assert owner_index(heads)["P1"] == ("H:P1", "H:developer")


@pytest.mark.parametrize("parking_votes", [False, True])
def test_parking_votes_setting(parking_votes: bool) -> None:
    units = [
        unit("R1", ("A",), "100.00"),
        unit("P1", ("A",), "12.00", kind=UnitKind.PARKING, building="P"),
        unit("P2", ("Z",), "13.00", kind=UnitKind.PARKING, building="P"),
        unit("P3", ("DEV",), "14.00", kind=UnitKind.PARKING, owner_kind=OwnerKind.DEVELOPER),
    ]
    rules = HeadRules(parking_votes=parking_votes)
    heads = compute_heads(units, rules)
    summary = summarize(units, rules)
    if parking_votes:
        assert [(h.head_id, h.unit_ids, h.area) for h in heads] == [
            ("H:A", ("P1", "R1"), Decimal("112.00")),
            ("H:Z", ("P2",), Decimal("13.00")),
            ("H:developer", ("P3",), Decimal("14.00")),
        ]
        assert heads[0].building == "P"
        assert summary == RollSummary(4, 4, 3, Decimal("139.00"), 3, 1)
    else:
        assert [(h.head_id, h.unit_ids, h.area) for h in heads] == [
            ("H:A", ("R1",), Decimal("100.00"))
        ]
        assert summary == RollSummary(4, 1, 1, Decimal("100.00"), 3, 1)


def test_commercial_units_vote() -> None:
    units = [unit("S1", ("C1",), "300.00", kind=UnitKind.COMMERCIAL, building="S")]
    assert [h.head_id for h in compute_heads(units, IDENTICAL)] == ["H:C1"]


def test_no_units_no_heads() -> None:
    assert compute_heads([], IDENTICAL) == []
    assert owner_index([]) == {}
    assert summarize([], IDENTICAL) == RollSummary(0, 0, 0, Decimal(0), 0, 0)


def test_areas_add_up_without_rounding() -> None:
    big = "9999999999999999999999999999.99"  # more digits than the default decimal context keeps
    units = [unit("U1", ("A",), big), unit("U2", ("A",), "0.01")]
    [head] = compute_heads(units, IDENTICAL)
    assert head.area == Decimal("10000000000000000000000000000.00")
    assert summarize(units, IDENTICAL).total_area == head.area


def test_duplicate_unit_ids_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        compute_heads([unit("U1", ("A",)), unit("U1", ("B",))], IDENTICAL)
    assert caught.value.field == "units" and "U1" in caught.value.message("en")


def test_a_voting_unit_without_owners_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        compute_heads([unit("U1", ("A",)), unit("U9", ())], OVERLAPPING)
    assert caught.value.field == "units" and "U9" in caught.value.message("en")


def test_an_owner_called_developer_cannot_pose_as_the_developer_head() -> None:
    with pytest.raises(ValidationError) as caught:
        compute_heads([unit("U1", ("developer",))], IDENTICAL)
    assert caught.value.field == "units" and "U1" in caught.value.message("zh")


# --- serialisation ------------------------------------------------------------------------------


def test_unit_to_dict_is_json_safe_and_round_trips() -> None:
    original = unit("U1", ("P2", "P1"), "88.90")
    data = original.to_dict()
    assert data == {
        "unit_id": "U1",
        "building": "1",
        "entrance": "1",
        "room": "U1",
        "kind": "residential",
        "area": "88.90",
        "area_source": "register",
        "owners": ["P2", "P1"],
        "owner_kind": "person",
    }
    again = Unit.from_dict(json.loads(json.dumps(data)))
    assert again == original and str(again.area) == "88.90"
    assert type(again.kind) is UnitKind and type(again.owners) is tuple


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"area": 88.9}, "area"),
        ({"area": "-1"}, "area"),
        ({"area": "1e3"}, "area"),
        ({"kind": "villa"}, "kind"),
        ({"area_source": None}, "area_source"),
        ({"owner_kind": "x"}, "owner_kind"),
        ({"owners": []}, "owners"),
        ({"owners": ["A", "A"]}, "owners"),
        ({"owners": ["A;B"]}, "owners"),
        ({"owners": "A"}, "owners"),
        ({"unit_id": ""}, "unit_id"),
        ({"room": None}, "room"),
    ],
)
def test_unit_from_dict_refuses_bad_values(change: dict[str, object], field: str) -> None:
    data = {**unit("U1", ("A",)).to_dict(), **change}
    with pytest.raises(ValidationError) as caught:
        Unit.from_dict(data)
    assert caught.value.field == field
    assert CJK.search(caught.value.message("zh")) and caught.value.message("en")


def test_head_rules_round_trip_and_refuse_bad_values() -> None:
    rules = HeadRules(merge=HeadMergePolicy.OVERLAPPING, parking_votes=True)
    data = json.loads(json.dumps(rules.to_dict()))
    assert data == {"merge": "overlapping", "parking_votes": True}
    assert HeadRules.from_dict(data) == rules
    assert HeadRules.from_dict({}) == HeadRules()
    bad_values: list[tuple[dict[str, object], str]] = [
        ({"merge": "some"}, "merge"),
        ({"parking_votes": "yes"}, "parking_votes"),
        ({"parking": True}, "merge"),
    ]
    for bad, field in bad_values:
        with pytest.raises(ValidationError) as caught:
            HeadRules.from_dict(bad)
        assert caught.value.field == field


def test_summary_to_dict() -> None:
    units = parse_roll(roll(row(area="10.10"), row(unit_id="U2", kind="parking", area="2.00")))
    data = summarize(units, IDENTICAL).to_dict()
    assert json.loads(json.dumps(data)) == {
        "units": 2,
        "voting_units": 1,
        "heads": 1,
        "total_area": "10.10",
        "parking_units": 1,
        "developer_units": 0,
    }


# --- properties ---------------------------------------------------------------------------------

OWNER_POOL = ["A", "B", "C", "D", "E", "DEV-1", "DEV-2"]


@st.composite
def areas(draw: st.DrawFn) -> str:
    """A positive area with 0, 1 or 2 decimals, as a roll writes it."""
    whole = draw(st.integers(min_value=0, max_value=10**7))
    decimals = draw(st.text(alphabet="0123456789", max_size=2))
    text = f"{whole}.{decimals}" if decimals else str(whole)
    return text if Decimal(text) > 0 else "0.01"


plain_text = st.text(alphabet="0123456789ABCPS-", min_size=1, max_size=4)


@st.composite
def rolls(draw: st.DrawFn) -> list[Unit]:
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        Unit(
            unit_id=f"U{i:02d}",
            building=draw(plain_text),
            entrance=draw(st.sampled_from(["", "1", "2"])),
            room=draw(plain_text),
            kind=draw(st.sampled_from(list(UnitKind))),
            area=Decimal(draw(areas())),
            area_source=draw(st.sampled_from(list(AreaSource))),
            owners=tuple(
                draw(st.lists(st.sampled_from(OWNER_POOL), min_size=1, max_size=3, unique=True))
            ),
            owner_kind=draw(st.sampled_from(list(OwnerKind))),
        )
        for i in range(count)
    ]


head_rules = st.builds(
    HeadRules, merge=st.sampled_from(list(HeadMergePolicy)), parking_votes=st.booleans()
)


@settings(database=None, max_examples=300)
@given(units=rolls(), rules=head_rules)
def test_heads_partition_the_voting_units(units: list[Unit], rules: HeadRules) -> None:
    heads = compute_heads(units, rules)
    voting = [u for u in units if rules.parking_votes or u.kind != UnitKind.PARKING]
    by_id = {u.unit_id: u for u in units}

    assert sum((h.area for h in heads), Decimal(0)) == sum((u.area for u in voting), Decimal(0))
    placed = [uid for h in heads for uid in h.unit_ids]
    assert sorted(placed) == sorted(u.unit_id for u in voting)
    assert [h.head_id for h in heads] == sorted({h.head_id for h in heads})

    developer_units = sorted(u.unit_id for u in voting if u.owner_kind == OwnerKind.DEVELOPER)
    developer_heads = [h for h in heads if h.is_developer]
    assert [h.unit_ids for h in developer_heads] == (
        [tuple(developer_units)] if developer_units else []
    )

    for head in heads:
        members = [by_id[uid] for uid in head.unit_ids]
        assert list(head.unit_ids) == sorted(head.unit_ids)
        assert head.owners == tuple(sorted({o for u in members for o in u.owners}))
        assert head.area == sum((u.area for u in members), Decimal(0))
        assert head.building == members[0].building
        if not head.is_developer:
            assert head.head_id == "H:" + ";".join(head.owners)
            if rules.merge == HeadMergePolicy.IDENTICAL:
                assert {frozenset(u.owners) for u in members} == {frozenset(head.owners)}
    person_heads = [h for h in heads if not h.is_developer]
    if rules.merge == HeadMergePolicy.OVERLAPPING:
        owners = [o for h in person_heads for o in h.owners]
        assert len(owners) == len(set(owners))
    else:
        assert len({frozenset(h.owners) for h in person_heads}) == len(person_heads)

    index = owner_index(heads)
    for owner, head_ids in index.items():
        assert head_ids == tuple(sorted(h.head_id for h in heads if owner in h.owners))
    assert summarize(units, rules).heads == len(heads)


@settings(database=None, max_examples=300)
@given(units=rolls())
def test_units_round_trip_through_dicts_and_csv(units: list[Unit]) -> None:
    for original in units:
        again = Unit.from_dict(json.loads(json.dumps(original.to_dict())))
        assert again == original
        assert again.area.as_tuple() == original.area.as_tuple()
    lines = [
        row(
            u.unit_id,
            u.building,
            u.entrance,
            u.room,
            u.kind.value,
            str(u.area),
            u.area_source.value,
            ";".join(u.owners),
            u.owner_kind.value,
        )
        for u in units
    ]
    if units:
        assert parse_roll(roll(*lines)) == units


@settings(database=None, max_examples=300)
@given(area=st.text(alphabet="0123456789.-+eE abc", max_size=8))
def test_area_cell_is_accepted_only_when_it_is_a_positive_two_decimal_number(area: str) -> None:
    text = roll(row(area=area))
    valid = re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", area.strip()) and Decimal(area.strip()) > 0
    if valid:
        assert parse_roll(text)[0].area == Decimal(area.strip())
    else:
        problem = only_problem(text)
        assert (problem.line, problem.column, problem.value) == (2, "area_m2", area.strip())
