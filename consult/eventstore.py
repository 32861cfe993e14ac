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
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatabaseError, IntegrityError, OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

#: Rows per INSERT statement: four parameters each, under SQLite's 32,766 (and far under the
#: largest group commit, 256 ballots).
ROWS_PER_STATEMENT = 2000

TOPIC = "consult.eventstore:BatchedSQLiteApplicationRecorder"


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
