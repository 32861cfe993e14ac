"""The composition root: database URLs, the environment, and the application it builds."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from consult.application import ConsultationApp
from consult.bodies import JurisdictionKind, jurisdiction_id
from consult.config import Config, backend_of, eventsourcing_env, sqlite_path
from consult.errors import SettingError
from entrypoints.bootstrap import build_app
from tests.conftest import OPERATOR
from tests.integration.test_case import assert_specific


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite:///instance/consult.sqlite3", "sqlite"),
        ("sqlite:////var/lib/consult/consult.sqlite3", "sqlite"),
        ("postgresql://u:p@db:5432/consult", "postgresql"),
        ("postgres://db/consult", "postgresql"),
        ("postgresql+psycopg://db/consult", "postgresql"),
        ("memory://", "memory"),
    ],
)
def test_backend_of_each_supported_url(url: str, backend: str) -> None:
    assert backend_of(url) == backend


def test_memory_url() -> None:
    assert eventsourcing_env("memory://") == {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_sqlite_urls_give_the_file(tmp_path: Path) -> None:
    target = tmp_path / "consult.sqlite3"
    env = eventsourcing_env(f"sqlite:///{target}")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(target)
    assert not target.exists()
    assert sqlite_path("sqlite:///instance/consult.sqlite3") == "instance/consult.sqlite3"
    assert sqlite_path("sqlite:////tmp/my%20db.sqlite3") == "/tmp/my db.sqlite3"
    assert eventsourcing_env("sqlite:///:memory:")["SQLITE_DBNAME"] == ":memory:"


def test_postgresql_url_gives_every_connection_setting() -> None:
    env = eventsourcing_env("postgresql://consult:s%40cret@db.example:6543/consult_prod")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.example", "6543")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("consult", "s@cret")
    assert env["POSTGRES_DBNAME"] == "consult_prod"
    defaults = eventsourcing_env("postgresql:///consult")
    assert (defaults["POSTGRES_HOST"], defaults["POSTGRES_PORT"]) == ("127.0.0.1", "5432")
    assert (defaults["POSTGRES_USER"], defaults["POSTGRES_PASSWORD"]) == ("postgres", "")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://db/consult", "unsupported database URL 'mysql://db/consult'"),
        ("", "unsupported database URL"),
        ("consult.sqlite3", "unsupported database URL"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///", "needs a file path"),
        ("postgresql://db.example", "needs a database name"),
        ("postgresql://db.example/", "needs a database name"),
    ],
)
def test_a_bad_url_is_a_clear_setting_error(url: str, says: str) -> None:
    with pytest.raises(SettingError) as err:
        eventsourcing_env(url)
    assert err.value.field == "CONSULT_DATABASE_URL"
    assert_specific(err.value, says)


@pytest.mark.parametrize("url", ["postgresql://db:port/consult", "postgresql://db:99999/consult"])
def test_a_bad_port_is_a_clear_setting_error(url: str) -> None:
    with pytest.raises(SettingError) as err:
        eventsourcing_env(url)
    assert err.value.field == "CONSULT_DATABASE_URL"


def test_url_schemes_are_case_insensitive(tmp_path: Path) -> None:
    target = tmp_path / "consult.sqlite3"
    assert backend_of(f"SQLite:///{target}") == "sqlite"
    assert eventsourcing_env(f"SQLite:///{target}")["SQLITE_DBNAME"] == str(target)


def test_config_from_the_environment(tmp_path: Path) -> None:
    default = Config.from_env({"CONSULT_INSTANCE_PATH": str(tmp_path)})
    assert default.instance_path == tmp_path.resolve()
    assert default.database_url == f"sqlite:///{tmp_path.resolve() / 'consult.sqlite3'}"
    assert default.backend == "sqlite"
    chosen = Config.from_env({"CONSULT_DATABASE_URL": "memory://", "CONSULT_INSTANCE_PATH": "x"})
    assert chosen.database_url == "memory://" and chosen.backend == "memory"
    empty = Config.from_env({"CONSULT_DATABASE_URL": "", "CONSULT_INSTANCE_PATH": str(tmp_path)})
    assert empty.backend == "sqlite"
    with pytest.raises(SettingError):
        _ = Config.from_env({"CONSULT_DATABASE_URL": "oracle://x/y"}).backend


def test_build_app_uses_the_url_it_is_given(sqlite_url: str) -> None:
    first = build_app(sqlite_url)
    assert isinstance(first, ConsultationApp)
    first.create_street("S01", "街道", OPERATOR)
    first.close()
    second = build_app(sqlite_url)  # another process on the same file sees the street
    assert second.recorder.select_events(jurisdiction_id(JurisdictionKind.STREET, "S01"))
    second.close()
    memory = build_app("memory://")
    assert not memory.recorder.select_events(jurisdiction_id(JurisdictionKind.STREET, "S01"))


def test_build_app_reads_the_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("CONSULT_DATABASE_URL", sqlite_url)
    app = build_app()
    app.create_street("S01", "街道", OPERATOR)
    app.close()
    assert Path(sqlite_path(sqlite_url)).exists()


def test_a_stray_prefixed_variable_cannot_redirect_the_store(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONSULT_SQLITE_DBNAME", str(tmp_path / "stray.sqlite3"))
    app = build_app(sqlite_url)
    app.create_street("S01", "街道", OPERATOR)
    app.close()
    monkeypatch.delenv("CONSULT_SQLITE_DBNAME")
    reader = build_app(sqlite_url)
    try:
        assert reader.recorder.select_events(jurisdiction_id(JurisdictionKind.STREET, "S01"))
    finally:
        reader.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql:///consult",
        "postgres://127.0.0.1/consult",
        "postgresql+psycopg://us%40er:p%40ss%3Aw%2Fd@db.example:6543/consult",
    ],
)
def test_every_part_reads_a_postgresql_url_as_the_event_store_does(url: str) -> None:
    """Events, views, web tables and notifications: one host, port, database and user, with the
    same defaults and percent-decoded credentials (nothing connects here)."""
    from psycopg.conninfo import conninfo_to_dict

    from consult.config import postgres_conninfo
    from projections import open_store
    from webapp.db import engine_for

    env = eventsourcing_env(url)
    expected = (
        env["POSTGRES_HOST"],
        int(env["POSTGRES_PORT"]),
        env["POSTGRES_DBNAME"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"] or None,
    )
    for engine in (engine_for(url), open_store(url).engine):
        u = engine.url
        assert (u.host, u.port, u.database, u.username, u.password) == expected
        engine.dispose()
    info = conninfo_to_dict(postgres_conninfo(url))
    assert (
        info["host"],
        int(info["port"]),
        info["dbname"],
        info["user"],
        info.get("password") or None,
    ) == expected


@pytest.mark.backends("postgres")
def test_web_tables_views_and_notifications_use_the_event_stores_user(store_url: str) -> None:
    """Without a user in the URL, libpq would connect as the operating-system user: every part
    must connect as the event store's user instead (``postgres``), to the same database."""
    import psycopg
    import sqlalchemy as sa

    from consult.config import postgres_conninfo
    from projections import open_store
    from webapp.db import engine_for

    parts = urlsplit(store_url)
    if parts.username not in (None, "postgres") or parts.password:
        pytest.skip("the test server needs a user or a password in its URL")
    url = urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 5432}"))
    who = "SELECT current_user, current_database()"
    app = build_app(url)
    app.create_street("S01", "街道", OPERATOR)
    app.close()
    seen = set()
    for engine in (engine_for(url), open_store(url).engine):
        with engine.connect() as conn:
            seen.add(tuple(conn.execute(sa.text(who)).one()))
        engine.dispose()
    with psycopg.connect(postgres_conninfo(url)) as conn:
        seen.add(tuple(conn.execute(who).fetchone() or ()))
    assert seen == {("postgres", parts.path.lstrip("/"))}


