"""Progress of a long operator command: click's progress bar on standard error while it runs,
shown only when standard error is a terminal, so that scripts and logs get the result alone."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


def _shown(step: str | None) -> str | None:
    return step


@contextmanager
def steps(label: str, count: int) -> Iterator[Callable[[str], None]]:
    """A bar of ``count`` steps. Each call of the function it gives starts the next step, named
    (the step before it is then done); the bar is full when the block ends without an error."""
    stream = sys.stderr
    with click.progressbar(
        None,
        length=count,
        label=label,
        file=stream,
        hidden=not stream.isatty(),
        show_eta=False,
        show_percent=False,
        show_pos=True,
        item_show_func=_shown,
    ) as bar:

        def step(name: str) -> None:
            if bar.current_item is None:
                bar.current_item = name
                bar.render_progress()
            else:
                bar.update(1, current_item=name)

        yield step
        bar.update(1)
