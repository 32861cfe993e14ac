"""The audit store in the application's SQLite file (plain ``sqlite3``)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consult.audit.core import Checkpoint, EventRow, KeyRecord, LinkRow, derive_links
from consult.audit.errors import StoreError
from consult.audit.store import AuditStore, ChainHead

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS audit_chain (position INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
    "originator_version INTEGER NOT NULL, link BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_checkpoints (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "position INTEGER NOT NULL, head TEXT NOT NULL, time TEXT NOT NULL, key_id TEXT NOT NULL, "
    "signature TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_keys (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, "
    "added TEXT NOT NULL, replaces TEXT, statement TEXT NOT NULL, sig_new TEXT NOT NULL, sig_old TEXT)",
)
HEAD = "SELECT position, link FROM audit_chain ORDER BY position DESC LIMIT 1"
CHECKPOINT_COLUMNS = "position, head, time, key_id, signature"
KEY_COLUMNS = "key_id, public_key, added, statement, sig_new, replaces, sig_old"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _head(conn: sqlite3.Connection) -> ChainHead:
    row = conn.execute(HEAD).fetchone()
    return ChainHead(row[0], row[1]) if row else ChainHead()


class SQLiteSnapshot:
    def __init__(self, conn: sqlite3.Connection, table: str) -> None:
        self._conn = conn
        self._table = table
        conn.execute("BEGIN")
        self.chained_to = _head(conn).position  # the first read fixes the snapshot

    def events(self, after: int = 0, upto: int | None = None) -> Iterator[EventRow]:
        sql = f"SELECT rowid, originator_id, originator_version, topic, state FROM {self._table} WHERE rowid > ?"
        if upto is None:
            return iter(self._conn.execute(sql + " ORDER BY rowid", (after,)))
        return iter(self._conn.execute(sql + " AND rowid <= ? ORDER BY rowid", (after, upto)))

    def links(self, after: int = 0) -> Iterator[LinkRow]:
        return iter(
            self._conn.execute(
                "SELECT position, originator_id, originator_version, link FROM audit_chain "
                "WHERE position > ? AND position <= ? ORDER BY position",
                (after, self.chained_to),
            )
        )

    def checkpoints(self) -> list[Checkpoint]:
        return _checkpoints(self._conn, "")

    def key_records(self) -> list[KeyRecord]:
        return _keys(self._conn)


def _checkpoints(conn: sqlite3.Connection, tail: str) -> list[Checkpoint]:
    rows = conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY id {tail}"
    ).fetchall()
    return [Checkpoint(*r) for r in rows]


def _keys(conn: sqlite3.Connection) -> list[KeyRecord]:
    return [
        KeyRecord(*r) for r in conn.execute(f"SELECT {KEY_COLUMNS} FROM audit_keys ORDER BY rowid")
    ]


class SQLiteAuditStore(AuditStore):
    """Chain rows in the same file as ``stored_events``.

    The chain connection commits with ``synchronous=NORMAL``: the chain is derived from the events,
    so links lost to a power cut are made again by the next catch-up, and the ballot path pays no
    second fsync.
    """

    backend = "sqlite"

    def __init__(self, path: str, events_table: str = "stored_events") -> None:
        self.path = path
        self.table = events_table
        self._lock = threading.Lock()
        if not Path(path).is_file():
            raise StoreError(
                reason=f"数据库文件 {path} 不存在", reason_en=f"there is no database file {path}"
            )
        try:
            self._conn = _connect(path)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                self._conn.execute(statement)
            self._conn.execute(f"SELECT 1 FROM {events_table} LIMIT 0")
        except sqlite3.Error as e:
            raise StoreError(reason=f"{path}: {e}", reason_en=f"{path}: {e}") from None
        self._select = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def extend_chain(self, limit: int) -> tuple[int, ChainHead]:
        with self._writing() as conn:
            head = _head(conn)
            links = derive_links(
                head.link, conn.execute(self._select, (head.position, limit)).fetchall()
            )
            if not links:
                return 0, head
            conn.executemany("INSERT INTO audit_chain VALUES (?, ?, ?, ?)", links)
        return len(links), ChainHead(links[-1][0], links[-1][3])

    def head(self) -> ChainHead:
        with self._lock:
            return _head(self._conn)

    def unchained(self) -> int:
        with self._lock:
            position = _head(self._conn).position
            row = self._conn.execute(
                f"SELECT count(*) FROM {self.table} WHERE rowid > ?", (position,)
            ).fetchone()
        return int(row[0])

    def log_end(self) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT max(rowid) FROM {self.table}").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def reading(self) -> Iterator[SQLiteSnapshot]:
        conn = _connect(self.path)
        try:
            yield SQLiteSnapshot(conn, self.table)
        finally:
            conn.close()

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self._writing() as conn:
            conn.execute(
                f"INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
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
            return _checkpoints(self._conn, "")

    def latest_checkpoint(self) -> Checkpoint | None:
        with self._lock:
            found = _checkpoints(self._conn, "DESC LIMIT 1")
        return found[0] if found else None

    def add_key(self, record: KeyRecord) -> None:
        values: tuple[Any, ...] = (
            record.key,
            record.public_key,
            record.added,
            record.statement,
            record.sig_new,
            record.replaces,
            record.sig_old,
        )
        with self._writing() as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO audit_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def key_records(self) -> list[KeyRecord]:
        with self._lock:
            return _keys(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
