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
