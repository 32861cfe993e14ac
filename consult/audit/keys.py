"""The checkpoint signing key: where it lives, how it is made, registered and rotated.

The private key is a PEM file (PKCS#8, Ed25519), by default ``<instance>/audit/signing-key.pem``,
or the path in ``CONSULT_AUDIT_KEY``; it is encrypted when ``CONSULT_AUDIT_KEY_PASSPHRASE`` is set.
It is created on first use with mode 0600. Only public keys are needed to verify.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consult.audit.core import (
    KeyRecord,
    b64e,
    key_id,
    key_statement,
    public_key_from_pem,
    public_key_pem,
)
from consult.audit.errors import KeyFileError

KEY_ENV = "CONSULT_AUDIT_KEY"
PASSPHRASE_ENV = "CONSULT_AUDIT_KEY_PASSPHRASE"
KEY_FILE = Path("audit") / "signing-key.pem"


def utc_text(moment: datetime) -> str:
    """A time as signed: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is None:
        raise ValueError("a signed time needs a timezone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_path(instance_path: Path, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get(KEY_ENV, "").strip()
    return Path(explicit) if explicit else instance_path / KEY_FILE


def _passphrase(environ: Mapping[str, str] | None) -> bytes | None:
    env = os.environ if environ is None else environ
    value = env.get(PASSPHRASE_ENV, "")
    return value.encode("utf-8") if value else None


@dataclass(frozen=True)
class Signer:
    """A private signing key and its public id."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    @property
    def public_pem(self) -> bytes:
        return public_key_pem(self.public_raw)

    def sign(self, message: bytes) -> str:
        return b64e(self.private.sign(message))

    def registration(self, moment: datetime) -> KeyRecord:
        """The self-signed record that introduces this key to a store."""
        statement = key_statement(self.public_raw, utc_text(moment), None)
        return KeyRecord(
            self.key_id,
            b64e(self.public_raw),
            utc_text(moment),
            statement.decode("ascii"),
            self.sign(statement),
        )

    def rotation_to(self, new: Signer, moment: datetime) -> KeyRecord:
        """The record, signed by this (old) key and by ``new``, saying ``new`` replaces it."""
        statement = key_statement(new.public_raw, utc_text(moment), self.key_id)
        return KeyRecord(
            new.key_id,
            b64e(new.public_raw),
            utc_text(moment),
            statement.decode("ascii"),
            new.sign(statement),
            replaces=self.key_id,
            sig_old=self.sign(statement),
        )


def _write_private(path: Path, key: Ed25519PrivateKey, passphrase: bytes | None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())


def load_signer(
    path: Path, *, create: bool = True, environ: Mapping[str, str] | None = None
) -> Signer:
    """The signing key in ``path``, made (0600) if it does not exist and ``create`` is set."""
    passphrase = _passphrase(environ)
    if not path.exists():
        if not create:
            raise KeyFileError(
                path=str(path), reason="文件不存在", reason_en="the file does not exist"
            )
        key = Ed25519PrivateKey.generate()
        try:
            _write_private(path, key, passphrase)
        except FileExistsError:  # another process made it first: use theirs
            return load_signer(path, create=False, environ=environ)
        except OSError as e:
            raise KeyFileError(path=str(path), reason=str(e), reason_en=str(e)) from None
        return Signer(key)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(path=str(path), reason=str(e), reason_en=str(e)) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(
            path=str(path), reason="不是 Ed25519 私钥", reason_en="not an Ed25519 private key"
        )
    return Signer(loaded)


def read_public_key(path: Path) -> bytes:
    """The raw public key in a PEM file (public key, or the public half of a private key)."""
    try:
        return public_key_from_pem(path.read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(path=str(path), reason=str(e), reason_en=str(e)) from None


def retire_file(
    path: Path, old: Signer, new: Signer, environ: Mapping[str, str] | None = None
) -> Path:
    """Put ``new`` in ``path``; keep the old key beside it as ``signing-key.<id>.retired.pem``."""
    fresh = path.with_name(path.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        fresh.unlink()
    _write_private(fresh, new.private, _passphrase(environ))
    retired = path.with_name(f"{path.stem}.{old.key_id}.retired{path.suffix}")
    os.replace(path, retired)
    os.replace(fresh, path)
    return retired
