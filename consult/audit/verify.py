"""Verification of a store: the whole history, or the tail since the latest signed checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consult.audit import core
from consult.audit.core import Checkpoint, EventRow, Report
from consult.audit.store import AuditStore


def verify_store(
    store: AuditStore,
    published: Sequence[Checkpoint] = (),
    roots: Mapping[str, bytes] | None = None,
    max_problems: int = 50,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Re-derive the whole chain from the stored events; check it against the stored links, the
    stored checkpoints and the ``published`` ones, trusting the ``roots`` public keys (by key id).
    ``progress(position)`` is told now and then how far the events have been read.
    """
    with store.reading() as snap:
        events = snap.events()
        return core.verify(
            events if progress is None else _telling(events, progress),
            snap.links(),
            chained_to=snap.chained_to,
            key_records=snap.key_records(),
            checkpoints=[(cp, "stored") for cp in snap.checkpoints()]
            + [(cp, "published") for cp in published],
            roots=roots,
            max_problems=max_problems,
        )


def _telling(
    events: Iterable[EventRow], progress: Callable[[int], None], every: int = 5000
) -> Iterator[EventRow]:
    """The events, telling ``progress`` the position reached every ``every`` events."""
    for count, event in enumerate(events, 1):
        if count % every == 0:
            progress(event[0])
        yield event


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
    """What an auditor's page shows: how far the chain reaches against the log's end, and whether
    it holds since the latest checkpoint (a full verification is :func:`verify_store`)."""

    chained_to: int
    head: str
    unchained: int
    latest_checkpoint: Checkpoint | None
    anchor: Checkpoint | None
    since_anchor: Report
    log_end: int = 0

    @property
    def truncated(self) -> int:
        """How many positions the chain covers beyond the log's end (events since deleted)."""
        return max(0, self.chained_to - self.log_end)

    @property
    def behind(self) -> int:
        """How many positions of the log the chain does not cover yet."""
        return max(0, self.log_end - self.chained_to)

    @property
    def intact(self) -> bool:
        return self.since_anchor.ok and not self.truncated

    def message(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        if self.truncated:
            first = self.log_end + 1
            return (
                f"事件日志被截断：链已覆盖到第 {self.chained_to} 位，日志却只到第 {self.log_end} 位，"
                f"第 {first}–{self.chained_to} 位的事件已不在日志中。"
                if zh
                else f"The event log was truncated: the chain covers position {self.chained_to} "
                f"but the log ends at {self.log_end}; the events at positions "
                f"{first}-{self.chained_to} are no longer in it."
            )
        if not self.since_anchor.ok:
            return self.since_anchor.summary(lang)
        since = self.anchor.position if self.anchor else 0
        text = (
            f"自最近的有效检查点（第 {since} 位）以来链与事件一致；已入链至第 {self.chained_to} 位，"
            f"日志至第 {self.log_end} 位。完整核验请运行 consult audit verify。"
            if zh
            else f"The chain matches the events since the latest valid checkpoint (position {since}); "
            f"chained to position {self.chained_to}, the log ends at {self.log_end}. "
            "For a full verification run consult audit verify."
        )
        if self.behind:
            text += (
                f" 链落后日志 {self.behind} 位（{self.unchained} 个事件待入链）。"
                if zh
                else f" The chain is behind the log by {self.behind} positions "
                f"({self.unchained} events await chaining)."
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "chained_to": self.chained_to,
            "log_end": self.log_end,
            "behind": self.behind,
            "truncated": self.truncated,
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
    """The chain's status for the auditors' pages: cheap (it checks only the latest stretch and
    compares the chain's head with the log's end)."""
    report, anchor = verify_tail(store, roots)
    head = store.head()
    log_end = store.log_end()  # after the head: the log only grows meanwhile
    return ChainStatus(
        head.position,
        head.link.hex(),
        report.unchained,
        store.latest_checkpoint(),
        anchor,
        report,
        log_end,
    )
