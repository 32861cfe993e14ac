"""Reading the notification log section by section, ahead of the section being applied.

Each section is read as plain rows straight from the event store's table where the backend is
known (SQLite, PostgreSQL; the library's ``select_notifications`` elsewhere), so no notification
object is made for the nine events in ten that are ballots: their rows are decoded from the
stored JSON into :data:`~projections.decoding.BallotRow` tuples, and only other events become
notifications for the application's mapper.

Reading and decoding cost about as much as applying, so while one section is applied the next is
read: in a helper thread for short catch-ups (SQLite and the driver release the GIL while they
work), and in a child process for long ones (a rebuild, a follower far behind), where decoding
runs truly in parallel. The child reads through an application of the parent's class and settings
on the same database and sends each section back as plain tuples (cheap to pickle); the parent
decodes the few other events with its mapper.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from projections.decoding import BALLOT_TOPICS, BallotRow, EventDecoder, ballot_rows_from_json
from projections.errors import ProjectionError
from projections.views.base import Projected

#: One stored event of the log: (position, originator id as 32 hex digits, version, topic, state).
LogRow = tuple[int, str, int, str, bytes]


class Section(NamedTuple):
    read: int  # notifications read
    last: int  # the last one's position
    items: list[Projected]  # the decoded events other than ballots that some view reads
    ballots: list[BallotRow]  # the ballot events, when some view reads them


class Reader(Protocol):
    def section(self, start: int) -> Section: ...

    def close(self) -> None: ...


def log_rows(recorder: Any) -> Callable[[int, int], list[LogRow]]:
    """A function reading ``size`` rows of the log from position ``start``."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_rows(recorder)
    postgres = sys.modules.get("eventsourcing.postgres")
    if postgres is not None and isinstance(recorder, postgres.PostgresApplicationRecorder):
        return _postgres_rows(recorder)

    def library(start: int, size: int) -> list[LogRow]:
        return [
            (n.id, _hex(n.originator_id), n.originator_version, n.topic, n.state)
            for n in recorder.select_notifications(start, size)
        ]

    return library


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(originator_id).hex


def _sqlite_rows(recorder: Any) -> Callable[[int, int], list[LogRow]]:
    # The library stores UUIDs as their 32 hex digits (``SQLiteAggregateRecorder``).
    statement = (
        "SELECT rowid, originator_id, originator_version, topic, state "
        f"FROM {recorder.events_table_name} WHERE rowid>=? ORDER BY rowid LIMIT ?"
    )
    datastore = recorder.datastore

    def rows(start: int, size: int) -> list[LogRow]:
        with datastore.transaction(commit=False) as wrapped:
            cursor = wrapped.sqlite_cursor  # the library's wrapper holds the sqlite3 cursor
            cursor.row_factory = None  # plain tuples, not sqlite3.Row
            cursor.execute(statement, (start, size))
            return cursor.fetchall()

    return rows


def _postgres_rows(recorder: Any) -> Callable[[int, int], list[LogRow]]:
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    datastore = recorder.datastore
    statement = SQL(
        "SELECT notification_id, replace(originator_id::text, '-', ''), originator_version, "
        "topic, state FROM {schema}.{table} WHERE notification_id>=%s "
        "ORDER BY notification_id LIMIT %s"
    ).format(schema=Identifier(datastore.schema), table=Identifier(recorder.events_table_name))

    def rows(start: int, size: int) -> list[LogRow]:
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, (start, size), prepare=True)
            return cursor.fetchall()

    return rows


