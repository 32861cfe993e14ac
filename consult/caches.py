"""In-process caches of the application: values made once per key, and short-lived read views.

:class:`MadeOnce` keeps the last few electorates (made from a frozen roll or register version,
so never stale); :class:`RecentViews` keeps an aggregate as this process last read it, for at
most a given number of seconds (a vote, to admit a ballot without reading it each time).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


@dataclass
class MadeOnce:
    """The last ``maxsize`` values by key, each made once even when asked for concurrently."""

    maxsize: int
    items: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    making: dict[Any, threading.Lock] = field(default_factory=dict)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value, or made once: concurrent callers of a missing key wait for the first."""
        while True:
            with self.lock:
                if key in self.items:
                    self.items.move_to_end(key)
                    return self.items[key]  # type: ignore[no-any-return,unused-ignore]
                maker = self.making.get(key)
                if maker is None:
                    maker = self.making[key] = threading.Lock()
                    maker.acquire()
                    break
            with maker:  # another thread is making it: wait, then look again
                pass
        try:
            value = make()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.maxsize:
                    self.items.popitem(last=False)
            return value
        finally:
            with self.lock:
                del self.making[key]
            maker.release()


class RecentViews(Generic[V]):
    """Values by key as last read, reused for ``seconds``; dropped when this process changes them."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._seen: dict[Hashable, tuple[V, float]] = {}

    def get(self, key: Hashable, read: Callable[[], V], fresh: bool = False) -> V:
        now = time.monotonic()
        seen = self._seen.get(key)
        if seen is not None and not fresh and now - seen[1] < self.seconds:
            return seen[0]
        value = read()
        self._seen[key] = (value, now)
        return value

    def drop(self, key: Hashable) -> None:
        self._seen.pop(key, None)
