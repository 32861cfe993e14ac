"""Ballots over real HTTP on the product's stock server, and the closing rush.

For each store (a SQLite file, then a throw-away PostgreSQL database) this

1. sets up an estate on the 20,000-unit roll made by ``consult.rollgen`` (``--roll`` for another)
   with an owners' vote open, and one resident account per head (an owner of that head), bound
   to the estate, each with a live session;
2. starts ``consult serve`` (gunicorn's gthread worker, ``--workers`` × ``--threads``, the
   follower process) and sends most heads' ballots once (``POST /api/v1/votes/<id>/ballots`` with
   the owner's session and CSRF token) from ``wrk`` at ``--clients`` connections: ``load_ballots``;
3. the closing rush: the same number of connections, 80 % of them reading the vote page and its
   tally (``GET /votes/<id>``, ``GET /votes/<id>/tally``) round and round, 20 % casting the
   remaining heads' ballots; ``load_rush`` reports the pages' p95 and the ballots';
4. on PostgreSQL, measures the one-commit-per-ballot limit: single-event insert transactions
   through the application's own recorder, from several threads, on the same server, just before
   and just after the ballots;
5. checks the store after both loads: every acknowledged ballot (a 201 with a receipt) is stored
   exactly once, no ballot is stored that was not acknowledged, and the projected tally equals the
   rules' tally (``load_check``).

Sessions are made as a sign-in makes them (a row in ``web_sessions``, Flask's signed cookie with
the session id, user id and CSRF token): signing in is not part of what is measured. Prints one
JSON line per measurement, each with the machine's load average.

    python bench/load_bench.py [--backends sqlite,postgresql] [--workers 2] [--threads 32]
        [--clients 64] [--heads N] [--rush-heads 4000]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from http_load import (  # noqa: E402
    Request,
    Wrk,
    latencies,
    private_postgres,
    product_server,
    run_wrk,
    store,
    used,
    wait_quiet,
    write_requests,
)

from consult.actors import Actor, Role  # noqa: E402
from consult.clock import FixedClock  # noqa: E402
from consult.rollgen import named_roll  # noqa: E402
from consult.vote import Ballot, ballot_id  # noqa: E402
from entrypoints.bootstrap import build_app  # noqa: E402
from projections import Projector, Queries, open_store  # noqa: E402

DEFAULT_ROLL = "roll-20000.csv"  # consult.rollgen.named_roll
DECIMAL = re.compile(r"-?\d+(\.\d+)?")

OPERATOR = Actor.of("bench-op", Role.OPERATOR)
RC = Actor.of("bench-rc", Role.RESIDENTS_COMMITTEE)
PARTY = Actor.of("bench-party", Role.PARTY_ORGANISATION)
OC = Actor.of("bench-oc", Role.OWNERS_COMMITTEE)


def emit(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# --- the estate, its vote and its voters -----------------------------------------------------


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
    sessions: str  # what this run's session ids start with


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
        sessions = secrets.token_hex(8)
        accounts = _make_accounts(url, estate, sorted(set(person_of.values())), sessions)
        voters = [Voter(accounts[p], p, e) for e, p in person_of.items()]
        random.Random(7).shuffle(voters)
        projector = Projector(app, open_store(url))
        projector.catch_up()  # the views are up to date before the load starts
        projector.dispose()
    finally:
        app.close()
    return Setup(vote_id, estate, voters, time.perf_counter() - started, sessions)


def _make_accounts(url: str, estate: UUID, persons: list[str], sessions: str) -> dict[str, int]:
    """An account per person, and a live session of each (``webapp.signins``), named by the
    cookie :func:`session_cookie` makes."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from webapp.accounts import AccountRow
    from webapp.db import engine_for
    from webapp.signins import SessionRow
    from webapp.tables import create_tables

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
    started = int(time.time())
    session_rows = [
        {
            "id": hashlib.sha256(_session_id(sessions, account).encode()).hexdigest(),
            "account_id": account,
            "started": started,
        }
        for _person, account in found
    ]
    with engine.begin() as conn:
        for i in range(0, len(session_rows), 2000):
            conn.execute(insert(SessionRow), session_rows[i : i + 2000])
    engine.dispose()
    return {person: account for person, account in found}


def _session_id(sessions: str, account_id: int) -> str:
    return f"load-{sessions}-{account_id}"


def session_cookie(secret_key: str, voter: Voter, setup: Setup, csrf: str) -> str:
    """The cookie a sign-in sets (``webapp.security.sign_in``: the session id, the account's id,
    the CSRF token), signed as Flask signs it."""
    values = {
        "sid": _session_id(setup.sessions, voter.account_id),
        "uid": voter.account_id,
        "csrf": csrf,
        "_permanent": True,
    }
    return str(_signer(secret_key).dumps(values))


@functools.cache
def _signer(secret_key: str) -> Any:
    """Flask's own session signer for this key (the product uses Flask's session interface)."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask("sessions")
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app)


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


def ballot_lines(secret: str, setup: Setup, voters: list[Voter]) -> tuple[list[Request], list[str]]:
    """Each voter's ballot (a random choice) as a request line, and the electors sent."""
    path = f"/api/v1/votes/{setup.vote_id}/ballots"
    lines: list[Request] = []
    for v in voters:
        csrf = secrets.token_urlsafe(32)
        choice = random.choice(("yes", "yes", "no", "abstain"))
        body = json.dumps({"choice": choice, "elector_id": v.elector_id})
        lines.append((session_cookie(secret, v, setup, csrf), csrf, "POST", path, body))
    return lines, [v.elector_id for v in voters]