def split_rows(
    rows: list[LogRow], decoder: EventDecoder, wanted: frozenset[str]
) -> tuple[list[Notification], list[BallotRow]]:
    """The wanted rows: other events as notifications (not yet decoded), ballots decoded."""
    others = [
        Notification(
            id=position,
            originator_id=UUID(originator_id),
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        for position, originator_id, version, topic, state in rows
        if topic in wanted and topic not in BALLOT_TOPICS
    ]
    if BALLOT_TOPICS.isdisjoint(wanted):
        return others, []
    stored = [row for row in rows if row[3] in BALLOT_TOPICS and row[3] in wanted]
    if decoder.fast:
        try:
            return others, ballot_rows_from_json(stored)
        except (ValueError, KeyError, TypeError):
            pass  # one is not in the form expected: each row on its own, the mapper knows
    return others, [decoder.ballot(*row) for row in stored]


def read_section(
    rows: Callable[[int, int], list[LogRow]],
    decoder: EventDecoder,
    wanted: frozenset[str],
    start: int,
    size: int,
) -> Section:
    found = rows(start, size)
    if not found:
        return Section(0, start - 1, [], [])
    others, ballots = split_rows(found, decoder, wanted)
    decode = decoder.decode
    items = [Projected(n.id, n.topic, decode(n)) for n in others]
    return Section(len(found), found[-1][0], items, ballots)


class ThreadReader:
    """Reads and decodes in this process. With ``read_ahead``, once a full section suggests more
    are waiting, the next one is read in a helper thread while this one is applied (worth it
    where reading waits on a database server)."""

    def __init__(
        self,
        recorder: Any,
        decoder: EventDecoder,
        wanted: frozenset[str],
        size: int,
        read_ahead: bool = True,
    ) -> None:
        self.rows = log_rows(recorder)
        self.decoder = decoder
        self.wanted = wanted
        self.size = size
        self.read_ahead = read_ahead
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[Section]] | None = None

    def read(self, start: int) -> Section:
        """The section from ``start``, read now in this thread (no read-ahead)."""
        return read_section(self.rows, self.decoder, self.wanted, start, self.size)

    def section(self, start: int) -> Section:
        ahead, self._ahead = self._ahead, None
        section = ahead[1].result() if ahead is not None and ahead[0] == start else self.read(start)
        if section.read == self.size and self.read_ahead:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="projections-read-ahead")
            following = section.last + 1
            self._ahead = (following, self._pool.submit(self.read, following))
        return section

    def close(self) -> None:
        """Stop reading ahead; the reader can be used again."""
        pool, self._pool, self._ahead = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class ProcessReader:
    """Reads and decodes in a child process (``projections.reading.main``), which keeps up to
    ``AHEAD`` sections ahead of the one being applied; sections come back pickled through a pipe.

    While the child starts (a new interpreter and application: most of a second) the sections are
    read here, and those the child then sends for them are skipped unread. If the caller asks for
    another position than expected (another updater applied a section meanwhile), it reads that
    section itself from then on.
    """

    #: Read here until the child has caught up (tests turn it off to exercise the child alone).
    read_while_starting = True

    def __init__(
        self, app: Any, start: int, size: int, wanted: frozenset[str], fallback: ThreadReader
    ) -> None:
        self.size = size
        self.fallback = fallback
        self.decoder = fallback.decoder
        self.taken = 0  # sections received from the child
        self._next: int | None = start  # where the caller is expected to ask next
        self._child_at: int | None = start  # where the child's next section starts (None: ended)
        path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from projections.reading import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # no buffer in this process: select() then tells whether a frame waits
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
        if self.taken == 0 and self.read_while_starting:
            # The child's sections for positions applied meanwhile are dropped; until it sends
            # the one wanted, read here rather than wait.
            while self._child_at is not None and self._child_at < start and self._waiting():
                self._frame(keep=False)
            if self._child_at != start or not self._waiting():
                return self._expect(self.fallback.read(start))
        while self._child_at is not None and self._child_at < start:
            self._frame(keep=False)
        if self._child_at != start:  # the child ended before the log did
            return self._expect(self.fallback.read(start))
        section = self._frame(keep=True)
        assert section is not None
        self.taken += 1
        return self._expect(section)

    def _expect(self, section: Section) -> Section:
        self._next = section.last + 1 if section.read == self.size else None
        return section

    def _waiting(self) -> bool:
        """Whether the child has started sending a frame (reading it will not wait long)."""
        return bool(select.select([self._out], [], [], 0)[0])

    def _frame(self, keep: bool) -> Section | None:
        """The child's next section (None when ``keep`` is false: read past, not decoded)."""
        header = _read_exact(self._out, _HEADER.size)
        if header is None:
            self.close()
            raise ProjectionError("the log reader process failed: it ended")
        length, read, last = _HEADER.unpack(header)
        payload = _read_exact(self._out, length)
        if payload is None or read < 0:
            self.close()
            failure = "it ended" if payload is None else pickle.loads(payload)
            raise ProjectionError(f"the log reader process failed: {failure}")
        self._child_at = last + 1 if read == self.size else None
        if not keep:
            return None
        others, ballots = pickle.loads(payload)
        decode = self.decoder.decode
        items = [Projected(n.id, n.topic, decode(n)) for n in others]
        return Section(read, last, items, ballots)

    def close(self) -> None:
        self._next = None
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        self._out.close()
        self.fallback.close()


#: A frame's header: payload length, notifications read (-1: the payload says what failed), and
#: the last position read.
_HEADER = struct.Struct("!Qqq")

#: Sections the child keeps decoded ahead of what the parent has taken (a buffer that absorbs
#: the moments when one of the two processes gets less of the CPU than the other).
AHEAD = 4


def _frame(read: int, last: int, message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload), read, last) + payload


def _read_exact(source: IO[bytes], n: int) -> bytearray | None:
    """``n`` bytes from an unbuffered pipe; None if it ends first."""
    buffer = bytearray(n)
    view, got = memoryview(buffer), 0
    while got < n:
        count = source.readinto(view[got:])  # type: ignore[attr-defined]
        if not count:
            return None
        got += count
    return buffer


class _Sender:
    """Writes framed messages to the parent from a thread, so that the child reads and decodes
    up to ``AHEAD`` sections while earlier ones wait in the pipe."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.gone = threading.Event()  # the parent stopped reading
        self._queue: queue.Queue[bytes | None] = queue.Queue(AHEAD)
        self._thread = threading.Thread(target=self._run, name="log-reader-send", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            try:
                self.out.write(frame)
                self.out.flush()
            except (BrokenPipeError, ValueError):
                self.gone.set()
                return

    def send(self, read: int, last: int, message: Any) -> bool:
        """Queue a section (``read`` -1: ``message`` says what failed); False once the parent
        has gone."""
        frame = _frame(read, last, message)
        while not self.gone.is_set():
            try:
                self._queue.put(frame, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Send what is queued, then end."""
        while not self.gone.is_set():
            try:
                self._queue.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()


def main() -> None:
    """The child: an application like the parent's (same class and settings) reads the log and
    sends each section, or a line saying what failed. A parent that goes away ends it."""
    gc.disable()  # the loop makes no reference cycles; collections would only cost time
    sender = _Sender(sys.stdout.buffer)
    try:
        app_class, env, start, size, wanted = pickle.load(sys.stdin.buffer)
        app = app_class(env=env)
        decoder = EventDecoder(app.mapper)
        topics = frozenset(wanted)
        rows = log_rows(app.recorder)
        while True:
            found = rows(start, size)
            others, ballots = split_rows(found, decoder, topics)
            last = found[-1][0] if found else start - 1
            if not sender.send(len(found), last, (others, ballots)) or len(found) < size:
                return
            start = last + 1
    except BaseException as e:  # reported to the parent, which raises it
        sender.send(-1, -1, f"{type(e).__name__}: {e}")
    finally:
        sender.close()
