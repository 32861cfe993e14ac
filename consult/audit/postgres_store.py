"""The audit store in the application's PostgreSQL database (plain ``psycopg``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from consult.audit.core import GENESIS, Checkpoint, EventRow, KeyRecord, LinkRow
from consult.audit.errors import StoreError
from consult.audit.store import AuditStore, ChainHead

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS audit_chain (position bigint PRIMARY KEY, originator_id text NOT NULL, "
    "originator_version bigint NOT NULL, link bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_checkpoints (id bigserial PRIMARY KEY, position bigint NOT NULL, "
    "head text NOT NULL, time text NOT NULL, key_id text NOT NULL, signature text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_keys (key_id text PRIMARY KEY, public_key text NOT NULL, "
    "added text NOT NULL, replaces text, statement text NOT NULL, sig_new text NOT NULL, sig_old text, "
    "seq bigserial)",
)
#: The chain step on the server, in one statement and transaction: lock, read the head, link the
#: next events (the link of consult/audit/core/links.py, in SQL) and store them. The verifier
#: re-derives every link in Python, so the two definitions check each other.
EXTEND = """
CREATE OR REPLACE FUNCTION audit_extend_chain(batch integer, genesis bytea)
RETURNS TABLE (chained integer, head_position bigint, head_link bytea)
LANGUAGE plpgsql AS $body$
DECLARE
    r record;
BEGIN
    LOCK TABLE audit_chain IN EXCLUSIVE MODE;
    chained := 0;
    SELECT c.position, c.link INTO head_position, head_link
        FROM audit_chain c ORDER BY c.position DESC LIMIT 1;
    IF NOT FOUND THEN
        head_position := 0;
        head_link := genesis;
    END IF;
    FOR r IN
        SELECT e.notification_id AS p, encode(uuid_send(e.originator_id), 'hex') AS oid,
               e.originator_version AS v, convert_to(e.topic, 'UTF8') AS t, e.state AS s
        FROM {events} e WHERE e.notification_id > head_position
        ORDER BY e.notification_id LIMIT batch
    LOOP
        head_link := sha256(
            head_link || int8send(r.p)
            || int8send(octet_length(r.oid)::bigint) || convert_to(r.oid, 'UTF8')
            || int8send(r.v)
            || int8send(octet_length(r.t)::bigint) || r.t
            || int8send(octet_length(r.s)::bigint) || r.s);
        INSERT INTO audit_chain (position, originator_id, originator_version, link)
            VALUES (r.p, r.oid, r.v, head_link);
        head_position := r.p;
        chained := chained + 1;
    END LOOP;
    RETURN NEXT;
