"""One writer at a time on a SQLite file, across processes, without SQLite's sleeping busy wait.

SQLite lets one connection write at a time. A second writer is told the file is busy and SQLite's
busy handler sleeps and tries again, in steps of 1, 2, 5, 10, 15, 20, 25 ... ms. With two web
workers each committing a batch of ballots every few milliseconds, the workers mostly slept: a 4 ms
commit took about 20 ms (measured with ``bench/load_bench.py``; docs/benchmarks.md).

:class:`WriteLock` queues the writers of this product on an advisory lock instead (``flock`` on a
file beside the database, and a thread lock within the process): a waiting writer is woken by the
kernel the moment the previous one releases it. SQLite's own locking stays in force underneath,
so a writer that does not take this lock is still safe, only slower.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # not on a POSIX system: SQLite's own locking alone
    fcntl = None  # type: ignore[assignment]


class WriteLock:
    """An exclusive lock shared by every process that opens the same ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd = -1
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._file()
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd >= 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int:
        # A descriptor inherited through fork() shares its lock with the parent: open our own.
        if fcntl is None:
            return -1
        if self._fd < 0 or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = -1


def lock_for(database: str) -> WriteLock | None:
    """The write lock of a SQLite database file (None for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return WriteLock(database + "-writers.lock")
