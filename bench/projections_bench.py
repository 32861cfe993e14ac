"""Benchmark of the projections (issue 3). Prints one JSON object per line.

- ``log_read``: the library's own notification-log read rate (``NotificationLogReader``, sections
  of 1,000) over the same store, in the same run as
- ``rebuild``: ``Projector.rebuild()`` of every view from zero, in events/s, and its ratio to the
  read rate (target ≥ 0.5): the ratio of the medians over the rounds, and each round's (its read
  and its rebuild run one after the other). Each run also gives its CPU time per event (this
  process; for the rebuild also its log-reader process), which the machine's load changes less
  than the wall clock;
- ``tally_latency``: ``Queries.vote_tally`` p50 / p95 on the 240-unit demo roll and the 20,000-unit
  roll made by ``consult.rollgen`` (target p95 ≤ 5 ms, large / small ≤ 1.5);
- ``rebuild_memory``: peak RSS of a fresh process rebuilding every view from a store of
  ``--events`` events (target ≤ 300 MB for 1,000,000).

The store is SQLite (the embedded default): one estate on the 20,000-unit roll, one case whose
agenda has as many items as needed, a vote per item, and real ballot events made by the domain's
aggregates and stored by the application's recorder in batches of 5,000: every owner votes, in
the roll's order, with a random choice, and 15 % (at random) change their vote, stored right after
their first ballot (``Ballot.Changed``); the clock moves a minute between votes.

    PYTHONPATH=. python bench/projections_bench.py                  # 1,000,000 events
    PYTHONPATH=. python bench/projections_bench.py --events 200000  # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eventsourcing.system import NotificationLogReader  # noqa: E402

from consult.actors import Actor, Role  # noqa: E402
from consult.application import ConsultationApp  # noqa: E402
from consult.clock import FixedClock  # noqa: E402
from consult.rollgen import named_roll  # noqa: E402
from consult.rules import Choice  # noqa: E402
from consult.vote import Ballot, ballot_id  # noqa: E402
from entrypoints.bootstrap import build_app  # noqa: E402
from projections import Projector, Queries, open_store  # noqa: E402

OPERATOR = Actor.of("op", Role.OPERATOR)
OC = Actor.of("oc", Role.OWNERS_COMMITTEE)
PARTY = Actor.of("party", Role.PARTY_ORGANISATION)
RC = Actor.of("rc", Role.RESIDENTS_COMMITTEE)
CHANGE_SHARE = 0.15


def emit(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def machine() -> dict[str, Any]:
    """The machine, and its load average (1, 5, 15 minutes) when the run starts."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "system": platform.system(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def build_store(
    path: Path, roll: str, events: int, seed: int = 1
) -> tuple[ConsultationApp, list[UUID]]:
    """An estate on ``roll``, and votes with ballots until the log holds about ``events`` events."""
    clock = FixedClock()
    app = build_app(f"sqlite:///{path}", clock=clock)
    app.create_street("S", "街道", OPERATOR)
    app.create_community("C", "社区", "S", OPERATOR)
    estate = app.create_estate("E", "小区", "C", OPERATOR)
    app.import_roll(estate, named_roll(roll), RC, source_name=roll)
    heads = [h for h in app.owners_electorate(estate).heads.values()]
    per_vote = int(len(heads) * (1 + CHANGE_SHARE))
    n_votes = max(1, math.ceil(events / per_vote))
    voter = Actor.of(heads[0].owners[0], Role.RESIDENT)
    case = app.submit_topic(estate, "基准", "基准测试", "online", voter).id
    app.confirm_topic(case, "owners-assembly", ["业主"], PARTY)
    agenda = [{"item_id": str(i + 1), "title": f"事项{i + 1}", "matter": 4} for i in range(n_votes)]
    app.publish_notice(case, "基准", "会所", "网上", clock.now() + timedelta(days=15), agenda, OC)
    clock.advance(days=15)
    votes = [
        app.open_vote(case, str(i + 1), clock.now() + timedelta(days=60), OC).id
        for i in range(n_votes)
    ]
    rng = random.Random(seed)
    mapper, recorder = app.mapper, app.recorder
    for vote in votes:
        stored: list[Any] = []
        for head in heads:
            ballot = Ballot.start(
                ballot_id(vote, head.head_id),
                clock.now(),
                head.owners[0],
                "",
                vote_id=vote,
                elector_id=head.head_id,
                choice=rng.choice(("yes", "no", "abstain")),
                channel="online",
                receipt="BENCH",
            )
            if rng.random() < CHANGE_SHARE:
                ballot.change(
                    Choice(rng.choice(("yes", "no"))), "online", True, head.owners[0], clock.now()
                )
            stored.extend(mapper.to_stored_event(e) for e in ballot.collect_events())
            if len(stored) >= 5000:
                recorder.insert_events(stored)
                stored = []
        if stored:
            recorder.insert_events(stored)
        clock.advance(minutes=1)
    return app, votes


