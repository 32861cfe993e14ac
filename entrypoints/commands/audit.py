"""``consult audit``: chain, checkpoints, verification and bundles for the street's auditors.

Messages are printed in Chinese and in English. Exit codes: 0 intact / done, 3 the history was
tampered with (the first bad position is named), 2 bad input or unusable store or key, 1 internal
error (``CONSULT_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import psycopg

from consult.adapters.followers import poll_option
from consult.audit.bundle import export_bundle
from consult.audit.checkpoints import notice_text, register_key, write_checkpoint_svg
from consult.audit.core import (
    BundleError,
    Checkpoint,
    key_id,
    parse_checkpoints,
    print_report,
    verify_bundle,
)
from consult.audit.errors import AuditError
from consult.audit.keys import Signer, key_path, load_signer, read_public_key, retire_file
from consult.audit.store import AuditStore
from consult.audit.stores import open_store
from consult.audit.verify import chain_status, verify_store
from consult.clock import SystemClock
from consult.config import Config
from consult.errors import ConsultError
from entrypoints.bootstrap import build_app, command_chain, follow
from entrypoints.commands.progress import progress
from projections.verify import ViewCheck

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_TAMPERED = 3

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def echo2(zh: str, en: str, err: bool = False) -> None:
    click.echo(zh, err=err)
    click.echo(en, err=err)


def guarded(func: F) -> F:
    """Errors become a message in both languages and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConsultError as e:
            echo2("错误：" + e.message("zh"), "Error: " + e.message("en"), err=True)
        except (OSError, ValueError, sqlite3.Error, psycopg.Error) as e:
            echo2(f"错误：{e}", f"Error: {e}", err=True)
        except (
            click.exceptions.Exit,
            click.exceptions.Abort,
            click.ClickException,
            SystemExit,
            KeyboardInterrupt,
        ):
            raise
        except Exception as e:  # the last resort of a command-line tool: a message, not a traceback
            if os.environ.get("CONSULT_DEBUG"):
                raise
            echo2(
                f"内部错误（{type(e).__name__}）：{e}。设置 CONSULT_DEBUG=1 可查看详细信息。",
                f"Internal error ({type(e).__name__}): {e}. Set CONSULT_DEBUG=1 for details.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
        sys.exit(EXIT_INVALID)

    return cast(F, wrapper)


@contextmanager
def configured_store() -> Iterator[tuple[Config, AuditStore]]:
    config = Config.from_env()
    if config.backend == "memory":
        raise AuditError(
            reason="内存存储没有可审计的持久历史",
            reason_en="an in-memory store keeps no history to audit",
        )
    with open_store(config.database_url) as store:
        yield config, store


def _signer(config: Config, create: bool = True) -> Signer:
    return load_signer(key_path(config.instance_path), create=create)


def _roots(config: Config, public_keys: Sequence[Path]) -> dict[str, bytes] | None:
    """The keys an auditor trusts: those given, else the server's own signing key if present."""
    raws = [read_public_key(p) for p in public_keys]
    if not raws and key_path(config.instance_path).exists():
        signer = _signer(config, create=False)
        echo2(
            f"（信任本机签名密钥 {signer.key_id}；审计员应以 --public-key 指定公布的公钥）",
            f"(trusting this server's signing key {signer.key_id}; auditors should pass --public-key)",
            err=True,
        )
        raws = [signer.public_raw]
    return {key_id(raw): raw for raw in raws} or None


def _published(files: Sequence[Path]) -> list[Checkpoint]:
    return [cp for f in files for cp in parse_checkpoints(f.read_text(encoding="utf-8"))]


@click.group("audit")
def audit() -> None:
    """审计：防篡改的历史 · Audit: tamper-evident history."""


@audit.command("chain")
@guarded
def chain_cmd() -> None:
    """Chain every event not chained yet (catch up)."""
    with configured_store() as (config, store):
        follower = command_chain(config, store, signing=False)
        count = follower.catch_up()
        head = store.head()
    echo2(
        f"已入链 {count} 个事件；链已到第 {head.position} 位，链头 {head.link.hex()}。",
        f"Chained {count} events; the chain reaches position {head.position}, head {head.link.hex()}.",
    )


@audit.command("checkpoint")
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the QR code (SVG).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the checkpoint for publication (.json: JSON, else its text line).",
)
@guarded
def checkpoint_cmd(qr_file: Path | None, out_file: Path | None) -> None:
    """Sign a checkpoint at the chain's head now and print it for a public notice."""
    with configured_store() as (config, store):
        follower = command_chain(config, store)
        follower.catch_up()
        checkpoint = follower.checkpoint()
    click.echo(notice_text(checkpoint, "zh"))
    click.echo()
    click.echo(notice_text(checkpoint, "en"))
    if qr_file is not None:
        write_checkpoint_svg(checkpoint, qr_file)
    if out_file is not None:
        _write_checkpoint(checkpoint, out_file)


