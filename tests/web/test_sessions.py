"""Sessions: Flask's own signed cookie, whose session id names a row of ``web_sessions`` that is
read with its account on every request (webapp.signins), and the read-your-writes position
cookie (webapp.positions)."""

from __future__ import annotations

import hashlib
import time

import psycopg
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import insert

from tests.web.conftest import World, api
from webapp.db import engine_for
from webapp.positions import Positions
from webapp.signins import SessionRow, SignIns
from webapp.tables import create_tables

SECRET = "s" * 48


def test_the_position_cookie_carries_a_position_only_with_its_tag() -> None:
    positions = Positions(SECRET, secure=True)
    text = positions.text(12345)
    assert positions.read(text) == 12345
    number, tag = text.split(".")
    assert positions.read(f"12346.{tag}") == 0
    assert positions.read(f"{number}.{'0' * len(tag)}") == 0
    assert positions.read("9" * 30 + "." + tag) == 0 and positions.read("") == 0
    assert positions.read("-5.abc") == 0
    assert Positions("another" * 8, secure=True).read(text) == 0
    cookie = positions.set_cookie(12345)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_session_cookie_is_flasks_own(world: World) -> None:
    """A cookie signed by a plain Flask application with the same key is a session of ours, and
    the other way round: no session format of the product's own."""
    assert type(world.web.session_interface) is SecureCookieSessionInterface
    account = world.accounts["resident"]
    plain = Flask(__name__)
    plain.secret_key = world.web.secret_key
    plain.config["SESSION_COOKIE_NAME"] = world.web.config["SESSION_COOKIE_NAME"]

    @plain.get("/sign")
    def sign() -> str:
        session.update(
            sid=world.services.signins.start(account.id, account.epoch), uid=account.id, csrf="t"
        )
        return "ok"

    @plain.get("/read")
    def read() -> dict[str, object]:
        return dict(session)

    signer = plain.test_client()
    signer.get("/sign")
    cookie = signer.get_cookie("consult_session")
    assert cookie is not None
    client = world.web.test_client()
    client.set_cookie("consult_session", cookie.value)
    me = api(client, "GET", "/api/v1/session").json
    assert me["signed_in"] and me["person_id"] == account.person_id
    ours = world.client("resident")
    api(ours, "GET", "/api/v1/session")
    ours_cookie = ours.get_cookie("consult_session")
    assert ours_cookie is not None
    reader = plain.test_client()
    reader.set_cookie("consult_session", ours_cookie.value)
    assert reader.get("/read").json["uid"] == account.id  # type: ignore[index]


def test_a_session_is_read_with_its_account_and_a_disabled_one_has_none(world: World) -> None:
    """Each store. The row and its account come in one read; a row left for a disabled account
    (it cannot be made through the store, which deletes them) names no account."""
    signins = world.services.signins
    account = world.accounts["resident"]
    token = signins.start(account.id, account.epoch)
    held = signins.holder(token)
    assert held is not None and held.account == account and held.code_id is None
    world.services.accounts.set_disabled(account.id, True)
    assert signins.holder(token) is None  # its rows went with the change
    left = hashlib.sha256(b"a-left-session").hexdigest()
    with world.services.engine.begin() as conn:
        conn.execute(
            insert(SessionRow).values(id=left, account_id=account.id, started=int(time.time()))
        )
    held = signins.holder("a-left-session")
    assert held is not None and held.account is None and held.code_id is None
    client = world.client()
    with client.session_transaction() as s:
        s.update(sid="a-left-session", uid=account.id, csrf="t")
    assert not api(client, "GET", "/api/v1/session").json["signed_in"]


def test_the_session_is_read_again_after_its_connection_was_cut(store_url: str) -> None:
    """Each store: SQLite (a connection per thread) and PostgreSQL (a few of the process's own,
    one of them cut by the server here)."""
    from webapp.accounts import AccountStore

    engine = engine_for(store_url)
    create_tables(engine)
    store = AccountStore(engine, "pbkdf2:sha256:1000")
    signins = SignIns(engine)
    try:
        account = store.create("street-2", "correct-horse-1", "S2", "街道", ["street"])
        token = signins.start(account.id, account.epoch)
        assert token is not None
        held = signins.holder(token)
        assert held is not None and held.account == account
        readers = signins.reads._pg
        if readers is not None:
            pids = [c.info.backend_pid for c in readers._idle]
            assert pids
            with psycopg.connect(readers.conninfo, autocommit=True) as admin:
                for pid in pids:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        held = signins.holder(token)
        assert held is not None and held.account == account
    finally:
        signins.close()
        engine.dispose()
