"""``consult projections``: rebuild the views from zero, follow the log, show where each view is.

Register on the main command with ``main.add_command(projections.cli.projections)``.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import click

from consult.config import Config, build_app
from projections.db import open_store
from projections.projector import DEFAULT_SECTION_SIZE, Projector
from projections.views import VIEW_CLASSES

VIEW_NAMES = [cls.name for cls in VIEW_CLASSES]


def _projector(section_size: int) -> Projector:
    url = Config.from_env().database_url
    app = build_app(url)
    return Projector(app, open_store(url), section_size=section_size)


@click.group("projections")
def projections() -> None:
    """读模型 · Projections: the views every page and report reads."""


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(VIEW_NAMES))
@click.option(
    "--section-size", default=DEFAULT_SECTION_SIZE, show_default=True, type=click.IntRange(1)
)
def rebuild(name: str | None, section_size: int) -> None:
    """Drop NAME (every view by default) and rebuild it from the whole event log."""
    projector = _projector(section_size)
    names = [name] if name else list(projector.names)
    total = projector.app.recorder.max_notification_id() or 0
    started = time.perf_counter()
    with click.progressbar(
        length=total, label=f"rebuilding {', '.join(names)}", show_pos=True
    ) as bar:
        done = 0

        def progress(position: int, _target: int) -> None:
            nonlocal done
            bar.update(max(0, min(position, total) - done))
            done = max(done, min(position, total))

        reached = projector.rebuild(names, progress)
    elapsed = time.perf_counter() - started
    rate = reached / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"rebuilt {', '.join(names)} up to log position {reached} in {elapsed:.1f} s ({rate:,.0f} events/s)"
    )
    projector.dispose()


@projections.command("run")
@click.option(
    "--poll",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0.01),
    help="Seconds between polls.",
)
@click.option(
    "--section-size", default=DEFAULT_SECTION_SIZE, show_default=True, type=click.IntRange(1)
)
@click.option(
    "--verbose", is_flag=True, help="Print the log position after every committed section."
)
def run(poll: float, section_size: int, verbose: bool) -> None:
    """Follow the event log and keep every view up to date; stops cleanly on SIGTERM or Ctrl-C."""
    projector = _projector(section_size)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def report(position: int, _target: int) -> None:
        click.echo(f"position {position}")

    click.echo(
        f"following the log from position {projector.position()} (views: {', '.join(projector.names)})"
    )
    projector.run_forever(poll, stop, on_section=report if verbose else None)
    click.echo(f"stopped at position {projector.position()}")
    projector.dispose()


@projections.command("status")
def status() -> None:
    """Show how far each view has applied the log."""
    projector = _projector(DEFAULT_SECTION_SIZE)
    head = projector.app.recorder.max_notification_id() or 0
    for name, position in sorted(projector.positions().items()):
        behind = head - position
        click.echo(
            f"{name:10} {position:>10}  {'up to date' if behind <= 0 else f'{behind} behind'}"
        )
    projector.dispose()


if __name__ == "__main__":  # pragma: no cover
    projections()