def _write_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(checkpoint.to_dict(), indent=1) + "\n", encoding="utf-8")
    else:
        path.write_text(checkpoint.to_text() + "\n", encoding="utf-8")


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=FILE,
    help="A published checkpoint (text line or JSON); may be repeated.",
)
@click.option(
    "--public-key", "public_keys", multiple=True, type=FILE, help="A trusted public key (PEM)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--no-views",
    is_flag=True,
    help="Check the chain only, not the views against a rebuild from the events.",
)
@guarded
def verify_cmd(
    checkpoint_files: Sequence[Path], public_keys: Sequence[Path], as_json: bool, no_views: bool
) -> None:
    """Re-derive the chain from the stored events and check it against the stored links and the
    stored and published checkpoints; then rebuild every view from the events in a scratch store
    and compare it with the live one (a progress bar on a terminal)."""
    published = _published(checkpoint_files)
    with configured_store() as (config, store):
        roots = _roots(config, public_keys)
        with progress(store.log_end(), "verifying the chain") as advance:
            report = verify_store(store, published, roots, progress=advance)
            advance(report.last_position)
    views = None if no_views else _check_views(config)
    if as_json:
        data = report.to_dict()
        if views is not None:
            data["ok"] = report.ok and views.ok
            data["views"] = views.to_dict()
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print_report(report, as_json)
        if views is not None:
            _print_views(views)
    sys.exit(0 if report.ok and (views is None or views.ok) else EXIT_TAMPERED)


def _check_views(config: Config) -> ViewCheck:
    """The live views against a rebuild from the events (``projections.verify``)."""
    from projections import open_store as open_views
    from projections.verify import check_views, live_positions

    app = build_app(config.database_url)
    live = open_views(config.database_url)
    try:
        upto = max(live_positions(live).values(), default=0)
        with progress(upto, "rebuilding the views to compare") as advance:
            return check_views(app, live, lambda reached, _target: advance(reached))
    finally:
        live.dispose()
        app.close()


def _print_views(check: ViewCheck) -> None:
    echo2(check.summary("zh"), check.summary("en"))
    for d in check.differences:
        click.echo(f"  - {d.message('zh')}\n    {d.message('en')}")
    if check.count > len(check.differences):
        echo2(
            f"  …（另有 {check.count - len(check.differences)} 处不符未列出）",
            f"  … ({check.count - len(check.differences)} more differences not listed)",
        )


@audit.command("follow")
@poll_option
@click.option("--verbose", is_flag=True, help="Print the chain's head after every batch.")
@guarded
def follow_cmd(poll: float, verbose: bool) -> None:
    """Keep the chain up with the log live, in this process, signing checkpoints as due
    (for CONSULT_FOLLOWERS=external); stops cleanly on SIGTERM or Ctrl-C."""
    import threading

    from consult.adapters.followers import stop_on_signals

    with configured_store():
        pass  # a clear error for an in-memory store before anything starts
    stop = threading.Event()
    stop_on_signals(stop)
    echo2("正在跟随事件日志，保持审计链…", "following the log, keeping the audit chain…", err=True)
    follow(
        stop=stop,
        projections=False,
        audit=True,
        poll=poll,
        on_chained=(lambda head: click.echo(f"chained {head}", err=True)) if verbose else None,
    )
    echo2("审计链跟随已停止", "audit chain follower stopped", err=True)


