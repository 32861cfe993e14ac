"""What is signed: canonical JSON, base64url, Ed25519 keys, checkpoints and key statements."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .links import CHECKPOINT_TAG, CHECKPOINT_TYPE, FORMAT_VERSION, KEY_TYPE, ROTATION_TYPE


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, ASCII only: the bytes that are signed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 over its 32 raw public-key bytes."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_key_from_pem(data: bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in PEM (or of the public half of a private key)."""
    key: Any
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(public_raw: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public_raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signature_valid(public_raw: bytes, signature: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(b64d(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- checkpoints and keys ---------------------------------------------------------------------

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain's link at ``position`` was ``head`` at ``time``."""

    position: int
    head: str
    time: str
    key: str
    signature: str = ""

    def payload(self) -> bytes:
        return canonical_json(
            {
                "type": CHECKPOINT_TYPE,
                "v": FORMAT_VERSION,
                "position": self.position,
                "head": self.head,
                "time": self.time,
                "key": self.key,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "head": self.head,
            "time": self.time,
            "key": self.key,
            "signature": self.signature,
        }

    def to_text(self) -> str:
        """One line for a printed notice and its QR code."""
        return (
            f"{CHECKPOINT_TAG} pos={self.position} head={self.head} t={self.time} "
            f"key={self.key} sig={self.signature}"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        try:
            cp = cls(
                int(data["position"]),
                str(data["head"]),
                str(data["time"]),
                str(data["key"]),
                str(data.get("signature", "")),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not a checkpoint: {e}") from None
        cp.check_form()
        return cp

    @classmethod
    def from_text(cls, line: str) -> Checkpoint:
        parts = line.split()
        if not parts or parts[0] != CHECKPOINT_TAG:
            raise ValueError(f"a checkpoint line starts with {CHECKPOINT_TAG}")
        fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        try:
            cp = cls(int(fields["pos"]), fields["head"], fields["t"], fields["key"], fields["sig"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"incomplete checkpoint line: {e}") from None
        cp.check_form()
        return cp

    def check_form(self) -> None:
        if self.position < 0 or not _HEX64.fullmatch(self.head) or not _TIME.fullmatch(self.time):
            raise ValueError("malformed checkpoint (position, head or time)")
        if not _HEX16.fullmatch(self.key):
            raise ValueError("malformed checkpoint key id")


def parse_checkpoints(text: str) -> list[Checkpoint]:
    """Checkpoints from a published file: JSON (one object or a list) or text lines."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        data = json.loads(stripped)
        items = data if isinstance(data, list) else [data]
        return [Checkpoint.from_dict(d) for d in items]
    lines = [ln.strip() for ln in stripped.splitlines()]
    found = [Checkpoint.from_text(ln) for ln in lines if ln.startswith(CHECKPOINT_TAG)]
    if not found:
        raise ValueError(f"no checkpoint found (lines start with {CHECKPOINT_TAG}, or JSON)")
    return found


@dataclass(frozen=True)
class KeyRecord:
    """A signing key as registered in the store: self-signed, or a rotation from an older key."""

    key: str
    public_key: str
    added: str
    statement: str
    sig_new: str
    replaces: str | None = None
    sig_old: str | None = None

    @property
    def public_raw(self) -> bytes:
        return b64d(self.public_key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "public_key": self.public_key,
            "added": self.added,
            "replaces": self.replaces,
            "statement": self.statement,
            "sig_new": self.sig_new,
            "sig_old": self.sig_old,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KeyRecord:
        return cls(
            str(d["key"]),
            str(d["public_key"]),
            str(d["added"]),
            str(d["statement"]),
            str(d["sig_new"]),
            d.get("replaces"),
            d.get("sig_old"),
        )


def key_statement(public_raw: bytes, time: str, replaces: str | None) -> bytes:
    """What a key signs when registered (``replaces`` None) or when it replaces an older key."""
    kid = key_id(public_raw)
    if replaces is None:
        return canonical_json(
            {
                "type": KEY_TYPE,
                "v": FORMAT_VERSION,
                "key": kid,
                "public_key": b64e(public_raw),
                "time": time,
            }
        )
    return canonical_json(
        {
            "type": ROTATION_TYPE,
            "v": FORMAT_VERSION,
            "old_key": replaces,
            "new_key": kid,
            "new_public_key": b64e(public_raw),
            "time": time,
        }
    )
