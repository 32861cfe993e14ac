"""Ballots over real HTTP: the product's server, a load generator, and a bare Flask reference.

For each store (a SQLite file, then a throw-away PostgreSQL database) this

1. sets up an estate on the 20,000-unit roll made by ``consult.rollgen`` (``--roll`` for another)
   with an owners' vote open, and one resident account per head (an owner of that head), bound
   to the estate;
2. starts gunicorn (``consult serve``'s command line and worker class) on a bare Flask app (one
   route, a small JSON) and measures it with ``wrk`` at the same number of connections;
3. starts the product (``entrypoints.wsgi:create_app()``) with the same gunicorn settings, and sends every
   head's ballot once (``POST /api/v1/votes/<id>/ballots`` with the owner's session and CSRF token)
   from ``wrk`` at 64 connections;
4. on PostgreSQL, measures the one-commit-per-ballot limit: single-event insert transactions through
   the application's own recorder, from several threads, on the same server;
5. checks the store: every acknowledged ballot (a 201 with a receipt) is stored exactly once, no
   ballot is stored that was not acknowledged, and the projected tally equals the rules' tally.

Sessions are signed with the server's secret key here, as a sign-in would set them (user id, epoch,
CSRF token): signing in is not part of what is measured. Prints one JSON line per measurement.

    PYTHONPATH=. python bench/load_bench.py [--backends sqlite,postgresql] [--workers 2]
        [--threads 16] [--clients 64] [--heads N] [--bare-seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consult.actors import Actor, Role  # noqa: E402
from consult.clock import FixedClock  # noqa: E402
from consult.rollgen import named_roll  # noqa: E402
from consult.vote import Ballot, ballot_id  # noqa: E402
from entrypoints.bootstrap import build_app  # noqa: E402
from projections import Projector, Queries, open_store  # noqa: E402

DEFAULT_ROLL = "roll-20000.csv"  # consult.rollgen.named_roll
LUA = Path(__file__).with_name("load_ballots.lua")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
VENV_BIN = Path(sys.executable).parent
DECIMAL = re.compile(r"-?\d+(\.\d+)?")

OPERATOR = Actor.of("bench-op", Role.OPERATOR)
RC = Actor.of("bench-rc", Role.RESIDENTS_COMMITTEE)
PARTY = Actor.of("bench-party", Role.PARTY_ORGANISATION)
OC = Actor.of("bench-oc", Role.OWNERS_COMMITTEE)


def emit(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# --- the bare reference ----------------------------------------------------------------------


def bare_app() -> Any:
    """The reference: Flask, one route returning a small JSON, nothing else."""
    from flask import Flask, jsonify

    app = Flask("bare")

    @app.post("/ping")
    def ping() -> Any:
        return jsonify({"ok": True, "n": 1}), 201

    return app


# --- stores ------------------------------------------------------------------------------------


@contextlib.contextmanager
def store(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'consult.sqlite3'}"
        return
    import psycopg

    admin = os.environ.get("CONSULT_BENCH_PG_ADMIN", PG_ADMIN)
    name = f"consult_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_postgres(workdir: Path) -> Iterator[str]:
    """A PostgreSQL server of our own (Debian's binaries, default settings, trust on a local port),
    for runs where other work on the machine holds the shared server's connections."""
    binaries = Path(
        subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    data = workdir / "pgdata"
    data.mkdir()
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}"
    subprocess.run(
        [
            *as_postgres,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
        )


@dataclass(frozen=True)
class Voter:
    account_id: int
    person_id: str
    elector_id: str


@dataclass(frozen=True)
class Setup:
    vote_id: UUID
    estate_id: UUID
    voters: list[Voter]
    seconds: float
    generation: str  # the accounts database's (webapp.accounts), which sessions name


def prepare(url: str, roll: Path | None, heads: int | None) -> Setup:
    """An estate on the roll (a file, or by default the generated 20,000-unit roll), an owners'
    vote open now, one resident account per head."""
    started = time.perf_counter()
    real_now = datetime.now(tz=UTC)
    clock = FixedClock(real_now - timedelta(days=40))
    app = build_app(url, clock=clock)
    try:
        app.create_street("S-LOAD", "压测街道", OPERATOR)
        app.create_community("C-LOAD", "压测社区", "S-LOAD", OPERATOR)
        estate = app.create_estate("E-LOAD", "压测小区", "C-LOAD", OPERATOR)
        name, text = (
            (roll.name, roll.read_text(encoding="utf-8"))
            if roll is not None
            else (DEFAULT_ROLL, named_roll(DEFAULT_ROLL))
        )
        app.import_roll(estate, text, RC, source_name=name)
        electorate = app.owners_electorate(estate)
        people = [p for e in electorate.electors for p in electorate.entitled[e.elector_id]]
        app.elect_owners_committee(estate, people[:5], "2030-12-31", RC)
        owner = Actor.of(people[0], Role.RESIDENT)
        case = app.submit_topic(estate, "更换电梯", "更换全部电梯。", "online", owner).id
        app.confirm_topic(case, "owners-assembly", ["全体业主"], PARTY, "属于共同决定事项")
        item = {"item_id": "1", "title": "更换电梯", "matter": 9}
        app.publish_notice(
            case, "公示", "会所", "网上", clock.now() + timedelta(days=15), [item], OC
        )
        earliest = app.case(case).earliest_start
        assert earliest is not None
        clock.set(max(earliest, real_now - timedelta(minutes=5)))
        app.speak(case, "赞成。", owner)
        app.form_opinion(case, "提交表决。", OC)
        vote_id = app.open_vote(case, "1", real_now + timedelta(days=2), OC).id
        # One account per head: the head's first owner; a person owning several heads gets one
        # account and casts for each of them (with ``elector_id``).
        chosen = electorate.electors if heads is None else electorate.electors[:heads]
        person_of = {e.elector_id: electorate.entitled[e.elector_id][0] for e in chosen}
        accounts, generation = _make_accounts(url, estate, sorted(set(person_of.values())))
        voters = [Voter(accounts[p], p, e) for e, p in person_of.items()]
        random.Random(7).shuffle(voters)
        projector = Projector(app, open_store(url))
        projector.catch_up()  # the views are up to date before the load starts
        projector.dispose()
    finally:
        app.close()
    return Setup(vote_id, estate, voters, time.perf_counter() - started, generation)


def _make_accounts(url: str, estate: UUID, persons: list[str]) -> tuple[dict[str, int], str]:
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from webapp.accounts import AccountRow, AccountsMetaRow
    from webapp.db import create_tables, engine_for
    from webapp.signins import SessionRow

    engine = engine_for(url)
    create_tables(engine)
    digest = generate_password_hash(secrets.token_hex(16), method="scrypt")  # nobody signs in
    now = datetime.now(tz=UTC)
    rows = [
        {
            "username": f"load-{p.lower()}",
            "password_hash": digest,
            "person_id": p,
            "display_name": p,
            "roles": Role.RESIDENT.value,
            "estate_id": estate.hex,
            "epoch": 1,
            "disabled": False,
            "created_at": now,
        }
        for p in persons
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 2000):
            conn.execute(insert(AccountRow), rows[i : i + 2000])
        found = conn.execute(select(AccountRow.person_id, AccountRow.id)).all()
    create_tables(engine)  # records the accounts just made (webapp.accounts.prepare_account_tables)
    with engine.connect() as conn:
        generation = conn.execute(
            select(AccountsMetaRow.value).where(AccountsMetaRow.key == "generation")
        ).scalar_one()
    # a live server-side session for each (webapp.signins), named by the cookie session_cookie makes
    sessions = [
        {
            "id": hashlib.sha256(_session_id(account, generation).encode()).hexdigest(),
            "account_id": account,
            "started": int(time.time()),
        }
        for _person, account in found
    ]
    with engine.begin() as conn:
        for i in range(0, len(sessions), 2000):
            conn.execute(insert(SessionRow), sessions[i : i + 2000])
    engine.dispose()
    return {person: account for person, account in found}, generation


def _session_id(account_id: int, generation: str) -> str:
    return f"load-{generation}-{account_id}"


def session_cookie(secret_key: str, voter: Voter, setup: Setup, csrf: str) -> str:
    """The cookie a sign-in sets (``webapp.security.sign_in``: the account's id, epoch and
    claims, the CSRF token), signed as Flask signs it. The account is the one ``_make_accounts``
    made for the voter."""
    from webapp.accounts import Account, account_claims

    account = Account(
        id=voter.account_id,
        username=f"load-{voter.person_id.lower()}",
        person_id=voter.person_id,
        display_name=voter.person_id,
        roles=frozenset({Role.RESIDENT}),
        estate_id=setup.estate_id,
        epoch=1,
    )
    claims = account_claims(account, setup.generation)
    values = {
        "sid": _session_id(account.id, setup.generation),
        "uid": account.id,
        "epoch": account.epoch,
        **claims,
        "csrf": csrf,
    }
    return str(_signer(secret_key).dumps({**values, "_permanent": True}))


@functools.cache
def _signer(secret_key: str) -> Any:
    """The product's own session signer (``webapp.sessions.SessionCookies``) for this key."""
    from flask import Flask

    from webapp.sessions import SessionCookies

    app = Flask("sessions")
    app.secret_key = secret_key
    return SessionCookies().get_signing_serializer(app)


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of the server's processes: web workers, followers."""
        tick = os.sysconf("SC_CLK_TCK")
        used = {"web": 0.0, "follower": 0.0}
        for pid, role in self._processes():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[role] += (int(fields[11]) + int(fields[12])) / tick
        return used

    def switches(self) -> dict[str, float]:
        """Context switches so far (voluntary and not) of the threads of the server's processes
        that are still there: those a load runs on (request threads, the committer, the event
        loops)."""
        counted = {"web": 0.0, "follower": 0.0}
        for pid, role in self._processes():
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    with contextlib.suppress(OSError):
                        for line in (task / "status").read_text().splitlines():
                            if "ctxt_switches:" in line:
                                counted[role] += int(line.split()[-1])
        return counted

    def _processes(self) -> list[tuple[int, str]]:
        """The server's processes and their roles ("web" or "follower")."""
        found = []
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                found.append((pid, "follower" if b"follow" in command else "web"))
        return found


def _used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            for child in text:
                found.append(int(child))
                found.extend(_children(int(child)))
    return found


def start_server(
    command: list[str], env: dict[str, str], port: int, log: Path, cwd: Path
) -> Server:
    process = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=cwd
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if _answers(port):
                time.sleep(1.0)  # every worker up
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("the server did not answer in 120 s")


@dataclass(frozen=True)
class BareRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    server_switches: float
    client_cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def fields(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "req_per_s": round(self.rate),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
            "server_cpu_ms_per_req": round(1000 * self.server_cpu_s / self.requests, 3),
            "server_switches_per_req": round(self.server_switches / self.requests, 1),
            "client_cpu_ms_per_req": round(1000 * self.client_cpu_s / self.requests, 3),
        }


def measure_bare(bare: Server, requests_file: Path, clients: int, out: Path) -> BareRun:
    cpu0, switches0 = bare.cpu_seconds(), bare.switches()
    result = run_wrk(bare.port, "/ping", requests_file, clients, out, 120)
    return BareRun(
        requests=result.requests,
        seconds=result.seconds,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=sum(v for k, v in result.statuses.items() if k != "201"),
        server_cpu_s=_used(cpu0, bare.cpu_seconds())["web"],
        server_switches=_used(switches0, bare.switches())["web"],
        client_cpu_s=result.client_cpu_s,
    )


def wait_quiet(server: Server, timeout: float = 30.0) -> None:
    """Until the server's processes use under 5 % of a core (its followers have caught up)."""
    deadline = time.monotonic() + timeout
    before = sum(server.cpu_seconds().values())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(server.cpu_seconds().values())
        if now - before < 0.025:
            return
        before = now


def bare_server(env: dict[str, str], workers: int, threads: int, log: Path) -> Server:
    """The bare app under the very gunicorn command line ``consult serve`` uses."""
    from entrypoints.commands.serve import gunicorn_command

    port = free_port()
    command = gunicorn_command("127.0.0.1", port, workers, threads)
    assert command[-1] == "entrypoints.wsgi:create_app()"
    command[-1:] = ["--chdir", str(Path(__file__).parent), "load_bench:bare_app()"]
    return start_server(command, env, port, log, Path(__file__).parent)


def product_server(env: dict[str, str], workers: int, threads: int, log: Path, cwd: Path) -> Server:
    """``consult serve``: gunicorn workers and, with external followers, the follower process."""
    port = free_port()
    command = [str(VENV_BIN / "consult"), "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    return start_server(command, env, port, log, cwd)


def _answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"GET /favicon.ico HTTP/1.0\r\nHost: x\r\n\r\n")
        return s.recv(12).startswith(b"HTTP/1.")


# --- the load generator ------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    statuses: dict[str, int]
    acknowledged: list[str]
    client_cpu_s: float


def run_wrk(
    port: int, path: str, requests_file: Path, clients: int, out: Path, timeout: float
) -> WrkResult:
    """``wrk`` with ``load_ballots.lua``: each line of ``requests_file`` is sent once.

    The script times the run (first request to last response) and writes ``END``; wrk is then
    stopped with SIGINT and prints its latency summary (its own clock would run the full ``-d``).
    """
    env = {
        **os.environ,
        "LOAD_REQUESTS": str(requests_file),
        "LOAD_OUT": str(out),
        "LOAD_PATH": path,
    }
    before = os.times()
    command = ["wrk", "-t1", f"-c{clients}", f"-d{int(timeout) + 60}s", "--timeout", "30s"]
    command += ["-s", str(LUA), f"http://127.0.0.1:{port}{path}"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    finished = False
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        with contextlib.suppress(OSError):
            if "END\t" in _tail(out):
                finished = True
                break
    proc.send_signal(signal.SIGINT)
    stdout, _stderr = proc.communicate(timeout=60)
    after = os.times()
    summary = json.loads(next(line for line in stdout.splitlines() if line.startswith("{")))
    acknowledged: list[str] = []
    statuses: Counter[str] = Counter()
    seconds = timeout
    for line in out.read_text().splitlines():
        status, _, value = line.partition("\t")
        if status == "END":
            seconds = int(value) / 1e6
            continue
        statuses[status] += 1
        if status == "201" and value:
            acknowledged.append(value)
    if not finished:
        with requests_file.open("rb") as f:
            statuses["unanswered"] = sum(1 for _ in f) - sum(statuses.values())
    return WrkResult(
        requests=sum(statuses.values()),
        seconds=seconds,
        p50_ms=summary["p50_us"] / 1000,
        p90_ms=summary["p90_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        p999_ms=summary["p999_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        statuses=dict(statuses),
        acknowledged=acknowledged,
        client_cpu_s=(after.children_user + after.children_system)
        - (before.children_user + before.children_system),
    )


def _tail(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 200))
        return f.read().decode("utf-8", "replace")


def write_requests(path: Path, lines: list[tuple[str, str, str]]) -> None:
    """One request per line: cookie, CSRF token, JSON body (tab-separated)."""
    with path.open("w", encoding="utf-8") as f:
        for cookie, csrf, body in lines:
            f.write(f"{cookie}\t{csrf}\t{body}\n")


# --- the PostgreSQL one-commit-per-ballot limit ------------------------------------------------


def single_commit_limit(workdir: Path, seconds: float, threads: tuple[int, ...]) -> dict[str, Any]:
    """One ballot event per transaction through the application's recorder, on a throw-away
    database of the same server; the best rate over the thread counts tried."""
    rates: dict[int, float] = {}
    with store("postgresql", workdir) as url:
        app = build_app(url)
        try:
            for n in threads:
                rates[n] = _commit_rate(app, n, seconds)
        finally:
            app.close()
    best = max(rates, key=lambda k: rates[k])
    return {
        "commits_per_s": round(rates[best]),
        "threads": best,
        "by_threads": {str(k): round(v) for k, v in rates.items()},
    }


def _commit_rate(app: Any, threads: int, seconds: float) -> float:
    vote = uuid.uuid4()
    at = datetime.now(tz=UTC)
    count = [0] * threads
    stop = threading.Event()

    def loop(i: int) -> None:
        while not stop.is_set():
            bid = uuid.uuid4()
            ballot = Ballot.start(
                bid,
                at,
                "P1",
                "",
                vote_id=vote,
                elector_id=bid.hex,
                choice="yes",
                channel="online",
                receipt="0" * 16,
            )
            stored = [app.mapper.to_stored_event(e) for e in ballot.collect_events()]
            app.recorder.insert_events(stored)
            count[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(count) / (time.perf_counter() - started)


# --- the check ---------------------------------------------------------------------------------


def check_store(url: str, setup: Setup, sent: list[str], acknowledged: list[str]) -> dict[str, Any]:
    """Every acknowledged ballot is stored once; nothing unacknowledged is; both tallies agree."""
    app = build_app(url)
    try:
        ack = Counter(acknowledged)
        twice_acked = [e for e, n in ack.items() if n > 1]
        missing, duplicated, unacked_stored = [], [], []
        for elector in sent:
            stored = app.recorder.select_events(ballot_id(setup.vote_id, elector))
            created = sum(1 for s in stored if s.topic.endswith("Ballot.Created"))
            if elector in ack:
                if created == 0:
                    missing.append(elector)
                elif created > 1 or len(stored) > 1:
                    duplicated.append(elector)
            elif stored:
                unacked_stored.append(elector)
        rules = app.tally(setup.vote_id)
        projector = Projector(app, open_store(url))
        projector.catch_up()
        projected = Queries(projector.store, app).vote_tally(setup.vote_id).result
        projector.dispose()
        same = _numbers(rules.to_dict()) == _numbers(projected.to_dict())
        if not same:
            emit(
                bench="load_tally_diff",
                rules=rules.raw.to_dict()["by_choice"],
                projected=projected.raw.to_dict()["by_choice"],
            )
        participating = rules.raw.participating.heads
        return {
            "acknowledged": len(ack),
            "acknowledged_twice": len(twice_acked),
            "missing": len(missing),
            "stored_more_than_once": len(duplicated),
            "stored_without_ack": len(unacked_stored),
            "rules_participating_heads": participating,
            "projected_equals_rules": bool(same),
            "ok": not (twice_acked or missing or duplicated or unacked_stored)
            and bool(same)
            and participating == len(ack),
        }
    finally:
        app.close()


def _exceptions(log: Path) -> dict[str, int]:
    """The last line of each traceback in the server's log, counted."""
    found: Counter[str] = Counter()
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith(" ")), None)
            if end is not None:
                found[lines[end][:300]] += 1
    return dict(found)


def _numbers(value: Any) -> Any:
    """Decimal strings as numbers ("0" and "0.00" are the same area)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        return Decimal(value)
    return value


# --- one backend -------------------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"load-{backend}-", dir=args.dir))
    try:
        with store(backend, workdir) as url, contextlib.ExitStack() as stack:
            setup = prepare(url, args.roll, args.heads)
            emit(
                bench="load_setup",
                backend=backend,
                heads=len(setup.voters),
                seconds=round(setup.seconds, 1),
                load_average=load_average(),
            )
            secret = secrets.token_hex(32)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")},
                "PYTHONPATH": str(ROOT),
                "CONSULT_DATABASE_URL": url,
                "CONSULT_INSTANCE_PATH": str(workdir / "instance"),
                "CONSULT_SECRET_KEY": secret,
                "CONSULT_COOKIE_SECURE": "0",
                "CONSULT_FOLLOWERS": args.followers,
                **dict(kv.split("=", 1) for kv in args.env),
            }
            # The bare reference, same server settings, measured just before the ballots and again
            # just after them (the machine's speed drifts: the ballots are compared with both).
            bare = bare_server(env, args.workers, args.threads, workdir / "bare.log")
            stack.callback(bare.stop)
            n_bare = max(2000, int(args.bare_rate_guess * args.bare_seconds))
            bare_file = workdir / "bare.txt"
            write_requests(bare_file, [("-", "-", "{}")] * n_bare)
            warm_bare = run_wrk(
                bare.port, "/ping", bare_file, args.clients, workdir / "bare-warm.out", 60
            )

            def emit_bare(when: str, run: BareRun, **more: Any) -> None:
                emit(
                    bench="load_bare",
                    backend=backend,
                    clients=args.clients,
                    workers=args.workers,
                    threads=args.threads,
                    when=when,
                    **run.fields(),
                    **more,
                    load_average=load_average(),
                )

            bare_before = measure_bare(bare, bare_file, args.clients, workdir / "bare.out")
            emit_bare(
                "before", bare_before, warm_req_per_s=round(warm_bare.requests / warm_bare.seconds)
            )
            # The one-commit limit before the ballots (and again after them, below).
            limit_before = (
                single_commit_limit(workdir, args.limit_seconds, (1, 4, 16))
                if backend == "postgresql"
                else None
            )
            # The product.
            server = product_server(
                env, args.workers, args.threads, workdir / "server.log", workdir
            )
            try:
                path = f"/api/v1/votes/{setup.vote_id}/ballots"
                lines = []
                sent = []
                for v in setup.voters:
                    csrf = secrets.token_urlsafe(32)
                    body = json.dumps(
                        {
                            "choice": random.choice(("yes", "yes", "no", "abstain")),
                            "elector_id": v.elector_id,
                        }
                    )
                    lines.append((session_cookie(secret, v, setup, csrf), csrf, body))
                    sent.append(v.elector_id)
                ballots_file = workdir / "ballots.txt"
                write_requests(ballots_file, lines)
                if args.warm:
                    # Each worker builds the vote's electorate (every head) on its first cast:
                    # casts for a head that is not on the roll (refused, nothing stored) do it
                    # before the clock starts.
                    v = setup.voters[0]
                    csrf = secrets.token_urlsafe(32)
                    warm_body = json.dumps({"choice": "yes", "elector_id": "H:not-on-the-roll"})
                    warm_file = workdir / "warm.txt"
                    warm_line = (session_cookie(secret, v, setup, csrf), csrf, warm_body)
                    write_requests(warm_file, [warm_line] * args.warm)
                    warmed = run_wrk(
                        server.port, path, warm_file, args.clients, workdir / "warm.out", 120
                    )
                    emit(bench="load_warm", backend=backend, statuses=warmed.statuses)
                if args.profile:
                    profiler = subprocess.Popen(
                        [
                            str(VENV_BIN / "py-spy"),
                            "record",
                            "--subprocesses",
                            "--nonblocking",
                            "--gil",
                            "--format",
                            "raw",
                            "--rate",
                            "250",
                            "-o",
                            str(args.profile / f"{backend}.txt"),
                            "-p",
                            str(server.process.pid),
                            "-d",
                            "600",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    time.sleep(2)
                cpu0, switches0 = server.cpu_seconds(), server.switches()
                result = run_wrk(
                    server.port, path, ballots_file, args.clients, workdir / "ballots.out", 600
                )
                cpu = _used(cpu0, server.cpu_seconds())
                switches = _used(switches0, server.switches())
                if args.profile:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait()
                wait_quiet(server)  # the followers have applied the ballots
            finally:
                server.stop()
            bare_after = measure_bare(bare, bare_file, args.clients, workdir / "bare-2.out")
            emit_bare("after", bare_after)
            bare_rate = (bare_before.requests + bare_after.requests) / (
                bare_before.seconds + bare_after.seconds
            )
            rate = result.requests / result.seconds
            errors = {k: v for k, v in result.statuses.items() if k != "201"}
            line: dict[str, Any] = {
                "bench": "load_ballots",
                "backend": backend,
                "clients": args.clients,
                "workers": args.workers,
                "threads": args.threads,
                "ballots": result.requests,
                "ballots_per_s": round(rate),
                "p50_ms": round(result.p50_ms, 2),
                "p90_ms": round(result.p90_ms, 2),
                "p99_ms": round(result.p99_ms, 2),
                "p999_ms": round(result.p999_ms, 2),
                "max_ms": round(result.max_ms, 1),
                "errors": errors,
                "bare_req_per_s": round(bare_rate),
                "bare_before_after": [round(bare_before.rate), round(bare_after.rate)],
                "ratio_to_bare": round(rate / bare_rate, 3),
                "server_cpu_ms_per_ballot": round(1000 * sum(cpu.values()) / result.requests, 3),
                "web_cpu_ms_per_ballot": round(1000 * cpu["web"] / result.requests, 3),
                "follower_cpu_ms_per_ballot": round(1000 * cpu["follower"] / result.requests, 3),
                "web_switches_per_ballot": round(switches["web"] / result.requests, 1),
                "client_cpu_ms_per_req": round(1000 * result.client_cpu_s / result.requests, 3),
                "load_average": load_average(),
            }
            if limit_before is not None:
                # The machine is shared: the limit is measured just before and just after the
                # ballots, and the ballots are compared with the higher of the two.
                limit_after = single_commit_limit(workdir, args.limit_seconds, (1, 4, 16))
                limit = max(limit_before, limit_after, key=lambda x: int(x["commits_per_s"]))
                line["pg_single_commit_limit"] = limit["commits_per_s"]
                line["pg_limit_before_after"] = [
                    limit_before["commits_per_s"],
                    limit_after["commits_per_s"],
                ]
                line["pg_limit_by_threads"] = [
                    limit_before["by_threads"],
                    limit_after["by_threads"],
                ]
                line["ratio_to_pg_limit"] = round(rate / limit["commits_per_s"], 3)
            emit(**line)
            failures = _exceptions(server.log)
            if failures:
                emit(bench="load_server_errors", backend=backend, exceptions=failures)
            emit(
                bench="load_check",
                backend=backend,
                **check_store(url, setup, sent, result.acknowledged),
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


# --- in-process: where the time goes ----------------------------------------------------------


def in_process(backend: str, args: argparse.Namespace) -> None:
    """Without HTTP: ``cast_ballot`` from 32 threads with and without group commit; the product's
    WSGI callable and the bare app's from 32 threads; and the CPU of one ballot request's parts
    through Flask's test client (one thread, group commit on)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"load-inproc-{backend}-", dir=args.dir))
    try:
        with store(backend, workdir) as url:
            setup = prepare(url, args.roll, None)
            voters = iter(setup.voters)
            emit(
                bench="load_wsgi",
                backend=backend,
                **_wsgi_threads(url, workdir, setup, [next(voters) for _ in range(6300)], 32),
            )
            for group in (True, False):
                app = build_app(url)
                app.group_commit = group
                emit(
                    bench="load_app",
                    backend=backend,
                    group_commit=group,
                    **_app_casts(app, setup.vote_id, [next(voters) for _ in range(3000)], 32),
                )
                app.close()
            emit(
                bench="load_request_parts",
                backend=backend,
                **_request_parts(url, workdir, setup, [next(voters) for _ in range(2500)]),
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _web_in_process(url: str, instance: Path, secret: str) -> Any:
    """The product's Flask application in this process, on ``url``, followers elsewhere."""
    from entrypoints.bootstrap import build_web

    os.environ.update(
        {
            "CONSULT_DATABASE_URL": url,
            "CONSULT_INSTANCE_PATH": str(instance),
            "CONSULT_SECRET_KEY": secret,
            "CONSULT_COOKIE_SECURE": "0",
            "CONSULT_FOLLOWERS": "external",
        }
    )
    return build_web()


def _wsgi_threads(
    url: str, workdir: Path, setup: Setup, voters: list[Voter], threads: int
) -> dict[str, Any]:
    """CPU per request of the product's WSGI callable casting ballots (the fast path and the
    group committer, no server), and of the bare app's, each from ``threads`` threads."""
    secret = "w" * 64
    web = _web_in_process(url, workdir / "instance-wsgi", secret)
    path = f"/api/v1/votes/{setup.vote_id}/ballots"
    statuses: Counter[str] = Counter()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses[status.split()[0]] += 1
        return lambda data: None

    def environ(target: str, body: bytes, cookie: str | None, csrf: str) -> dict[str, Any]:
        env = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": target,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
        }
        if cookie is not None:
            env["HTTP_COOKIE"] = f"consult_session={cookie}"
            env["HTTP_X_CSRF_TOKEN"] = csrf
        return env

    def ballot(v: Voter) -> dict[str, Any]:
        csrf = secrets.token_urlsafe(32)
        body = json.dumps({"choice": "yes", "elector_id": v.elector_id}).encode()
        return environ(path, body, session_cookie(secret, v, setup, csrf), csrf)

    def cpu_per_request(app: Any, environs: list[dict[str, Any]]) -> float:
        chunks = [environs[k::threads] for k in range(threads)]

        def run(chunk: list[dict[str, Any]]) -> None:
            for env in chunk:
                b"".join(app(env, start_response))

        workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
        cpu = time.process_time()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return (time.process_time() - cpu) / len(environs)

    for env in [ballot(v) for v in voters[:300]]:  # the electorate is built, connections open
        b"".join(web(env, start_response))
    cast = cpu_per_request(web, [ballot(v) for v in voters[300:]])
    bare = bare_app()
    bare_cpu = cpu_per_request(bare, [environ("/ping", b"{}", None, "") for _ in range(6000)])
    return {
        "threads": threads,
        "ballots": len(voters) - 300,
        "ballot_cpu_us": round(cast * 1e6),
        "bare_cpu_us": round(bare_cpu * 1e6),
        "statuses": dict(statuses),
        "load_average": load_average(),
    }


def _app_casts(app: Any, vote_id: UUID, voters: list[Voter], threads: int) -> dict[str, Any]:
    def cast(v: Voter) -> None:
        app.cast_ballot(vote_id, "yes", Actor.of(v.person_id, Role.RESIDENT), v.elector_id)

    for v in voters[:100]:  # the electorate is built, the connections are open
        cast(v)
    rest = voters[100:]
    chunks = [rest[k::threads] for k in range(threads)]

    def run(chunk: list[Voter]) -> None:
        for v in chunk:
            cast(v)

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    cpu, wall = time.process_time(), time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    committer = app._committer
    return {
        "threads": threads,
        "ballots": len(rest),
        "ballots_per_s": round(len(rest) / wall),
        "cpu_us_per_ballot": round(cpu / len(rest) * 1e6),
        "transactions": committer.batches - 100 if committer else len(rest),
        "load_average": load_average(),
    }


def _request_parts(url: str, workdir: Path, setup: Setup, voters: list[Voter]) -> dict[str, Any]:
    import flask.sessions

    import webapp.api.views
    import webapp.security
    from consult.application import ConsultationApp

    spent: dict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*a, **k)
            finally:
                spent[label] += time.thread_time() - started

        setattr(owner, name, wrapper)

    secret = "k" * 64
    web = _web_in_process(url, workdir / "instance", secret)
    timed(web, "wsgi_app", "request (Flask, all of it)")
    timed(webapp.security, "load_user", "load the signed-in account")
    timed(flask.sessions.SecureCookieSessionInterface, "open_session", "read the session cookie")
    timed(
        flask.sessions.SecureCookieSessionInterface, "save_session", "sign the new session cookie"
    )
    timed(webapp.api.views, "body", "validate the JSON body")
    timed(webapp.api.views, "dump", "the receipt as JSON")
    timed(ConsultationApp, "cast_ballot", "cast_ballot (request thread)")
    client = web.test_client()
    path = f"/api/v1/votes/{setup.vote_id}/ballots"

    def post(v: Voter) -> None:
        csrf = secrets.token_urlsafe(32)
        client.set_cookie("consult_session", session_cookie(secret, v, setup, csrf))
        r = client.post(
            path, json={"choice": "yes", "elector_id": v.elector_id}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 201, r.json

    for v in voters[:500]:
        post(v)
    spent.clear()
    for v in voters[500:]:
        post(v)
    n = len(voters) - 500
    return {
        "requests": n,
        **{k: round(v / n * 1e6) for k, v in spent.items()},
        "unit": "CPU us per ballot request",
        "load_average": load_average(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--roll", type=Path, default=None, help="a roll file (default: the generated 20,000 units)"
    )
    parser.add_argument("--heads", type=int, default=None, help="vote with the first N heads only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--warm", type=int, default=200, help="refused casts sent before the ballots (electorates)"
    )
    parser.add_argument("--bare-seconds", type=float, default=10.0)
    parser.add_argument("--bare-rate-guess", type=float, default=3000.0)
    parser.add_argument("--limit-seconds", type=float, default=5.0)
    parser.add_argument("--followers", choices=("external", "embedded"), default="external")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy flame graphs here")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--private-postgres",
        action="store_true",
        help="run a PostgreSQL server of our own (default: CONSULT_BENCH_PG_ADMIN or 127.0.0.1:5432)",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="only the in-process measurements (no HTTP)"
    )
    args = parser.parse_args(argv)
    emit(
        bench="load_machine",
        cpus=os.cpu_count(),
        load_average=load_average(),
        date=datetime.now(tz=UTC).date().isoformat(),
    )
    with contextlib.ExitStack() as stack:
        if args.private_postgres:
            where = Path(tempfile.mkdtemp(prefix="load-pg-", dir=args.dir))
            stack.callback(shutil.rmtree, where, True)
            os.environ["CONSULT_BENCH_PG_ADMIN"] = stack.enter_context(private_postgres(where))
        for backend in args.backends.split(","):
            (in_process if args.in_process else run_backend)(backend.strip(), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
