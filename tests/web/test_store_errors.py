"""When the store cannot be reached, a request gets a clear 503 with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import OperationalError as StoreOperationalError

from consult.config import Config
from entrypoints.bootstrap import build_web
from tests.conftest import free_port
from tests.web.conftest import WEB_ENV
from webapp.errors import is_store_unavailable
from webapp.security import Rule


def refused() -> psycopg.OperationalError:
    try:
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", connect_timeout=2)
    except psycopg.OperationalError as e:
        return e
    raise AssertionError("a closed port accepted a connection")


def test_refused_connections_and_locks_are_unavailable_but_schema_errors_are_not(
    tmp_path: Path,
) -> None:
    error = refused()
    assert is_store_unavailable(error)
    try:  # as the event store reports it: the library's error wrapping the driver's
        raise StoreOperationalError(str(error)) from error
    except StoreOperationalError as wrapped:
        assert is_store_unavailable(wrapped)

    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    assert is_store_unavailable(locked.value)
    holder.execute("ROLLBACK")
    with pytest.raises(sqlite3.OperationalError) as missing:
        other.execute("SELECT * FROM no_such_table")
    assert not is_store_unavailable(missing.value)  # a bug, not an outage: stays a 500
    holder.close()
    other.close()


def test_a_request_that_finds_the_store_unreachable_gets_503_in_both_languages(
    tmp_path: Path,
) -> None:
    web = build_web({"TESTING": False}, config=Config("memory://", tmp_path), environ=WEB_ENV)

    @web.get("/api/v1/_store-probe")
    def probe() -> str:
        raise StoreOperationalError("connection refused") from refused()

    probe.access_rule = Rule("public")  # type: ignore[attr-defined]
    client = web.test_client()
    r = client.get("/api/v1/_store-probe")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json is not None and r.json["error"]["code"] == "store_unavailable"
    assert "数据库暂时无法访问" in r.json["error"]["message"]
    r = client.get("/api/v1/_store-probe?lang=en")
    assert r.status_code == 503 and "cannot be reached" in r.json["error"]["message"]  # type: ignore[index]