@pytest.mark.parametrize("name", ["CONSULT_COOKIE_SECURE", "CONSULT_TRUST_PROXY"])
def test_a_yes_no_setting_with_another_value_is_refused_by_name(name: str, tmp_path: Path) -> None:
    from webapp.settings import WebSettings

    config = Config("memory://", tmp_path)
    with pytest.raises(SettingError) as refused:
        WebSettings.from_env(config, {"CONSULT_SECRET_KEY": "k" * 40, name: "perhaps"})
    assert refused.value.field == name and "perhaps" in str(refused.value)
    off = WebSettings.from_env(config, {"CONSULT_SECRET_KEY": "k" * 40, name: "off"})
    assert (off.cookie_secure, off.trust_proxy)[
        ["CONSULT_COOKIE_SECURE", "CONSULT_TRUST_PROXY"].index(name)
    ] is False


def test_group_commit_is_a_yes_no_setting_refused_by_name_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert build_app("memory://").group_commit is True
    monkeypatch.setenv("CONSULT_GROUP_COMMIT", "n")
    assert build_app("memory://").group_commit is False
    monkeypatch.setenv("CONSULT_GROUP_COMMIT", "maybe")
    with pytest.raises(SettingError) as refused:
        build_app("memory://")
    assert refused.value.field == "CONSULT_GROUP_COMMIT" and "maybe" in str(refused.value)
