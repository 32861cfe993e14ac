"""Which keys are trusted (roots and signed rotations) and which checkpoints count."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .report import Note, Problem
from .signing import Checkpoint, KeyRecord, key_id, key_statement, signature_valid


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
