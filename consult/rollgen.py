"""Synthetic owners' rolls (业主名册) of any size, the same for the same seed.

The tests and the benchmarks make their large rolls here instead of reading files kept outside
the repository; ``consult roll generate`` writes one. A roll has the shape of a real estate (see
docs/roll-format.md): residential buildings of two entrances with floor plans, shops (building
``S``) and parking spaces (building ``P``); co-owners (two names on a unit), buyers of several
units, companies, and the developer's unsold units (``DEV-<estate>``, one head); parking spaces
owned by flat owners or by people who own nothing else; areas from the register, a survey or the
sales contract. Areas are whole cents written with two decimals, exact as ``Decimal``.

Only ``random.Random(seed).random()`` and ``randrange`` are used, whose sequences Python keeps
stable across versions; tests pin the output of the standard rolls by digest.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from consult.roll.parsing import COLUMNS

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "STANDARD_ROLLS",
    "generate",
    "named_roll",
    "roll_csv",
    "write_roll",
]

DEFAULT_SEED = 1

#: The rolls the tests and benchmarks use by name: units and estate code (seed DEFAULT_SEED).
#: ``roll-demo.csv`` is the demo's own roll, packaged with consult.
STANDARD_ROLLS = {"roll-1200.csv": (1200, "E1"), "roll-20000.csv": (20000, "BIG")}

# Shares of the units, close to those of ordinary estates.
SHOPS = 0.02
PARKING = 0.05
# Chances per unit (residential, commercial, parking).
DEVELOPER = {"residential": 0.03, "commercial": 0.02, "parking": 0.025}
COMPANY = 0.01
CO_OWNED = 0.34
MULTI_BUYER = 0.05  # a new owner set goes on to buy another unit or two
TAKES_PENDING = 0.35  # the next unit goes to a buyer who still has units to buy
FLAT_OWNERS_PARK = 0.3  # a parking space bought by the owners of a flat

# Floor plans: the exclusive areas of flats, in cents.
FLAT_AREAS = (5830, 7660, 7700, 8890, 8900, 9880, 9900, 11840, 11880, 13290, 14400, 16800)


@dataclass(frozen=True)
class Layout:
    """A residential building: entrances × floors × flats per floor."""

    entrances: int
    floors: int
    per_floor: int

    @property
    def flats(self) -> int:
        return self.entrances * self.floors * self.per_floor


def layout_for(residential: int) -> Layout:
    """Low-rise for a small estate, mid-rise for an ordinary one, high-rise for a very large one."""
    if residential <= 400:
        return Layout(2, 10, 4)
    if residential <= 4000:
        return Layout(2, 18, 4)
    return Layout(2, 32, 6)


@dataclass
class _Owners:
    """Who owns the next unit: new ids, buyers of several units, the developer."""

    rng: random.Random
    estate: str
    block: str
    people: int = 0
    companies: int = 0
    pending: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    flat_owners: list[str] = field(default_factory=list)

    def _person(self) -> str:
        self.people += 1
        return f"P{self.block}{self.people:06d}"

    def _company(self) -> str:
        self.companies += 1
        return f"C{self.block}{self.companies:06d}"

    def next(self, kind: str) -> tuple[str, str]:
        """The owners cell and owner kind of the next unit of ``kind``."""
        rng = self.rng
        if rng.random() < DEVELOPER[kind]:
            return f"DEV-{self.estate}", "developer"
        waiting = self.pending.setdefault(kind, [])
        if waiting and rng.random() < TAKES_PENDING:
            owners, left = waiting[0]
            if left > 1:
                waiting[0] = (owners, left - 1)
            else:
                waiting.pop(0)
            return owners, "company" if owners.startswith("C") else "person"
        if kind == "parking" and self.flat_owners and rng.random() < FLAT_OWNERS_PARK:
            return self.flat_owners[rng.randrange(len(self.flat_owners))], "person"
        if rng.random() < COMPANY:
            owners, owner_kind = self._company(), "company"
        else:
            names = [self._person()]
            if rng.random() < CO_OWNED:
                names.append(self._person())
            owners, owner_kind = ";".join(names), "person"
            if kind == "residential":
                self.flat_owners.append(owners)
        if rng.random() < MULTI_BUYER:
            waiting.append((owners, 1 if rng.random() < 2 / 3 else 2))
        return owners, owner_kind


def _area_source(rng: random.Random) -> str:
    r = rng.random()
    return "register" if r < 0.85 else "survey" if r < 0.95 else "contract"


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def generate(units: int, seed: int = DEFAULT_SEED, estate: str = "E1") -> list[dict[str, str]]:
    """The rows of a roll of ``units`` units (flats, then shops, then parking spaces)."""
    if units < 1:
        raise ValueError("a roll has at least one unit")
    rng = random.Random(seed)
    shops = round(units * SHOPS)
    parking = round(units * PARKING)
    residential = units - shops - parking
    owners = _Owners(rng, estate, f"{seed % 100:02d}")
    rows: list[dict[str, str]] = []

    def add(unit_id: str, building: str, entrance: str, room: str, kind: str, cents: int) -> None:
        cell, owner_kind = owners.next(kind)
        rows.append(
            {
                "unit_id": unit_id,
                "building": building,
                "entrance": entrance,
                "room": room,
                "kind": kind,
                "area_m2": _cents(cents),
                "area_source": _area_source(rng),
                "owners": cell,
                "owner_kind": owner_kind,
            }
        )

    plan = layout_for(residential)
    building = 0
    while len(rows) < residential:
        building += 1
        flat_types = [FLAT_AREAS[rng.randrange(len(FLAT_AREAS))] for _ in range(plan.per_floor)]
        for entrance in range(1, plan.entrances + 1):
            for floor in range(1, plan.floors + 1):
                for flat in range(1, plan.per_floor + 1):
                    if len(rows) == residential:
                        break
                    room = f"{floor:02d}{flat:02d}"
                    area = flat_types[flat - 1] + rng.randrange(-60, 61)
                    unit_id = f"{estate}-B{building:02d}-U{entrance}-{room}"
                    add(unit_id, str(building), str(entrance), room, "residential", area)
    width = max(3, len(str(shops)))
    for n in range(1, shops + 1):
        room = f"{n:0{width}d}"
        add(f"{estate}-S{room}", "S", "", room, "commercial", rng.randrange(3000, 30001))
    width = max(4, len(str(parking)))
    for n in range(1, parking + 1):
        room = f"{n:0{width}d}"
        add(f"{estate}-P{room}", "P", "", room, "parking", rng.randrange(1200, 1551))
    return rows


def roll_csv(units: int, seed: int = DEFAULT_SEED, estate: str = "E1") -> str:
    """The roll as the CSV text that ``consult roll import`` reads (UTF-8, a header, ``\\n``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(generate(units, seed, estate))
    return out.getvalue()


def named_roll(name: str) -> str:
    """The CSV text of a roll the tests and benchmarks name: ``roll-demo.csv`` (the demo's
    packaged roll) or one of :data:`STANDARD_ROLLS`, generated."""
    if name == "roll-demo.csv":
        return resources.files("consult").joinpath("data/roll-demo.csv").read_text("utf-8")
    if name not in STANDARD_ROLLS:
        known = ", ".join(["roll-demo.csv", *STANDARD_ROLLS])
        raise KeyError(f"no roll named {name!r}; known: {known}")
    units, estate = STANDARD_ROLLS[name]
    return roll_csv(units, DEFAULT_SEED, estate)


def write_roll(path: Path, units: int, seed: int = DEFAULT_SEED, estate: str = "E1") -> None:
    path.write_text(roll_csv(units, seed, estate), encoding="utf-8")
