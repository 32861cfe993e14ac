"""The operator command: clear messages and exit codes, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from consult.cli import main
from tests.conftest import PACKAGED_DEMO_ROLL
from tests.test_roll import independent_counts


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSULT_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CONSULT_DATABASE_URL", store_url)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def make_estate(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "estate",
        "create",
        "E1",
        "--name",
        "小区一",
        "--community",
        "C1",
        "--community-name",
        "社区一",
        "--street",
        "S1",
        "--street-name",
        "街道一",
    )
    assert result.exit_code == 0, result.output


def test_roll_import_prints_units_heads_and_exact_area(run, roll_file) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    path = roll_file("roll-1200.csv")
    units, heads, area = independent_counts(path, parking_votes=False)
    result = run("--lang", "en", "roll", "import", str(path), "--estate", "E1")
    assert result.exit_code == 0, result.output
    assert f"units:        {units}" in result.output
    assert f"heads:        {heads}" in result.output
    assert f"total area:   {area} m²" in result.output
    # The roll is versioned: re-importing with parking voting adds two versions (units, rules);
    # every parking space is now a voting unit, and version 1 still reads as it was.
    again = run("roll", "import", str(path), "--estate", "E1", "--parking-votes")
    assert "第3版" in again.output and f"参与表决的专有部分：{units}" in again.output
    shown = run("roll", "show", "--estate", "E1", "--version", "1")
    assert f"heads: {heads}" in shown.output


def test_a_bad_roll_reports_every_row_and_imports_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind\n"
        "U1,1,1,101,residential,-5,register,P1,person\n"
        "U1,1,1,102,house,abc,register,,person\n",
        encoding="utf-8",
    )
    result = run("roll", "import", str(bad), "--estate", "E1")
    assert result.exit_code == 2
    assert "名册有5处错误，未导入任何数据。" in result.output
    assert "第2行" in result.output and "第3行" in result.output
    shown = run("--lang", "en", "roll", "show", "--estate", "E1")
    assert shown.exit_code == 2 and "No such roll" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("roll", "import", "missing.csv", "--estate", "E1"), "file"),
        (("roll", "import", str(PACKAGED_DEMO_ROLL), "--estate", "NOPE"), "NOPE"),
        (("estate", "create", "E2", "--name", "x", "--community", "NOPE"), "community"),
    ],
)
def test_errors_are_messages_with_a_non_zero_exit(run, args, message) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    result = run("--lang", "en", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert message in result.output


def test_an_unsupported_database_url_is_refused_clearly(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSULT_DATABASE_URL", "mysql://localhost/x")
    result = run("--lang", "en", "roll", "show", "--estate", "E1")
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output
