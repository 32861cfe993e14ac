"""Fault tests with real processes: ``consult serve --workers`` (gunicorn, a supervised
``consult follow``) over one database, driven over real HTTP by many client threads.

- A web worker and, separately, the follower are killed with SIGKILL during load: every
  acknowledged ballot is in the store exactly once, the supervisor restarts the follower, which
  resumes and projects a tally equal to the rules' count from the events; the audit chain holds.
- The vote closes while ballots arrive through several worker processes: every ballot is either
  acknowledged and counted, or refused with a clear error and not counted; never both, never neither.

Run once on SQLite and once on PostgreSQL. Also here: the settings of the process model, the web's
read-your-writes with an external follower, and the PostgreSQL notification a follower wakes on.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.clock import FixedClock
from consult.config import Config
from consult.errors import SettingError
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app, build_runtime
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
OWNERS = 180
PASSWORD = "process-test-1"
OPERATOR = Actor.of("op-1", Role.OPERATOR, name="平台管理员")
RC = Actor.of("rc-1", Role.RESIDENTS_COMMITTEE)
PARTY = Actor.of("party-1", Role.PARTY_ORGANISATION)
OC = Actor.of("oc-1", Role.OWNERS_COMMITTEE)


@pytest.fixture
def url(store_url: str) -> str:
    """An empty store, once on SQLite and once on PostgreSQL (``tests/conftest.py``)."""
    return store_url


# --- the world: an estate, an open vote, accounts for every owner -----------------------------------


def roll(owners: int) -> str:
    lines = ["unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind"]
    for i in range(1, owners + 1):
        area = Decimal(80 + (i * 7) % 40) + Decimal("0.50")
        building = 1 + i % 3
        lines.append(
            f"P-B{building}-U{i:04d},{building},1,{i:04d},residential,{area},register,P{i:04d},person"
        )
    return "\n".join(lines) + "\n"


@dataclass
class World:
    url: str
    app: ConsultationApp
    estate: UUID
    vote: UUID
    usernames: dict[str, str]  # username -> person id


def make_world(url: str, owners: int = OWNERS) -> World:
    """An open vote (deadline next week, real time) and a sign-in account for every owner."""
    from webapp.accounts import AccountStore
    from webapp.db import engine_for
    from webapp.tables import create_tables

    clock = FixedClock(datetime.now(tz=UTC).replace(microsecond=0) - timedelta(days=40))
    app = build_app(url, clock=clock)
    app.create_street("S01", "示范街道", OPERATOR)
    app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate("PROC", "进程测试小区", "C01", OPERATOR)
    app.import_roll(estate, roll(owners), OPERATOR, source_name="roll.csv")
    app.elect_owners_committee(estate, ["oc-1", "oc-2", "P0003"], "2029-01-01", RC)
    case = app.submit_topic(
        estate, "加装电梯", "老楼加装电梯。", "online", Actor.of("P0001", Role.RESIDENT)
    ).id
    app.confirm_topic(case, "owners-assembly", ["全体业主"], PARTY, "属于共同决定事项")
    app.publish_notice(
        case,
        "定于会所召开业主大会。",
        "会所",
        "现场与网上",
        clock.now() + timedelta(days=15),
        [{"item_id": "1", "title": "加装电梯", "matter": 9}],
        OC,
    )
    clock.advance(days=15)
    app.speak(case, "我支持加装电梯。", Actor.of("P0002", Role.RESIDENT))
    clock.advance(days=24)
    vote = app.open_vote(case, "1", clock.now() + timedelta(days=7), OC, ["teller-a"]).id
    engine = engine_for(url)
    create_tables(engine)
    accounts = AccountStore(engine, "pbkdf2:sha256:1000")
    usernames = {}
    for i in range(1, owners + 1):
        name = f"owner-{i:04d}"
        accounts.create(name, PASSWORD, f"P{i:04d}", f"业主{i}", [Role.RESIDENT], estate)
        usernames[name] = f"P{i:04d}"
    accounts.create("oc-chair", PASSWORD, "oc-1", "业委会主任", [Role.OWNERS_COMMITTEE], estate)
    engine.dispose()
    return World(url, app, estate, vote, usernames)


# --- the server -------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def children(self, pid: int | None = None) -> list[tuple[int, str]]:
        """(pid, command line) of the live children of ``pid`` (default: the supervisor)."""
        parent = self.process.pid if pid is None else pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append((int(entry.name), command))
        return found

    def gunicorn(self) -> int:
        return next(pid for pid, cmd in self.children() if "gunicorn" in cmd)

    def workers(self) -> list[int]:
        return [pid for pid, _ in self.children(self.gunicorn())]

    def follower(self) -> int | None:
        return next((pid for pid, cmd in self.children() if " follow" in cmd), None)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(
        url: str, workers: int = 2, threads: int = 4, more: dict[str, str] | None = None
    ) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CONSULT_DATABASE_URL": url,
            "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
            "CONSULT_SECRET_KEY": "process-tests-" + "s" * 40,
            "CONSULT_COOKIE_SECURE": "0",
            "CONSULT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            "CONSULT_LIMIT_SIGNIN_IP": "1000000/60",
            "CONSULT_READ_WAIT": "20",
        }
        env.pop("CONSULT_FOLLOWERS", None)
        env.update(more or {})
        log = tmp_path / f"serve-{port}.log"
        command = [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--workers", str(workers), "--threads", str(threads)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, port, log)
        started.append(server)
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(server.base + "/api/v1/session", timeout=5) as r:
                    if r.status == 200 and len(server.workers()) == workers:
                        break
            except (OSError, StopIteration):
                pass
            assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
            time.sleep(0.2)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)  # whatever is left of the group


# --- a client over real HTTP ------------------------------------------------------------------------


class Client:
    """One browser-like API client: a cookie jar, the CSRF token, JSON in and out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf = ""
        self.headers: list[tuple[str, str]] = []  # of the last answer

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(request, timeout=60) as response:
                self.headers = list(response.headers.items())
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            self.headers = list(e.headers.items())
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def sign_in(self, username: str) -> None:
        status, session = self.call("GET", "/api/v1/session")
        assert status == 200, session
        self.csrf = session["csrf_token"]
        status, session = self.call(
            "POST", "/api/v1/session", {"username": username, "password": PASSWORD}
        )
        assert status == 200 and session["signed_in"], session
        self.csrf = session["csrf_token"]


