"""The audit bundle: everything an auditor needs to verify the history offline."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from consult.audit import core
from consult.audit.core import (
    BUNDLE_FORMAT,
    FORMAT_VERSION,
    VERIFIER_DIR,
    event_line,
    link_line,
    public_key_pem,
)
from consult.audit.errors import AuditError
from consult.audit.keys import utc_text
from consult.audit.store import AuditStore

FORMAT_TEXT = """\
# Consult audit bundle, format 1 / 审计包格式 1

Files:
- manifest.json: format, version, creation time, chained_to (last chained position), events (count),
  head (hex link at chained_to) and the SHA-256 of every other file.
- events.jsonl: one stored event per line, in log order: position (notification id), originator_id
  (32 hex digits), originator_version, topic, and the exact stored state: "state" (UTF-8 text) or
  "state_b64" (base64url, no padding) when it is not UTF-8.
- chain.jsonl: one chain row per event: position, originator_id, originator_version, link (hex).
- checkpoints.json: signed checkpoints {position, head, time, key, signature}.
- keys.json: key records (first key self-signed; each rotation signed by the old and the new key).
- public-keys/<key id>.pem: the public keys.
- verify_bundle.py and verifier/: a verifier needing only Python 3.11 and the `cryptography`
  package (verifier/ holds the modules of consult/audit/core/ verbatim).

Link (big-endian integers; GENESIS = SHA-256("consult-audit-chain-v1")):
  link = SHA-256(prev(32) || i64 position || u64 len || originator_id || i64 version
                 || u64 len || topic || u64 len || state)
Checkpoint signature: Ed25519 over canonical JSON (sorted keys, no spaces, ASCII) of
  {"type":"consult-checkpoint","v":1,"position":P,"head":H,"time":T,"key":K}.
Key id: first 16 hex digits of SHA-256 of the 32-byte raw public key.

Verify / 核验:
  python verify_bundle.py <this bundle> --public-key <published key.pem> [--checkpoint <published.txt>]
Exit 0 = intact; 3 = tampered (the first bad position is named); 2 = cannot read.
"""


class _Writer:
    """Writes the bundle's files into a directory or a zip file, hashing each one."""

    def __init__(self, dest: Path, stack: ExitStack) -> None:
        self.digests: dict[str, str] = {}
        self._zip: zipfile.ZipFile | None = None
        self._dir = dest
        if dest.suffix.lower() == ".zip":
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._zip = stack.enter_context(zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED))
        else:
            if dest.exists() and any(dest.iterdir()):
                raise AuditError(
                    reason=f"目录 {dest} 不是空的", reason_en=f"the directory {dest} is not empty"
                )
            dest.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def file(self, name: str) -> Iterator[Any]:
        digest = hashlib.sha256()
        raw: IO[bytes]
        if self._zip is not None:
            raw = self._zip.open(name, "w", force_zip64=True)
        else:
            (self._dir / name).parent.mkdir(parents=True, exist_ok=True)
            raw = (self._dir / name).open("wb")
        with raw:
            yield _HashingText(raw, digest)
        self.digests[name] = digest.hexdigest()

    def text(self, name: str, text: str) -> None:
        with self.file(name) as f:
            f.write(text)


class _HashingText:
    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self._raw = raw
        self._digest = digest

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._digest.update(data)
        self._raw.write(data)


#: The bundle's entry point: runs the verifier package shipped next to it in ``verifier/``.
VERIFY_SCRIPT = """\
\"\"\"Verify this audit bundle offline: python verify_bundle.py BUNDLE --public-key KEY.pem\"\"\"

import sys

from verifier import main

sys.exit(main())
"""


def export_bundle(store: AuditStore, dest: Path, moment: datetime) -> dict[str, Any]:
    """Write the chained history, its chain, checkpoints and keys to ``dest`` (a directory, or a
    ``.zip`` file); returns the manifest."""
    with ExitStack() as stack:
        snap = stack.enter_context(store.reading())
        out = _Writer(dest, stack)
        events = 0
        with out.file("events.jsonl") as f:
            for row in snap.events(upto=snap.chained_to):
                f.write(event_line(row) + "\n")
                events += 1
        head = core.GENESIS
        with out.file("chain.jsonl") as f:
            for link in snap.links():
                f.write(link_line(link) + "\n")
                head = link[3]
        keys = snap.key_records()
        out.text("checkpoints.json", _json([cp.to_dict() for cp in snap.checkpoints()]))
        out.text("keys.json", _json([k.to_dict() for k in keys]))
        for k in keys:
            out.text(f"public-keys/{k.key}.pem", public_key_pem(k.public_raw).decode("ascii"))
        out.text("FORMAT.md", FORMAT_TEXT)
        out.text("verify_bundle.py", VERIFY_SCRIPT)
        for module in sorted(Path(core.__file__).parent.glob("*.py")):
            out.text(f"{VERIFIER_DIR}/{module.name}", module.read_text(encoding="utf-8"))
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": FORMAT_VERSION,
            "created": utc_text(moment),
            "chained_to": snap.chained_to,
            "events": events,
            "head": head.hex(),
            "files": out.digests,
        }
        out.text("manifest.json", _json(manifest))
    return manifest


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
