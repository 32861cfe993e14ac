"""``consult projections``: rebuild the views from zero, follow the log, show where each view is.

Registered on the main command (:mod:`entrypoints.cli`).
"""

from __future__ import annotations

import sys
import threading
import time

import click

from consult.adapters.followers import LINGER, poll_option
from consult.config import EXTERNAL
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.commands.audit import echo2, guarded
from entrypoints.commands.progress import progress
from projections.faults import Fault
from projections.projector import DEFAULT_SECTION_SIZE, Projector
from projections.views import VIEW_CLASSES

VIEW_NAMES = [cls.name for cls in VIEW_CLASSES]


def _runtime(section_size: int) -> tuple[Runtime, Projector]:
    """The composition root's projector, with nothing attached: this process is the follower."""
    runtime = build_runtime(followers=EXTERNAL, audit=False)
    assert runtime.projector is not None
    runtime.projector.section_size = section_size
    return runtime, runtime.projector


@click.group("projections")
def projections() -> None:
    """读模型 · Projections: the views every page and report reads."""


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(VIEW_NAMES))
@click.option(
    "--section-size", default=DEFAULT_SECTION_SIZE, show_default=True, type=click.IntRange(1)
)
@guarded
def rebuild(name: str | None, section_size: int) -> None:
    """Drop NAME (every view by default) and rebuild it from the whole event log (a progress bar
    on a terminal). Exits 1 if a view stalls on an event it cannot apply."""
    runtime, projector = _runtime(section_size)
    try:
        names = [name] if name else list(projector.names)
        total = projector.app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        with progress(total, f"rebuilding {', '.join(names)}") as advance:
            reached = projector.rebuild(names, lambda position, _target: advance(position))
        elapsed = time.perf_counter() - started
        stalled = [f for f in projector.faults() if f.name in names]
        if stalled:
            for fault in stalled:
                _say_stalled(fault, total, err=True)
            sys.exit(1)
        rate = reached / elapsed if elapsed > 0 else 0.0
        click.echo(
            f"rebuilt {', '.join(names)} up to log position {reached} in {elapsed:.1f} s "
            f"({rate:,.0f} events/s)"
        )
    finally:
        runtime.close()


def _say_stalled(fault: Fault, head: int, err: bool = False) -> None:
    echo2(
        f"视图 {fault.name} 停在日志第 {fault.position} 位（落后 {head - fault.position} 个事件）：{fault.error}",
        f"view {fault.name} stalled at log position {fault.position} "
        f"({head - fault.position} events behind): {fault.error}",
        err=err,
    )


@projections.command("run")
@poll_option
@click.option(
    "--section-size", default=DEFAULT_SECTION_SIZE, show_default=True, type=click.IntRange(1)
)
@click.option(
    "--verbose", is_flag=True, help="Print the log position after every committed section."
)
def run(poll: float, section_size: int, verbose: bool) -> None:
    """Follow the event log live and keep every view up to date (PostgreSQL notifications, else
    polling); stops cleanly on SIGTERM or Ctrl-C."""
    from consult.adapters.followers import stop_on_signals, watcher_for

    runtime, projector = _runtime(section_size)
    stop = threading.Event()
    stop_on_signals(stop)

    def report(position: int, _target: int) -> None:
        click.echo(f"position {position}")

    click.echo(
        f"following the log from position {projector.position()} (views: {', '.join(projector.names)})"
    )
    watcher = watcher_for(runtime, stop, poll)
    try:
        projector.run_forever(
            poll,
            stop,
            on_section=report if verbose else None,
            wait=lambda _t: watcher.wait(),
            linger=LINGER,
            rest=watcher.rest,
        )
    finally:
        watcher.close()
    click.echo(f"stopped at position {projector.position()}")
    runtime.close()


@projections.command("status")
@guarded
def status() -> None:
    """Show how far each view has applied the log, and why a stalled view stopped (exit 1)."""
    runtime, projector = _runtime(DEFAULT_SECTION_SIZE)
    try:
        head = projector.app.recorder.max_notification_id() or 0
        stalled = {f.name: f for f in projector.faults()}
        for name, position in sorted(projector.positions().items()):
            behind = head - position
            where = "up to date" if behind <= 0 else f"{behind} behind"
            click.echo(f"{name:10} {position:>10}  {where}{'  STALLED' if name in stalled else ''}")
        for fault in stalled.values():
            _say_stalled(fault, head)
    finally:
        runtime.close()
    if stalled:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    projections()
