"""Errors of the read side."""

from __future__ import annotations


class ProjectionError(Exception):
    """The event log holds something a view cannot apply (a bug or a corrupted store)."""


class ProjectionTimeoutError(TimeoutError):
    """A view did not reach a log position in time (read-your-writes wait)."""

    def __init__(self, position: int, reached: int, timeout: float, views: tuple[str, ...]) -> None:
        self.position = position
        self.reached = reached
        self.timeout = timeout
        self.views = views
        super().__init__(
            f"projections {', '.join(views)} reached log position {reached}, not {position}, "
            f"within {timeout:g} s; is the projector running (consult projections run)?"
        )
