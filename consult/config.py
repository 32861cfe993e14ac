"""The one composition root: reads the configuration and builds the application on its store.

``CONSULT_DATABASE_URL`` chooses the store:

- ``sqlite:///path/to/file.sqlite3`` (the embedded default, under the instance folder),
- ``postgresql://user:password@host:port/dbname`` (production),
- ``memory://`` (in memory, for unit tests and throw-away demos).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from consult.clock import Clock
from consult.errors import SettingError

DEFAULT_INSTANCE = "instance"


@dataclass(frozen=True)
class Config:
    database_url: str
    instance_path: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        instance = Path(env.get("CONSULT_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()
        url = env.get("CONSULT_DATABASE_URL") or f"sqlite:///{instance / 'consult.sqlite3'}"
        return cls(database_url=url, instance_path=instance)

    @property
    def backend(self) -> str:
        return backend_of(self.database_url)


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
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
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
    return ConsultationApp(env=env, clock=clock)
