"""``consult serve`` and the demo accounts that ``consult demo`` prints."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import click
import pytest
from click.testing import CliRunner

from consult.actors import Role
from consult.config import Config
from entrypoints.commands import serve as cli
from tests.conftest import free_port
from webapp.accounts import AccountStore
from webapp.db import engine_for
from webapp.demo_accounts import ensure_demo_accounts


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    roles: tuple[Role, ...]


@dataclass
class Summary:
    estate_id: Any = field(default_factory=uuid4)
    people: list[Person] = field(default_factory=list)
    residents: list[Person] = field(default_factory=list)


def test_demo_accounts_are_created_and_their_passwords_printed(
    store_url: str, tmp_path: Path
) -> None:
    config = Config(store_url, tmp_path)
    summary = Summary(
        people=[
            Person("OC-ZHANG", "张主任", (Role.OWNERS_COMMITTEE,)),
            Person("STREET-ZHAO", "赵审计员", (Role.STREET,)),
        ],
        residents=[Person("P03000001", "业主", (Role.RESIDENT,))],
    )
    first = ensure_demo_accounts(config, summary)
    assert [c["username"] for c in first] == ["oc-zhang", "street-zhao", "p03000001"]
    assert "owners' committee" in first[0]["role"] and "业主委员会" in first[0]["role"]
    engine = engine_for(config.database_url)
    store = AccountStore(engine)
    oc = store.authenticate("oc-zhang", first[0]["password"])
    assert (
        oc is not None and oc.estate_id == summary.estate_id and oc.roles == {Role.OWNERS_COMMITTEE}
    )
    street = store.authenticate("street-zhao", first[1]["password"])
    assert street is not None and street.estate_id is None
    second = ensure_demo_accounts(config, summary)
    assert store.authenticate("oc-zhang", first[0]["password"]) is None
    assert store.authenticate("oc-zhang", second[0]["password"]) is not None
    engine.dispose()


class FakeServer:
    def __init__(self, host: str, port: int, app: Any, threaded: bool) -> None:
        self.app = app
        self.closed = False

    def serve_forever(self) -> None:
        assert self.app.name == "webapp"
        raise KeyboardInterrupt

    def server_close(self) -> None:
        self.closed = True


def test_serve_prints_the_address_and_serves_the_embedded_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "make_server", FakeServer)
    env = {"CONSULT_INSTANCE_PATH": str(tmp_path), "CONSULT_DATABASE_URL": ""}
    result = CliRunner().invoke(cli.serve, ["--port", "5077"], env=env)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5077/" in result.output
    assert (tmp_path / "consult.sqlite3").exists() and (tmp_path / "secret_key").exists()
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_serve_refuses_a_bad_port() -> None:
    result = CliRunner().invoke(cli.serve, ["--port", "70000"])
    assert result.exit_code == 2 and "70000" in result.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_busy_port_says_so_before_announcing_anything(
    tmp_path: Path, workers: str
) -> None:
    env = {"CONSULT_INSTANCE_PATH": str(tmp_path), "CONSULT_DATABASE_URL": ""}
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = str(other.getsockname()[1])
        started = time.monotonic()
        result = CliRunner().invoke(cli.serve, ["--port", port, "--workers", workers], env=env)
    assert result.exit_code == 2, result.output
    assert time.monotonic() - started < 5
    assert f"port {port} is already in use" in result.output.lower()
    assert f"端口 {port} 已被占用" in result.output
    assert "Serving on" not in result.output and "Traceback" not in result.output


def test_serve_checks_its_port_as_the_servers_bind(tmp_path: Path) -> None:
    """A port another program listens on is busy; one where only a closed connection of a
    stopped server (SO_REUSEADDR, as gunicorn's and werkzeug's) lingers in TIME_WAIT is free."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        busy = int(other.getsockname()[1])
        with pytest.raises(click.ClickException):
            cli.check_port("127.0.0.1", busy)
        client = socket.create_connection(("127.0.0.1", busy))
        accepted, _ = other.accept()
        accepted.close()  # the server's side closes first: its port lingers in TIME_WAIT
        client.close()
    cli.check_port("127.0.0.1", busy)  # the listener is gone; a connection may linger
    with pytest.raises(click.ClickException) as caught:
        cli.check_port("nohost.invalid", 5000)
    assert "does not resolve" in caught.value.message


def test_serve_names_an_unreachable_store_without_a_traceback(tmp_path: Path) -> None:
    env = {
        "CONSULT_INSTANCE_PATH": str(tmp_path),
        "CONSULT_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/consult",
    }
    for workers in ("1", "2"):
        started = time.monotonic()
        result = CliRunner().invoke(
            cli.serve, ["--port", str(free_port()), "--workers", workers], env=env
        )
        assert result.exit_code == 2, result.output
        assert time.monotonic() - started < 5
        assert "refused the connection" in result.output and "拒绝连接" in result.output
        assert "Serving on" not in result.output and "Usage:" not in result.output
