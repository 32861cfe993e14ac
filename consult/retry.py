"""Optimistic concurrency: run a get-change-save again when another writer got there first."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from consult.errors import ConcurrencyError

T = TypeVar("T")


def retrying(attempt: Callable[[], T], seconds: float) -> T:
    """``attempt()``, again after a :class:`ConcurrencyError`, with jittered exponential backoff
    for up to ``seconds``; only a writer that keeps losing for that long gets the error (nothing
    of it was stored)."""
    deadline = time.monotonic() + seconds
    delay = 0.001
    while True:
        try:
            return attempt()
        except ConcurrencyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 0.1)
