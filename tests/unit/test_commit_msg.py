"""The commit-msg hook (scripts/hooks/commit-msg) accepts a good message and names what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOOK = Path(__file__).resolve().parents[2] / "scripts" / "hooks" / "commit-msg"


def run(tmp_path: Path, message: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(HOOK), str(path)], capture_output=True, text=True, check=False
    )


def test_a_short_subject_and_a_body_after_a_blank_line_pass(tmp_path: Path) -> None:
    subject = "把审计核验器拆成小模块 " + "x" * 60  # 72 characters, not bytes
    assert len(subject) == 72
    ok = run(tmp_path, f"{subject}\n\nWhy: each module reads at once.\n# a Git comment line\n")
    assert ok.returncode == 0, ok.stderr


def test_a_long_subject_a_full_stop_and_a_missing_blank_line_are_refused(tmp_path: Path) -> None:
    bad = run(tmp_path, "x" * 73 + ".\nbody right after the subject\n")
    assert bad.returncode == 1
    assert "74 characters" in bad.stderr
    assert "full stop" in bad.stderr
    assert "blank line" in bad.stderr


def test_an_empty_message_is_refused(tmp_path: Path) -> None:
    assert run(tmp_path, "# only comments\n\n").returncode == 1
