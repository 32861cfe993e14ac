"""Rate limits hold across worker processes: the attempts are rows in the web's database, so two
workers (two limiters, two engines, two Flask applications) and a restarted one count the same
attempts, and concurrent attempts never get past the limit."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from consult.config import Config
from entrypoints.bootstrap import build_web
from tests.web.conftest import CSRF, PASSWORD, WEB_ENV, World, post, username
from webapp.accounts import AccountStore
from webapp.db import engine_for
from webapp.limits import (
    HITS,
    MemoryRateLimiter,
    PostgresRateLimiter,
    RateLimited,
    SQLiteRateLimiter,
    StoredRateLimiter,
    rate_limiter_for,
)
from webapp.security import enforce_limits
from webapp.settings import Limit, WebSettings
from webapp.state import EXTENSION, Services
from webapp.tables import create_tables

SECRET = WEB_ENV["CONSULT_SECRET_KEY"]
FIVE_A_MINUTE = Limit(5, 60)
T0 = 1_800_000_000_000  # ms since the epoch


class ManualClock:
    """Milliseconds since the epoch, moved on by the test: one clock for every "worker"."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def settings(secret: str = SECRET) -> WebSettings:
    return WebSettings(
        secret_key=secret,
        cookie_secure=True,
        timezone="Asia/Shanghai",
        public_url=None,
        signin_ip=Limit(20, 300),
        signin_user=Limit(5, 900),
        code_ip=Limit(10, 300),
        password_method="pbkdf2:sha256:1000",
        trust_proxy=False,
    )


@pytest.fixture
def engines(store_url: str) -> Iterator[list[Engine]]:
    """Two engines on the test's database, as two worker processes have (a pool each)."""
    made = [engine_for(store_url), engine_for(store_url)]
    create_tables(made[0])
    yield made
    for engine in made:
        engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Overrides the domain's clock of tests/conftest.py: these tests need milliseconds."""
    return ManualClock()


def worker(engine: Engine, clock: ManualClock, secret: str = SECRET) -> StoredRateLimiter:
    """The limiter ``build_web`` builds for this engine, on the test's clock."""
    built = rate_limiter_for(engine, settings(secret))
    assert isinstance(built, StoredRateLimiter)
    return type(built)(engine, secret, 900, clock)


def rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(HITS.c.digest)))


def refused(limiter: StoredRateLimiter, key: str, limit: Limit = FIVE_A_MINUTE) -> int:
    """The Retry-After of a refused hit (fails the test if the hit was let through)."""
    with pytest.raises(RateLimited) as refusal:
        limiter.hit(key, limit)
    return refusal.value.retry_after


# --- the limiter --------------------------------------------------------------------------------


def test_the_factory_builds_the_database_limiter_of_the_store(
    store_backend: str, engines: list[Engine]
) -> None:
    built = rate_limiter_for(engines[0], settings())
    expected = PostgresRateLimiter if store_backend == "postgres" else SQLiteRateLimiter
    assert type(built) is expected
    memory = engine_for("memory://")
    try:
        assert type(rate_limiter_for(memory, settings())) is MemoryRateLimiter
    finally:
        memory.dispose()


def test_two_workers_and_a_restarted_one_share_the_count(
    engines: list[Engine], clock: ManualClock
) -> None:
    first, second = worker(engines[0], clock), worker(engines[1], clock)
    key = "signin:user:wang.fang"
    for _ in range(3):
        first.hit(key, FIVE_A_MINUTE)
    clock.advance(10)
    assert second.retry_after(key, FIVE_A_MINUTE) is None
    for _ in range(2):
        second.hit(key, FIVE_A_MINUTE)
    # five attempts in all: both refuse, until the first three are a minute old
    assert first.retry_after(key, FIVE_A_MINUTE) == 50
    assert second.retry_after(key, FIVE_A_MINUTE) == 50
    assert refused(first, key) == 50
    restarted = worker(engines[0], clock)
    assert restarted.retry_after(key, FIVE_A_MINUTE) == 50
    clock.advance(49.5)
    assert restarted.retry_after(key, FIVE_A_MINUTE) == 1
    clock.advance(0.5)  # the first three are exactly a minute old: they no longer count
    assert first.retry_after(key, FIVE_A_MINUTE) is None
    for _ in range(3):
        first.hit(key, FIVE_A_MINUTE)
    assert refused(second, key) == 10  # the two of second's, made 50 s ago
    # another key is not limited by those
    assert second.retry_after("signin:user:li.lei", FIVE_A_MINUTE) is None