END
$body$
"""
HEAD = "SELECT position, link FROM audit_chain ORDER BY position DESC LIMIT 1"
CHECKPOINT_COLUMNS = "position, head, time, key_id, signature"
KEY_COLUMNS = "key_id, public_key, added, statement, sig_new, replaces, sig_old"
DDL_LOCK = 0x636F6E7375  # pg_advisory_xact_lock key: one process creates the tables at a time


#: The events' columns as the chain covers them: the UUID as 32 hex digits, made by the server.
EVENT_COLUMNS = (
    "notification_id, encode(uuid_send(originator_id), 'hex'), originator_version, topic, state"
)


def _head(cur: psycopg.Cursor[Any]) -> ChainHead:
    row = cur.execute(HEAD).fetchone()
    return ChainHead(row[0], bytes(row[1])) if row else ChainHead()


def _checkpoints(cur: psycopg.Cursor[Any], tail: str = "") -> list[Checkpoint]:
    rows = cur.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY id {tail}"
    ).fetchall()
    return [Checkpoint(*r) for r in rows]


def _keys(cur: psycopg.Cursor[Any]) -> list[KeyRecord]:
    return [
        KeyRecord(*r)
        for r in cur.execute(f"SELECT {KEY_COLUMNS} FROM audit_keys ORDER BY seq").fetchall()
    ]


class PostgresSnapshot:
    def __init__(self, conn: psycopg.Connection[Any], table: sql.Identifier) -> None:
        self._conn = conn
        self._table = table
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self.chained_to = _head(conn.cursor()).position

    def _stream(
        self, name: str, query: sql.SQL | sql.Composed, params: tuple[Any, ...]
    ) -> Iterator[Any]:
        cur = self._conn.cursor(name=name, binary=True)
        cur.itersize = 20_000
        cur.execute(query, params)
        try:
            yield from cur
        finally:
            cur.close()

    def events(self, after: int = 0, upto: int | None = None) -> Iterator[EventRow]:
        query = sql.SQL(
            f"SELECT {EVENT_COLUMNS} FROM {{}} "
            "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id"
        ).format(self._table)
        limit = upto if upto is not None else 2**63 - 1
        return self._stream("audit_events", query, (after, limit))

    def links(self, after: int = 0) -> Iterator[LinkRow]:
        query = sql.SQL(
            "SELECT position, originator_id, originator_version, link FROM audit_chain "
            "WHERE position > %s AND position <= %s ORDER BY position"
        )
        return self._stream("audit_links", query, (after, self.chained_to))

    def checkpoints(self) -> list[Checkpoint]:
        return _checkpoints(self._conn.cursor())

    def key_records(self) -> list[KeyRecord]:
        return _keys(self._conn.cursor())


class PostgresAuditStore(AuditStore):
    """Chain rows beside ``consult_events``.

    A catch-up is one call of ``audit_extend_chain`` (one round trip); catch-ups serialise on a
    lock of ``audit_chain`` and commit with ``synchronous_commit = off``: the chain is derived from
    the events, so a lost tail is made again by the next catch-up.
    """

    backend = "postgresql"

    def __init__(self, params: Mapping[str, str], events_table: str = "consult_events") -> None:
        self._conninfo = make_conninfo(**params)
        self._table = sql.Identifier(events_table)
        self._lock = threading.Lock()
        try:
            self._conn = self._connect()
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
                for statement in SCHEMA:
                    self._conn.execute(statement)
                self._conn.execute(sql.SQL(EXTEND).format(events=self._table))
            self._conn.execute("SET synchronous_commit = off")
            self._conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 0").format(self._table))
        except psycopg.Error as e:
            raise StoreError(reason=str(e), reason_en=str(e)) from None

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo, autocommit=True)

    def _live(self) -> psycopg.Connection[Any]:
        """The store's connection, made again if the server dropped it (call with the lock held)."""
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
            self._conn.execute("SET synchronous_commit = off")
        return self._conn

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock:
            conn = self._live()
            with conn.transaction():
                yield conn.cursor()

    def extend_chain(self, limit: int) -> tuple[int, ChainHead]:
        with self._lock:
            row = (
                self._live()
                .execute("SELECT * FROM audit_extend_chain(%s, %s)", (limit, GENESIS))
                .fetchone()
            )
        assert row is not None
        return int(row[0]), ChainHead(int(row[1]), bytes(row[2]))

    def head(self) -> ChainHead:
        with self._lock:
            return _head(self._live().cursor())

    def unchained(self) -> int:
        with self._writing() as cur:
            position = _head(cur).position
            query = sql.SQL("SELECT count(*) FROM {} WHERE notification_id > %s").format(
                self._table
            )
            row = cur.execute(query, (position,)).fetchone()
        return int(row[0]) if row else 0

    def log_end(self) -> int:
        with self._writing() as cur:
            query = sql.SQL("SELECT max(notification_id) FROM {}").format(self._table)
            row = cur.execute(query).fetchone()
        return int(row[0] or 0) if row else 0

    @contextmanager
    def reading(self) -> Iterator[PostgresSnapshot]:
        with self._connect() as conn, conn.transaction():
            yield PostgresSnapshot(conn, self._table)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self._writing() as cur:
            cur.execute(
                f"INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
                (
                    checkpoint.position,
                    checkpoint.head,
                    checkpoint.time,
                    checkpoint.key,
                    checkpoint.signature,
                ),
            )

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            return _checkpoints(self._live().cursor())

    def latest_checkpoint(self) -> Checkpoint | None:
        with self._lock:
            found = _checkpoints(self._live().cursor(), "DESC LIMIT 1")
        return found[0] if found else None

    def add_key(self, record: KeyRecord) -> None:
        with self._writing() as cur:
            cur.execute(
                f"INSERT INTO audit_keys ({KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (key_id) DO NOTHING",
                (
                    record.key,
                    record.public_key,
                    record.added,
                    record.statement,
                    record.sig_new,
                    record.replaces,
                    record.sig_old,
                ),
            )

    def key_records(self) -> list[KeyRecord]:
        with self._lock:
            return _keys(self._live().cursor())

    def close(self) -> None:
        with self._lock:
            self._conn.close()
