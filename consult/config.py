"""The settings: which store, where the read side is kept, and the parsers of setting values.

``CONSULT_DATABASE_URL`` chooses the store:

- ``sqlite:///path/to/file.sqlite3`` (the embedded default, under the instance folder),
- ``postgresql://user:password@host:port/dbname`` (production),
- ``memory://`` (in memory, for unit tests and throw-away demos).

``CONSULT_FOLLOWERS`` chooses where the read side and the audit chain are kept up to date:

- ``embedded`` (the single-process default): in the process that saved, after every command;
- ``external``: by separate follower processes (``consult follow``); the web processes only write
  events and read projections, waiting (up to ``CONSULT_READ_WAIT`` seconds, default 5) for the
  followers to reach the position of the user's last command (read-your-writes).

A leaf: it builds nothing. The application, the projector and the audit chain are built from
these settings by the bootstrap, :mod:`entrypoints.bootstrap`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from consult.errors import SettingError

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


def sqlite_folder(path: str) -> None:
    """Refuse a SQLite database file whose folder does not exist, naming both absolute paths,
    rather than creating folders relative to wherever a command runs (as the sqlite3 shell and
    SQLAlchemy refuse it too)."""
    if path == ":memory:":
        return
    file = Path(path).absolute()
    folder = file.parent
    if folder.is_dir():
        return
    raise SettingError(
        field="CONSULT_DATABASE_URL",
        reason=(
            f"数据库文件 {file} 所在的文件夹 {folder} 不存在。请先创建它（mkdir -p {folder}），"
            "或改正 CONSULT_DATABASE_URL：sqlite:/// 之后是相对于当前文件夹的路径，"
            "sqlite://// 之后是绝对路径"
        ),
        reason_en=(
            f"the folder {folder} of the database file {file} does not exist. Create it first "
            f"(mkdir -p {folder}) or correct CONSULT_DATABASE_URL: after sqlite:/// comes a path "
            "relative to the current folder, after sqlite://// an absolute path"
        ),
    )


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
            # one INSERT per transaction (consult.adapters.eventstore)
            "APPLICATION_RECORDER_TOPIC": "consult.adapters.eventstore:BatchedSQLiteApplicationRecorder",
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
        # one round trip for the lock, one INSERT of plain arrays (consult.adapters.eventstore)
        "APPLICATION_RECORDER_TOPIC": "consult.adapters.eventstore:BatchedPostgresApplicationRecorder",
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


def postgres_conninfo(url: str) -> str:
    """A libpq connection string for a ``postgresql://`` database URL (any accepted scheme),
    with the same defaults as the event store (:func:`postgres_params`)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**postgres_params(url))
