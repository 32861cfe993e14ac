"""The projector: reads the notification log in sections and applies each to the views.

One section is one transaction: the views' rows and their tracking positions commit together, so
whatever kills the process, each event is applied exactly once. The same code serves an
incremental update (a few new events after a command) and a rebuild from zero.

One view failing on an event does not stop the others: the section is then applied view by view,
a view that still fails stays where it is, its fault is recorded (``projections.faults``, shown on
pages and by ``consult projections status``) and it is tried again ``RETRY_AFTER`` s later.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from projections import faults
from projections.db import ViewStore, micros, tracking
from projections.decoding import BALLOT_TOPICS, BallotRow, EventDecoder
from projections.errors import ProjectionTimeoutError
from projections.faults import Fault
from projections.reading import ProcessReader, Reader, Section, ThreadReader
from projections.views import default_views
from projections.views.base import Projected, View

if TYPE_CHECKING:
    from consult.application import ConsultationApp

logger = logging.getLogger(__name__)

#: Called after each committed section with (position reached, last position in the log).
Progress = Callable[[int, int], None]

DEFAULT_SECTION_SIZE = 10_000
DEFAULT_READ_PROCESS_THRESHOLD = 50_000  # below it, starting a process costs more than it saves
#: Seconds before a view that failed is tried again by a catch-up (a rebuild tries at once).
RETRY_AFTER = 30.0


class Projector:
    """Keeps the views up to date with the application's event log.

    Thread-safe: at most one catch-up runs at a time in a process (a caller finding one running
    leaves the work to it and returns at once), and at most one section is applied at a time
    across processes (the store's updater lock).
    """

    def __init__(
        self,
        app: ConsultationApp,
        store: ViewStore,
        views: Sequence[View] | None = None,
        section_size: int = DEFAULT_SECTION_SIZE,
        read_process_threshold: int | None = DEFAULT_READ_PROCESS_THRESHOLD,
    ) -> None:
        if section_size < 1:
            raise ValueError("section_size must be at least 1")
        self.app = app
        self.store = store
        self.section_size = section_size
        #: Catching up this many events or more, the log is read in a child process (None: never)
        #: if ``spare_core()`` says a core is free for it.
        self.read_process_threshold = read_process_threshold
        self.spare_core: Callable[[], bool] = spare_core
        chosen = list(views) if views is not None else default_views(app, store)
        self.views: dict[str, View] = {v.name: v for v in chosen}
        self.decoder = EventDecoder(app.mapper)
        self._lock = threading.Lock()
        self._wanted = False
        #: Every view's position as this projector last read or committed it (None: unknown). A
        #: section starts from it without reading the positions again; the updater lock then
        #: checks them (another updater may have moved them) before anything is written.
        self._known: dict[str, int] | None = None
        self._readers: dict[tuple[tuple[str, ...], int], ThreadReader] = {}
        #: Views that failed in this process, and when (``time.monotonic()``).
        self._stalled: dict[str, float] = {}
        self._shared = _shared(app.env)
        self.setup()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.views)

    # --- schema ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create missing tables; a view whose stored schema version differs starts from zero."""
        self._known = None
        with self.store.write() as conn:
            self.store.create(conn, [tracking, faults.view_fault])
            stored = {
                name: version
                for name, version in conn.execute(sa.select(tracking.c.name, tracking.c.version))
            }
            for view in self.views.values():
                if view.name in stored and stored[view.name] != view.version:
                    self._reset(conn, [view])
                else:
                    self.store.create(conn, list(view.tables))
                    if view.name not in stored:
                        conn.execute(
                            tracking.insert().values(
                                name=view.name, position=0, version=view.version
                            )
                        )

    def _reset(self, conn: Connection, views: Iterable[View]) -> None:
        views = list(views)
        faults.clear(conn, [view.name for view in views])
        for view in views:
            self._stalled.pop(view.name, None)
            self.store.drop(conn, list(view.tables))
            self.store.create(conn, list(view.tables))
            self.store.upsert(
                conn,
                tracking,
                [{"name": view.name, "position": 0, "version": view.version}],
                ("name",),
            )
            view.reset()

    # --- positions ------------------------------------------------------------------------------

    def positions(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """The last log position each view has applied."""
        with self.store.read() as conn:
            return self._positions(conn, self._check(names))

    def faults(self) -> list[Fault]:
        """The views stalled on an event they could not apply (see ``projections.faults``)."""
        with self.store.read() as conn:
            return faults.current(conn)

    def position(self, names: Sequence[str] | None = None) -> int:
        """The log position every one of the views has reached."""
        return min(self.positions(names).values())

    def _positions(self, conn: Connection, names: Sequence[str]) -> dict[str, int]:
        # Every view's row (a handful), filtered here: a statement built once, read twice a section.
        return {name: position for name, position in conn.execute(_POSITIONS) if name in names}

    def _check(self, names: Sequence[str] | None) -> tuple[str, ...]:
        if names is None:
            return self.names
        unknown = [n for n in names if n not in self.views]
        if unknown:
            raise KeyError(
                f"unknown projection(s): {', '.join(unknown)} (known: {', '.join(self.views)})"
            )
        return tuple(names)

    # --- updating -------------------------------------------------------------------------------

    def catch_up(
        self, progress: Progress | None = None, stop: threading.Event | None = None
    ) -> int | None:
        """Apply every event not yet applied; returns the position reached, or None when another
        thread of this process is already catching up (it will apply what is new). With ``stop``,
        it returns after the section during which ``stop`` was set."""
        return self._catch_up(progress, stop)

    def _catch_up(
        self,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        head: int | None = None,
    ) -> int | None:
        """:meth:`catch_up`; ``head``: the log's last position as the caller last saw it (a lower
        bound will do: it only decides whether a child process reads the log, and the target
        that ``progress`` is given)."""
        self._wanted = True
        reached: int | None = None
        while self._wanted:
            if not self._lock.acquire(blocking=False):
                return reached
            try:
                self._wanted = False
                reached = self._drain(self.names, progress, stop, head)
                head = None  # more was saved meanwhile: read the head again
            finally:
                self._lock.release()
        return reached

    def _drain(
        self,
        names: Sequence[str],
        progress: Progress | None,
        stop: threading.Event | None = None,
        head: int | None = None,
        until: int | None = None,
    ) -> int:
        """Apply sections until the log is exhausted (or position ``until`` is reached), reading
        ahead (``projections.reading``).

        Returns the position the views reached; views that failed (now or less than
        ``RETRY_AFTER`` s ago) are left behind (:meth:`_isolate`), and with none left the log's
        head is returned: there is nothing more to do now."""
        if head is None:
            head = self.app.recorder.max_notification_id() or 0
        target = head if progress else 0
        active = self._awake(names)
        if not active:
            return head
        reader = self._reader(active, head)
        try:
            while True:
                try:
                    count, reached = self._section(active, reader, until)
                except Exception as error:
                    active = self._isolate(active, reader, error, until)
                    if not active:
                        return head
                    continue
                if count < 0:
                    continue  # another process applied that section: read on from where it is
                if self._stalled:
                    for name in active:
                        self._stalled.pop(name, None)
                if progress is not None:
                    progress(reached, max(target, reached))
                if count < self.section_size or (stop is not None and stop.is_set()):
                    return reached
                if until is not None and reached >= until:
                    return reached
        finally:
            reader.close()

    def _awake(self, names: Sequence[str]) -> list[str]:
        """The named views, less those that failed here less than ``RETRY_AFTER`` s ago."""
        if not self._stalled:
            return list(names)
        now = time.monotonic()
        return [n for n in names if now - self._stalled.get(n, -RETRY_AFTER) >= RETRY_AFTER]

    def _isolate(
        self, names: list[str], reader: Reader, error: Exception, until: int | None = None
    ) -> list[str]:
        """After a section of ``names`` failed with ``error``: apply it view by view; record a
        fault for each view that still fails and return the others. Raises ``error`` when the
        faults cannot be recorded either (the database is unreachable: not one view's fault)."""
        failed: dict[str, Exception] = {}
        if len(names) == 1:
            failed[names[0]] = error
        else:
            for name in names:
                try:
                    self._section([name], reader, until)
                except Exception as e:
                    failed[name] = e
        if not failed:
            return names
        try:
            positions = self.positions(list(failed))
            now = micros(self.app.now())
            with self.store.write() as conn:
                for name, cause in failed.items():
                    faults.record(conn, Fault(name, positions[name], faults.describe(cause), now))
        except Exception:
            raise error from None
        # Some views failing while others apply the same events: those rest a while. All of them
        # failing (an event none can read, a database refusing every write) is tried again at
        # the next catch-up, as a passing fault would be.
        stalled = time.monotonic()
        for name, cause in failed.items():
            if len(failed) < len(names):
                self._stalled[name] = stalled
            logger.error(
                "projections: view %s stalled at log position %d",
                name,
                positions[name],
                exc_info=cause,
            )
        return [n for n in names if n not in failed]

    def _reader(self, names: Sequence[str], head: int) -> Reader:
        """The log is read in this process: ahead, in a thread, where reading waits on a database
        server (PostgreSQL); else one section after the other (reading SQLite is work for the
        CPU, which a thread would only share). In a child process, on another core, when the log
        is far ahead, in a database another process can open, and a core is free: otherwise the
        reader would only take its CPU time from the projector's, and the pickled sections cost
        both processes time."""
        key = (tuple(names), self.section_size)
        reader = self._readers.get(key)
        if reader is None:  # kept: a live catch-up is a few events, and making one costs time
            wanted = frozenset().union(*(self.views[n].topics for n in names))
            server = self.app.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
            reader = self._readers[key] = ThreadReader(
                self.app.recorder, self.decoder, wanted, self.section_size, read_ahead=server
            )
        threshold = self.read_process_threshold
        if threshold is None or not self._shared:
            return reader
        start = min(self._starting(names).values()) + 1
        if head - start < threshold or not self.spare_core():
            return reader
        return ProcessReader(self.app, start, self.section_size, reader.wanted, reader)

    def _section(
        self, names: Sequence[str], reader: Reader, until: int | None = None
    ) -> tuple[int, int]:
        """Apply the next section of the log to the named views in one transaction.

        Returns (events read, position reached); (-1, position) when another updater applied
        the section meanwhile. The log and the event store are read before the updater lock is
        taken (see ``View.prepare``); the lock then checks that nobody moved the positions.
        """
        views = [self.views[n] for n in names]
        positions = self._starting(names)
        start = min(positions.values())
        try:
            with _gc_paused():
                section = reader.section(start + 1)
                if not section.read:
                    return 0, start
                if until is not None and section.last > until:
                    section = _cut(section, until)
                applied = self._apply(views, positions, section)
        except BaseException:
            self._known = None
            for view in views:
                view.reset()  # caches may hold what the rolled-back transaction did
            raise
        if not applied:
            self._known = None  # another updater moved them: read them again
            return -1, start
        known = self._known
        if known is not None:
            for name in names:
                known[name] = max(known[name], section.last)
        return section.read, section.last

    def _starting(self, names: Sequence[str]) -> dict[str, int]:
        """The named views' positions as last read or committed here (read if unknown)."""
        known = self._known
        if known is None:
            known = self._known = self.positions()
        return {name: known[name] for name in names}

    def _apply(self, views: Sequence[View], positions: dict[str, int], section: Section) -> bool:
        readers: dict[str, list[tuple[View, int, list[Projected]]]] = {}
        routes: list[tuple[View, int, list[Projected]]] = []
        for view in views:
            route: tuple[View, int, list[Projected]] = (view, positions[view.name], [])
            routes.append(route)
            for t in view.topics:
                readers.setdefault(t, []).append(route)
        for item in section.items:
            for _, after, events in readers.get(item.topic, ()):
                if item.position > after:
                    events.append(item)
        work: list[tuple[View, list[Projected], list[BallotRow]]] = []
        for view, after, events in routes:
            ballots = _after(section.ballots, after) if BALLOT_TOPICS & view.topics else []
            if events or ballots:
                work.append((view, events, ballots))
        for view, events, ballots in work:
            view.prepare(events, ballots)
        names, last = list(positions), section.last
        with self.store.write() as conn:
            if self._positions(conn, names) != positions:
                return False
            for view, events, ballots in work:
                view.project(conn, events, ballots)
            conn.execute(_ADVANCE, {"names": names, "last": last})
        return True

    def wait(self, position: int, timeout: float = 5.0, names: Sequence[str] | None = None) -> int:
        """Block until the views have applied the log up to ``position`` (read-your-writes).

        Returns the position reached; raises :class:`ProjectionTimeoutError` after ``timeout``
        seconds. It does not apply anything itself: the embedded listener or ``consult
        projections run`` does.
        """
        chosen = self._check(names)
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            reached = min(self.positions(chosen).values())
            if reached >= position:
                return reached
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProjectionTimeoutError(position, reached, timeout, chosen)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)

    def rebuild(self, names: Sequence[str] | None = None, progress: Progress | None = None) -> int:
        """Drop the named views (all by default) and apply the whole log again from zero."""
        chosen = self._check(names)
        with self._lock:
            self._known = None
            with self.store.write() as conn:
                self._reset(conn, [self.views[n] for n in chosen])
            with _gc_paused():  # between sections too: a collection would scan every cache
                reached = self._drain(chosen, progress)
        if self._wanted:  # commands arrived meanwhile: bring every view up to date
            self.catch_up()
        return reached

    def catch_up_to(
        self, until: int, names: Sequence[str] | None = None, progress: Progress | None = None
    ) -> int:
        """Apply the log up to position ``until`` and no further (a store of views as they were
        at that position, e.g. to compare with views that have reached it)."""
        chosen = self._check(names)
        with self._lock:
            if min(self.positions(chosen).values()) >= until:
                return until
            with _gc_paused():
                return self._drain(chosen, progress, head=until, until=until)

    def run_forever(
        self,
        poll_interval: float = 0.5,
        stop: threading.Event | None = None,
        on_section: Progress | None = None,
        wait: Callable[[float], object] | None = None,
        linger: float = 0.0,
        rest: Callable[[float], object] | None = None,
    ) -> None:
        """Follow the log until ``stop`` is set: warm the views' caches (:meth:`warm`), catch up,
        then wait for more.

        ``wait(timeout)`` returns when new events may have been stored (a PostgreSQL
        notification, see ``consult.adapters.followers``); without it the log is polled every
        ``poll_interval`` s. Between wake-ups only the log's last position is read; a catch-up
        runs when it is beyond what the views have applied.

        ``linger``: after a catch-up that applied events, the next one starts no sooner than
        ``linger`` s after it started (at once if it took longer). Under load each catch-up then
        takes what arrived meanwhile in one section instead of a few events per wake-up; an event
        waits at most about ``linger`` s more, and the first one after a quiet spell (``linger``
        s or more) not at all. ``rest(seconds)`` sleeps meanwhile (a PostgreSQL watcher takes the
        notifications that arrive); then the next catch-up starts without reading the log's head
        first, and when it finds nothing the follower waits as when idle.
        """
        stop = stop or threading.Event()
        pause = wait or (lambda timeout: stop.wait(timeout))
        with self._lock:
            self.warm()
        reached = -1
        busy = False  # the last catch-up applied events: catch up again without asking the log
        while not stop.is_set():
            if busy:
                head = reached
            else:
                head = self.app.recorder.max_notification_id() or 0
                if head <= reached:
                    pause(poll_interval)
                    continue
            started = time.monotonic()
            done = self._catch_up(on_section, stop, head)
            before, reached = reached, done if done is not None else self.position()
            busy = linger > 0 and reached > before
            if busy:
                (rest or stop.wait)(max(0.0, started + linger - time.monotonic()))
            elif linger <= 0:
                pause(poll_interval)

    def warm(self) -> None:
        """Fill every view's caches for what is live now (:meth:`View.warm`). Only time is at
        stake: a failure is logged, and the sections fill the caches as they need them."""
        for view in self.views.values():
            try:
                view.warm()
            except Exception:
                logger.warning("projections: warming view %s failed", view.name, exc_info=True)
                view.reset()

    def dispose(self) -> None:
        self.store.dispose()


_POSITIONS = sa.select(tracking.c.name, tracking.c.position)
#: Move the named views' positions up to ``last`` (built once: a live section is small, and
#: building a statement costs about as much as running it).
_ADVANCE = (
    sa.update(tracking)
    .where(
        tracking.c.name.in_(sa.bindparam("names", expanding=True)),
        tracking.c.position < sa.bindparam("last"),
    )
    .values(position=sa.bindparam("last"))
)


def _cut(section: Section, until: int) -> Section:
    """The part of ``section`` up to position ``until``."""
    return Section(
        section.read,
        until,
        [item for item in section.items if item.position <= until],
        [ballot for ballot in section.ballots if ballot[0] <= until],
    )


def _after(ballots: list[BallotRow], position: int) -> list[BallotRow]:
    """The ballot rows after ``position`` (all of them, unless a view is ahead of others)."""
    if not ballots or ballots[0][0] > position:
        return ballots
    return [b for b in ballots if b[0] > position]


def spare_core() -> bool:
    """Whether a core is free for a second process: more than one, and (Linux pressure stall
    information, else the load average) tasks seldom wait for the CPU."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cores < 2:
        return False
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            some = f.readline().split()  # "some avg10=1.50 avg60=... avg300=... total=..."
        return float(some[1].removeprefix("avg10=")) < SPARE_CORE_PRESSURE
    except (OSError, IndexError, ValueError):
        return os.getloadavg()[0] <= cores - 1


#: Percent of the last 10 s during which some task waited for the CPU, below which a core counts
#: as free.
SPARE_CORE_PRESSURE = 20.0


def _shared(env: dict[str, str]) -> bool:
    """Whether another process can open this application's event store."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.postgres":
        return True
    name = env.get("SQLITE_DBNAME", "")
    return module == "eventsourcing.sqlite" and ":memory:" not in name and "mode=memory" not in name


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a section is applied: a section makes thousands of
    short-lived objects and no cycles, and collections would scan every cached electorate."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def attach(app: ConsultationApp, projector: Projector) -> Projector:
    """The embedded default: bring the views up to date after every command's save."""

    def listener(_position: int) -> None:
        projector.catch_up()

    app.listeners.append(listener)
    return projector
