"""Benchmark: importing an owners' roll into the store (issue 2 target: roll-20000 in <= 5 s).

Prints one JSON line per measurement. Usage: python bench/roll_import.py [ROLL.csv ...] [--runs N]
(default: the demo roll and the 20,000-unit roll made by consult.rollgen).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from consult.actors import Actor, Role
from consult.roll import HeadRules, compute_heads, parse_roll
from consult.rollgen import named_roll
from entrypoints.bootstrap import build_app

OPERATOR = Actor.of("bench", Role.OPERATOR)


def import_once(name: str, text: str, url: str) -> dict[str, float | int | str]:
    app = build_app(url)
    app.create_street("S", "街道", OPERATOR)
    app.create_community("C", "社区", "S", OPERATOR)
    estate = app.create_estate("E", "小区", "C", OPERATOR)
    t0 = time.perf_counter()
    summary, _ = app.import_roll(estate, text, OPERATOR, source_name=name)
    t1 = time.perf_counter()
    electorate = app.owners_electorate(estate)  # reload the roll from the store and count heads
    t2 = time.perf_counter()
    assert electorate.total_heads == summary.heads
    return {
        "import_s": round(t1 - t0, 3),
        "reload_and_heads_s": round(t2 - t1, 3),
        "units": summary.units,
        "heads": summary.heads,
        "total_area": str(summary.total_area),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rolls", nargs="*", type=Path, default=[])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rolls = [(p.name, p.read_text(encoding="utf-8")) for p in args.rolls] or [
        (name, named_roll(name)) for name in ("roll-demo.csv", "roll-20000.csv")
    ]
    for name, text in rolls:
        t0 = time.perf_counter()
        units = parse_roll(text)
        heads = compute_heads(units, HeadRules())
        parse_s = time.perf_counter() - t0
        for backend in ("sqlite", "memory"):
            runs = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as d:
                    url = f"sqlite:///{d}/bench.sqlite3" if backend == "sqlite" else "memory://"
                    runs.append(import_once(name, text, url))
            print(
                json.dumps(
                    {
                        "bench": "roll_import",
                        "roll": name,
                        "backend": backend,
                        "units": len(units),
                        "heads": len(heads),
                        "parse_and_heads_s": round(parse_s, 3),
                        "import_s_median": statistics.median(r["import_s"] for r in runs),
                        "reload_and_heads_s_median": statistics.median(
                            r["reload_and_heads_s"] for r in runs
                        ),
                        "runs": args.runs,
                        "python": platform.python_version(),
                    },
                    ensure_ascii=False,
                )
            )


if __name__ == "__main__":
    main()
