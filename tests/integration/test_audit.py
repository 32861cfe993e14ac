"""The audit chain, checkpoints, keys, bundles, status, "as of" and the ``consult audit`` commands."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from consult.application import ConsultationApp
from consult.audit import (
    Checkpoint,
    attach,
    case_as_of,
    chain_status,
    checkpoint_svg,
    export_bundle,
    load_signer,
    make_checkpoint,
    notice_text,
    open_store,
    parse_checkpoints,
    verify_bundle,
    verify_store,
)
from consult.audit.chain import ChainFollower
from consult.audit.core import GENESIS, EventRow, chain_link, event_line, link_line
from consult.audit.errors import TamperedError
from consult.audit.keys import Signer, key_path, read_public_key
from consult.case import Stage
from consult.clock import FixedClock
from consult.config import backend_of
from consult.errors import NotFoundError
from entrypoints.bootstrap import build_app
from entrypoints.commands.audit import EXIT_INVALID, EXIT_TAMPERED, audit
from tests.integration.test_audit_tamper import cast_ballots, story, tamperer

# --- the link format ------------------------------------------------------------------------


def test_genesis_and_a_link_follow_the_documented_encoding() -> None:
    assert GENESIS.hex() == hashlib.sha256(b"consult-audit-chain-v1").hexdigest()
    assert (
        GENESIS.hex() == "dafb5a12d01781f6ab0c160e67fa653ab06ca8364a7db3b99d43acc59045f37a"
    )  # docs
    oid, topic, state = "0" * 32, "consult.vote:Ballot.Created", b'{"a":1}'
    expected = hashlib.sha256(
        GENESIS
        + (7).to_bytes(8, "big")
        + (32).to_bytes(8, "big")
        + oid.encode()
        + (1).to_bytes(8, "big")
        + len(topic).to_bytes(8, "big")
        + topic.encode()
        + len(state).to_bytes(8, "big")
        + state
    ).digest()
    assert chain_link(GENESIS, 7, oid, 1, topic, state) == expected
    # docs/audit.md quotes this value as the test vector.
    assert expected.hex() == "40cc7f006d30e427b7c3f414a5e6c5f96e8d5100080403f8d64cb58f97df1df7"


def test_every_field_and_the_previous_link_change_the_link() -> None:
    base = (GENESIS, 7, "a" * 32, 1, "t", b"s")
    link = chain_link(*base)
    for i, other in enumerate([b"\x01" * 32, 8, "b" * 32, 2, "u", b"S"]):
        changed = list(base)
        changed[i] = other
        assert chain_link(*changed) != link  # type: ignore[arg-type]
    # Lengths are encoded, so moving a byte between topic and state changes the link.
    assert chain_link(GENESIS, 7, "a" * 32, 1, "ts", b"") != chain_link(
        GENESIS, 7, "a" * 32, 1, "t", b"s"
    )


# --- checkpoints ------------------------------------------------------------------------------


def _checkpoint(signer: Signer, position: int = 12) -> Checkpoint:
    cp = Checkpoint(position, "ab" * 32, "2026-01-05T01:00:00Z", signer.key_id)
    return Checkpoint(**{**cp.to_dict(), "signature": signer.sign(cp.payload())})


def test_a_checkpoint_prints_as_one_short_line_and_parses_back() -> None:
    cp = _checkpoint(Signer.generate())
    text = cp.to_text()
    assert text.startswith("CONSULT-CP1 pos=12 head=abab") and len(text) < 240
    assert Checkpoint.from_text(text) == cp
    assert parse_checkpoints(f"# published\n{text}\n{text}\n") == [cp, cp]
    assert parse_checkpoints(json.dumps(cp.to_dict())) == [cp]
    assert parse_checkpoints(json.dumps([cp.to_dict()])) == [cp]
    for bad in ["", "hello", text.replace("pos=12", "pos=x"), text.replace("head=ab", "head=zz")]:
        with pytest.raises(ValueError):
            parse_checkpoints(bad)


def test_a_checkpoint_has_a_notice_and_a_qr_code() -> None:
    cp = _checkpoint(Signer.generate())
    zh, en = notice_text(cp, "zh"), notice_text(cp, "en")
    assert "审计检查点" in zh and "第 12 位" in zh and zh.endswith(cp.to_text())
    assert "Audit checkpoint" in en and en.endswith(cp.to_text())
    svg = checkpoint_svg(cp)
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")


# --- the follower, chaining after every save ----------------------------------------------------


@pytest.fixture
def chained(
    app: ConsultationApp, store_url: str, clock: FixedClock, tmp_path: Path
) -> Iterator[ChainFollower]:
    follower = attach(
        app,
        store_url,
        tmp_path / "key.pem",
        checkpoint_every=None,
        checkpoint_interval=None,
        background=False,
    )
    yield follower
    follower.store.close()


def test_the_chain_follows_every_save_and_verifies(
    app: ConsultationApp, clock: FixedClock, chained: ChainFollower
) -> None:
    story(app, clock, ballots=10)
    assert chained.chained_to == app.recorder.max_notification_id()
    report = verify_store(chained.store)
    assert report.ok and report.events == app.recorder.max_notification_id()
    assert any("checkpoint" in n.en for n in report.notes)  # none signed yet: said plainly


def test_checkpoints_are_signed_every_n_positions_and_after_an_interval(
    app: ConsultationApp, store_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    follower = attach(
        app,
        store_url,
        tmp_path / "key.pem",
        checkpoint_every=25,
        checkpoint_interval=timedelta(hours=1),
        background=False,
    )
    vote_id, heads = story(app, clock, ballots=0)  # the notice period makes the interval pass once
    after_story = [cp.position for cp in follower.store.checkpoints()]
    assert len(after_story) == 1
    cast_ballots(app, clock, vote_id, heads[:60])  # a minute apart: only the count triggers now
    positions = [cp.position for cp in follower.store.checkpoints()]
    assert len(positions) == 3 and all(b - a >= 25 for a, b in itertools.pairwise(positions))
    assert verify_store(follower.store).checkpoints == 3
    follower.store.close()


def test_a_checkpoint_is_refused_when_the_history_since_the_last_one_does_not_verify(
    store_url: str, clock: FixedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(store_url, clock)
    follower = attach(
        app, store_url, tmp_path / "key.pem", checkpoint_every=None, checkpoint_interval=None
    )
    vote_id, heads = story(app, clock, ballots=10)
    last = follower.checkpoint()
    cast_ballots(app, clock, vote_id, heads[10:13])
    assert follower.wait(app.recorder.max_notification_id())  # chained, then changed
    tamperer(store_url).update_state(last.position + 2, b"{}")
    with pytest.raises(TamperedError) as err:
        follower.checkpoint()
    assert f"Position {last.position + 2}" in err.value.message("en")

    follower.checkpoint_every = 5  # the periodic checkpoints refuse too, and the saves go on
    cast_ballots(app, clock, vote_id, heads[13:23])
    assert follower.wait(app.recorder.max_notification_id())
    follower.stop()
    assert follower.store.latest_checkpoint() == last
    assert "未签发审计检查点" in caplog.text and f"Position {last.position + 2}" in caplog.text
    follower.store.close()
    app.close()


def test_followers_in_parallel_chain_each_event_once(store_url: str, clock: FixedClock) -> None:
    app = build_app(store_url, clock)
    story(app, clock, ballots=30)
    followers = [ChainFollower(open_store(store_url), batch=7) for _ in range(4)]
    threads = [threading.Thread(target=f.catch_up) for f in followers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_store(followers[0].store)
    assert (
        report.ok
        and report.chained_to == app.recorder.max_notification_id()
        and not report.unchained
    )
    for f in followers:
        f.store.close()
    app.close()


def test_a_failed_catch_up_stores_no_link(
    sqlite_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(sqlite_url, clock)
    story(app, clock, ballots=3)
    store = open_store(sqlite_url)

    def broken(prev: bytes, rows: list[EventRow]) -> list[Any]:
        raise OSError("disk gone")

    monkeypatch.setattr("consult.audit.sqlite_store.derive_links", broken)
    with pytest.raises(OSError):
        ChainFollower(store).catch_up()
    assert store.head().position == 0
    monkeypatch.undo()
    ChainFollower(store).catch_up()
    assert verify_store(store).ok
    store.close()
    app.close()


def test_a_background_follower_chains_what_arrives(
    store_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = build_app(store_url, clock)
    follower = attach(
        app,
        store_url,
        tmp_path / "key.pem",
        checkpoint_every=20,
        checkpoint_interval=None,
        background=True,
    )
    try:
        story(app, clock, ballots=30)
        assert follower.in_background and follower.wait(app.recorder.max_notification_id())
        follower.stop()
        report = verify_store(follower.store)
        assert report.ok and report.unchained == 0 and report.checkpoints >= 1
    finally:
        follower.stop()
        follower.store.close()
        app.close()
    with build_app(store_url, clock) as again:  # a database is chained in the background by default
        default = attach(again, store_url, catch_up=False)
        assert default.in_background
        default.stop()
        default.store.close()
    assert not attach(build_app("memory://", clock), "memory://").in_background


def test_a_background_follower_survives_a_failed_catch_up(
    store_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(store_url, clock)
    follower = attach(app, store_url, background=True)
    extend = follower.store.extend_chain
    failures = iter([OSError("connection lost")])

    def flaky(limit: int) -> Any:
        for failure in failures:
            raise failure
        return extend(limit)

    follower.store.extend_chain = flaky  # type: ignore[method-assign]
    try:
        story(app, clock, ballots=3)
        assert follower.wait(app.recorder.max_notification_id(), timeout=30)
        assert "审计链补链失败" in caplog.text
    finally:
        follower.stop()
        follower.store.close()
        app.close()


def test_chain_status_for_the_auditors_page(
    app: ConsultationApp, clock: FixedClock, chained: ChainFollower
) -> None:
    vote_id, heads = story(app, clock, ballots=5)
    cp = chained.checkpoint()
    cast_ballots(app, clock, vote_id, heads[5:8])
    status = chain_status(chained.store)
    assert status.intact and status.latest_checkpoint == cp and status.anchor == cp
    assert status.chained_to == app.recorder.max_notification_id() == cp.position + 3
    data = status.to_dict()
    assert data["latest_checkpoint_text"] == cp.to_text() and data["verified_since"] == cp.position
    assert f"第 {cp.position} 位" in status.message("zh")
    assert f"since the latest valid checkpoint (position {cp.position})" in status.message("en")


def test_a_case_as_of_any_time(app: ConsultationApp, clock: FixedClock) -> None:
    start = clock.now()
    vote_id, _ = story(app, clock, ballots=0)
    case_id = app.vote(vote_id).case_id
    then = case_as_of(app, case_id, start + timedelta(hours=1))
    assert then.state.stage == Stage.NOTICE and then.version == 3
    now = case_as_of(app, case_id, clock.now())
    assert now.state.stage == Stage.VOTING and now.version > then.version
    with pytest.raises(NotFoundError):
        case_as_of(app, case_id, start - timedelta(days=1))


# --- keys ---------------------------------------------------------------------------------------


def test_the_key_file_is_made_on_first_use_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = key_path(tmp_path / "instance", environ={})
    assert path == tmp_path / "instance" / "audit" / "signing-key.pem"
    signer = load_signer(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(path).key_id == signer.key_id and len(signer.key_id) == 16
    assert key_path(tmp_path, environ={"CONSULT_AUDIT_KEY": "/etc/k.pem"}) == Path("/etc/k.pem")


def test_a_rotated_key_is_trusted_from_either_end_and_the_old_one_stops(
    app: ConsultationApp, clock: FixedClock, chained: ChainFollower
) -> None:
    vote_id, heads = story(app, clock, ballots=4)
    old = chained.signer()
    first = chained.checkpoint()
    new = Signer.generate()
    clock.advance(hours=1)
    chained.store.add_key(old.rotation_to(new, clock.now()))
    clock.advance(hours=1)
    cast_ballots(app, clock, vote_id, heads[4:6])
    second = make_checkpoint(chained.store, new, clock.now())
    assert (first.key, second.key) == (old.key_id, new.key_id)

    for roots in ({old.key_id: old.public_raw}, {new.key_id: new.public_raw}):
        report = verify_store(chained.store, roots=roots)
        assert (
            report.ok
            and report.checkpoints == 2
            and set(report.trusted_keys) == {old.key_id, new.key_id}
        )

    late = make_checkpoint(chained.store, old, clock.now())  # the retired key signs again
    report = verify_store(chained.store, roots={new.key_id: new.public_raw})
    assert (
        report.first is not None
        and report.first.kind == "retired"
        and report.first.position == late.position
    )


# --- bundles ------------------------------------------------------------------------------------


@pytest.fixture
def exported(store_url: str, clock: FixedClock, tmp_path: Path) -> tuple[Path, Path, Checkpoint]:
    app = build_app(store_url, clock)
    follower = attach(
        app, store_url, tmp_path / "key.pem", checkpoint_every=None, checkpoint_interval=None
    )
    story(app, clock, ballots=12)
    cp = follower.checkpoint()
    export_bundle(follower.store, tmp_path / "bundle", clock.now())
    pem = tmp_path / "public.pem"
    pem.write_bytes(follower.signer().public_pem)
    follower.stop()
    follower.store.close()
    app.close()
    return tmp_path / "bundle", pem, cp


def test_a_bundle_verifies_offline(exported: tuple[Path, Path, Checkpoint], tmp_path: Path) -> None:
    bundle, pem, cp = exported
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {
        "manifest.json",
        "events.jsonl",
        "chain.jsonl",
        "checkpoints.json",
        "keys.json",
        "FORMAT.md",
        "verify_bundle.py",
        "verifier/__init__.py",
        "verifier/check.py",
        f"public-keys/{cp.key}.pem",
    } <= names
    report = verify_bundle(bundle, [read_public_key(pem)], [cp])
    assert report.ok and report.checkpoints == 2

    zipped = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for name in names:
            z.write(bundle / name, name)
    assert verify_bundle(zipped).ok


def _rewrite_lines(path: Path, change: Any) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


def test_a_tampered_bundle_fails_at_the_changed_position(
    exported: tuple[Path, Path, Checkpoint],
) -> None:
    bundle, _, _ = exported

    def alter(lines: list[str]) -> list[str]:
        item = json.loads(lines[20])
        item["state"] = item["state"].replace('"actor":"', '"actor":"x')
        lines[20] = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        return lines

    position = json.loads((bundle / "events.jsonl").read_text(encoding="utf-8").splitlines()[20])[
        "position"
    ]
    _rewrite_lines(bundle / "events.jsonl", alter)
    report = verify_bundle(bundle)
    assert report.first is not None and (report.first.position, report.first.kind) == (
        position,
        "altered",
    )
    assert any(p.kind == "bundle" and "events.jsonl" in p.message("en") for p in report.problems)


def test_a_bundle_with_events_and_chain_rewritten_fails_on_its_signed_checkpoint(
    exported: tuple[Path, Path, Checkpoint],
) -> None:
    bundle, _, cp = exported
    events = [
        json.loads(line)
        for line in (bundle / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    events[5]["state"] = events[5]["state"].replace('"actor":"', '"actor":"x')
    rows: list[EventRow] = [
        (
            e["position"],
            e["originator_id"],
            e["originator_version"],
            e["topic"],
            e["state"].encode(),
        )
        for e in events
    ]
    prev, links = GENESIS, []
    for row in rows:
        prev = chain_link(prev, *row)
        links.append(link_line((row[0], row[1], row[2], prev)))
    (bundle / "events.jsonl").write_text(
        "".join(event_line(r) + "\n" for r in rows), encoding="utf-8"
    )
    (bundle / "chain.jsonl").write_text("".join(line + "\n" for line in links), encoding="utf-8")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    manifest["head"] = prev.hex()
    for name in ("events.jsonl", "chain.jsonl"):
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = verify_bundle(bundle)
    assert report.first is not None and report.first.kind == "checkpoint"
    assert report.first.position == cp.position and report.first.after == 0


def test_the_bundled_verifier_runs_alone(
    exported: tuple[Path, Path, Checkpoint], tmp_path: Path
) -> None:
    bundle, pem, cp = exported
    published = tmp_path / "published.txt"
    published.write_text(cp.to_text() + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [
        sys.executable,
        str(bundle / "verify_bundle.py"),
        str(bundle),
        "--public-key",
        str(pem),
        "--checkpoint",
        str(published),
    ]
    ok = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "完整" in ok.stdout and "Intact" in ok.stdout
    _rewrite_lines(bundle / "chain.jsonl", lambda lines: lines[:3] + lines[4:])
    bad = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert bad.returncode == EXIT_TAMPERED and "Traceback" not in bad.stderr + bad.stdout
    assert "inserted" in bad.stdout


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_env(store_url: str, clock: FixedClock, tmp_path: Path) -> dict[str, str]:
    app = build_app(store_url, clock)
    story(app, clock, ballots=15)
    app.close()
    return {
        "CONSULT_DATABASE_URL": store_url,
        "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONSULT_AUDIT_KEY": "",
        "CONSULT_AUDIT_KEY_PASSPHRASE": "",
    }


def _run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)


def test_the_audit_commands(cli_env: dict[str, str], store_url: str, tmp_path: Path) -> None:
    chain = _run(cli_env, "chain")
    assert chain.exit_code == 0 and "Chained" in chain.output and "已入链" in chain.output

    published, qr = tmp_path / "published.txt", tmp_path / "cp.svg"
    made = _run(cli_env, "checkpoint", "--qr", str(qr), "--out", str(published))
    assert made.exit_code == 0 and "CONSULT-CP1" in made.output and "审计检查点" in made.output
    assert qr.read_text(encoding="utf-8").lstrip().startswith("<svg")
    key = tmp_path / "instance" / "audit" / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    pem = tmp_path / "public.pem"
    assert _run(cli_env, "public-key", "--out", str(pem)).exit_code == 0
    verified = _run(cli_env, "verify", "--checkpoint", str(published), "--public-key", str(pem))
    assert verified.exit_code == 0, verified.output
    assert "完整" in verified.output and "Intact" in verified.output

    status = _run(cli_env, "status", "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["intact"] is True

    bundle = tmp_path / "out" / "audit.zip"
    exported = _run(cli_env, "export-bundle", str(bundle))
    assert exported.exit_code == 0 and bundle.is_file()
    offline = _run(
        {}, "verify-bundle", str(bundle), "--public-key", str(pem), "--checkpoint", str(published)
    )
    assert offline.exit_code == 0, offline.output

    rotated = _run(cli_env, "rotate-key")
    assert rotated.exit_code == 0 and "→" in rotated.output
    assert list((tmp_path / "instance" / "audit").glob("signing-key.*.retired.pem"))
    again = _run(cli_env, "verify", "--checkpoint", str(published), "--public-key", str(pem))
    assert again.exit_code == 0, again.output  # the old public key still vouches for the new one

    k = parse_checkpoints(published.read_text(encoding="utf-8"))[0].position - 4
    tamperer(store_url).delete(k)
    tampered = _run(cli_env, "verify", "--checkpoint", str(published), "--public-key", str(pem))
    assert tampered.exit_code == EXIT_TAMPERED
    assert f"第 {k} 位" in tampered.output and f"position {k}" in tampered.output
    assert "Traceback" not in tampered.output
    as_json = json.loads(_run(cli_env, "verify", "--json", "--public-key", str(pem)).stdout)
    assert as_json["ok"] is False and as_json["first_bad_position"] == k


def test_status_compares_the_chain_with_the_end_of_the_log(
    cli_env: dict[str, str], store_url: str
) -> None:
    tamper = tamperer(store_url)
    end = tamper.positions()[-1]
    behind = json.loads(_run(cli_env, "status", "--json").stdout)
    assert behind["intact"] is True and behind["chained_to"] == 0
    assert behind["log_end"] == end and behind["behind"] == end
    assert f"behind the log by {end} positions" in behind["message"]["en"]
    assert f"链落后日志 {end} 位" in behind["message"]["zh"]

    # Chained and signed at the head, then the log is cut back by five events.
    assert _run(cli_env, "checkpoint").exit_code == 0
    for position in tamper.positions()[-5:]:
        tamper.delete(position)
    cut = _run(cli_env, "status")
    assert cut.exit_code == EXIT_TAMPERED, cut.output
    assert f"链已覆盖到第 {end} 位，日志却只到第 {end - 5} 位" in cut.output
    assert f"the log ends at {end - 5}" in cut.output and "truncated" in cut.output
    data = json.loads(_run(cli_env, "status", "--json").stdout)
    assert data["intact"] is False and data["truncated"] == 5 and data["log_end"] == end - 5


def test_bad_input_gives_a_message_in_both_languages_and_no_traceback(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("not a checkpoint", encoding="utf-8")
    result = _run(cli_env, "verify", "--checkpoint", str(junk))
    assert result.exit_code == EXIT_INVALID and "错误" in result.output and "Error" in result.output
    memory = _run({**cli_env, "CONSULT_DATABASE_URL": "memory://"}, "verify")
    assert memory.exit_code == EXIT_INVALID and "in-memory" in memory.output
    missing = _run(
        {**cli_env, "CONSULT_DATABASE_URL": f"sqlite:///{tmp_path / 'nothing.sqlite3'}"}, "verify"
    )
    assert missing.exit_code == EXIT_INVALID and "Traceback" not in missing.output
    no_key = _run(cli_env, "rotate-key")
    assert no_key.exit_code == EXIT_INVALID and "signing key" in no_key.output
    empty_bundle = tmp_path / "empty"
    empty_bundle.mkdir()
    assert _run({}, "verify-bundle", str(empty_bundle)).exit_code == EXIT_INVALID


def test_the_chain_tables_live_in_the_same_database_as_the_events(
    cli_env: dict[str, str], store_url: str
) -> None:
    assert _run(cli_env, "chain").exit_code == 0
    db = tamperer(store_url)
    if backend_of(store_url) == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        listed = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    tables = {r[0] for r in db.run(listed)}
    [(chained, events)] = db.run(
        "SELECT (SELECT count(*) FROM audit_chain), (SELECT count(*) FROM {t})"
    )
    assert {db.table, "audit_chain", "audit_checkpoints", "audit_keys"} <= tables
    assert chained == events > 0


def test_the_audit_group_is_part_of_the_consult_command(cli_env: dict[str, str]) -> None:
    from entrypoints.cli import main

    result = CliRunner().invoke(main, ["audit", "chain"], env=cli_env, catch_exceptions=False)
    assert result.exit_code == 0 and "Chained" in result.output
