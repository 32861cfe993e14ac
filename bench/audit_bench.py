"""Benchmark of the audit chain: verify rate over a large store, and the chain's cost on ballots.

    PYTHONPATH=. python bench/audit_bench.py [--events 1000000] [--backends sqlite,postgres]
        [--ballot-backends sqlite,postgres] [--ballots 600] [--runs 3]

Prints one JSON object per line: the machine, then each measurement. The events are realistic
stored events (states copied from a story through the API, each under a fresh aggregate id),
inserted through the application's recorder in large transactions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from consult.application import ConsultationApp
from consult.audit import attach, open_store, verify_store
from consult.audit.chain import ChainFollower
from consult.clock import FixedClock
from entrypoints.bootstrap import build_app
from tests.conftest import open_owners_vote, owner

POSTGRES_ADMIN_URL = os.environ.get(
    "CONSULT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def emit(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def machine() -> dict[str, Any]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    return {
        "nproc": run("nproc"),
        "lscpu": run("lscpu").splitlines()[:20],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "memory": run("sh", "-c", "grep MemTotal /proc/meminfo"),
    }


# --- a vote to cast ballots in --------------------------------------------------------------------


def templates() -> list[tuple[str, int, bytes]]:
    """(topic, version, state) of the events of a real story, rolls left out (one per estate)."""
    clock = FixedClock()
    app = build_app("memory://", clock)
    vote_id, heads = open_owners_vote(app, clock, "roll-demo.csv")
    for i, h in enumerate(heads[:60]):
        app.cast_ballot(vote_id, ("yes", "no", "abstain")[i % 3], owner(h.owners[0]))
    return [
        (n.topic, n.originator_version, n.state)
        for n in app.recorder.select_notifications(1, 10_000)
        if "Roll" not in n.topic
    ]


def fill(app: ConsultationApp, count: int, chunk: int = 5_000) -> float:
    """Insert ``count`` realistic stored events through the recorder; returns events/s."""
    sample = templates()
    started = time.perf_counter()
    done = 0
    while done < count:
        n = min(chunk, count - done)
        events = [
            StoredEvent(uuid.uuid4(), version, topic, state)
            for topic, version, state in (sample[(done + i) % len(sample)] for i in range(n))
        ]
        app.recorder.insert_events(events)
        done += n
    return count / (time.perf_counter() - started)


# --- measurements -----------------------------------------------------------------------------------


def chain_and_verify(backend: str, url: str, events: int, runs: int) -> None:
    app = build_app(url, FixedClock())
    try:
        emit(measure="fill", backend=backend, events=events, events_per_s=round(fill(app, events)))
        store = open_store(url, app)
        started = time.perf_counter()
        chained = ChainFollower(store, batch=20_000).catch_up()
        seconds = time.perf_counter() - started
        emit(
            measure="chain catch-up",
            backend=backend,
            events=chained,
            seconds=round(seconds, 2),
            events_per_s=round(chained / seconds),
        )
        rates = []
        for _ in range(runs):
            started = time.perf_counter()
            report = verify_store(store)
            seconds = time.perf_counter() - started
            assert report.ok and report.events == events, report.summary("en")
            rates.append(report.events / seconds)
        emit(
            measure="verify",
            backend=backend,
            events=events,
            runs=[round(r) for r in rates],
            events_per_s_median=round(statistics.median(rates)),
            load_average=os.getloadavg(),
        )
        store.close()
    finally:
        app.close()


class TimedListener:
    """Wraps the chain listener to add up the time (wall and CPU) the saving thread spends in it."""

    def __init__(self, inner: Callable[[int], None]) -> None:
        self.inner = inner
        self.seconds = self.cpu = 0.0
        self.calls = 0

    def __call__(self, position: int) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        self.inner(position)
        self.seconds += time.perf_counter() - started
        self.cpu += time.thread_time() - cpu
        self.calls += 1


def ballot_run(
    url: str, key: Path, chain: bool, ballots: int, background: bool | None = None
) -> dict[str, float]:
    """One run on a fresh store. Wall clock: ballots/s, and the share of the saving thread's time
    spent in the listener. CPU time (other processes' load left out): the saving thread's per
    ballot outside the listener, and the chain's (the listener, plus every other thread of this
    process: the background worker)."""
    clock = FixedClock()
    app = build_app(url, clock)
    timed = TimedListener(lambda position: None)
    follower = None
    if chain:
        follower = attach(app, url, key, background=background)  # a checkpoint every 1000
        app.listeners.remove(follower)
        timed = TimedListener(follower)
        app.listeners.append(timed)
    vote_id, heads = open_owners_vote(app, clock, "roll-1200.csv")
    if follower is not None:
        follower.catch_up()  # and the first checkpoint, before the clock starts
    timed.seconds = timed.cpu = 0.0
    timed.calls = 0
    cpu_all, cpu_main = time.process_time(), time.thread_time()
    started = time.perf_counter()
    for i, h in enumerate(heads[:ballots]):
        app.cast_ballot(vote_id, ("yes", "no", "abstain")[i % 3], owner(h.owners[0]))
    seconds = time.perf_counter() - started
    if follower is not None:  # what the background worker still has to do counts too
        follower.wait(app.recorder.max_notification_id())
        follower.stop()
    cpu_main = time.thread_time() - cpu_main
    cpu_others = time.process_time() - cpu_all - cpu_main
    app.close()
    return {
        "rate": ballots / seconds,
        "ballot_cpu_us": (cpu_main - timed.cpu) / ballots * 1e6,
        "others_cpu_us": cpu_others / ballots * 1e6,
        "listener_cpu_us": timed.cpu / ballots * 1e6,
        "share": timed.seconds / (seconds - timed.seconds),
        "listener_us": timed.seconds / timed.calls * 1e6 if timed.calls else 0.0,
    }


@contextmanager
def fresh_store(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'ballots-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        yield from postgres_url(quiet=True)


def ballot_cost(backend: str, ballots: int, runs: int, background: bool | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        key = directory / "signing-key.pem"
        with fresh_store(backend, directory) as url:
            ballot_run(url, key, True, 50)  # warm-up: imports, caches, the key file
        plain: list[dict[str, float]] = []
        chained: list[dict[str, float]] = []
        for _ in range(runs):  # interleaved, so that load on the machine hits both alike
            with fresh_store(backend, directory) as url:
                plain.append(ballot_run(url, key, False, ballots))
            with fresh_store(backend, directory) as url:
                chained.append(ballot_run(url, key, True, ballots, background))

    def median(runs: list[dict[str, float]], name: str) -> float:
        return statistics.median(r[name] for r in runs)

    p, c = median(plain, "rate"), median(chained, "rate")
    paired = [1 - w["rate"] / wo["rate"] for w, wo in zip(chained, plain, strict=True)]
    ballot_cpu = median(plain, "ballot_cpu_us")
    idle_others = median(plain, "others_cpu_us")  # the connection pool's threads, say
    chain_cpu = [r["listener_cpu_us"] + max(0.0, r["others_cpu_us"] - idle_others) for r in chained]
    emit(
        measure="ballots with and without the chain listener",
        backend=backend,
        chain_mode={None: "default", True: "background", False: "in the saving thread"}[background],
        ballots=ballots,
        without_per_s=[round(r["rate"]) for r in plain],
        with_per_s=[round(r["rate"]) for r in chained],
        without_median=round(p),
        with_median=round(c),
        cost_wall_medians=round(1 - c / p, 3),
        cost_wall_paired_median=round(statistics.median(paired), 3),
        ballot_cpu_us=round(ballot_cpu),
        chain_cpu_us_per_ballot=[round(x) for x in chain_cpu],
        cost_cpu=round(statistics.median(chain_cpu) / ballot_cpu, 3),
        listener_wall_share_median=round(median(chained, "share"), 3),
        listener_us_per_save_median=round(median(chained, "listener_us")),
        load_average=[round(x, 2) for x in os.getloadavg()],
    )


def postgres_url(quiet: bool = False) -> Iterator[str]:
    import psycopg

    name = f"consult_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
        version = admin.execute("SHOW server_version").fetchone()
    if not quiet:
        emit(measure="postgres", server_version=version[0] if version else "?")
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--backends", default="sqlite", help="comma-separated: sqlite, postgres (empty: none)"
    )
    parser.add_argument("--ballots", type=int, default=1000)
    parser.add_argument(
        "--chain-mode",
        choices=["default", "sync", "background"],
        default="default",
        help="default: in the saving thread on SQLite, in the background on PostgreSQL",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--ballot-backends", default="sqlite", help="where to measure the chain's cost on ballots"
    )
    args = parser.parse_args()
    emit(measure="machine", **machine())
    for backend in filter(None, args.backends.split(",")):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                chain_and_verify(
                    "sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.events, args.runs
                )
        elif backend == "postgres":
            for url in postgres_url():
                chain_and_verify("postgresql", url, args.events, args.runs)
    for backend in filter(None, args.ballot_backends.split(",")):
        mode = {"default": None, "sync": False, "background": True}[args.chain_mode]
        ballot_cost(backend, args.ballots, max(args.runs, 3), mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
