"""Followers in their own process: the projector and the audit chain, following the log live.

``consult follow`` runs both (``consult projections run`` and ``consult audit follow`` each run
one), on a runtime the bootstrap built (``entrypoints.bootstrap.follow``). A follower sleeps until the log may have grown:

- on PostgreSQL it LISTENs on the events table's channel, which the store NOTIFYs in every insert
  transaction (eventsourcing's PostgreSQL recorder does so, in its insert function and in its
  pipelined inserts; a notification is delivered when that transaction commits), with a slow poll
  as a safety net (a dropped connection is reopened);
- on SQLite, which has no notifications, it polls ``max(notification_id)`` every ``poll`` seconds.

Under load, a follower whose catch-up found events looks at the log again only ``LINGER`` seconds
after that catch-up started, and then applies at once whatever arrived meanwhile (notifications
included): a catch-up costs much the same for one event as for fifty, so batches grow with the
load. An event waits at most about ``LINGER`` longer for the views and the chain; the first one
after a quiet spell (``LINGER`` or longer) is applied as soon as the follower is woken.

Exactly once: the projector commits each section's rows with the views' tracking positions, and
the chain stores each batch of links with its head in one transaction, so a follower killed at any
moment resumes where its last commit left off, and two followers never apply an event twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import click

from consult.config import Config, postgres_conninfo

logger = logging.getLogger(__name__)

#: Seconds between polls of the log on SQLite.
DEFAULT_POLL = 0.02

#: The ``--poll`` option of every command that follows the log (consult follow, projections run,
#: audit follow).
poll_option = click.option(
    "--poll",
    default=DEFAULT_POLL,
    show_default=True,
    type=click.FloatRange(0.005, 60),
    help="Seconds between looks at the log on SQLite (PostgreSQL notifies).",
)
#: Seconds a PostgreSQL follower waits for a notification before looking at the log anyway.
SAFETY_POLL = 2.0
#: Seconds from the start of a catch-up that found events to the next look at the log: under load
#: the events of that time are applied together, in one transaction per follower, instead of a
#: few per wake-up (most of a small catch-up's cost is the same whatever it carries). An event
#: waits at most this much longer for the views and the chain; after a quiet spell, not at all.
LINGER = 0.1


class Followed(Protocol):
    """What the followers run on: the bootstrap's runtime (``entrypoints.bootstrap.Runtime``)."""

    @property
    def config(self) -> Config: ...

    @property
    def app(self) -> Any: ...  # the consultation application

    @property
    def projector(self) -> Any: ...  # projections.Projector, or None without the views


class LogWatcher(Protocol):
    def wait(self, timeout: float | None = None) -> None:
        """Return when new events may be in the log, or when stopped; after ``timeout`` s at
        most (by default the watcher's own interval)."""

    def rest(self, seconds: float) -> None:
        """Sleep ``seconds`` (less if stopped) while events gather after a catch-up, taking the
        notifications that arrive meanwhile: the next look at the log covers them."""

    def close(self) -> None: ...


