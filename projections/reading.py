"""Reading the notification log section by section, ahead of the section being applied.

Reading and decoding cost about as much as applying, so while one section is applied the next is
read: in a helper thread for short catch-ups (SQLite and the driver release the GIL while they
work), and in a child process for long ones (a rebuild, a follower far behind), where decoding
runs truly in parallel. The child reads through an application of the parent's class and settings
on the same database and sends each section back; ballot events come decoded
(:class:`~projections.decoding.BallotFact`), others as stored notifications for the parent to
decode with its mapper.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, NamedTuple, Protocol

from eventsourcing.persistence import Notification

from projections.decoding import BALLOT_TOPICS, EventDecoder
from projections.errors import ProjectionError
from projections.views.base import Projected


class Section(NamedTuple):
    read: int  # notifications read
    last: int  # the last one's position
    items: list[Projected]  # the decoded events some view reads


class Reader(Protocol):
    def section(self, start: int) -> Section: ...

    def close(self) -> None: ...


def read_section(
    recorder: Any, decoder: EventDecoder, wanted: frozenset[str], start: int, size: int
) -> Section:
    notifications: Sequence[Notification] = recorder.select_notifications(start, size)
    if not notifications:
        return Section(0, start - 1, [])
    decode = decoder.decode
    items = [Projected(n.id, n.topic, decode(n)) for n in notifications if n.topic in wanted]
    return Section(len(notifications), notifications[-1].id, items)


class ThreadReader:
    """Reads and decodes in this process; once a full section suggests more are waiting, the next
    one is read in a helper thread while this one is applied."""

    def __init__(
        self, recorder: Any, decoder: EventDecoder, wanted: frozenset[str], size: int
    ) -> None:
        self.recorder = recorder
        self.decoder = decoder
        self.wanted = wanted
        self.size = size
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[Section]] | None = None

    def _read(self, start: int) -> Section:
        return read_section(self.recorder, self.decoder, self.wanted, start, self.size)

    def section(self, start: int) -> Section:
        ahead, self._ahead = self._ahead, None
        section = (
            ahead[1].result() if ahead is not None and ahead[0] == start else self._read(start)
        )
        if section.read == self.size:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="projections-read-ahead")
            following = section.last + 1
            self._ahead = (following, self._pool.submit(self._read, following))
        return section

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessReader:
    """Reads and decodes in a child process (``projections.reading.main``), which keeps a section
    ahead of the one being applied; sections come back pickled through a pipe.

    If the caller asks for another position than the child is at (another updater applied a
    section meanwhile), it reads that section itself from then on.
    """

    def __init__(
        self, app: Any, start: int, size: int, wanted: frozenset[str], fallback: ThreadReader
    ) -> None:
        self.size = size
        self.fallback = fallback
        self.decoder = fallback.decoder
        self._next: int | None = start
        path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from projections.reading import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._out = self._process.stdout
        pickle.dump((type(app), dict(app.env), start, size, sorted(wanted)), self._process.stdin)
        self._process.stdin.close()

    def section(self, start: int) -> Section:
        if start != self._next:
            self.close()
            return self.fallback.section(start)
        message = _receive(self._out)
        if message is None or isinstance(message, str):
            self.close()
            raise ProjectionError(f"the log reader process failed: {message or 'it ended'}")
        read, last, raw = message
        decode = self.decoder.mapper.to_domain_event
        items = [Projected(p, t, e if t in BALLOT_TOPICS else decode(e)) for p, t, e in raw]
        self._next = last + 1 if read == self.size else None
        return Section(read, last, items)

    def close(self) -> None:
        self._next = None
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        self._out.close()
        self.fallback.close()


_LENGTH = struct.Struct("!Q")


def _send(out: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(payload)))
    out.write(payload)
    out.flush()


def _receive(source: IO[bytes]) -> Any:
    header = source.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    return pickle.loads(source.read(length))


def main() -> None:
    """The child: an application like the parent's (same class and settings) reads the log and
    sends each section, or a line saying what failed. A parent that goes away ends it."""
    out = sys.stdout.buffer
    try:
        app_class, env, start, size, wanted = pickle.load(sys.stdin.buffer)
        app = app_class(env=env)
        decoder = EventDecoder(app.mapper)
        topics = frozenset(wanted)
        while True:
            notifications = app.recorder.select_notifications(start, size)
            raw: list[tuple[int, str, Any]] = [
                (n.id, n.topic, decoder.ballot(n) if n.topic in BALLOT_TOPICS else n)
                for n in notifications
                if n.topic in topics
            ]
            last = notifications[-1].id if notifications else start - 1
            _send(out, (len(notifications), last, raw))
            if len(notifications) < size:
                return
            start = last + 1
    except BrokenPipeError:
        return  # the parent stopped reading
    except BaseException as e:  # reported to the parent, which raises it
        with contextlib.suppress(BrokenPipeError):
            _send(out, f"{type(e).__name__}: {e}")