class Run(NamedTuple):
    """One timed run: events per second (wall clock) and CPU time per event, in µs, of this
    process and of the child processes it waited for (the rebuild's log reader)."""

    rate: float
    cpu_us: float
    child_cpu_us: float


@contextlib.contextmanager
def timed(events: int, runs: list[Run]) -> Iterator[None]:
    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    wall, cpu, child = time.perf_counter(), time.process_time(), children()
    yield
    wall, cpu, child = (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        children() - child,
    )
    runs.append(Run(events / wall, cpu / events * 1e6, child / events * 1e6))


def read_rate(app: ConsultationApp, runs: list[Run]) -> None:
    events = app.recorder.max_notification_id() or 0
    with timed(events, runs):
        count = sum(
            1 for _ in NotificationLogReader(app.notification_log, section_size=1000).read(start=1)
        )
    assert count == events


def read_and_decode_rate(app: ConsultationApp, runs: list[Run]) -> None:
    """The same read, each notification made a domain event by the application's mapper (the
    least any projection built on the library's decoding does per event)."""
    events = app.recorder.max_notification_id() or 0
    decode = app.mapper.to_domain_event
    with timed(events, runs):
        for notification in NotificationLogReader(app.notification_log, section_size=1000).read(
            start=1
        ):
            decode(notification)


def rebuild_rate(app: ConsultationApp, url: str, runs: list[Run]) -> None:
    store = open_store(url)
    try:
        projector = Projector(app, store)
        events = app.recorder.max_notification_id() or 0
        with timed(events, runs):
            assert projector.rebuild() == events
    finally:
        store.dispose()


def cpu_pressure() -> str:
    """Linux's CPU pressure: the share of the last 10 s in which some task waited for a CPU."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            return f.readline().split()[1]
    except (OSError, IndexError):
        return "unknown"


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def tally_latencies(stores: list[tuple[Path, str]], n: int) -> list[dict[str, Any]]:
    """p50 / p95 of ``vote_tally`` on each store, queries interleaved so both see the same
    machine load; each store's first vote (every owner voted) is queried."""
    targets: list[tuple[str, Queries, UUID, Any, list[float]]] = []
    for path, roll in stores:
        url = f"sqlite:///{path}"
        app, votes = build_store(path, roll, 1) if not path.exists() else (build_app(url), [])
        store = open_store(url)
        Projector(app, store).catch_up()
        queries = Queries(store, app)
        vote = votes[0] if votes else UUID(_vote_ids(store)[0])
        assert queries.vote_tally(vote).result == app.tally(vote)
        targets.append((roll, queries, vote, store, []))
    for _ in range(50):
        for _, queries, vote, _, _ in targets:
            queries.vote_tally(vote)
    for _ in range(n):
        for _, queries, vote, _, times in targets:
            started = time.perf_counter()
            queries.vote_tally(vote)
            times.append((time.perf_counter() - started) * 1000)
    results = []
    for roll, queries, vote, store, times in targets:
        p50, p95 = percentiles(times)
        results.append(
            {
                "metric": "tally_latency",
                "roll": roll,
                "units": named_roll(roll).count("\n") - 1,
                "heads": queries.vote_tally(vote).result.raw.total.heads,
                "buildings": len(queries.vote_tally(vote).result.by_building),
                "queries": n,
                "p50_ms": round(p50, 3),
                "p95_ms": round(p95, 3),
            }
        )
        store.dispose()
    return results


def _vote_ids(store: Any) -> list[str]:
    import sqlalchemy as sa

    from projections.views.tallies import view_vote

    with store.read() as conn:
        return list(
            conn.execute(sa.select(view_vote.c.vote_id).order_by(view_vote.c.opened_at)).scalars()
        )


