"""Where the read models live: SQL tables beside the event store, one store class per backend.

Views are SQLAlchemy Core tables named ``view_*`` in the same database as the events (a separate
in-memory SQLite database for ``memory://``). ``view_tracking`` holds, for each view, the last
notification id it has applied; a view's rows and its position commit in one transaction, so an
update is applied exactly once however the process dies.

Stored values are exact and the same on every backend: ids are 32-character hex strings, moments
are integer microseconds since the Unix epoch (UTC), areas are integer hundredths of m². Text goes
through :func:`storable` (the view columns' types :class:`ViewText` and :class:`ViewString`), so
that whatever text the event store accepted fits in a view on every backend.

What differs per backend is behind :class:`ViewStore`:

- how a section of updates gets the one updater lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL a
  transaction-scoped advisory lock), and how a reader gets a consistent snapshot;
- upserts (``INSERT .. ON CONFLICT`` through each dialect's own construct);
- the parameter style of bulk inserts sent straight to the driver (the rebuild's hot path).
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from consult.config import backend_of, postgres_params, sqlite_path

metadata = sa.MetaData()

#: One row per view: the last notification id applied, and the view's schema version.
tracking = sa.Table(
    "view_tracking",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """A timezone-aware moment as integer microseconds since the epoch (exact, sortable)."""
    if moment.tzinfo is None:
        raise ValueError(f"a moment must be timezone-aware: {moment!r}")
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def maybe_moment(value: int | None) -> datetime | None:
    return None if value is None else moment(value)


def hundredths(area: Decimal) -> int:
    """An area in m² as integer hundredths; areas on the roll have at most two decimals."""
    scaled = area.scaleb(2)
    whole = int(scaled)
    if scaled != whole:
        raise ValueError(f"an area has at most two decimals: {area}")
    return whole


def area(value: int) -> Decimal:
    """Integer hundredths of m² back to an exact Decimal with two decimals."""
    return Decimal(value).scaleb(-2)


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every backend can store it in a view: a NUL character (which a PostgreSQL text
    value cannot hold) becomes U+2400 SYMBOL FOR NULL "␀", a lone surrogate (which UTF-8 cannot
    encode) U+FFFD "�"; all else is kept. The event keeps the original; only the view shows the
    substitute, the same on every backend (so a rebuild on either gives the same rows)."""
    if "\x00" in text:
        text = text.replace("\x00", "\u2400")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


class ViewString(sa.types.TypeDecorator[str]):
    """A view's string column (ids, stages, kinds): every value written goes through
    :func:`storable`."""

    impl: type[sa.String] = sa.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else storable(value)


class ViewText(ViewString):
    """A view's text column: as :class:`ViewString`, of unbounded length."""

    impl = sa.Text
    cache_ok = True


