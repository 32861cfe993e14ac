"""The one composition root: reads the configuration and builds the application on its store.

``CONSULT_DATABASE_URL`` chooses the store:

- ``sqlite:///path/to/file.sqlite3`` (the embedded default, under the instance folder),
- ``postgresql://user:password@host:port/dbname`` (production),
- ``memory://`` (in memory, for unit tests and throw-away demos).

``CONSULT_FOLLOWERS`` chooses where the read side and the audit chain are kept up to date:

- ``embedded`` (the single-process default): in the process that saved, after every command;
- ``external``: by separate follower processes (``consult follow``); the web processes only write
  events and read projections, waiting (up to ``CONSULT_READ_WAIT`` seconds, default 5) for the
  followers to reach the position of the user's last command (read-your-writes).

:func:`build_runtime` wires the application, the projector and the audit follower accordingly;
the CLI, ``consult serve``, the web factory, the demo and ``consult follow`` all use it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from consult.clock import Clock
from consult.errors import SettingError
from consult.storecheck import connect_postgres, sqlite_folder

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from consult.audit.chain import ChainFollower
    from projections.projector import Projector
    from projections.queries import Queries

logger = logging.getLogger(__name__)

DEFAULT_INSTANCE = "instance"
EMBEDDED = "embedded"
EXTERNAL = "external"
FOLLOWER_MODES = (EMBEDDED, EXTERNAL)
DEFAULT_READ_WAIT = 5.0


@dataclass(frozen=True)
class Config:
    database_url: str
    instance_path: Path
    #: where projections and the audit chain are kept up to date: ``embedded`` or ``external``
    followers: str = EMBEDDED
    #: seconds a web request waits for the read side to reach the user's last command
    read_wait: float = DEFAULT_READ_WAIT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        instance = Path(env.get("CONSULT_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()
        url = env.get("CONSULT_DATABASE_URL")
        if not url:  # the embedded default, in the instance folder (made here, as Flask's is)
            instance.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{instance / 'consult.sqlite3'}"
        return cls(
            database_url=url,
            instance_path=instance,
            followers=followers_mode(env.get("CONSULT_FOLLOWERS") or EMBEDDED),
            read_wait=_read_wait(env.get("CONSULT_READ_WAIT") or str(DEFAULT_READ_WAIT)),
        )

    @property
    def backend(self) -> str:
        return backend_of(self.database_url)


def followers_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in FOLLOWER_MODES:
        raise SettingError(
            field="CONSULT_FOLLOWERS",
            reason=f"CONSULT_FOLLOWERS 须为 embedded（进程内）或 external（独立的跟随进程），而不是“{value}”",
            reason_en=f"CONSULT_FOLLOWERS must be embedded (in-process) or external (separate follower processes), not '{value}'",
        )
    return mode


def _read_wait(value: str) -> float:
    return seconds_setting("CONSULT_READ_WAIT", value, 0, 600)


def seconds_setting(name: str, value: str, low: float, high: float) -> float:
    """A setting that is a number of seconds from ``low`` to ``high``; a clear error otherwise."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:  # also refuses nan
        raise SettingError(
            field=name,
            reason=f"{name} 须为{low:g}至{high:g}之间的秒数，而不是“{value}”",
            reason_en=f"{name} must be a number of seconds from {low:g} to {high:g}, not '{value}'",
        )
    return seconds


def yes_no_setting(name: str, value: str | None, default: bool) -> bool:
    """A yes/no setting (unset or empty: ``default``); anything else is refused by name, not
    silently read as one or the other."""
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    raise SettingError(
        field=name,
        reason=f"{name} 须为 1 或 0（是或否），而不是“{value}”",
        reason_en=f"{name} must be 1 or 0 (yes or no), not '{value}'",
    )