@dataclass
class Outcomes:
    """What each owner's client saw: a receipt, a refusal, or no answer."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # person -> receipt
    refused: dict[str, tuple[int, Any]] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged) + len(self.refused) + len(self.unanswered)


def choice_of(person: str) -> str:
    return ("yes", "no", "abstain")[int(person[1:]) % 3]


def cast_all(
    base: str, vote: UUID, usernames: dict[str, str], outcomes: Outcomes, threads: int
) -> list[threading.Thread]:
    """Each thread signs owners in and casts their ballot through the API, one after another."""
    names = sorted(usernames)

    def work(mine: list[str]) -> None:
        for name in mine:
            person = usernames[name]
            client = Client(base)
            try:
                client.sign_in(name)
            except (OSError, http.client.HTTPException, AssertionError) as e:  # a killed worker
                with outcomes.lock:
                    outcomes.unanswered[person] = f"sign-in: {e!r}"
                continue
            try:
                status, body = client.call(
                    "POST", f"/api/v1/votes/{vote}/ballots", {"choice": choice_of(person)}
                )
            except (OSError, http.client.HTTPException) as e:  # died with its worker: no answer
                with outcomes.lock:
                    outcomes.unanswered[person] = repr(e)
                continue
            with outcomes.lock:
                if status == 201:
                    outcomes.acknowledged[person] = body
                elif status >= 500 or not isinstance(body, dict):
                    outcomes.unanswered[person] = f"{status}: {body}"
                else:
                    outcomes.refused[person] = (status, body)

    started = [
        threading.Thread(target=work, args=(names[i::threads],), name=f"client-{i}")
        for i in range(threads)
    ]
    for thread in started:
        thread.start()
    return started


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- what the store holds ---------------------------------------------------------------------------


def ballot_events(app: ConsultationApp) -> dict[UUID, list[int]]:
    """Every ballot event in the log: ballot id -> the log positions of its events."""
    topics = [get_topic(Ballot.Created), get_topic(Ballot.Changed)]
    found: dict[UUID, list[int]] = {}
    position: int | None = None
    while True:
        batch = app.recorder.select_notifications(position, 1000, topics=topics)
        for n in batch:
            found.setdefault(UUID(str(n.originator_id)), []).append(n.id)
        if len(batch) < 1000:
            return found
        position = batch[-1].id + 1


def head_of(app: ConsultationApp) -> int:
    return int(app.recorder.max_notification_id() or 0)


def projected(url: str, app: ConsultationApp, vote: UUID, head: int, timeout: float) -> Any:
    """The projected tally, once the followers' views reached ``head``."""
    from projections import Projector, Queries, open_store

    store = open_store(url)
    try:
        Projector(app, store).wait(head, timeout)
        return Queries(store, app).vote_tally(vote).result
    finally:
        store.dispose()