def rebuild_in_fresh_process(path: Path) -> dict[str, Any]:
    """Rebuild every view in a new process; it reports its own peak RSS and rate."""
    out = subprocess.run(
        [sys.executable, __file__, "--rebuild-only", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _hwm_mb(pid: int | str = "self") -> float:
    """A process's peak resident set (VmHWM: kept per address space, so a fresh process does not
    inherit its parent's peak as ``ru_maxrss`` does on Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ChildPeaks:
    """Samples the peak RSS of this process's children (the log reader process) while running."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            for task in Path(f"/proc/{me}/task").iterdir():
                for pid in (task / "children").read_text().split():
                    with contextlib.suppress(OSError):  # it ended meanwhile
                        self.peaks[int(pid)] = max(self.peaks.get(int(pid), 0.0), _hwm_mb(pid))

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rebuild_only(path: Path) -> None:
    url = f"sqlite:///{path}"
    app = build_app(url)
    before = _hwm_mb()
    events = app.recorder.max_notification_id() or 0
    runs: list[Run] = []
    with ChildPeaks() as children:
        rebuild_rate(app, url, runs)
    rate = runs[0].rate
    peak = _hwm_mb()
    child = max(children.peaks.values(), default=0.0)
    emit(
        metric="rebuild_memory",
        events=events,
        rebuild_events_per_s=round(rate),
        peak_rss_mb=round(peak + child, 1),
        projector_process_peak_mb=round(peak, 1),
        reader_process_peak_mb=round(child, 1),
        rss_before_rebuild_mb=round(before, 1),
        target_mb=300,
        ok=peak + child <= 300,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the large store")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved read / rebuild rounds")
    parser.add_argument("--queries", type=int, default=2000, help="tally queries per roll")
    parser.add_argument(
        "--dir", type=Path, default=None, help="keep the stores here (reused if present)"
    )
    parser.add_argument("--rebuild-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_only is not None:
        rebuild_only(args.rebuild_only)
        return
    emit(metric="machine", **machine())
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="projections-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    large = workdir / f"large-{args.events}.sqlite3"
    if not large.exists():
        started = time.perf_counter()
        app, _ = build_store(large, "roll-20000.csv", args.events)
        emit(
            metric="store_built",
            events=app.recorder.max_notification_id(),
            seconds=round(time.perf_counter() - started, 1),
        )
    else:
        app = build_app(f"sqlite:///{large}")
    url = f"sqlite:///{large}"
    reads: list[Run] = []
    decodes: list[Run] = []
    rebuilds: list[Run] = []
    pressures: list[str] = []
    for _ in range(args.rounds):  # interleaved, read and rebuild one after the other, so that
        read_rate(app, reads)  # the two the ratio compares see the same machine load
        pressures.append(cpu_pressure())
        rebuild_rate(app, url, rebuilds)
        read_and_decode_rate(app, decodes)
    read, decoded, rebuild = (
        statistics.median(r.rate for r in x) for x in (reads, decodes, rebuilds)
    )
    events = app.recorder.max_notification_id()
    emit(
        metric="log_read",
        events=events,
        events_per_s=round(read),
        runs=[round(r.rate) for r in reads],
        cpu_us_per_event=[round(r.cpu_us, 2) for r in reads],
    )
    emit(
        metric="log_read_and_decode",
        events=events,
        events_per_s=round(decoded),
        runs=[round(r.rate) for r in decodes],
        cpu_us_per_event=[round(r.cpu_us, 2) for r in decodes],
    )
    emit(
        metric="rebuild",
        events=events,
        events_per_s=round(rebuild),
        runs=[round(r.rate) for r in rebuilds],
        ratio_to_log_read=round(rebuild / read, 3),
        ratios_per_round=[round(b.rate / r.rate, 3) for r, b in zip(reads, rebuilds, strict=True)],
        median_ratio_per_round=round(
            statistics.median(b.rate / r.rate for r, b in zip(reads, rebuilds, strict=True)), 3
        ),
        ratio_to_log_read_and_decode=round(rebuild / decoded, 3),
        cpu_us_per_event=[round(r.cpu_us, 2) for r in rebuilds],
        reader_process_cpu_us_per_event=[round(r.child_cpu_us, 2) for r in rebuilds],
        # the projector reads the log in a child process only when a core is free for it
        log_read_by=["child process" if r.child_cpu_us else "projector" for r in rebuilds],
        cpu_pressure_before=pressures,
        target_ratio=0.5,
        ok=rebuild / read >= 0.5,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    emit(**rebuild_in_fresh_process(large))
    small, big = tally_latencies(
        [(workdir / "small.sqlite3", "roll-demo.csv"), (large, "roll-20000.csv")], args.queries
    )
    emit(**small)
    emit(**big)
    emit(
        metric="tally_latency_ratio",
        p50_large_over_small=round(big["p50_ms"] / small["p50_ms"], 3),
        p95_large_over_small=round(big["p95_ms"] / small["p95_ms"], 3),
        target_ratio=1.5,
        target_p95_ms=5,
        ok=big["p95_ms"] <= 5 and small["p95_ms"] <= 5 and big["p95_ms"] / small["p95_ms"] <= 1.5,
    )
    if args.dir is None:
        for file in workdir.iterdir():
            file.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
