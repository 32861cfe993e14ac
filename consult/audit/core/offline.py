"""Reading an exported bundle and verifying it offline; the command line of ``verify_bundle.py``."""

from __future__ import annotations

import argparse
import binascii
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from .check import verify
from .links import BUNDLE_FORMAT, EXIT_TAMPERED, FORMAT_VERSION, EventRow, LinkRow
from .report import Problem, Report
from .signing import (
    Checkpoint,
    KeyRecord,
    b64d,
    b64e,
    key_id,
    parse_checkpoints,
    public_key_from_pem,
)

BUNDLE_FILES: Final = (
    "manifest.json",
    "events.jsonl",
    "chain.jsonl",
    "checkpoints.json",
    "keys.json",
)


#: The folders a bundle may hold files in: the public keys, and the verifier's modules.
VERIFIER_DIR: Final = "verifier"
BUNDLE_FOLDERS: Final = frozenset({"", "public-keys", VERIFIER_DIR})


class BundleError(ValueError):
    """The bundle cannot be read."""


def event_line(row: EventRow) -> str:
    """One line of events.jsonl: the state as text when it is UTF-8 (exact), else base64url."""
    position, oid, version, topic, state = row
    item: dict[str, Any] = {
        "position": position,
        "originator_id": oid,
        "originator_version": version,
        "topic": topic,
    }
    try:
        item["state"] = state.decode("utf-8")
    except UnicodeDecodeError:
        item["state_b64"] = b64e(state)
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def link_line(row: LinkRow) -> str:
    position, oid, version, link = row
    return json.dumps(
        {
            "position": position,
            "originator_id": oid,
            "originator_version": version,
            "link": link.hex(),
        },
        separators=(",", ":"),
    )


class Bundle:
    """An exported bundle: a directory or a .zip file holding :data:`BUNDLE_FILES`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        try:
            if path.is_dir():
                missing = [n for n in BUNDLE_FILES if not (path / n).is_file()]
            else:
                self._zip = zipfile.ZipFile(path)
                names = set(self._zip.namelist())
                missing = [n for n in BUNDLE_FILES if n not in names]
        except (OSError, zipfile.BadZipFile) as e:
            raise BundleError(f"{path}: {e}") from None
        if missing:
            raise BundleError(f"missing {', '.join(missing)}")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def open(self, name: str) -> TextIO:
        if self._zip is not None:
            return io.TextIOWrapper(self._zip.open(name), encoding="utf-8")
        return (self.path / name).open(encoding="utf-8")

    def digest(self, name: str) -> str:
        folder, _, base = name.rpartition("/")
        if name.startswith((".", "/")) or folder not in BUNDLE_FOLDERS or not base:
            raise BundleError(f"manifest.json names an unexpected file: {name}")
        digest = hashlib.sha256()
        try:
            raw = self._zip.open(name) if self._zip is not None else (self.path / name).open("rb")
        except (OSError, KeyError) as e:
            raise BundleError(f"{name}: {e}") from None
        with raw:
            for chunk in iter(lambda: raw.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def load(self, name: str) -> Any:
        with self.open(name) as f:
            try:
                return json.load(f)
            except json.JSONDecodeError as e:
                raise BundleError(f"{name}: {e}") from None

    def lines(self, name: str, parse: Callable[[dict[str, Any]], Any]) -> Iterator[Any]:
        with self.open(name) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield parse(json.loads(line))
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    raise BundleError(f"{name} line {number}: {e}") from None

    def events(self) -> Iterator[EventRow]:
        def parse(d: dict[str, Any]) -> EventRow:
            state = d["state"].encode("utf-8") if "state" in d else b64d(d["state_b64"])
            return (
                int(d["position"]),
                d["originator_id"],
                int(d["originator_version"]),
                d["topic"],
                state,
            )

        return self.lines("events.jsonl", parse)

    def links(self) -> Iterator[LinkRow]:
        def parse(d: dict[str, Any]) -> LinkRow:
            return (
                int(d["position"]),
                d["originator_id"],
                int(d["originator_version"]),
                binascii.unhexlify(d["link"]),
            )

        return self.lines("chain.jsonl", parse)


def verify_bundle(
    path: Path,
    public_keys: Sequence[bytes] = (),
    published: Sequence[Checkpoint] = (),
    max_problems: int = 50,
) -> Report:
    """Verify an exported bundle offline: no database, only the bundle and the public keys."""
    bundle = Bundle(path)
    try:
        manifest = bundle.load("manifest.json")
        if manifest.get("format") != BUNDLE_FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise BundleError("manifest.json: unknown format or version")
        records = [KeyRecord.from_dict(d) for d in bundle.load("keys.json")]
        cps = [(Checkpoint.from_dict(d), "bundle") for d in bundle.load("checkpoints.json")]
        roots = {key_id(raw): raw for raw in public_keys} or None
        report = verify(
            bundle.events(),
            bundle.links(),
            chained_to=int(manifest["chained_to"]),
            key_records=records,
            checkpoints=cps + [(cp, "published") for cp in published],
            roots=roots,
            max_problems=max_problems,
        )
        for name, expected in dict(manifest.get("files", {})).items():
            if bundle.digest(name) != expected:
                why = f"{name} was changed after export (its SHA-256 differs from manifest.json)"
                report.problems.append(Problem("bundle", None, params={"why": why}))
        if report.ok and report.head != manifest.get("head"):
            report.problems.append(
                Problem(
                    "bundle",
                    None,
                    params={"why": "manifest.json names another head than the events give"},
                )
            )
        return report
    except (BundleError, KeyError, TypeError, ValueError, AttributeError) as e:
        return Report(problems=[Problem("bundle", None, params={"why": str(e)})])
    finally:
        bundle.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python verify_bundle.py BUNDLE [--public-key PEM]... [--checkpoint FILE]...``"""
    parser = argparse.ArgumentParser(
        description="Verify a consult audit bundle offline / 离线核验审计包"
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--public-key", action="append", default=[], type=Path)
    parser.add_argument("--checkpoint", action="append", default=[], type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        keys = [public_key_from_pem(p.read_bytes()) for p in args.public_key]
        published = [cp for p in args.checkpoint for cp in parse_checkpoints(p.read_text("utf-8"))]
        report = verify_bundle(args.bundle, keys, published)
    except (OSError, ValueError) as e:
        print(f"无法核验 / cannot verify: {e}", file=sys.stderr)
        return 2
    print_report(report, args.json)
    return 0 if report.ok else EXIT_TAMPERED


def print_report(report: Report, as_json: bool = False, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), file=out)
        return
    print(report.summary("zh"), file=out)
    print(report.summary("en"), file=out)
    for p in sorted(report.problems, key=Problem.sort_key)[1:]:
        print(f"  - {p.message('zh')}\n    {p.message('en')}", file=out)
    if report.truncated:
        print("  …（问题过多，其余未列出 / too many problems; the rest are not listed）", file=out)
    for n in report.notes:
        print(f"注意：{n.zh}\nNote: {n.en}", file=out)