def page_lines(secret: str, setup: Setup, voters: list[Voter]) -> list[Request]:
    """The vote page and its tally (what the page polls), alternately, each voter's own session."""
    paths = (f"/votes/{setup.vote_id}", f"/votes/{setup.vote_id}/tally")
    lines: list[Request] = []
    for i, v in enumerate(voters):
        csrf = secrets.token_urlsafe(32)
        lines.append((session_cookie(secret, v, setup, csrf), csrf, "GET", paths[i % 2], ""))
    return lines


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
            # The one-commit limit just before the ballots (and again after them, below).
            limit_before = (
                single_commit_limit(workdir, args.limit_seconds, (1, 4, 16))
                if backend == "postgresql"
                else None
            )
            server = product_server(
                env, args.workers, args.threads, workdir / "server.log", workdir
            )
            stack.callback(server.stop)
            rush_count = min(args.rush_heads, len(setup.voters) // 5)
            first, rush = setup.voters[:-rush_count], setup.voters[-rush_count:]
            lines, sent = ballot_lines(secret, setup, first)
            ballots_file = workdir / "ballots.txt"
            write_requests(ballots_file, lines)
            if args.warm:
                # Each worker builds the vote's electorate (every head) on its first cast: casts
                # for a head that is not on the roll (refused, nothing stored) do it before the
                # clock starts.
                v = setup.voters[0]
                csrf = secrets.token_urlsafe(32)
                warm_body = json.dumps({"choice": "yes", "elector_id": "H:not-on-the-roll"})
                warm_file = workdir / "warm.txt"
                path = f"/api/v1/votes/{setup.vote_id}/ballots"
                cookie = session_cookie(secret, v, setup, csrf)
                write_requests(warm_file, [(cookie, csrf, "POST", path, warm_body)] * args.warm)
                warmed = run_wrk(server.port, warm_file, args.clients, workdir / "warm.out", 120)
                emit(bench="load_warm", backend=backend, statuses=warmed.statuses)
            cpu0 = server.cpu_seconds()
            result = run_wrk(server.port, ballots_file, args.clients, workdir / "ballots.out", 600)
            cpu = used(cpu0, server.cpu_seconds())
            wait_quiet(server)  # the followers have applied the ballots
            rate = result.requests / result.seconds
            line: dict[str, Any] = {
                "bench": "load_ballots",
                "backend": backend,
                "clients": args.clients,
                "workers": args.workers,
                "threads": args.threads,
                "ballots": result.requests,
                "ballots_per_s": round(rate),
                **latencies(result),
                "errors": {k: v for k, v in result.statuses.items() if k != "201"},
                "server_cpu_ms_per_ballot": round(1000 * sum(cpu.values()) / result.requests, 3),
                "web_cpu_ms_per_ballot": round(1000 * cpu["web"] / result.requests, 3),
                "follower_cpu_ms_per_ballot": round(1000 * cpu["follower"] / result.requests, 3),
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
                line["ratio_to_pg_limit"] = round(rate / limit["commits_per_s"], 3)
            emit(**line)

            # The closing rush: 80 % of the connections read pages, 20 % cast the last ballots.
            readers_count = round(args.clients * 0.8)
            casters_count = args.clients - readers_count
            pages_file, rush_file = workdir / "pages.txt", workdir / "rush.txt"
            write_requests(pages_file, page_lines(secret, setup, first[:2000]))
            if args.warm:  # each worker names the vote's heads once, on its first vote page
                warm_pages = workdir / "warm-pages.txt"
                write_requests(warm_pages, page_lines(secret, setup, first[: args.warm]))
                warmed = run_wrk(server.port, warm_pages, args.clients, workdir / "wp.out", 120)
                emit(bench="load_warm_pages", backend=backend, statuses=warmed.statuses)
            rush_lines, rush_sent = ballot_lines(secret, setup, rush)
            write_requests(rush_file, rush_lines)
            readers = Wrk(server.port, pages_file, readers_count, workdir / "pages.out", loop=True)
            casters = Wrk(server.port, rush_file, casters_count, workdir / "rush.out")
            casters.wait(600)
            cast = casters.stop()
            pages = readers.stop()
            wait_quiet(server)
            emit(
                bench="load_rush",
                backend=backend,
                clients=args.clients,
                page_clients=readers_count,
                ballot_clients=casters_count,
                pages=pages.requests,
                pages_per_s=round(pages.requests / pages.seconds),
                page_share=round(pages.requests / (pages.requests + cast.requests), 3),
                pages_ms=latencies(pages),
                page_errors={k: v for k, v in pages.statuses.items() if k != "200"},
                ballots=cast.requests,
                ballots_per_s=round(cast.requests / cast.seconds),
                ballots_ms=latencies(cast),
                ballot_errors={k: v for k, v in cast.statuses.items() if k != "201"},
                load_average=load_average(),
            )
            server.stop()  # its connections too: the check opens its own
            failures = _exceptions(server.log)
            if failures:
                emit(bench="load_server_errors", backend=backend, exceptions=failures)
            emit(
                bench="load_check",
                backend=backend,
                loads=["load_ballots", "load_rush"],
                **check_store(
                    url, setup, sent + rush_sent, result.acknowledged + cast.acknowledged
                ),
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


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
        "--rush-heads", type=int, default=4000, help="ballots kept for the closing rush"
    )
    parser.add_argument(
        "--warm", type=int, default=200, help="refused casts sent before the ballots (electorates)"
    )
    parser.add_argument("--limit-seconds", type=float, default=5.0)
    parser.add_argument("--followers", choices=("external", "embedded"), default="external")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--private-postgres",
        action="store_true",
        help="run a PostgreSQL server of our own (default: CONSULT_BENCH_PG_ADMIN or 127.0.0.1:5432)",
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
            run_backend(backend.strip(), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
