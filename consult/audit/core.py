"""The audit chain's format and its verification: standard library and ``cryptography`` only.

This module is copied verbatim into every audit bundle as ``verify_bundle.py``, so an auditor can
check a bundle offline with ``python verify_bundle.py BUNDLE --public-key KEY.pem``. It must
therefore import nothing from ``consult``. docs/audit.md describes the format in prose.

The chain: every stored event, in the order of the event store's log, is bound to the one before::

    link(p) = SHA-256( previous link (32 bytes)
                     || i64(position)
                     || u64(len(originator_id)) || originator_id   (UTF-8, 32 lowercase hex digits)
                     || i64(originator_version)
                     || u64(len(topic))         || topic           (UTF-8)
                     || u64(len(state))         || state )         (the exact stored bytes)

with big-endian integers; the previous link of the first event is :data:`GENESIS`. The state bytes
hold the event's timestamp and payload. A checkpoint signs (position, link at that position, time)
with an Ed25519 key; key rotations are statements signed by both the old and the new key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import re
import struct
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT_VERSION: Final = 1
GENESIS: Final = hashlib.sha256(b"consult-audit-chain-v1").digest()
CHECKPOINT_TAG: Final = "CONSULT-CP1"
CHECKPOINT_TYPE: Final = "consult-checkpoint"
KEY_TYPE: Final = "consult-key"
ROTATION_TYPE: Final = "consult-key-rotation"
BUNDLE_FORMAT: Final = "consult-audit-bundle"
EXIT_TAMPERED: Final = 3

#: (position, originator_id, originator_version, topic, state) exactly as stored.
EventRow = tuple[int, str, int, str, bytes]
#: (position, originator_id, originator_version, link) as the chain recorded them.
LinkRow = tuple[int, str, int, bytes]

_HEAD = struct.Struct(">32sqQ")
_MID = struct.Struct(">qQ")
_LEN = struct.Struct(">Q")
_sha256 = hashlib.sha256
_MALFORMED = (AttributeError, TypeError, ValueError, struct.error, OverflowError)


def chain_link(
    prev: bytes, position: int, originator_id: str, version: int, topic: str, state: bytes
) -> bytes:
    """The link of one stored event, given the link before it."""
    oid = originator_id.encode()
    top = topic.encode()
    return _sha256(
        b"".join(
            (
                _HEAD.pack(prev, position, len(oid)),
                oid,
                _MID.pack(version, len(top)),
                top,
                _LEN.pack(len(state)),
                state,
            )
        )
    ).digest()


def derive_links(prev: bytes, rows: Iterable[EventRow]) -> list[LinkRow]:
    """The chain rows for events that follow a link (raises on a malformed row)."""
    out: list[LinkRow] = []
    for position, oid, version, topic, state in rows:
        prev = chain_link(prev, position, oid, version, topic, state)
        out.append((position, oid, version, prev))
    return out


# --- encodings --------------------------------------------------------------------------------


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


# --- problems and reports ---------------------------------------------------------------------

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "altered": (
        "第 {position} 位的事件与链不符：内容被修改（{event}）",
        "Position {position}: the event does not match its chain link: it was altered ({event})",
    ),
    "replaced": (
        "第 {position} 位现为 {event}，链中记录的却是 {expected}：事件被替换、插入或调换了顺序",
        "Position {position} now holds {event} but the chain recorded {expected}: events were "
        "replaced, inserted or reordered",
    ),
    "deleted": (
        "第 {position} 位的事件被删除：链中有它（{expected}），存储中没有",
        "Position {position}: the event was deleted: the chain has it ({expected}), the store has not",
    ),
    "inserted": (
        "第 {position} 位的事件不在链中：它是被插入的（{event}）",
        "Position {position}: the event is not in the chain: it was inserted ({event})",
    ),
    "malformed": (
        "第 {position} 位的记录已损坏，无法读作事件：{why}",
        "Position {position}: the stored row is damaged and cannot be read as an event: {why}",
    ),
    "link-row": (
        "第 {position} 位的链记录被修改：记录的是 {expected}，事件是 {event}",
        "Position {position}: the chain row was altered: it names {expected}, the event is {event}",
    ),
    "order": (
        "第 {position} 位的事件顺序错误：不在第 {previous} 位之后",
        "Position {position}: events out of order: it does not come after position {previous}",
    ),
    "checkpoint": (
        "截至第 {position} 位的历史与{source_zh}检查点（{time}，链头 {head_short}）不符："
        "第 {after} 位之后至第 {position} 位之间的事件或链被改写",
        "the history up to position {position} does not match the {source} checkpoint of {time} "
        "(head {head_short}): events or chain links after position {after} and up to {position} "
        "were rewritten",
    ),
    "truncated": (
        "{source_zh}检查点覆盖到第 {position} 位，存储却只到第 {last} 位：其后的事件被删除",
        "the {source} checkpoint covers position {position} but the store ends at {last}: "
        "later events were deleted",
    ),
    "signature": (
        "第 {position} 位的{source_zh}检查点签名无效：检查点被伪造或修改",
        "the {source} checkpoint at position {position} has an invalid signature: "
        "it was forged or altered",
    ),
    "untrusted": (
        "第 {position} 位的{source_zh}检查点由不受信任的密钥 {key} 签名",
        "the {source} checkpoint at position {position} is signed by key {key}, which is not trusted",
    ),
    "retired": (
        "第 {position} 位的{source_zh}检查点由已于 {retired} 轮换停用的密钥 {key} 在 {time} 签名",
        "the {source} checkpoint at position {position} was signed at {time} by key {key}, "
        "retired at {retired}",
    ),
    "key-record": ("密钥记录 {key} 无效：{why}", "the key record {key} is invalid: {why}"),
    "bundle": (
        "审计包不完整或格式错误：{why}",
        "the audit bundle is incomplete or malformed: {why}",
    ),
}

SOURCES: Final = {"stored": "存储的", "published": "公布的", "bundle": "审计包中的"}


@dataclass(frozen=True)
class Problem:
    """One piece of evidence that the history was changed; ``position`` locates it in the log."""

    kind: str
    position: int | None
    after: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.kind]
        source = str(self.params.get("source", ""))
        values = {
            "position": self.position,
            "after": self.after,
            "source_zh": SOURCES.get(source, source),
            **self.params,
        }
        return (zh if lang.startswith("zh") else en).format(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "after": self.after,
            "message": {"zh": self.message("zh"), "en": self.message("en")},
            "params": {k: str(v) for k, v in self.params.items()},
        }

    def sort_key(self) -> tuple[bool, int]:
        return (self.position is None, self.position or 0)


@dataclass(frozen=True)
class Note:
    """Something an auditor should know that is not itself evidence of tampering."""

    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass
class Report:
    """What a verification found. ``first`` is the earliest bad position (None when intact)."""

    events: int = 0
    last_position: int = 0
    chained_to: int = 0
    head: str = GENESIS.hex()
    unchained: int = 0
    checkpoints: int = 0
    trusted_keys: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=Problem.sort_key) if self.problems else None

    def summary(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        if self.ok:
            text = (
                f"完整：{self.events} 个事件（至第 {self.last_position} 位）与链一致，"
                f"链头 {self.head}，已核对 {self.checkpoints} 个签名检查点。"
                if zh
                else f"Intact: {self.events} events (to position {self.last_position}) match the chain, "
                f"head {self.head}, {self.checkpoints} signed checkpoints checked."
            )
        else:
            first = self.first
            assert first is not None
            if first.position is None:
                where = "密钥或审计包" if zh else "in the keys or the bundle"
            else:
                where = f"第 {first.position} 位" if zh else f"at position {first.position}"
            text = (
                f"历史已被篡改：首个问题在{where}。{first.message('zh')}"
                if zh
                else f"The history was tampered with: the first problem is {where}. "
                f"{first.message('en')}"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "events": self.events,
            "last_position": self.last_position,
            "chained_to": self.chained_to,
            "head": self.head,
            "unchained": self.unchained,
            "checkpoints": self.checkpoints,
            "trusted_keys": list(self.trusted_keys),
            "first_bad_position": first.position if first else None,
            "problems": [p.to_dict() for p in sorted(self.problems, key=Problem.sort_key)],
            "problems_truncated": self.truncated,
            "notes": [{"zh": n.zh, "en": n.en} for n in self.notes],
        }


# --- keys: who is trusted ---------------------------------------------------------------------


@dataclass(frozen=True)
class Trust:
    """The keys whose signatures count, and when each was retired by a rotation."""

    keys: Mapping[str, bytes]
    retired: Mapping[str, str]


def resolve_trust(
    records: Sequence[KeyRecord], roots: Mapping[str, bytes] | None
) -> tuple[Trust, list[Problem], list[Note]]:
    """Trust the roots and every key joined to a trusted one by a rotation both keys signed.

    With no roots the self-registered keys in the records are trusted, with a note saying so.
    """
    problems: list[Problem] = []
    notes: list[Note] = []
    public: dict[str, bytes] = dict(roots or {})
    genesis: list[str] = []
    edges: list[tuple[str, str, str]] = []
    for r in records:
        try:
            raw = r.public_raw
            if key_id(raw) != r.key:
                raise ValueError("its id is not the fingerprint of its public key")
            statement = json.loads(r.statement)
            if r.statement.encode("ascii") != key_statement(
                raw, str(statement.get("time")), r.replaces
            ):
                raise ValueError("its statement does not match the record")
            if not signature_valid(raw, r.sig_new, r.statement.encode("ascii")):
                raise ValueError("the key's own signature on its statement is invalid")
        except (ValueError, TypeError, AttributeError) as e:
            problems.append(Problem("key-record", None, params={"key": r.key, "why": str(e)}))
            continue
        public[r.key] = raw
        if r.replaces is None:
            genesis.append(r.key)
        else:
            edges.append((r.replaces, r.key, str(statement["time"])))
    retired: dict[str, str] = {}
    checked_edges: list[tuple[str, str]] = []
    by_key = {r.key: r for r in records}
    for old, new, time in edges:
        rec = by_key[new]
        if (
            old not in public
            or not rec.sig_old
            or not signature_valid(public[old], rec.sig_old, rec.statement.encode("ascii"))
        ):
            problems.append(
                Problem(
                    "key-record",
                    None,
                    params={"key": new, "why": f"the rotation from {old} is not signed by {old}"},
                )
            )
            continue
        checked_edges.append((old, new))
        retired[old] = min(time, retired.get(old, time))
    trusted = set(roots or {})
    if not trusted:
        trusted = set(genesis)
        if genesis:
            notes.append(
                Note(
                    f"未提供公钥：信任存储中登记的密钥 {', '.join(genesis)}；请与公布的密钥编号核对。",
                    f"No public key given: trusting the key(s) registered in the store, {', '.join(genesis)}; "
                    "compare with the published key id.",
                )
            )
    grew = True
    while grew:
        grew = False
        for old, new in checked_edges:
            if (old in trusted) != (new in trusted):
                trusted |= {old, new}
                grew = True
    return Trust({k: public[k] for k in sorted(trusted) if k in public}, retired), problems, notes


def check_checkpoints(
    checkpoints: Iterable[tuple[Checkpoint, str]], trust: Trust
) -> tuple[list[tuple[Checkpoint, str]], list[Problem]]:
    """The checkpoints whose signature is valid under a trusted key, and problems with the rest."""
    good: list[tuple[Checkpoint, str]] = []
    problems: list[Problem] = []
    for cp, source in checkpoints:
        params = {"source": source, "key": cp.key, "time": cp.time}
        try:
            cp.check_form()
        except (TypeError, ValueError):
            where = cp.position if isinstance(cp.position, int) else None
            problems.append(Problem("signature", where, params=params))
            continue
        raw = trust.keys.get(cp.key)
        if raw is None:
            problems.append(Problem("untrusted", cp.position, params=params))
        elif not signature_valid(raw, cp.signature, cp.payload()):
            problems.append(Problem("signature", cp.position, params=params))
        elif cp.key in trust.retired and cp.time > trust.retired[cp.key]:
            problems.append(
                Problem("retired", cp.position, params={**params, "retired": trust.retired[cp.key]})
            )
        else:
            good.append((cp, source))
    return good, problems


# --- the chain ----------------------------------------------------------------------------------


def _describe(oid: object, version: object, topic: object = None) -> str:
    text = f"{oid} v{version}"
    return f"{text} {topic}" if isinstance(topic, str) else text


@dataclass
class ChainOutcome:
    problems: list[Problem]
    events: int
    last_position: int
    head: bytes
    unchained: int
    truncated: bool


def verify_chain(
    events: Iterable[EventRow],
    links: Iterable[LinkRow],
    checkpoints: Sequence[tuple[Checkpoint, str]],
    chained_to: int,
    start: tuple[int, bytes] = (0, GENESIS),
    max_problems: int = 50,
) -> ChainOutcome:
    """Re-derive the chain from the events and compare it with the stored links and checkpoints.

    Both inputs are in ascending position after ``start``. Each event is checked against its own
    stored link starting from the stored link before it, so one change shows at its own position;
    the checkpoints are compared with the chain derived from the events alone.
    """
    problems: list[Problem] = []
    cps = sorted(
        (cp for cp in checkpoints if cp[0].position > start[0]), key=lambda c: c[0].position
    )
    matched_before = start[0]
    ci = 0
    next_cp = cps[0][0].position if cps else -1
    derived = stored_prev = start[1]
    count = unchained = 0
    last = previous = start[0]
    ev = iter(events)
    lk = iter(links)
    e = next(ev, None)
    lr = next(lk, None)

    def check_cps(upto: int, head: bytes, inclusive: bool) -> None:
        nonlocal ci, next_cp, matched_before
        while ci < len(cps) and (next_cp < upto or (inclusive and next_cp == upto)):
            cp, source = cps[ci]
            if cp.head != head.hex():
                kind = (
                    "truncated" if cp.position > last and e is None and lr is None else "checkpoint"
                )
                problems.append(
                    Problem(
                        kind,
                        cp.position,
                        after=matched_before,
                        params={
                            "source": source,
                            "time": cp.time,
                            "head_short": cp.head[:12] + "…",
                            "last": last,
                        },
                    )
                )
            else:
                matched_before = cp.position
            ci += 1
            next_cp = cps[ci][0].position if ci < len(cps) else -1

    while (e is not None or lr is not None) and len(problems) < max_problems:
        if e is not None and lr is not None and derived == stored_prev:
            # The common case, inlined: event and link at one position, in step, no checkpoint due.
            due = next_cp if ci < len(cps) else sys.maxsize
            try:
                while previous < e[0] == lr[0] < due:
                    p, oid, version, topic, state = e
                    ob = oid.encode()
                    tb = topic.encode()
                    h = _sha256(
                        b"".join(
                            (
                                _HEAD.pack(derived, p, len(ob)),
                                ob,
                                _MID.pack(version, len(tb)),
                                tb,
                                _LEN.pack(len(state)),
                                state,
                            )
                        )
                    ).digest()
                    if h != lr[3] or oid != lr[1] or version != lr[2]:
                        break
                    derived = stored_prev = h
                    count += 1
                    previous = last = p
                    e = next(ev, None)
                    lr = next(lk, None)
                    if e is None or lr is None:
                        break
            except _MALFORMED:
                pass  # the general case below reports it
            if e is None and lr is None:
                break
        if e is not None and (lr is None or e[0] < lr[0]):
            p = e[0]
            if ci < len(cps):
                check_cps(p, derived, inclusive=False)
            if count and p <= previous:
                problems.append(Problem("order", p, params={"previous": previous}))
            try:
                derived = chain_link(derived, *e)
            except _MALFORMED as err:
                problems.append(Problem("malformed", p, params={"why": str(err)}))
            else:
                if p <= chained_to:
                    problems.append(Problem("inserted", p, params={"event": _describe(*e[1:4])}))
                else:
                    unchained += 1
            count += 1
            previous = last = p
            e = next(ev, None)
        elif lr is not None and (e is None or lr[0] < e[0]):
            p = lr[0]
            if ci < len(cps):
                check_cps(p, derived, inclusive=False)
            problems.append(Problem("deleted", p, params={"expected": _describe(lr[1], lr[2])}))
            stored_prev = lr[3]
            lr = next(lk, None)
        else:
            assert e is not None and lr is not None
            p = e[0]
            if ci < len(cps):
                check_cps(p, derived, inclusive=False)
            if count and p <= previous:
                problems.append(Problem("order", p, params={"previous": previous}))
            in_step = derived == stored_prev
            try:
                derived = chain_link(derived, *e)
                local = derived if in_step else chain_link(stored_prev, *e)
            except _MALFORMED as err:
                problems.append(Problem("malformed", p, params={"why": str(err)}))
            else:
                if local != lr[3]:
                    there = (lr[1], lr[2])
                    kind = "altered" if (e[1], e[2]) == there else "replaced"
                    problems.append(
                        Problem(
                            kind,
                            p,
                            params={"event": _describe(*e[1:4]), "expected": _describe(*there)},
                        )
                    )
                elif (e[1], e[2]) != (lr[1], lr[2]):
                    problems.append(
                        Problem(
                            "link-row",
                            p,
                            params={
                                "event": _describe(e[1], e[2]),
                                "expected": _describe(lr[1], lr[2]),
                            },
                        )
                    )
            stored_prev = lr[3]
            count += 1
            previous = last = p
            e = next(ev, None)
            lr = next(lk, None)
        if p == next_cp:
            check_cps(p, derived, inclusive=True)
    truncated = len(problems) >= max_problems
    if not truncated:
        check_cps(sys.maxsize, derived, inclusive=True)
    return ChainOutcome(problems, count, last, derived, unchained, truncated)


def verify(
    events: Iterable[EventRow],
    links: Iterable[LinkRow],
    *,
    chained_to: int,
    key_records: Sequence[KeyRecord],
    checkpoints: Iterable[tuple[Checkpoint, str]],
    roots: Mapping[str, bytes] | None = None,
    start: tuple[int, bytes] = (0, GENESIS),
    max_problems: int = 50,
) -> Report:
    """Check keys, checkpoint signatures and the chain; the report names every problem found."""
    trust, problems, notes = resolve_trust(key_records, roots)
    good, bad = check_checkpoints(checkpoints, trust)
    problems += bad
    outcome = verify_chain(events, links, good, chained_to, start, max_problems)
    problems += outcome.problems
    if not good:
        notes.append(
            Note(
                "没有可核对的签名检查点：仅凭链本身不能发现有数据库写权限者对事件和链的一并改写。",
                "No signed checkpoint to check against: the chain alone cannot reveal a rewrite of events "
                "and chain together by someone with write access to the database.",
            )
        )
    if outcome.unchained:
        notes.append(
            Note(
                f"第 {chained_to} 位之后有 {outcome.unchained} 个事件尚未入链（运行 consult audit chain）。",
                f"{outcome.unchained} events after position {chained_to} are not chained yet "
                "(run consult audit chain).",
            )
        )
    return Report(
        events=outcome.events,
        last_position=outcome.last_position,
        chained_to=chained_to,
        head=outcome.head.hex(),
        unchained=outcome.unchained,
        checkpoints=len(good),
        trusted_keys=tuple(trust.keys),
        problems=sorted(problems, key=Problem.sort_key),
        notes=notes,
        truncated=outcome.truncated,
    )


# --- bundles ------------------------------------------------------------------------------------

BUNDLE_FILES: Final = (
    "manifest.json",
    "events.jsonl",
    "chain.jsonl",
    "checkpoints.json",
    "keys.json",
)


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
        if "/" in name.replace("public-keys/", "", 1) or name.startswith((".", "/")):
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


if __name__ == "__main__":
    sys.exit(main())