def test_a_refused_hit_is_not_counted(engines: list[Engine], clock: ManualClock) -> None:
    limiter = worker(engines[0], clock)
    two = Limit(2, 60)
    limiter.hit("code:ip:203.0.113.7", two)
    clock.advance(20)
    limiter.hit("code:ip:203.0.113.7", two)
    for _ in range(5):
        clock.advance(5)
        refused(limiter, "code:ip:203.0.113.7", two)
    assert len(rows(engines[0])) == 2
    clock.advance(15)  # the first is a minute old: one more is let through, then none
    limiter.hit("code:ip:203.0.113.7", two)
    assert refused(limiter, "code:ip:203.0.113.7", two) == 20


def test_a_reset_in_one_worker_clears_the_key_for_all(
    engines: list[Engine], clock: ManualClock
) -> None:
    first, second = worker(engines[0], clock), worker(engines[1], clock)
    for _ in range(5):
        first.hit("signin:user:wang.fang", FIVE_A_MINUTE)
        first.hit("signin:ip:198.51.100.1", FIVE_A_MINUTE)
    second.reset("signin:user:wang.fang")
    assert first.retry_after("signin:user:wang.fang", FIVE_A_MINUTE) is None
    assert first.retry_after("signin:ip:198.51.100.1", FIVE_A_MINUTE) == 60


def test_addresses_and_user_names_are_stored_as_keyed_hashes(
    engines: list[Engine], clock: ManualClock
) -> None:
    limiter = worker(engines[0], clock)
    limiter.hit("signin:user:wang.fang", FIVE_A_MINUTE)
    limiter.hit("signin:ip:203.0.113.9", FIVE_A_MINUTE)
    stored = rows(engines[0])
    assert sorted(stored) == sorted(
        hmac.new(SECRET.encode(), b"rate-limit:" + key, hashlib.sha256).hexdigest()
        for key in (b"signin:user:wang.fang", b"signin:ip:203.0.113.9")
    )
    assert not any("wang" in d or "203.0" in d for d in stored)
    # without the secret the rows say nothing: a limiter with another secret counts apart
    other = worker(engines[1], clock, secret="another-secret-" + "x" * 40)
    for _ in range(5):
        other.hit("signin:user:wang.fang", FIVE_A_MINUTE)
    assert limiter.retry_after("signin:user:wang.fang", FIVE_A_MINUTE) is None


def test_rows_older_than_the_longest_window_are_deleted(
    engines: list[Engine], clock: ManualClock
) -> None:
    limiter = worker(engines[0], clock)  # the longest window: 900 s
    limiter.hit("signin:ip:198.51.100.1", Limit(20, 300))
    clock.advance(300)
    limiter.hit("signin:user:wang.fang", Limit(5, 900))
    clock.advance(601)
    # a minute has passed since this process last pruned: this hit prunes the first row only
    limiter.hit("code:ip:198.51.100.1", Limit(10, 300))
    assert len(rows(engines[0])) == 2
    assert limiter.retry_after("signin:user:wang.fang", Limit(1, 900)) == 299
    clock.advance(300)
    assert worker(engines[1], clock).prune() == 1
    assert len(rows(engines[0])) == 1


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_attempts_never_pass_the_limit(
    engines: list[Engine], clock: ManualClock, round_: int
) -> None:
    """16 threads in two "workers" (an engine each) try at once, as the sign-in does: check, then
    count. Exactly the limit get through; the rest are refused and not counted."""
    limiters = [worker(engine, clock) for engine in engines]
    key = f"signin:ip:192.0.2.{round_}"
    threads = 16
    start = threading.Barrier(threads)
    outcomes: list[str] = []
    record = threading.Lock()

    def attempt(limiter: StoredRateLimiter) -> None:
        start.wait()
        try:
            enforce_limits(limiter, [(key, FIVE_A_MINUTE)])
            limiter.hit(key, FIVE_A_MINUTE)
            outcome = "through"
        except RateLimited:
            outcome = "429"
        with record:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt, args=(limiters[i % 2],)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["429"] * 11 + ["through"] * 5
    with engines[0].connect() as conn:
        assert conn.scalar(select(func.count()).select_from(HITS)) == 5