@audit.command("status")
@click.option("--json", "as_json", is_flag=True)
@guarded
def status_cmd(as_json: bool) -> None:
    """How far the chain reaches, the latest checkpoint, and whether it holds since then."""
    with configured_store() as (config, store):
        status = chain_status(store, _roots(config, ()))
    if as_json:
        click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=2))
    else:
        echo2(status.message("zh"), status.message("en"))
        if status.latest_checkpoint is not None:
            click.echo(status.latest_checkpoint.to_text())
    sys.exit(0 if status.intact else EXIT_TAMPERED)


@audit.command("export-bundle")
@click.argument("dest", type=click.Path(path_type=Path))
@guarded
def export_bundle_cmd(dest: Path) -> None:
    """Export events, chain, checkpoints and public keys to DEST (a directory, or a .zip file),
    after signing a checkpoint at the head."""
    with configured_store() as (config, store):
        follower = command_chain(config, store)
        follower.catch_up()
        checkpoint = follower.checkpoint()
        manifest = export_bundle(store, dest, SystemClock().now())
    echo2(
        f"审计包已写入 {dest}：{manifest['events']} 个事件，至第 {manifest['chained_to']} 位。",
        f"Audit bundle written to {dest}: {manifest['events']} events, to position {manifest['chained_to']}.",
    )
    click.echo(checkpoint.to_text())


@audit.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--public-key", "public_keys", multiple=True, type=FILE, help="A trusted public key (PEM)."
)
@click.option(
    "--checkpoint", "checkpoint_files", multiple=True, type=FILE, help="A published checkpoint."
)
@click.option("--json", "as_json", is_flag=True)
@guarded
def verify_bundle_cmd(
    bundle: Path, public_keys: Sequence[Path], checkpoint_files: Sequence[Path], as_json: bool
) -> None:
    """Verify an exported bundle offline (no database needed)."""
    try:
        report = verify_bundle(
            bundle, [read_public_key(p) for p in public_keys], _published(checkpoint_files)
        )
    except BundleError as e:
        raise AuditError(reason=str(e), reason_en=str(e)) from None
    print_report(report, as_json)
    sys.exit(0 if report.ok else EXIT_TAMPERED)


@audit.command("public-key")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the PEM to FILE.",
)
@guarded
def public_key_cmd(out_file: Path | None) -> None:
    """Print the signing key's id and public key (made on first use), for publication."""
    signer = _signer(Config.from_env())
    if out_file is not None:
        out_file.write_bytes(signer.public_pem)
    echo2(f"签名密钥编号 {signer.key_id}", f"Signing key id {signer.key_id}")
    click.echo(signer.public_pem.decode("ascii"), nl=False)


@audit.command("rotate-key")
@guarded
def rotate_key_cmd() -> None:
    """Replace the signing key: the old and the new key both sign the rotation, and the new key
    signs a checkpoint at once. The old key file is kept as signing-key.<id>.retired.pem."""
    with configured_store() as (config, store):
        path = key_path(config.instance_path)
        old = _signer(config, create=False)
        new = Signer.generate()
        now = SystemClock().now()
        register_key(store, old, now)
        store.add_key(old.rotation_to(new, now))
        retired = retire_file(path, old, new)
        follower = command_chain(config, store)
        follower.catch_up()
        checkpoint = follower.checkpoint()
    echo2(
        f"密钥已轮换：{old.key_id} → {new.key_id}。旧私钥已移至 {retired}，请在公布后销毁。",
        f"Key rotated: {old.key_id} → {new.key_id}. The old private key was moved to {retired}; "
        "destroy it once the rotation is published.",
    )
    click.echo(checkpoint.to_text())
    click.echo(new.public_pem.decode("ascii"), nl=False)