def backend_of(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return "postgresql"
    if scheme == "memory":
        return "memory"
    raise SettingError(
        field="CONSULT_DATABASE_URL",
        reason=f"不支持的数据库地址“{url}”：须以 sqlite:///、postgresql:// 或 memory:// 开头",
        reason_en=f"unsupported database URL '{url}': use sqlite:///, postgresql:// or memory://",
    )


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///`` URL (``sqlite:////abs/path`` or ``sqlite:///rel/path``)."""
    path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
    if not path:
        raise SettingError(
            field="CONSULT_DATABASE_URL",
            reason="SQLite 地址须包含文件路径，如 sqlite:///instance/consult.sqlite3",
            reason_en="a SQLite URL needs a file path, e.g. sqlite:///instance/consult.sqlite3",
        )
    return unquote(path)


def eventsourcing_env(url: str) -> dict[str, str]:
    """The `eventsourcing` persistence settings for a database URL."""
    backend = backend_of(url)
    if backend == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if backend == "sqlite":
        path = sqlite_path(url)
        sqlite_folder(path)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            # one INSERT per transaction (consult.eventstore)
            "APPLICATION_RECORDER_TOPIC": "consult.eventstore:BatchedSQLiteApplicationRecorder",
        }
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise SettingError(
            field="CONSULT_DATABASE_URL",
            reason="PostgreSQL 地址中的端口无效（须为1至65535的整数）",
            reason_en="the port in the PostgreSQL URL is invalid (a whole number from 1 to 65535)",
        )
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise SettingError(
            field="CONSULT_DATABASE_URL",
            reason="PostgreSQL 地址须包含数据库名",
            reason_en="a PostgreSQL URL needs a database name",
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "20",
        "POSTGRES_CONN_MAX_AGE": "",
        "POSTGRES_LOCK_TIMEOUT": "30",
        # one round trip for the lock, one INSERT of plain arrays (consult.eventstore)
        "APPLICATION_RECORDER_TOPIC": "consult.eventstore:BatchedPostgresApplicationRecorder",
    }


