"""Progress of a long operator command: a bar on the terminal, nothing in a script.

The bar (click's) goes to standard error, and only when standard error is a terminal; a command's
results on standard output are the same either way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

#: Moves the bar to ``done`` out of the length given (a smaller value than before is ignored).
Advance = Callable[[int], None]


@contextmanager
def progress(length: int, label: str) -> Iterator[Advance]:
    """A progress bar of ``length`` steps labelled ``label`` while the block runs, on a terminal."""
    stream = sys.stderr
    if length <= 0 or not stream.isatty():
        yield lambda _done: None
        return
    with click.progressbar(length=length, label=label, show_pos=True, file=stream) as bar:
        shown = 0

        def advance(done: int) -> None:
            nonlocal shown
            done = min(done, length)
            if done > shown:
                bar.update(done - shown)
                shown = done

        yield advance


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
