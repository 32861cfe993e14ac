"""Verification of a store: the whole history, or the tail since the latest signed checkpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consult.audit import core
from consult.audit.core import Checkpoint, Report
from consult.audit.store import AuditStore


def verify_store(
    store: AuditStore,
    published: Sequence[Checkpoint] = (),
    roots: Mapping[str, bytes] | None = None,
    max_problems: int = 50,
) -> Report:
    """Re-derive the whole chain from the stored events; check it against the stored links, the
    stored checkpoints and the ``published`` ones, trusting the ``roots`` public keys (by key id).
    """
    with store.reading() as snap:
        return core.verify(
            snap.events(),
            snap.links(),
            chained_to=snap.chained_to,
            key_records=snap.key_records(),
            checkpoints=[(cp, "stored") for cp in snap.checkpoints()]
            + [(cp, "published") for cp in published],
            roots=roots,
            max_problems=max_problems,
        )


def verify_tail(
    store: AuditStore, roots: Mapping[str, bytes] | None = None
) -> tuple[Report, Checkpoint | None]:
    """Verify only what follows the latest checkpoint whose signature holds (all of it if none)."""
    with store.reading() as snap:
        keys = snap.key_records()
        trust, _, _ = core.resolve_trust(keys, roots)
        good, _ = core.check_checkpoints([(cp, "stored") for cp in snap.checkpoints()], trust)
        anchor = max(
            (cp for cp, _ in good if cp.position <= snap.chained_to),
            key=lambda c: c.position,
            default=None,
        )
        start = (anchor.position, bytes.fromhex(anchor.head)) if anchor else (0, core.GENESIS)
        report = core.verify(
            snap.events(after=start[0]),
            snap.links(after=start[0]),
            chained_to=snap.chained_to,
            key_records=keys,
            checkpoints=[(anchor, "stored")] if anchor else [],
            roots=roots,
            start=start,
        )
    return report, anchor


@dataclass(frozen=True)
class ChainStatus:
    """What an auditor's page shows: how far the chain reaches and whether it holds since the
    latest checkpoint (a full verification is :func:`verify_store`)."""

    chained_to: int
    head: str
    unchained: int
    latest_checkpoint: Checkpoint | None
    anchor: Checkpoint | None
    since_anchor: Report

    @property
    def intact(self) -> bool:
        return self.since_anchor.ok

    def message(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        if not self.intact:
            return self.since_anchor.summary(lang)
        since = self.anchor.position if self.anchor else 0
        text = (
            f"自最近的有效检查点（第 {since} 位）以来链与事件一致；已入链至第 {self.chained_to} 位。"
            "完整核验请运行 consult audit verify。"
            if zh
            else f"The chain matches the events since the latest valid checkpoint (position {since}); "
            f"chained to position {self.chained_to}. For a full verification run consult audit verify."
        )
        if self.unchained:
            text += (
                f" 尚有 {self.unchained} 个事件待入链。"
                if zh
                else f" {self.unchained} events await chaining."
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "chained_to": self.chained_to,
            "head": self.head,
            "unchained": self.unchained,
            "latest_checkpoint": self.latest_checkpoint.to_dict()
            if self.latest_checkpoint
            else None,
            "latest_checkpoint_text": self.latest_checkpoint.to_text()
            if self.latest_checkpoint
            else None,
            "verified_since": self.anchor.position if self.anchor else 0,
            "message": {"zh": self.message("zh"), "en": self.message("en")},
            "problems": [p.to_dict() for p in self.since_anchor.problems],
        }


def chain_status(store: AuditStore, roots: Mapping[str, bytes] | None = None) -> ChainStatus:
    """The chain's status for the auditors' pages: cheap (it checks only the latest stretch)."""
    report, anchor = verify_tail(store, roots)
    head = store.head()
    return ChainStatus(
        head.position, head.link.hex(), report.unchained, store.latest_checkpoint(), anchor, report
    )
