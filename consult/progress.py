"""Progress of a long operator command: click's progress bar on standard error while it runs,
shown only when standard error is a terminal, so that scripts and logs get the result alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def steps(label: str, count: int) -> Iterator[Callable[[str], None]]:
    """A bar of ``count`` steps. Each call of the function it gives starts the next step, named
    (the step before it is then done); the bar is full when the block ends without an error."""
    stream = click.get_text_stream("stderr")
    current = [""]
    with click.progressbar(
        length=count,
        label=label,
        file=stream,
        hidden=not stream.isatty(),
        show_eta=False,
        show_percent=False,
        show_pos=True,
        item_show_func=lambda _: current[0],
    ) as bar:
        started = False

        def step(name: str) -> None:
            nonlocal started
            current[0] = name
            if started:
                bar.update(1, current_item=name)
            else:
                bar.render_progress()
            started = True

        yield step
        bar.update(1)
