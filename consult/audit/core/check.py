"""Re-deriving the chain from the events and comparing it with the stored links and checkpoints."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .links import _HEAD, _LEN, _MALFORMED, _MID, GENESIS, EventRow, LinkRow, _sha256, chain_link
from .report import Note, Problem, Report
from .signing import Checkpoint, KeyRecord
from .trust import check_checkpoints, resolve_trust


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
