"""Long operator commands show a progress bar on a terminal and stay quiet in scripts."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from consult.clock import FixedClock
from entrypoints.bootstrap import build_app
from entrypoints.commands.audit import audit
from entrypoints.commands.projections import projections as projections_cli
from tests.integration.test_projections_support import open_owners_vote, setup_place, synthetic_roll

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.backends("sqlite")  # the terminal is the point, not the store


@pytest.fixture
def env(store_url: str, tmp_path: Path) -> dict[str, str]:
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    try:
        estate = setup_place(app, synthetic_roll(40))
        open_owners_vote(app, clock, estate)
    finally:
        app.close()
    return {
        "CONSULT_DATABASE_URL": store_url,
        "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONSULT_FOLLOWERS": "external",
    }


def on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run ``consult ARGS`` with its standard error on a pseudo-terminal; what it wrote there."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from entrypoints.cli import main; main()", *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT), "COLUMNS": "100"},
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return process.wait(timeout=60), seen.decode("utf-8", "replace")


def test_rebuild_and_verify_show_progress_on_a_terminal(env: dict[str, str]) -> None:
    code, shown = on_a_terminal(env, "projections", "rebuild")
    assert code == 0 and "rebuilding" in shown and "#]" in shown
    code, shown = on_a_terminal(env, "audit", "verify")
    assert code == 0 and "verifying the chain" in shown and "#]" in shown
    assert "rebuilding the views to compare" in shown


def test_they_stay_quiet_in_a_script(env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(projections_cli, ["rebuild"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rebuilt ") and "%" not in result.output
    assert "rebuilding" not in result.output
    result = runner.invoke(audit, ["verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "%" not in result.output and "verifying" not in result.output