def postgres_params(url: str) -> dict[str, str]:
    """The libpq connection parameters of a PostgreSQL URL, with the event store's defaults
    (host 127.0.0.1, port 5432, user postgres; user and password percent-decoded). Every part
    that connects (events, views, audit chain, web tables, notifications) uses these, so that
    all of them reach the same database as the same user."""
    env = eventsourcing_env(url)
    return {
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "dbname": env["POSTGRES_DBNAME"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
    }


def build_app(url: str | None = None, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    """Build the consultation application on the configured store."""
    from consult.application import ConsultationApp

    database_url = url or Config.from_env().database_url
    settings = eventsourcing_env(database_url)
    # eventsourcing reads "CONSULT_<KEY>" before "<KEY>": set both, so that no stray variable in
    # the environment can send the events to another store than the URL names.
    prefix = ConsultationApp.name.upper() + "_"
    env = {**ConsultationApp.env, **settings, **{prefix + k: v for k, v in settings.items()}}
    with _schema_lock(database_url):
        return ConsultationApp(env=env, clock=clock)


#: pg_advisory_lock key held while an application creates its tables and functions
SCHEMA_LOCK = 0x636F6E7301


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """On PostgreSQL, one process at a time creates the store's tables and functions (several
    web workers and followers starting at once would otherwise fail with "tuple concurrently
    updated" on ``CREATE OR REPLACE FUNCTION``).

    Its connection is also the store's probe: without one, StoreUnavailableError says why within
    a few seconds (consult.storecheck), before the pools are built (they would wait 30 s)."""
    if backend_of(url) != "postgresql":
        yield
        return
    conn = connect_postgres(postgres_params(url))
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        yield


def postgres_conninfo(url: str) -> str:
    """A libpq connection string for a ``postgresql://`` database URL (any accepted scheme),
    with the same defaults as the event store (:func:`postgres_params`)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**postgres_params(url))


class Runtime:
    """The application and what keeps its read side and audit chain up to date in one process.

    Built by :func:`build_runtime`; :meth:`close` stops the background threads, chains what is
    left (embedded mode) and disposes the engines. Also a context manager.
    """

    def __init__(
        self,
        config: Config,
        app: ConsultationApp,
        followers: str,
        projector: Projector | None,
        queries: Queries | None,
        chain: ChainFollower | None,
        owns_app: bool = False,
        owns_projector: bool = False,
        catch_up_on_close: bool = False,
    ) -> None:
        self.config = config
        self.app = app
        self.followers = followers
        self.projector = projector
        self.queries = queries
        #: the audit chain follower kept in this process (embedded mode), else None
        self.chain = chain
        self._owns_app = owns_app
        self._owns_projector = owns_projector
        self._catch_up_on_close = catch_up_on_close
        self._closed = False
        self._close_lock = threading.Lock()

    def wait(self, position: int, timeout: float | None = None) -> bool:
        """Read-your-writes: wait until the projections have applied the log up to ``position``
        (at most ``timeout`` seconds, by default ``config.read_wait``). False when they have not
        got there in time: the caller must say that what it shows may be behind.

        It looks at the views' tracking positions every few milliseconds (a one-row read), so
        that a page waits for the follower's commit, not for a slow poll; not at all while a view
        is stalled (``projections.faults``)."""
        if self.projector is None or position <= 0:
            return True
        limit = self.config.read_wait if timeout is None else timeout
        deadline = time.monotonic() + limit
        delay = 0.001
        looked = False
        while True:
            reached = self.projector.position()
            if reached >= position:
                return True
            if not looked:  # a stalled view will not get there: no use waiting for it
                looked = True
                if self.projector.faults():
                    return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "read side behind: at position %s, not %s after %s s", reached, position, limit
                )
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._catch_up_on_close and self.projector is not None:
            try:
                self.projector.catch_up()
            except Exception:  # a follower or the next command catches up; closing must not fail
                logger.exception("projections: final catch-up failed")
        if self.chain is not None:
            if self.chain in self.app.listeners:
                self.app.listeners.remove(self.chain)
            self.chain.stop()
            try:
                self.chain.catch_up()  # what the stopped thread had not chained yet
            except Exception:  # the next follower chains it; closing must not fail
                logger.exception("audit chain: final catch-up failed")
            finally:
                self.chain.store.close()
        if self.projector is not None and self._owns_projector:
            self.projector.dispose()
        if self._owns_app:
            self.app.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_runtime(
    config: Config | None = None,
    *,
    followers: str | None = None,
    clock: Clock | None = None,
    app: ConsultationApp | None = None,
    projections: bool = True,
    audit: bool = True,
    batch: bool = False,
) -> Runtime:
    """The composition root: the application on the configured store, with its read side.

    ``followers`` (default ``config.followers``): ``embedded`` attaches the projector (views
    updated after every save) and the audit chain follower (a background thread batching saves)
    to the application; ``external`` attaches neither: ``consult follow`` does that work in its
    own process, and this process only writes events and reads the views.

    ``batch`` (embedded, for commands that save many times: the CLI, the demo): the views and
    the chain are brought up to date once, when the runtime closes, not after every save.

    ``app`` wraps an application built elsewhere (tests); it is then not closed by
    :meth:`Runtime.close`. ``projections`` / ``audit`` = False leave that part out.
    """
    config = config or Config.from_env()
    mode = followers_mode(followers or config.followers)
    if mode == EXTERNAL and config.backend == "memory":
        raise SettingError(
            field="CONSULT_FOLLOWERS",
            reason="内存存储无法由其他进程跟随：external 模式须使用 SQLite 或 PostgreSQL",
            reason_en="an in-memory store cannot be followed by another process: external mode needs SQLite or PostgreSQL",
        )
    owns_app = app is None
    if app is None:
        app = build_app(config.database_url, clock)
    projector: Projector | None = None
    queries: Queries | None = None
    chain: ChainFollower | None = None
    made: Projector | None = None
    try:
        if projections:
            from projections import Projector, Queries, open_store
            from projections import attach as attach_projector

            projector = getattr(app, "projector", None)
            if projector is None:
                projector = made = Projector(app, open_store(config.database_url))
                app.projector = projector  # type: ignore[union-attr]
                if mode == EMBEDDED and not batch:
                    attach_projector(app, projector)
                    projector.catch_up()
            queries = Queries(projector.store, app)
        if audit and mode == EMBEDDED:
            from consult.audit.chain import attach_configured, chain_follower

            chain = chain_follower(app, config) if batch else attach_configured(app, config)
    except BaseException:
        if made is not None:
            made.dispose()
        if owns_app:
            app.close()
        raise
    return Runtime(
        config,
        app,
        mode,
        projector,
        queries,
        chain,
        owns_app,
        made is not None,
        batch and mode == EMBEDDED,
    )
