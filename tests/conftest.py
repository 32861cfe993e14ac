"""Shared fixtures. Tests that exercise the application through its store ask for ``store_url``
(or ``app``, built on it) and run once per backend: ``[sqlite]`` on a real SQLite file,
``[postgres]`` on a real PostgreSQL database. Pure domain tests (rules, roll parsing) do not ask
for a store and run once.

Choosing backends: ``pytest --backend sqlite`` (or ``--backend postgres``; repeatable), default
both. ``@pytest.mark.backends("memory", "sqlite", "postgres")`` (on a test or a module) says which
backends a test can run on: ``memory`` adds the in-memory store (``memory://``).

PostgreSQL: the server at ``CONSULT_TEST_POSTGRES`` (a URL of a database to connect to for
``CREATE DATABASE``; default ``postgresql://postgres@127.0.0.1:5432/postgres``). The run uses one
throw-away database, ``CONSULT_TEST_DATABASE`` (made and dropped by ``scripts/test.sh``) or else
one it makes itself and drops at the end; before each test every table in it is emptied and every
sequence restarted, and any connection a previous test left is ended, so each test starts on an
empty store. Module-wide worlds and ``postgres_url`` get a database of their own.

Without a server the PostgreSQL tests are skipped locally, with the reason; they fail instead
under CI (``CI`` set), when ``scripts/test.sh`` made the run's database, or when
``--backend postgres`` was asked for.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.clock import FixedClock
from consult.rollgen import named_roll
from entrypoints.bootstrap import build_app

TEST_DATA = Path(__file__).resolve().parent / "data"
PACKAGED_DEMO_ROLL = Path(__file__).resolve().parents[1] / "consult" / "data" / "roll-demo.csv"

OPERATOR = Actor.of("op-1", Role.OPERATOR, name="平台管理员")
RC = Actor.of("rc-1", Role.RESIDENTS_COMMITTEE, name="居委会 王主任")
PARTY = Actor.of("party-1", Role.PARTY_ORGANISATION, name="社区党委 李书记")
OC = Actor.of("oc-1", Role.OWNERS_COMMITTEE, name="业委会 张主任")
STREET = Actor.of("street-1", Role.STREET, name="街道党工委 审计员")
TELLER_A = Actor.of("teller-a", Role.TELLER)
TELLER_B = Actor.of("teller-b", Role.TELLER)


def owner(person_id: str) -> Actor:
    return Actor.of(person_id, Role.RESIDENT)


def free_port() -> int:
    """A loopback port nobody listens on now (a server may take it; a client gets refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def roll_text(name: str = "roll-demo.csv") -> str:
    """A roll by name: the demo's packaged roll, or a standard roll made by consult.rollgen
    (``roll-1200.csv``, ``roll-20000.csv``)."""
    return named_roll(name)


@pytest.fixture(scope="session")
def roll_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The path of a file holding a named roll (:func:`roll_text`), written once per run."""
    folder = tmp_path_factory.mktemp("rolls")

    def path(name: str) -> Path:
        target = folder / name
        if not target.exists():
            target.write_text(roll_text(name), encoding="utf-8")
        return target

    return path


# --- choosing the backends ------------------------------------------------------------------------

#: The backends a store-backed test runs on unless it is marked otherwise.
BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=("sqlite", "postgres", "memory"),
        dest="consult_backends",
        metavar="NAME",
        help="run the store-backed tests on this backend only: sqlite, postgres or memory "
        "(repeatable; default: every backend a test can run on)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): the backends a store-backed test can run on "
        "(default sqlite and postgres; memory adds memory://)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``store_backend`` (through ``store_url``, ``app``, the web world ...)
    runs once per chosen backend; module-wide fixtures are made once per backend."""
    if "store_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    able: tuple[str, ...] = marker.args if marker else BACKENDS
    asked = metafunc.config.getoption("consult_backends")
    metafunc.parametrize(
        "store_backend",
        [
            pytest.param(name, id=name, marks=[pytest.mark.postgres] if name == "postgres" else [])
            for name in able
            if not asked or name in asked
        ],
        scope="module",
    )


# --- PostgreSQL ---------------------------------------------------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "CONSULT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class PostgresServer:
    """The test server and the run's throw-away database."""

    admin_url: str
    database: str
    owned: bool  # made by this session, so dropped at its end
    _conn: psycopg.Connection[Any] | None = None

    @property
    def url(self) -> str:
        return _with_database(self.admin_url, self.database)

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        """A new empty database (named after the run's, so that the script's clean-up finds it)."""
        name = f"{self.database}_{uuid.uuid4().hex[:10]}"
        with self._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def wipe(self) -> None:
        """Empty the run's database: end every other connection to it (what earlier tests left),
        delete every row of every table and restart every sequence. The tables stay: making them
        again costs more than the rest of most tests."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        conn = self._conn
        others = (
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        if self._server_version() >= 140000:  # waits until they are gone
            conn.execute(f"SELECT pg_terminate_backend(pid, 10000) {others}")
        else:
            conn.execute(f"SELECT pg_terminate_backend(pid) {others}")
            for _ in range(100):
                if not conn.execute(f"SELECT 1 {others}").fetchone():
                    break
                time.sleep(0.1)
        tables = [
            sql.Identifier(schema, name)
            for schema, name in conn.execute(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
        sequences = [
            sql.Identifier(schema, name)
            for schema, name in conn.execute("SELECT schemaname, sequencename FROM pg_sequences")
        ]
        if tables:
            try:
                with conn.transaction():
                    for table in tables:
                        conn.execute(sql.SQL("DELETE FROM {}").format(table))
            except psycopg.errors.ForeignKeyViolation:
                conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(tables)))
        for sequence in sequences:
            conn.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(sequence))

    def _server_version(self) -> int:
        assert self._conn is not None
        return self._conn.info.server_version

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self.owned:
            self.drop_database(self.database)


def _postgres_required(config: pytest.Config) -> bool:
    return (
        _truthy(os.environ.get("CI"))
        or bool(os.environ.get("CONSULT_TEST_DATABASE"))
        or "postgres" in (config.getoption("consult_backends") or ())
    )


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> Iterator[PostgresServer]:
    """The PostgreSQL server and the run's database; skipped (locally) or failed (CI) without one."""
    given = os.environ.get("CONSULT_TEST_DATABASE", "").strip()
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute("SELECT 1")
    except psycopg.OperationalError as e:
        message = (
            f"cannot connect to PostgreSQL at {_shown(POSTGRES_ADMIN_URL)} (CONSULT_TEST_POSTGRES): "
            f"{' '.join(str(e).split())} -- scripts/test.sh installs and starts a server; "
            "--backend sqlite runs without one"
        )
        if _postgres_required(pytestconfig):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PostgresServer(POSTGRES_ADMIN_URL, given or "", owned=not given)
    if not given:
        server.database = f"consult_test_{uuid.uuid4().hex[:10]}"
        with server._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty PostgreSQL database of the test's own (``store_url`` is quicker)."""
    name = postgres_server.create_database()
    try:
        yield _with_database(postgres_server.admin_url, name)
    finally:
        postgres_server.drop_database(name)


# --- the store of a test --------------------------------------------------------------------------


@pytest.fixture
def store_url(store_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ``CONSULT_DATABASE_URL`` of an empty store on the test's backend."""
    if store_backend == "memory":
        return "memory://"
    if store_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    server.wipe()
    return server.url


@pytest.fixture(scope="module")
def module_store_url(
    store_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty store for a module's shared world: its own SQLite file or PostgreSQL database."""
    if store_backend == "memory":
        yield "memory://"
    elif store_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.sqlite3'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = server.create_database()
        try:
            yield _with_database(server.admin_url, name)
        finally:
            server.drop_database(name)


@pytest.fixture(scope="module")
def empty_store(
    store_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """A function giving the URL of an empty store on the test's backend each time it is called:
    for property tests, whose every example needs a store of its own (one at a time)."""
    if store_backend == "memory":
        return lambda: "memory://"
    if store_backend == "sqlite":
        folder = tmp_path_factory.mktemp("stores")
        count = itertools.count()
        return lambda: f"sqlite:///{folder / f'store-{next(count)}.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")

    def emptied() -> str:
        server.wipe()
        return server.url

    return emptied


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def app(store_url: str, clock: FixedClock) -> Iterator[ConsultationApp]:
    """An application on the test's store (once on SQLite, once on PostgreSQL)."""
    application = build_app(store_url, clock=clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file, for tests of what is particular to SQLite."""
    return f"sqlite:///{tmp_path / 'consult.sqlite3'}"


def setup_estate(
    app: ConsultationApp, roll: str = "roll-demo.csv", code: str = "DEMO"
) -> uuid.UUID:
    app.create_street("S01", "示范街道", OPERATOR)
    app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate(code, "示范小区", "C01", OPERATOR)
    app.import_roll(estate, roll_text(roll), RC, source_name=roll)
    return estate


def close_at_end(app: ConsultationApp, vote_id: uuid.UUID, actor: Any, reason: str = "") -> Any:
    """Close a vote at its published end, moving the app's (fixed) clock there if it is earlier:
    a vote closes early only once every elector has voted."""
    clock = app.clock
    assert isinstance(clock, FixedClock)
    end = app.vote(vote_id).closes_at
    if clock.now() < end:
        clock.set(end)
    return app.close_vote(vote_id, actor, reason)


def open_owners_vote(
    app: ConsultationApp, clock: FixedClock, roll: str = "roll-demo.csv"
) -> tuple[uuid.UUID, list[Any]]:
    """An estate on ``roll`` with a topic put to the owners' vote, open for 14 days: the vote and
    the heads that may cast (the developer's units left out)."""
    from datetime import timedelta

    estate = setup_estate(app, roll)
    app.elect_owners_committee(estate, ["oc-1", "oc-2", "oc-3"], "2029-01-01", RC)
    heads = [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]
    case_id = app.submit_topic(
        estate, "加装电梯", "为3号楼加装电梯。", "meeting", owner(heads[0].owners[0])
    ).id
    app.confirm_topic(case_id, "owners-assembly", ["业主"], PARTY)
    app.publish_notice(
        case_id,
        "请业主表决。",
        "会所",
        "网上",
        clock.now() + timedelta(days=15),
        [{"item_id": "1", "title": "加装电梯", "matter": 9}],
        OC,
    )
    clock.advance(days=15)
    return app.open_vote(case_id, "1", clock.now() + timedelta(days=14), OC).id, heads
