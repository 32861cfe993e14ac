"""Small reads of the web's tables on the database driver's own connections.

Every signed-in request reads its session and account (:mod:`webapp.signins`). Through the
driver's own cursor that read costs about a quarter of the CPU of the same statement through
SQLAlchemy, whose pool adds a ping before and a rollback after it. :class:`RawReads` keeps a
SQLite connection per thread, or a few autocommit PostgreSQL connections per process, for such
reads; writes go through SQLAlchemy as everywhere else.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine


class RawReads:
    """Runs small reads (``fetch``) on the cheapest connection to ``engine``'s database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(engine.dialect.paramstyle)
        if marker is None:  # SQLite and psycopg are what this product runs on
            raise ValueError(f"no raw reads for the {engine.dialect.name} driver")
        #: The driver's parameter marker, for the statements given to :meth:`fetch`.
        self.marker = marker
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite_file = database if database and database != ":memory:" else None
        self._local = threading.local()
        self._pg = _Readers(engine.url) if engine.dialect.name == "postgresql" else None

    def fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
        """The rows of a small query."""
        if self._sqlite_file:
            return self._sqlite_connection().execute(sql, params).fetchall()
        if self._pg is not None:
            return self._pg.fetch(sql, params)
        connection = self.engine.raw_connection()  # an in-memory SQLite database: the pool's
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            connection.close()

    def close(self) -> None:
        """Let go of the connections opened here (the engine is the caller's)."""
        if self._pg is not None:
            self._pg.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _sqlite_connection(self) -> sqlite3.Connection:
        """A SQLite connection of the thread's own, kept open: no pool to go through."""
        own: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if own is None:
            assert self._sqlite_file is not None
            own = self._local.conn = sqlite3.connect(
                self._sqlite_file, timeout=30, isolation_level=None
            )
        return own


class _Readers:
    """A few autocommit PostgreSQL connections of a process's own: one round trip per read. A
    connection that fails is closed and the read is tried once more on a new one."""

    def __init__(self, url: Any, size: int = 4) -> None:
        from psycopg.conninfo import make_conninfo

        self.conninfo = make_conninfo(
            dbname=url.database or "",
            user=url.username or "",
            password=url.password or "",
            host=url.host or "127.0.0.1",
            port=str(url.port or 5432),
        )
        self._idle: list[Any] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        import psycopg

        with self._slots:
            for attempt in (1, 2):
                conn = self._take()
                try:
                    rows = conn.execute(sql, params).fetchall()
                except psycopg.OperationalError:
                    conn.close()
                    if attempt == 2:
                        raise
                    continue
                self._give(conn)
                return rows
        raise AssertionError("unreachable")

    def _take(self) -> Any:
        import psycopg

        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's connections are not ours
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return psycopg.connect(self.conninfo, autocommit=True)

    def _give(self, conn: Any) -> None:
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
