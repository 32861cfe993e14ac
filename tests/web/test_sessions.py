"""Session cookies (webapp.sessions): Flask's format and checks, a per-process cache of verified
cookies, a refresh at most every five minutes, and the read-your-writes position cookie."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from flask import Flask, flash, get_flashed_messages, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import create_engine

from consult.actors import Role
from webapp.accounts import Account, AccountStore
from webapp.db import create_tables
from webapp.sessions import Positions, SessionCookies

SECRET = "s" * 48
ESTATE = UUID("6f1c9a52-0d7e-4b8e-9c1a-2b3c4d5e6f70")


def app_with(interface: SecureCookieSessionInterface, secret: str = SECRET) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)
    app.session_interface = interface

    @app.post("/set")
    def set_values() -> str:
        session.permanent = True
        session.update(uid=7, epoch=2, csrf="token")
        return "ok"

    @app.get("/get")
    def get_values() -> dict[str, object]:
        return dict(session)

    @app.post("/flash")
    def add_flash() -> str:
        flash("已保存", "ok")
        return "ok"

    @app.get("/flashes")
    def read_flashes() -> list[list[str]]:
        return [list(m) for m in get_flashed_messages(with_categories=True)]

    return app


def session_cookie(client: object) -> str:
    cookie = client.get_cookie("session")  # type: ignore[attr-defined]
    assert cookie is not None
    return str(cookie.value)


@pytest.mark.parametrize("writer_is_flask", [True, False])
def test_cookies_are_flasks_own_both_ways(writer_is_flask: bool) -> None:
    flask_app = app_with(SecureCookieSessionInterface())
    ours = app_with(SessionCookies())
    writer, reader = (flask_app, ours) if writer_is_flask else (ours, flask_app)
    w = writer.test_client()
    w.post("/set")
    r = reader.test_client()
    r.set_cookie("session", session_cookie(w))
    assert r.get("/get").json == {"_permanent": True, "uid": 7, "epoch": 2, "csrf": "token"}


def test_flashed_messages_tagged_values_survive_through_itsdangerous() -> None:
    app = app_with(SessionCookies())
    client = app.test_client()
    client.post("/flash")
    assert client.get("/flashes").json == [["ok", "已保存"]]
    assert client.get("/flashes").json == []


def test_a_changed_byte_or_another_key_is_refused_even_after_the_cookie_was_cached() -> None:
    interface = SessionCookies()
    app = app_with(interface)
    client = app.test_client()
    client.post("/set")
    good = session_cookie(client)
    assert client.get("/get").json["uid"] == 7  # verified, and now in the cache
    payload, stamp, signature = good.split(".")
    flipped = "A" if payload[3] != "A" else "B"
    for forged in (
        f"{payload[:3]}{flipped}{payload[4:]}.{stamp}.{signature}",
        f"{payload}.{stamp}.{signature[:-2]}xx",
        f"{payload}.AAAAAA.{signature}",
    ):
        other = app.test_client()
        other.set_cookie("session", forged)
        assert other.get("/get").json == {}
    stranger = app_with(SessionCookies(), secret="t" * 48).test_client()
    stranger.set_cookie("session", good)
    assert stranger.get("/get").json == {}


def test_an_old_key_in_the_fallbacks_is_accepted() -> None:
    old = app_with(SecureCookieSessionInterface(), secret="old-" + "k" * 40).test_client()
    old.post("/set")
    app = app_with(SessionCookies())
    app.config["SECRET_KEY_FALLBACKS"] = ["old-" + "k" * 40]
    client = app.test_client()
    client.set_cookie("session", session_cookie(old))
    assert client.get("/get").json["uid"] == 7


def test_an_expired_cookie_is_refused_also_from_the_cache() -> None:
    interface = SessionCookies()
    app = app_with(interface)
    client = app.test_client()
    client.post("/set")
    assert client.get("/get").json["uid"] == 7
    now = time.time()
    interface.clock = lambda: now + 12 * 3600 + 5
    assert client.get("/get").json == {}


def test_an_unchanged_session_is_signed_again_only_after_five_minutes() -> None:
    interface = SessionCookies()
    app = app_with(interface)
    client = app.test_client()
    client.post("/set")
    session_cookie(client)
    assert "Set-Cookie" not in client.get("/get").headers  # a minute later: as it is
    now = time.time()
    interface.clock = lambda: now + 301
    response = client.get("/get")
    assert response.headers["Set-Cookie"].startswith("session=")
    assert session_cookie(client) and response.json["uid"] == 7  # signed with the real clock


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


def test_a_signed_in_account_is_remembered_briefly_and_a_later_epoch_reads_it_again(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'accounts.db'}")
    create_tables(engine)
    one = AccountStore(engine, "pbkdf2:sha256:1000", cache_seconds=0.3)  # one worker process
    other = AccountStore(engine, "pbkdf2:sha256:1000")  # another one
    account = one.create("street-1", "correct-horse-1", "S1", "街道", ["street"])
    assert one.get(account.id) == account
    # A password change in another process: this one keeps the account for at most 0.3 s ...
    other.change_password(account.id, "another-horse-2")
    assert one.get(account.id, epoch=1) == account
    # ... unless a session already names the new epoch (signed in again, on the other worker).
    assert one.get(account.id, epoch=2).epoch == 2  # type: ignore[union-attr]
    other.set_disabled(account.id, True)
    time.sleep(0.35)
    assert one.get(account.id) is None
    # A missing or disabled account is never served from memory: enabled again, it is back.
    other.set_disabled(account.id, False)
    assert one.get(account.id) is not None
    # A change made through this store is seen at once.
    one.set_disabled(account.id, True)
    assert one.get(account.id) is None
    engine.dispose()


def test_the_signed_in_account_is_read_again_after_its_connection_was_cut(store_url: str) -> None:
    """Each store: SQLite (a connection per thread) and PostgreSQL (a few of the process's own,
    one of them cut by the server here)."""
    import psycopg

    from webapp.db import engine_for

    engine = engine_for(store_url)
    create_tables(engine)
    store = AccountStore(engine, "pbkdf2:sha256:1000")
    try:
        account = store.create("street-2", "correct-horse-1", "S2", "街道", ["street"])
        assert store.get(account.id) == account
        readers = store._pg
        if readers is not None:
            pids = [c.info.backend_pid for c in readers._idle]
            assert pids
            with psycopg.connect(readers.conninfo, autocommit=True) as admin:
                for pid in pids:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert store.get(account.id) == account
    finally:
        store.close()
        engine.dispose()


def test_a_compressed_cookie_is_read_directly_and_a_changed_byte_is_refused() -> None:
    """itsdangerous compresses a payload when that makes it shorter (a signed-in session with its
    account's claims usually is): such cookies are checked on the direct path too."""
    flask_app = app_with(SecureCookieSessionInterface())

    @flask_app.post("/long")
    def long_values() -> str:
        session.update(uid=7, epoch=2, csrf="token", a_name="王" * 40, a_user="resident-0001" * 4)
        return "ok"

    writer = flask_app.test_client()
    writer.post("/long")
    text = session_cookie(writer)
    assert text.startswith(".")  # compressed
    ours = SessionCookies()
    app = app_with(ours)
    direct = ours._verify_plain(app, text, time.time(), 3600)
    assert direct is not None and direct[0]["a_name"] == "王" * 40
    assert ours.verify(app, text, time.time()) == direct
    payload, stamp, signature = text[1:].split(".")
    flipped = "A" if payload[5] != "A" else "B"
    for forged in (
        f".{payload[:5]}{flipped}{payload[6:]}.{stamp}.{signature}",
        f"{payload}.{stamp}.{signature}",  # the mark of compression taken off
        f".{payload}.{stamp}.{signature[:-2]}xx",
    ):
        assert ours.verify(app, forged, time.time()) is None
        assert SessionCookies().verify(app, forged, time.time()) is None


def test_a_long_session_is_signed_uncompressed_and_flask_reads_it() -> None:
    """Sessions are signed without zlib even where it would make them shorter (reading them then
    gives the interpreter lock up once less per request): the cookie is still one Flask reads, and
    well under a browser's 4 KB."""
    ours = app_with(SessionCookies())
    values = {"uid": 7, "epoch": 2, "csrf": "token", "a_name": "王" * 40, "a_user": "r-0001" * 4}

    @ours.post("/long")
    def long_values() -> str:
        session.update(values)
        return "ok"

    writer = ours.test_client()
    writer.post("/long")
    text = session_cookie(writer)
    assert not text.startswith(".") and len(text) < 1000  # not compressed
    flask_app = app_with(SecureCookieSessionInterface())
    reader = flask_app.test_client()
    reader.set_cookie("session", text)
    assert reader.get("/get").json == values


def _claims(store: AccountStore, account: Account) -> dict[str, object]:
    """The session a sign-in gives the account (webapp.security.sign_in)."""
    return {"uid": account.id, "epoch": account.epoch, **store.claims(account)}


def test_a_session_names_its_account_and_is_answered_without_a_read_until_the_account_changes(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each store. One worker answers signed-in requests from the session's claims; a change made
    through another worker ends the session there within ``cache_seconds``."""
    from webapp.db import engine_for

    engine = engine_for(store_url)
    create_tables(engine)
    one = AccountStore(engine, "pbkdf2:sha256:1000", cache_seconds=0.3)  # one worker process
    other = AccountStore(engine, "pbkdf2:sha256:1000")  # another one
    try:
        account = other.create("resident-9", "correct-horse-1", "P9", "王九", ["resident"], ESTATE)
        session = _claims(other, account)
        reads: list[int] = []
        original = AccountStore._read

        def counted(store: AccountStore, account_id: int) -> Account | None:
            reads.append(account_id)
            return original(store, account_id)

        monkeypatch.setattr(AccountStore, "_read", counted)
        for _ in range(3):
            found = one.get(account.id, 1, session)
            assert found is not None and reads == []
            assert (found.person_id, found.display_name, found.roles, found.estate_id) == (
                "P9",
                "王九",
                frozenset({Role.RESIDENT}),
                ESTATE,
            )
            assert found.actor == account.actor and found.username == "resident-9"
        # Disabled through the other worker: this one sees it within 0.3 s, and reads the account.
        other.set_disabled(account.id, True)
        time.sleep(0.35)
        assert one.get(account.id, 1, session) is None and reads == [account.id]
        # Enabled again: the old session stays ended (epoch 1 < 3); a new sign-in's works.
        other.set_disabled(account.id, False)
        time.sleep(0.35)
        fresh = one.get(account.id, 1, session)
        assert fresh is not None and fresh.epoch == 3  # read: the caller sees the epoch moved on
        reads.clear()
        assert one.get(account.id, 3, _claims(one, fresh)) is not None and reads == []
        # Claims that do not parse are not taken (the account just read is); a store that keeps
        # nothing reads the account every time.
        assert one.get(account.id, 3, {**_claims(one, fresh), "a_roles": "no-such-role"}) == fresh
        keeps_nothing = AccountStore(engine, "pbkdf2:sha256:1000")
        assert keeps_nothing.get(account.id, 3, _claims(one, fresh)) == fresh
        assert keeps_nothing.get(account.id, 3, _claims(one, fresh)) == fresh
        assert reads == [account.id, account.id]
        keeps_nothing.close()
    finally:
        one.close()
        other.close()
        engine.dispose()


def test_account_changes_made_at_once_are_all_seen_by_every_worker(store_url: str) -> None:
    """Each store: changes of several accounts from several threads (workers) at once, read by
    another worker meanwhile; it ends with every account's latest epoch, none skipped (changes are
    numbered in commit order)."""
    import threading

    from webapp.db import engine_for

    engine = engine_for(store_url)
    create_tables(engine)
    writers = [AccountStore(engine, "pbkdf2:sha256:1000") for _ in range(4)]
    reader = AccountStore(engine, "pbkdf2:sha256:1000", cache_seconds=0.001)
    try:
        accounts = [
            writers[0].create(
                f"resident-{i:02}", "correct-horse-1", f"P{i}", "某", ["resident"], ESTATE
            )
            for i in range(8)
        ]
        done = threading.Event()
        failures: list[BaseException] = []

        def change(store: AccountStore, mine: list[Account]) -> None:
            try:
                for k in range(10):
                    for a in mine:
                        store.set_disabled(a.id, k % 2 == 0)
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)

        def read() -> None:
            while not done.is_set():
                for a in accounts:
                    reader._recorded_epoch(a.id)

        threads = [
            threading.Thread(target=change, args=(w, accounts[i::4])) for i, w in enumerate(writers)
        ]
        watcher = threading.Thread(target=read)
        watcher.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        watcher.join()
        assert failures == []
        time.sleep(0.01)
        expected = {a.id: writers[0].record(a.id).epoch for a in accounts}  # type: ignore[union-attr]
        assert expected == dict.fromkeys(expected, 11)
        assert {a.id: reader._recorded_epoch(a.id) for a in accounts} == expected
    finally:
        for store in [*writers, reader]:
            store.close()
        engine.dispose()


def test_claims_count_only_in_the_database_they_came_from_and_as_it_now_stands(
    store_url: str,
) -> None:
    """Each store. A session's claims are not taken after the database was replaced (another
    generation: the same account id may be another person) or restored from a backup (the
    changes seen are gone), nor for an account whose current epoch is not the session's; an
    account made before changes were recorded is recorded when the tables are set up."""
    import sqlalchemy as sa

    from webapp.db import engine_for

    engine = engine_for(store_url)
    create_tables(engine)
    worker = AccountStore(engine, "pbkdf2:sha256:1000", cache_seconds=0.001)
    admin = AccountStore(engine, "pbkdf2:sha256:1000")
    try:
        account = admin.create("resident-5", "correct-horse-1", "P5", "李五", ["resident"], ESTATE)
        session = _claims(admin, account)
        assert worker.get(account.id, 1, session) == worker.get(account.id, 1, dict(session))
        assert worker.get(account.id, 1, session).created_at is None  # type: ignore[union-attr]
        # A session from another database: read from this one (here the same person).
        foreign = {**session, "a_gen": "0" * 32, "a_roles": "operator"}
        found = worker.get(account.id, 1, foreign)
        assert found is not None and found.roles == frozenset({Role.RESIDENT})
        # Two changes, then a restore to before them: the worker starts over from what is there.
        admin.set_disabled(account.id, True)
        admin.set_disabled(account.id, False)
        time.sleep(0.01)
        later = {**session, "epoch": 3}
        assert worker.get(account.id, 3, later) is not None
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM web_account_changes WHERE epoch > 1"))
            conn.execute(sa.text("UPDATE web_accounts SET epoch = 1, disabled = false"))
        time.sleep(0.01)
        restored = worker.get(account.id, 3, later)
        assert restored is not None and restored.epoch == 1  # read: the session is over
        assert worker._recorded_epoch(account.id) == 1
        # An account made without its change row (an older version): recorded at set-up.
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO web_accounts (username, password_hash, person_id, display_name,"
                    " roles, estate_id, epoch, disabled, created_at) VALUES ('resident-6', 'x',"
                    " 'P6', '赵六', 'resident', :estate, 4, false, CURRENT_TIMESTAMP)"
                ),
                {"estate": ESTATE.hex},
            )
        old = admin.find("resident-6")
        assert old is not None and worker._recorded_epoch(old.id) == 0
        create_tables(engine)
        time.sleep(0.01)
        assert worker._recorded_epoch(old.id) == 4
    finally:
        worker.close()
        admin.close()
        engine.dispose()
