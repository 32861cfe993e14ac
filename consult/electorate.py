"""Who may vote or sign, frozen at a roll or register version, and who may act for whom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from consult.roll import Head, HeadRules, Unit, compute_heads
from consult.rules import Elector


@dataclass(frozen=True)
class Electorate:
    """The electors of one vote or motion and the people entitled to act for each.

    ``kind`` is ``roll`` (owners' heads), ``adults`` / ``households`` (residents' register),
    ``members`` (a committee or representatives' meeting) or ``council`` (one elector per party).
    """

    kind: str
    ref: dict[str, Any]
    electors: tuple[Elector, ...]
    entitled: dict[str, tuple[str, ...]]  # elector id -> person ids who may cast for it
    heads: dict[str, Head] = field(default_factory=dict)
    by_person: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, Elector]:
        return {e.elector_id: e for e in self.electors}

    @property
    def total_heads(self) -> int:
        return len(self.electors)

    @property
    def total_area(self) -> Decimal:
        return sum((e.area or Decimal(0) for e in self.electors), Decimal(0))

    def electors_of(self, person_id: str) -> tuple[str, ...]:
        return self.by_person.get(person_id, ())


def _index(entitled: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    by_person: dict[str, list[str]] = {}
    for elector_id, people in entitled.items():
        for p in people:
            by_person.setdefault(p, []).append(elector_id)
    return {p: tuple(sorted(ids)) for p, ids in by_person.items()}


def from_roll(units: Sequence[Unit], rules: HeadRules, ref: dict[str, Any]) -> Electorate:
    heads = compute_heads(units, rules)
    electors = tuple(Elector(h.head_id, area=h.area, building=h.building) for h in heads)
    entitled = {h.head_id: h.owners for h in heads}
    return Electorate(
        kind="roll",
        ref=ref,
        electors=electors,
        entitled=entitled,
        heads={h.head_id: h for h in heads},
        by_person=_index(entitled),
    )


def from_register(adults: Sequence[tuple[str, str]], basis: str, ref: dict[str, Any]) -> Electorate:
    """Adults (with their household) or households as the electorate of a meeting."""
    if basis == "households":
        members: dict[str, list[str]] = {}
        for adult, household in adults:
            members.setdefault(household, []).append(adult)
        electors = tuple(Elector(h, household=h) for h in sorted(members))
        entitled = {h: tuple(sorted(m)) for h, m in members.items()}
    else:
        electors = tuple(Elector(a, household=h) for a, h in sorted(adults))
        entitled = {a: (a,) for a, _ in adults}
    return Electorate(
        kind=basis, ref=ref, electors=electors, entitled=entitled, by_person=_index(entitled)
    )


def from_members(members: Sequence[str], ref: dict[str, Any]) -> Electorate:
    entitled: dict[str, tuple[str, ...]] = {m: (m,) for m in members}
    return Electorate(
        kind="members",
        ref=ref,
        electors=tuple(Elector(m) for m in sorted(set(members))),
        entitled=entitled,
        by_person=_index(entitled),
    )


def from_council(seats: dict[str, list[str]], ref: dict[str, Any]) -> Electorate:
    entitled = {party: tuple(holders) for party, holders in seats.items()}
    return Electorate(
        kind="council",
        ref=ref,
        electors=tuple(Elector(p) for p in sorted(seats)),
        entitled=entitled,
        by_person=_index(entitled),
    )
