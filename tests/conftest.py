from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.clock import FixedClock
from consult.config import build_app

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
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


def roll_text(name: str = "roll-demo.csv") -> str:
    path = SHARED_DATA / name
    if not path.exists() and name == "roll-demo.csv":
        path = PACKAGED_DEMO_ROLL
    return path.read_text(encoding="utf-8")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def app(clock: FixedClock) -> ConsultationApp:
    """An application on the in-memory store."""
    return build_app("memory://", clock=clock)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'consult.sqlite3'}"


@pytest.fixture
def sqlite_app(sqlite_url: str, clock: FixedClock) -> ConsultationApp:
    """An application on a real SQLite file."""
    return build_app(sqlite_url, clock=clock)


POSTGRES_ADMIN_URL = os.environ.get(
    "CONSULT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database on the local server."""
    psycopg = pytest.importorskip("psycopg")
    name = f"consult_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as e:  # pragma: no cover - CI starts a server
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server: {e}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_estate(
    app: ConsultationApp, roll: str = "roll-demo.csv", code: str = "DEMO"
) -> uuid.UUID:
    app.create_street("S01", "示范街道", OPERATOR)
    app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate(code, "示范小区", "C01", OPERATOR)
    app.import_roll(estate, roll_text(roll), RC, source_name=roll)
    return estate