class PollingWatcher:
    """No notifications (SQLite): wake every ``interval`` seconds, or at once when stopped."""

    def __init__(self, interval: float, stop: threading.Event) -> None:
        self.interval = interval
        self.stop = stop

    def wait(self, timeout: float | None = None) -> None:
        self.stop.wait(self.interval if timeout is None else min(timeout, self.interval))

    def rest(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def close(self) -> None:
        return None


class PostgresWatcher:
    """LISTEN on the events table's channel on a connection of its own; wakes on a NOTIFY, after
    ``fallback`` s without one, or within ``tick`` s of ``stop`` being set."""

    def __init__(
        self,
        url: str,
        channel: str,
        stop: threading.Event,
        fallback: float = SAFETY_POLL,
        tick: float = 0.25,
    ) -> None:
        self.conninfo = postgres_conninfo(url)
        self.channel = channel
        self.stop = stop
        self.fallback = fallback
        self.tick = tick
        self._conn: Any = None
        self._connect()

    @property
    def listening(self) -> bool:
        """Whether the notification connection is open (it is reopened after a failure)."""
        return self._conn is not None

    def _connect(self) -> None:
        import psycopg
        from psycopg import sql

        self._conn = psycopg.connect(self.conninfo, autocommit=True)
        self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    def wait(self, timeout: float | None = None) -> None:
        import psycopg

        remaining = self.fallback if timeout is None else timeout
        try:
            if self._conn is None:
                self._connect()
            while remaining > 0 and not self.stop.is_set():
                step = min(self.tick, remaining)
                remaining -= step
                if any(True for _ in self._conn.notifies(timeout=step, stop_after=1)):
                    # several commits may have notified meanwhile: take them all at once
                    for _ in self._conn.notifies(timeout=0):
                        pass
                    return
        except psycopg.Error:
            self._lost()
            self.stop.wait(min(self.tick * 4, remaining if remaining > 0 else self.tick))

    def rest(self, seconds: float) -> None:
        """Sleep, then take the notifications that arrived meanwhile all at once: a busy
        follower does not wait for them, and the server keeps every notification until each
        listener has taken it."""
        import psycopg

        self.stop.wait(seconds)
        try:
            if self._conn is None:
                self._connect()
            for _ in self._conn.notifies(timeout=0):
                pass
        except psycopg.Error:
            self._lost()

    def _lost(self) -> None:
        logger.warning(
            "follower: lost the notification connection; polling until it is back", exc_info=True
        )
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection
                logger.debug("follower: closing the notification connection failed", exc_info=True)


def watcher_for(runtime: Followed, stop: threading.Event, poll: float = DEFAULT_POLL) -> LogWatcher:
    """Notifications where the store sends them (PostgreSQL), else polling."""
    if runtime.config.backend == "postgresql":
        channel = getattr(runtime.app.recorder, "channel_name", None)
        if channel:
            return PostgresWatcher(runtime.config.database_url, channel, stop)
    return PollingWatcher(poll, stop)


def run_followers(
    runtime: Followed,
    stop: threading.Event,
    *,
    projections: bool = True,
    audit: bool = True,
    poll: float = DEFAULT_POLL,
    on_section: Callable[[int, int], None] | None = None,
    on_chained: Callable[[int], None] | None = None,
    ready: Callable[[Any], None] | None = None,
    linger: float = LINGER,
) -> None:
    """Run the followers on ``runtime`` until ``stop`` is set: the projector and the audit chain,
    each in a thread with its own watcher. A follower that fails (a dropped connection) logs it
    and tries again with backoff; it never skips an event. ``linger``: seconds from the start of
    a catch-up that found events to the next look at the log (:data:`LINGER`). The caller closes
    the runtime."""
    threads: list[threading.Thread] = []
    try:
        if projections and runtime.projector is not None:
            projector = runtime.projector
            watcher = watcher_for(runtime, stop, poll)
            threads.append(
                threading.Thread(
                    target=_guarded,
                    args=(
                        "projections",
                        stop,
                        lambda: projector.run_forever(
                            poll,
                            stop,
                            on_section,
                            lambda _t: watcher.wait(),
                            linger,
                            watcher.rest,
                        ),
                        watcher,
                    ),
                    name="follow-projections",
                )
            )
        if audit:
            from consult.audit.chain import chain_follower

            chain = chain_follower(runtime.app, runtime.config)
            chain_watcher = watcher_for(runtime, stop, poll)
            recorder = runtime.app.recorder
            threads.append(
                threading.Thread(
                    target=_guarded,
                    args=(
                        "audit chain",
                        stop,
                        lambda: chain.follow(
                            stop,
                            chain_watcher.wait,
                            lambda: recorder.max_notification_id() or 0,
                            on_chained,
                            linger=linger,
                            rest=chain_watcher.rest,
                        ),
                        chain_watcher,
                        chain.store.close,
                    ),
                    name="follow-audit-chain",
                )
            )
        for thread in threads:
            thread.start()
        if ready is not None:
            ready(runtime)
        while not stop.is_set() and all(t.is_alive() for t in threads):
            stop.wait(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _guarded(
    name: str,
    stop: threading.Event,
    run: Callable[[], None],
    watcher: LogWatcher,
    cleanup: Callable[[], None] | None = None,
) -> None:
    """Run one follower until ``stop``; an error is logged and the follower resumes after a
    backoff (from its last committed position)."""
    backoff = 0.5
    try:
        while not stop.is_set():
            try:
                run()
                return
            except Exception:
                logger.exception(
                    "follower %s failed / 跟随进程出错; resuming in %.1f s", name, backoff
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
    finally:
        watcher.close()
        if cleanup is not None:
            cleanup()


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT (Ctrl-C) stop the followers after the current section."""
    import signal

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def watch_parent(stop: threading.Event, parent: int) -> None:
    """Stop when the process ``parent`` (a supervisor) is gone."""
    import os

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                logger.warning("follower: the supervising process %s is gone; stopping", parent)
                stop.set()

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()
