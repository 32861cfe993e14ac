"""The event store's SQLite recorder, with one INSERT statement per transaction.

``eventsourcing``'s SQLite application recorder inserts a transaction's events one statement at a
time. Python's ``sqlite3`` releases the interpreter lock around every statement, and in a web
worker, where other threads run Python code, taking it back costs up to the interpreter's switch
interval (5 ms) each time: a group commit of ten ballots waited about 50 ms for the lock, not for
the disk (measured with ``bench/load_bench.py``; docs/benchmarks.md, "Load over HTTP").

:class:`BatchedSQLiteApplicationRecorder` inserts all the events of a transaction with one
multi-row ``INSERT`` (in chunks that stay under SQLite's limit of bound parameters). The
notification ids are the rows' ``rowid``s: a multi-row insert into a table without
``AUTOINCREMENT``, inside the write transaction that holds the file's lock, gives its rows
consecutive rowids, so the statement's last rowid and the count give every one of them. It is
chosen with ``APPLICATION_RECORDER_TOPIC`` (``consult.config.eventsourcing_env``).

:class:`BatchedPostgresApplicationRecorder` does the same for PostgreSQL. The library puts a
transaction through psycopg's pipeline (lock timeout, table lock, notify, insert, sync, commit) with
the events as an array of a composite type; both are adapted in Python, about 1.5 ms of a web
worker's CPU for a group commit of ten ballots (docs/benchmarks.md, fourth pass). Here the lock
timeout, the table lock and the notification go in one simple query, and the events in one
``INSERT ... SELECT FROM unnest(...)`` of four plain arrays, which psycopg adapts in C; the same
statements in the same transaction, so the same guarantees (log positions follow commit order).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

#: Rows per INSERT statement: four parameters each, under SQLite's 32,766 (and far under the
#: largest group commit, 256 ballots).
ROWS_PER_STATEMENT = 2000


class BatchedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """See the module's docstring."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Up to :data:`ROWS_PER_STATEMENT` events: one statement on a connection in autocommit
        mode, which SQLite runs as a transaction of its own (all rows or none, then the commit)
        in a single call, so the interpreter lock is released and taken back once. More: in an
        explicit transaction, as the library does."""
        if not 2 <= len(stored_events) <= ROWS_PER_STATEMENT:
            return super().insert_events(stored_events, **kwargs)
        statement, params = _insert(self.events_table_name, stored_events)
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            with cursor as raw:
                try:
                    raw.execute(statement, params)
                except sqlite3.IntegrityError as error:
                    raise IntegrityError(error) from error
                except sqlite3.OperationalError as error:
                    raise OperationalError(error) from error
                except sqlite3.DatabaseError as error:
                    raise DatabaseError(error) from error
                last = int(raw.lastrowid or 0)
        return range(last - len(stored_events) + 1, last + 1)

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if len(stored_events) < 2:
            return super()._insert_events(c, stored_events, **kwargs)
        ids: list[int] = []
        for start in range(0, len(stored_events), ROWS_PER_STATEMENT):
            chunk = stored_events[start : start + ROWS_PER_STATEMENT]
            c.execute(*_insert(self.events_table_name, chunk))
            last = int(c.lastrowid)
            ids.extend(range(last - len(chunk) + 1, last + 1))
        return ids


def _insert(table: str, events: Sequence[StoredEvent]) -> tuple[str, list[Any]]:
    """One INSERT statement for ``events`` and its parameters."""
    params: list[Any] = []
    for s in events:
        oid = s.originator_id
        params += (
            oid.hex if isinstance(oid, UUID) else oid,
            s.originator_version,
            s.topic,
            s.state,
        )
    return _insert_statement(table, len(events)), params


@functools.lru_cache(maxsize=512)
def _insert_statement(table: str, rows: int) -> str:
    return f"INSERT INTO {table} VALUES " + ",".join(["(?,?,?,?)"] * rows)


class BatchedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """See the module's docstring. A single event goes the library's way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema, table = Identifier(self.datastore.schema), Identifier(self.events_table_name)
        self._before_insert: Composed = SQL("; ").join(
            [*self.lock_table_statements, SQL("NOTIFY {0}").format(Identifier(self.channel_name))]
        )
        self._insert_arrays = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=schema, table=table, id_type=SQL(self.datastore.originator_id_type))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if len(stored_events) < 2 or kwargs:
            return super().insert_events(stored_events, **kwargs)
        columns: tuple[list[Any], list[int], list[str], list[bytes]] = ([], [], [], [])
        for e in stored_events:
            columns[0].append(e.originator_id)
            columns[1].append(e.originator_version)
            columns[2].append(e.topic)
            columns[3].append(e.state)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._before_insert)  # no parameters: one round trip for all three
            curs.execute(self._insert_arrays, columns, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]
