"""The web layer's own tables (prefix ``web_``): their base, and an engine on the event store's
database (:mod:`webapp.tables` makes them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import StaticPool
from werkzeug.routing import IntegerConverter, Map

from consult.config import backend_of, sqlite_path


class Base(DeclarativeBase):
    pass


#: The largest row id of the web's tables on every store (PostgreSQL's INTEGER).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id the web's tables can hold (0 to :data:`MAX_ID`). A
    larger number does not match the route (404), instead of overflowing the database driver."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def engine_for(url: str) -> Engine:
    """An engine on the event store's database (``memory://`` gets a private in-memory SQLite)."""
    backend = backend_of(url)
    if backend == "postgresql":
        from projections.db import postgres_engine_url

        # The event store's defaults (user postgres, host 127.0.0.1), not libpq's (the OS user,
        # the Unix socket): the web tables belong to the same user in the same database.
        # Up to 20 connections open per process (opened only as threads need them): with
        # SQLAlchemy's default of 5, a worker's other threads connected and disconnected on
        # every request under load.
        return create_engine(
            postgres_engine_url(url), pool_pre_ping=True, pool_size=20, max_overflow=10
        )
    if backend == "memory" or sqlite_path(url) == ":memory:":
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(
            f"sqlite:///{sqlite_path(url)}",
            connect_args={"timeout": 30, "check_same_thread": False},
        )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return engine