class ViewStore(ABC):
    """The database that holds the views; one subclass per backend."""

    backend: str

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction holding the updater lock: only one section is applied at a time,
        across threads and processes; rows and tracking positions commit together."""
        with self.engine.connect() as conn:
            self._prepare_write(conn)
            with conn.begin():
                self._lock(conn)
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction seeing one consistent snapshot of every view."""
        with self.engine.connect() as conn:
            self._snapshot(conn)
            with conn.begin():
                yield conn

    def _prepare_write(self, conn: Connection) -> None:
        return None

    @abstractmethod
    def _lock(self, conn: Connection) -> None: ...

    def _snapshot(self, conn: Connection) -> None:
        return None

    # --- statements that differ by dialect -------------------------------------------------

    @abstractmethod
    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT construct (it has ``on_conflict_do_update``)."""

    def upsert(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
    ) -> None:
        """Insert rows, replacing the non-key columns of rows whose keys exist."""
        if not rows:
            return
        stmt = self._insert(table)
        columns = [c for c in rows[0] if c not in keys]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
        conn.execute(stmt, list(rows))

    placeholder = "?"
    #: Rows per INSERT statement of ``insert_values`` (one statement, many rows: far fewer
    #: round trips through the driver than one row per statement).
    rows_per_statement = 100

    def insert_values(
        self, conn: Connection, table: sa.Table, columns: Sequence[str], values: list[Any]
    ) -> None:
        """Bulk insert straight through the driver (no per-row processing) of rows given one
        after another in ``values`` (``len(columns)`` values each); they must already be driver
        values (str, int, bool, None), their text already :func:`storable`."""
        width = len(columns)
        if len(values) % width:
            raise ValueError(f"{len(values)} values do not make rows of {width}")
        if not values:
            return
        names = ", ".join(columns)
        row = "(" + ", ".join([self.placeholder] * width) + ")"
        per = self.rows_per_statement * width
        full = len(values) - len(values) % per
        if full:
            statement = f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join(
                [row] * self.rows_per_statement
            )
            conn.exec_driver_sql(
                statement, [tuple(values[i : i + per]) for i in range(0, full, per)]
            )
        if full < len(values):
            rest = (len(values) - full) // width
            statement = f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join([row] * rest)
            conn.exec_driver_sql(statement, tuple(values[full:]))

    # --- schema -----------------------------------------------------------------------------

    def create(self, conn: Connection, tables: Sequence[sa.Table]) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    def drop(self, conn: Connection, tables: Sequence[sa.Table]) -> None:
        for table in reversed(tables):
            table.drop(conn, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()


class SQLiteStore(ViewStore):
    """Views in the event store's SQLite file (WAL). Writers take the file's write lock with
    ``BEGIN IMMEDIATE``; readers see a snapshot. View commits use ``synchronous=NORMAL``: a commit
    lost to a power cut loses rows and position together, and is simply applied again."""

    backend = "sqlite"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)

    @classmethod
    def for_file(cls, path: str) -> SQLiteStore:
        engine = sa.create_engine(
            f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False}
        )
        return cls(engine)

    def _prepare_write(self, conn: Connection) -> None:
        conn.execution_options(consult_write=True)  # the "begin" listener says BEGIN IMMEDIATE

    def _lock(self, conn: Connection) -> None:  # BEGIN IMMEDIATE took it
        return None

    def _insert(self, table: sa.Table) -> Any:
        return sqlite.insert(table)


class MemoryStore(SQLiteStore):
    """Views for ``memory://``: one in-memory SQLite connection shared by every thread, so every
    use of it is serialised by a lock (for tests and throw-away demos)."""

    def __init__(self) -> None:
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        super().__init__(engine)
        self._guard = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._guard, super().write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._guard, super().read() as conn:
            yield conn


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: the ballot index of a large rebuild
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("consult_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: The key of the transaction-scoped advisory lock that serialises updaters on PostgreSQL.
ADVISORY_LOCK_KEY = 0x636F6E73756C74  # "consult"
_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")


class PostgresStore(ViewStore):
    """Views in the event store's PostgreSQL database. Updaters serialise on an advisory lock
    taken inside their transaction (READ COMMITTED, so they see what the last one committed);
    readers use REPEATABLE READ for one snapshot across their statements."""

    backend = "postgresql"
    placeholder = "%s"

    @classmethod
    def for_url(cls, url: str) -> PostgresStore:
        return cls(
            sa.create_engine(
                postgres_engine_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10
            )
        )

    def _lock(self, conn: Connection) -> None:
        conn.execute(_ADVISORY_LOCK, {"key": ADVISORY_LOCK_KEY})

    def insert_values(
        self, conn: Connection, table: sa.Table, columns: Sequence[str], values: list[Any]
    ) -> None:
        """As :meth:`ViewStore.insert_values`, by ``COPY`` in the same transaction: a statement
        of many rows would be parsed again by psycopg at every execution (it keeps its parse of
        a statement of at most 50 parameters), which cost more than the rows of a live section;
        ``COPY`` takes any number of rows for the same small cost, and a rebuild's too."""
        width = len(columns)
        if len(values) % width:
            raise ValueError(f"{len(values)} values do not make rows of {width}")
        if not values:
            return
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for i in range(0, len(values), width):
                copy.write_row(values[i : i + width])

    def _snapshot(self, conn: Connection) -> None:
        conn.execution_options(isolation_level="REPEATABLE READ")

    def _insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)


def postgres_engine_url(url: str) -> sa.engine.URL:
    """The SQLAlchemy URL of a PostgreSQL ``CONSULT_DATABASE_URL``: the same server, database and
    user as the event store (:func:`consult.config.postgres_params`)."""
    params = postgres_params(url)
    return sa.engine.URL.create(
        "postgresql+psycopg",
        username=params["user"],
        password=params["password"] or None,
        host=params["host"],
        port=int(params["port"]),
        database=params["dbname"],
    )


def open_store(url: str) -> ViewStore:
    """The view store for a ``CONSULT_DATABASE_URL``: the same database as the event store."""
    backend = backend_of(url)
    if backend == "memory":
        return MemoryStore()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path == ":memory:":
            return MemoryStore()
        return SQLiteStore.for_file(path)
    return PostgresStore.for_url(url)
