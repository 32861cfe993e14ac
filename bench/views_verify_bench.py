"""Benchmark of ``consult audit verify``'s comparison of the views with the events (issue 13).

    PYTHONPATH=. python bench/views_verify_bench.py [--events 200000] [--dir DIR] [--runs 2]

Builds (or reuses, with ``--dir``) the SQLite store of ``projections_bench`` (one estate of 20,000
units, votes and real ballot events, 15 % of them changed) on a generated 20,000-unit roll, brings
its live views up to date, then runs ``projections.verify.check_views`` in a fresh process per run:
its wall and CPU time, the rows compared, and its peak RSS. Prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import projections_bench  # noqa: E402
from entrypoints.bootstrap import build_app  # noqa: E402
from projections import Projector, open_store  # noqa: E402
from projections.verify import check_views  # noqa: E402
from tests.integration.test_projections_support import synthetic_roll  # noqa: E402


def emit(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def check_only(path: Path) -> None:
    """One comparison of the store's live views with the events, in this (fresh) process."""
    url = f"sqlite:///{path}"
    app = build_app(url)
    live = open_store(url)
    started, cpu = time.perf_counter(), time.process_time()
    check = check_views(app, live)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    emit(
        metric="views_verify",
        events=app.recorder.max_notification_id(),
        rows=check.rows,
        ok=check.ok,
        differences=check.count,
        seconds=round(wall, 1),
        cpu_seconds=round(cpu, 1),
        reader_process_cpu_seconds=round(children.ru_utime + children.ru_stime, 1),
        events_per_s=round((app.recorder.max_notification_id() or 0) / wall),
        peak_rss_mb=round(projections_bench._hwm_mb(), 1),
    )
    live.dispose()
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--check-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_only is not None:
        check_only(args.check_only)
        return
    emit(metric="machine", **projections_bench.machine())
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="views-verify-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"views-{args.events}.sqlite3"
    if not path.exists():
        (workdir / "roll-20000.csv").write_text(synthetic_roll(20_000), encoding="utf-8")
        projections_bench.DATA = workdir
        started = time.perf_counter()
        app, _ = projections_bench.build_store(path, "roll-20000.csv", args.events)
        emit(
            metric="store_built",
            events=app.recorder.max_notification_id(),
            seconds=round(time.perf_counter() - started, 1),
        )
        store = open_store(f"sqlite:///{path}")
        started = time.perf_counter()
        Projector(app, store).catch_up()
        emit(metric="live_views_built", seconds=round(time.perf_counter() - started, 1))
        store.dispose()
        app.close()
    emit(metric="store_size_mb", mb=round(path.stat().st_size / 1e6, 1))
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--check-only", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