def chain_reaches(url: str, app: ConsultationApp, head: int, timeout: float) -> None:
    from consult.audit import open_store, verify_store

    with open_store(url, app) as store:
        wait_until(lambda: store.head().position >= head, timeout, "the audit chain")
        report = verify_store(store)
        assert report.ok, report


def head_id(person: str) -> str:
    return f"H:{person}"


# --- the tests --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_killing_a_worker_and_the_follower_loses_no_acknowledged_ballot(
    url: str, serve: Callable[..., Server]
) -> None:
    world = make_world(url)
    server = serve(url, workers=2, threads=4)
    follower = server.follower()
    workers = server.workers()
    assert follower is not None and len(workers) == 2

    outcomes = Outcomes()
    clients = cast_all(server.base, world.vote, world.usernames, outcomes, threads=8)

    # During the load: SIGKILL one web worker, then the follower.
    wait_until(lambda: len(outcomes.acknowledged) >= OWNERS // 4, 300, "the first ballots")
    os.kill(workers[0], signal.SIGKILL)
    wait_until(lambda: len(outcomes.acknowledged) >= OWNERS // 2, 300, "ballots after the kill")
    os.kill(follower, signal.SIGKILL)
    for client in clients:
        client.join(600)
    assert outcomes.count() == OWNERS

    # gunicorn replaced its worker; the supervisor restarted the follower.
    wait_until(lambda: len(server.workers()) == 2, 60, "a new worker")
    assert workers[0] not in server.workers()
    wait_until(lambda: server.follower() not in (None, follower), 60, "the follower's restart")
    log = server.log.read_text()
    assert "follower exited" in log

    app = world.app
    stored = ballot_events(app)
    print(  # shown with -s: what the faults did
        f"acknowledged {len(outcomes.acknowledged)}, unanswered {len(outcomes.unanswered)}, "
        f"stored {len(stored)}: {sorted(outcomes.unanswered.values())[:3]}"
    )
    # Every acknowledged ballot is stored exactly once, at the position its receipt names.
    for person, receipt in outcomes.acknowledged.items():
        bid = ballot_id(world.vote, head_id(person))
        assert stored.get(bid) == [receipt["position"]], (person, receipt)
        assert receipt["elector_id"] == head_id(person)
        assert receipt["choice"] == choice_of(person)
    # Nothing was refused (the vote is open); a stored ballot was cast by an owner whose client
    # got no answer (its worker died after the commit) or an acknowledged one, once each.
    assert not outcomes.refused, outcomes.refused
    cast_by = {ballot_id(world.vote, head_id(p)) for p in outcomes.acknowledged} | {
        ballot_id(world.vote, head_id(p)) for p in outcomes.unanswered
    }
    assert set(stored) <= cast_by
    assert all(len(positions) == 1 for positions in stored.values())
    assert len(outcomes.acknowledged) >= OWNERS // 2

    # The restarted follower resumed: the projected tally is the rules' count from the events.
    head = head_of(app)
    counted = app.ballots(app.vote(world.vote))
    elector_of = {ballot_id(world.vote, head_id(p)): head_id(p) for p in world.usernames.values()}
    assert set(counted) == {elector_of[bid] for bid in stored}
    assert projected(url, app, world.vote, head, 120) == app.tally(world.vote)
    chain_reaches(url, app, head, 120)
    app.close()


@pytest.mark.slow
def test_ballots_racing_the_close_are_counted_or_refused_never_both_never_neither(
    url: str, serve: Callable[..., Server]
) -> None:
    world = make_world(url)
    server = serve(url, workers=3, threads=2)

    chair = Client(server.base)
    chair.sign_in("oc-chair")
    outcomes = Outcomes()
    clients = cast_all(server.base, world.vote, world.usernames, outcomes, threads=12)
    wait_until(lambda: len(outcomes.acknowledged) >= OWNERS // 3, 300, "ballots before the close")
    # Early closes are refused until everyone has voted: the close comes from a process whose
    # clock has reached the published end, while the served workers' clocks have not.
    at_the_end = FixedClock()
    closer = build_app(url, clock=at_the_end)
    at_the_end.set(closer.vote(world.vote).closes_at)
    try:
        closed = closer.close_vote(world.vote, OC, "到期")
    finally:
        closer.close()
    for client in clients:
        client.join(600)
    assert outcomes.count() == OWNERS
    assert not outcomes.unanswered, outcomes.unanswered  # no fault here: every request answered

    app = world.app
    counted = app.ballots(app.vote(world.vote), app._close_position(world.vote))
    codes = sorted(body["error"]["code"] for _, body in outcomes.refused.values())
    print(  # shown with -s
        f"acknowledged {len(outcomes.acknowledged)}, refused {len(codes)}: "
        f"{ {c: codes.count(c) for c in set(codes)} }"
    )
    for person in world.usernames.values():
        elector = head_id(person)
        if person in outcomes.acknowledged:  # acknowledged: counted, with its choice
            assert counted.get(elector) is not None, person
            assert counted[elector].value == choice_of(person)
        else:  # refused, with a clear error naming why: not counted
            status, body = outcomes.refused[person]
            error = body["error"]
            assert status == 409 and error["code"] in ("vote_closed", "vote_not_open"), body
            assert error["messages"]["zh"] and error["messages"]["en"], body
            assert elector not in counted, person
    assert len(counted) == len(outcomes.acknowledged)
    assert outcomes.refused, "the close came before every ballot: nothing raced it"

    # The close's published result, the rules' count and the projection agree.
    result = app.tally(world.vote)
    assert closed.result.raw.participating.heads == result.raw.participating.heads == len(counted)
    status, tally = chair.call("GET", f"/api/v1/votes/{world.vote}/tally")
    assert status == 200 and tally["final"], tally
    assert projected(url, app, world.vote, head_of(app), 120) == result
    chain_reaches(url, app, head_of(app), 120)
    app.close()


def test_a_ballot_under_consult_serve_is_answered_as_the_flask_view_answers(
    url: str, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """Under ``consult serve`` (gunicorn's gthread worker) the answer to a ballot, a first cast's
    or a change's, is the one the Flask view gives, headers and all (but those the server adds)."""
    from entrypoints.bootstrap import build_web
    from webapp.state import EXTENSION

    world = make_world(url, owners=4)
    server = serve(url, workers=2)  # gunicorn (one worker is werkzeug's server)
    web = build_web(
        {"TESTING": True},
        config=Config(url, tmp_path / "flask"),
        consult=world.app,
        environ={
            "CONSULT_SECRET_KEY": "flask-view-" + "k" * 40,
            "CONSULT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            "CONSULT_COOKIE_SECURE": "0",
        },
    )
    services = web.extensions[EXTENSION]
    with contextlib.ExitStack() as parts:  # every connection let go, in the reverse order
        parts.callback(world.app.close)
        parts.callback(services.engine.dispose)
        parts.callback(services.signins.close)
        audit_store = getattr(
            getattr(services.reads, "_reads", services.reads), "audit_store", None
        )
        if audit_store is not None:
            parts.callback(audit_store.close)
        runtime = web.extensions.get("consult_runtime")
        if runtime is not None:
            parts.callback(runtime.close)
        _compare_with_the_view(world, server, web.test_client())


def _compare_with_the_view(world: World, server: Server, flask: Any) -> None:
    path = f"/api/v1/votes/{world.vote}/ballots"
    choices = ("yes", "no", "abstain")  # a first cast, a change, a change refused

    served = Client(server.base)
    served.sign_in("owner-0001")
    over_http = []
    for choice in choices:
        status, body = served.call("POST", path, {"choice": choice})
        headers = {k: v for k, v in served.headers if k not in ("Date", "Server", "Connection")}
        cookies = sorted(v.split("=")[0] for k, v in served.headers if k == "Set-Cookie")
        over_http.append((status, headers, body, cookies))
    token = flask.get("/api/v1/session").json["csrf_token"]  # type: ignore[index]
    signed_in = flask.post(
        "/api/v1/session",
        json={"username": "owner-0002", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    token = signed_in.json["csrf_token"]  # type: ignore[index]
    by_view = []
    for choice in choices:
        r = flask.post(path, json={"choice": choice}, headers={"X-CSRF-Token": token})
        cookies = sorted(v.split("=")[0] for v in r.headers.getlist("Set-Cookie"))
        by_view.append((r.status_code, dict(r.headers), r.json, cookies))

    for (s1, h1, b1, c1), (s2, h2, b2, c2) in zip(over_http, by_view, strict=True):
        assert s1 == s2 and h1.keys() == h2.keys(), (h1, h2)
        for name in h1:
            if name not in ("Content-Length", "Set-Cookie"):
                assert h1[name] == h2[name], name
        assert c1 == c2  # the same cookies (the session's, the read-your-writes position)
        if s1 == 201:
            assert b1.keys() == b2.keys() and b1["changed"] == b2["changed"], (b1, b2)
            assert (b1["elector_id"], b2["elector_id"]) == ("H:P0001", "H:P0002")
        else:
            assert b1["error"]["code"] == b2["error"]["code"], (b1, b2)
    ballots = world.app.ballots(world.app.vote(world.vote))
    assert ballots["H:P0001"] == ballots["H:P0002"]


# --- the process model's parts ----------------------------------------------------------------------


def test_a_signed_out_cookie_replayed_to_every_worker_is_anonymous(
    url: str, serve: Callable[..., Server]
) -> None:
    """Sign-out ends the session on the server: the saved cookie, replayed on new connections
    (spread over both workers, which had both seen it signed in), is anonymous at once."""
    world = make_world(url, owners=3)
    try:
        server = serve(url, workers=2)
        client = Client(server.base)
        client.sign_in("owner-0001")
        jar = client.opener.handlers  # the cookie as the browser keeps it
        cookie = next(
            c.value
            for h in jar
            if isinstance(h, urllib.request.HTTPCookieProcessor)
            for c in h.cookiejar
            if c.name == "consult_session"
        )

        def replayed() -> list[bool]:
            answers = []
            for _ in range(16):
                request = urllib.request.Request(server.base + "/api/v1/session")
                request.add_header("Cookie", f"consult_session={cookie}")
                request.add_header("Connection", "close")
                with urllib.request.urlopen(request, timeout=30) as response:
                    answers.append(bool(json.loads(response.read())["signed_in"]))
            return answers

        assert all(replayed())
        status, session = client.call("DELETE", "/api/v1/session")
        assert status == 200 and not session["signed_in"]
        assert not any(replayed())
    finally:
        world.app.close()


def test_follower_settings_are_checked(tmp_path: Path) -> None:
    base = {"CONSULT_INSTANCE_PATH": str(tmp_path)}
    assert Config.from_env(base).followers == "embedded"
    assert Config.from_env({**base, "CONSULT_FOLLOWERS": "External"}).followers == "external"
    with pytest.raises(SettingError) as bad:
        Config.from_env({**base, "CONSULT_FOLLOWERS": "sideways"})
    assert bad.value.field == "CONSULT_FOLLOWERS" and "sideways" in bad.value.message("en")
    with pytest.raises(SettingError) as slow:
        Config.from_env({**base, "CONSULT_READ_WAIT": "soon"})
    assert slow.value.field == "CONSULT_READ_WAIT" and "soon" in slow.value.message("zh")
    with pytest.raises(SettingError) as memory:
        build_runtime(Config("memory://", tmp_path), followers="external")
    assert "memory" in memory.value.message("en")


def test_several_workers_need_a_database_file_or_server(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from entrypoints.commands.serve import serve

    env = {"CONSULT_DATABASE_URL": "memory://", "CONSULT_INSTANCE_PATH": str(tmp_path)}
    result = CliRunner().invoke(serve, ["--workers", "2"], env=env)
    assert result.exit_code == 2 and "one process" in result.output, result.output


def test_embedded_runtime_projects_and_chains_after_each_command(
    sqlite_url: str, tmp_path: Path
) -> None:
    from consult.audit import open_store

    with build_runtime(Config(sqlite_url, tmp_path)) as runtime:
        runtime.app.create_street("S01", "示范街道", OPERATOR)
        head = head_of(runtime.app)
        assert runtime.projector is not None and runtime.projector.position() == head
        assert runtime.chain is not None and runtime.chain.wait(head, 30)
    # closed: the chain's thread stopped, and the store says the chain reached the head
    with open_store(sqlite_url) as store:
        assert store.head().position == head


def test_external_web_waits_for_the_follower_and_says_when_it_is_behind(
    sqlite_url: str, tmp_path: Path
) -> None:
    from entrypoints.bootstrap import build_web, follow
    from webapp.positions import POSITION_COOKIE
    from webapp.wiring import POSITIONS, STALE_HEADER, STALE_NOTICE

    app = build_app(sqlite_url)
    app.create_street("S01", "示范街道", OPERATOR)
    head = head_of(app)
    config = Config(sqlite_url, tmp_path / "instance", followers="external", read_wait=0.2)
    web = build_web(
        {"TESTING": True},
        config=config,
        environ={"CONSULT_SECRET_KEY": "x" * 40, "CONSULT_COOKIE_SECURE": "0"},
    )
    client = web.test_client()
    # as after the user's own command at the log's head
    client.set_cookie(POSITION_COOKIE, web.extensions[POSITIONS].text(head))

    # No follower yet: the page and the API say that what they show may be behind.
    page = client.get("/signin")
    assert page.status_code == 200 and STALE_NOTICE[0] in page.text
    assert page.headers[STALE_HEADER] == "behind" and "110" in page.headers["Warning"]
    api = client.get("/api/v1/session")
    assert api.status_code == 200 and api.headers[STALE_HEADER] == "behind"

    # A follower catches up: the same pages are served as they are, without the notice.
    stop = threading.Event()
    follower = threading.Thread(
        target=follow, kwargs={"config": config, "stop": stop, "audit": False}
    )
    follower.start()
    try:
        runtime = web.extensions["consult_runtime"]
        assert runtime.wait(head, 60)
        page = client.get("/signin")
        assert STALE_NOTICE[0] not in page.text and STALE_HEADER not in page.headers
    finally:
        stop.set()
        follower.join(60)
        runtime.close()
        app.close()
    assert not follower.is_alive()


@pytest.mark.postgres
def test_a_postgres_follower_wakes_on_the_stores_notification(postgres_url: str) -> None:
    from consult.adapters.followers import PostgresWatcher

    app = build_app(postgres_url)
    stop = threading.Event()
    # A fallback of ten minutes: returning sooner means the store's NOTIFY woke it.
    watcher = PostgresWatcher(postgres_url, app.recorder.channel_name, stop, fallback=600)
    waiting = threading.Thread(target=watcher.wait)
    waiting.start()
    try:
        app.create_street("S01", "示范街道", OPERATOR)
        waiting.join(60)
        assert not waiting.is_alive() and watcher.listening  # woken, not broken
    finally:
        stop.set()
        waiting.join(5)
        watcher.close()
        app.close()
