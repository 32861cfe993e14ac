"""Which audit store keeps the chain beside an event store: :func:`open_store` picks the
implementation of :class:`consult.audit.store.AuditStore` for the store's database URL."""

from __future__ import annotations

import weakref
from typing import Any

from consult.audit.errors import StoreError
from consult.audit.memory_store import MemoryAuditStore
from consult.audit.postgres_store import PostgresAuditStore
from consult.audit.sqlite_store import SQLiteAuditStore
from consult.audit.store import AuditStore
from consult.config import backend_of, eventsourcing_env, sqlite_path

_memory_stores: weakref.WeakKeyDictionary[Any, AuditStore] = weakref.WeakKeyDictionary()


def open_store(url: str, app: Any = None) -> AuditStore:
    """The audit store beside the event store at ``url`` (an in-memory store needs its ``app``).

    ``app`` (a ConsultationApp), when given, supplies the events table's name.
    """
    backend = backend_of(url)
    table = getattr(getattr(app, "recorder", None), "events_table_name", None)
    if backend == "memory":
        if app is None:
            raise StoreError(
                reason="内存存储须与应用一起打开",
                reason_en="an in-memory store needs its application",
            )
        store = _memory_stores.get(app.recorder)
        if store is None:
            store = _memory_stores[app.recorder] = MemoryAuditStore(app.recorder)
        return store
    if backend == "sqlite":
        path = sqlite_path(url)
        if path == ":memory:":
            raise StoreError(
                reason="SQLite 内存库无法共享",
                reason_en="an in-memory SQLite database cannot be shared",
            )
        return SQLiteAuditStore(path, table or "stored_events")
    env = eventsourcing_env(url)
    params = {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
    }
    return PostgresAuditStore(params, table or "consult_events")