def test_the_memory_limiter_refuses_a_hit_past_the_limit() -> None:
    now = [100.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    two = Limit(2, 60)
    limiter.hit("k", two)
    now[0] += 10
    limiter.hit("k", two)
    assert limiter.retry_after("k", two) == 51
    with pytest.raises(RateLimited):
        limiter.hit("k", two)
    now[0] += 50  # the first is a minute old
    limiter.hit("k", two)
    assert limiter.retry_after("k", two) == 11
    limiter.reset("k")
    assert limiter.retry_after("k", two) is None


# --- through the web ----------------------------------------------------------------------------


def other_worker(world: World, instance: Path) -> Flask:
    """Another worker process's application on the world's database (same secret key)."""
    config = world.web.extensions["consult_runtime"].config
    return build_web(
        {"TESTING": True},
        config=Config(config.database_url, instance),
        consult=world.consult,
        environ=WEB_ENV,
    )


def close(app: Flask) -> None:
    """Let go of that application's connections (not of the world's application service)."""
    services: Services = app.extensions[EXTENSION]
    services.engine.dispose()
    services.signins.close()
    reads = services.reads
    audit_store = getattr(getattr(reads, "_reads", reads), "audit_store", None)
    if audit_store is not None:
        audit_store.close()
    app.extensions["consult_runtime"].close()


def browser(app: Flask) -> FlaskClient:
    """An anonymous browser with a known CSRF token."""
    client = app.test_client()
    with client.session_transaction() as s:
        s["csrf"] = CSRF
    return client


def test_sign_in_through_two_workers_is_limited_in_total(world: World, tmp_path: Path) -> None:
    second = other_worker(world, tmp_path / "second")
    try:
        apps = [world.web, second]
        name = username("oc")
        wrong = {"username": name, "password": "wrong-password"}
        statuses = [post(browser(apps[i % 2]), "/signin", wrong).status_code for i in range(5)]
        assert statuses == [401] * 5
        for app in apps:
            r = post(browser(app), "/signin", {"username": name, "password": PASSWORD})
            assert r.status_code == 429 and int(r.headers["Retry-After"]) > 800
    finally:
        close(second)
    # a worker started afterwards (a restart) still refuses; another user may sign in
    restarted = other_worker(world, tmp_path / "restarted")
    try:
        r = post(browser(restarted), "/signin", {"username": name, "password": PASSWORD})
        assert r.status_code == 429
        r = post(browser(restarted), "/signin", {"username": username("rc"), "password": PASSWORD})
        assert r.status_code == 302
    finally:
        close(restarted)


def test_guesses_for_one_name_arriving_at_once_are_tried_only_up_to_the_limit(
    world: World, tmp_path: Path
) -> None:
    """Counted before the password is checked: after four wrong passwords, of six guesses at once
    through two workers (one of them right) exactly one is tried; the others are refused unseen."""
    # A real password hash (scrypt, tens of ms, the interpreter lock released meanwhile), so that
    # the guesses are checked at the same time.
    slow = AccountStore(world.services.engine, "scrypt")
    slow.change_password(world.accounts["oc"].id, PASSWORD)
    second = other_worker(world, tmp_path / "second")
    try:
        apps = [world.web, second]
        name = username("oc")
        for i in range(4):
            wrong = {"username": name, "password": f"wrong-{i}"}
            assert post(browser(apps[i % 2]), "/signin", wrong).status_code == 401
        guesses = [f"guess-{i}" for i in range(5)] + [PASSWORD]
        clients = [browser(apps[i % 2]) for i in range(len(guesses))]
        start = threading.Barrier(len(guesses))
        statuses: list[int] = []
        lock = threading.Lock()

        def attempt(client: FlaskClient, password: str) -> None:
            start.wait()
            code = post(client, "/signin", {"username": name, "password": password}).status_code
            with lock:
                statuses.append(code)

        threads = [
            threading.Thread(target=attempt, args=(c, g))
            for c, g in zip(clients, guesses, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tried = [code for code in statuses if code != 429]
        assert len(statuses) == 6 and len(tried) == 1 and tried[0] in (302, 401)
    finally:
        close(second)


def test_voting_code_attempts_through_two_workers_are_limited_in_total(
    world: World, tmp_path: Path
) -> None:
    second = other_worker(world, tmp_path / "second")
    try:
        apps = [world.web, second]
        statuses = [
            post(browser(apps[i % 2]), "/code", {"code": f"AAAA-BBBB-CCCC-{i:04d}"}).status_code
            for i in range(11)
        ]
        assert statuses == [401] * 10 + [429]
    finally:
        close(second)
