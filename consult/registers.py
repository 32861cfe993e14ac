"""The owners' roll (业主名册) and the residents' register (居民名册), versioned by events.

A vote or motion freezes the roll version it counts against: ``repository.get(roll_id, version=N)``
gives the roll exactly as it stood then, with the head rules of that moment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate, natural_id
from consult.errors import NotFoundError
from consult.roll import AreaSource, HeadRules, OwnerKind, Unit, UnitKind
from consult.validation import invalid

_KINDS = {k.value: k for k in UnitKind}
_SOURCES = {s.value: s for s in AreaSource}
_OWNER_KINDS = {k.value: k for k in OwnerKind}


def stored_unit(d: dict[str, Any]) -> Unit:
    """A unit from a stored event: validated when it was imported, so rebuilt without re-checking."""
    return Unit(
        unit_id=d["unit_id"],
        building=d["building"],
        entrance=d["entrance"],
        room=d["room"],
        kind=_KINDS[d["kind"]],
        area=Decimal(d["area"]),
        area_source=_SOURCES[d["area_source"]],
        owners=tuple(d["owners"]),
        owner_kind=_OWNER_KINDS[d["owner_kind"]],
    )


@functools.lru_cache(maxsize=4096)
def roll_id(estate_id: UUID) -> UUID:
    return natural_id("roll", estate_id)  # a SHA-1 each time: asked for on every ballot


def register_id(community_id: UUID) -> UUID:
    return natural_id("residents-register", community_id)


class Roll(ConsultAggregate):
    """The owners' roll of one estate."""

    class Created(ConsultAggregate.Created):
        estate_id: UUID
        units: list[dict[str, Any]]
        head_rules: dict[str, Any]
        source_name: str

    def __init__(
        self,
        estate_id: UUID,
        units: list[dict[str, Any]],
        head_rules: dict[str, Any],
        source_name: str,
    ) -> None:
        self.estate_id = estate_id
        self.units: dict[str, Unit] = {d["unit_id"]: stored_unit(d) for d in units}
        self.head_rules = HeadRules.from_dict(head_rules)
        self.source_name = source_name

    class Reimported(ConsultAggregate.Event):
        units: list[dict[str, Any]]
        source_name: str

        def apply(self, roll: Roll) -> None:
            roll.units = {d["unit_id"]: stored_unit(d) for d in self.units}
            roll.source_name = self.source_name

    class UnitAdded(ConsultAggregate.Event):
        unit: dict[str, Any]

        def apply(self, roll: Roll) -> None:
            unit = stored_unit(self.unit)
            roll.units[unit.unit_id] = unit

    class OwnerChanged(ConsultAggregate.Event):
        unit_id: str
        owners: list[str]
        owner_kind: str
        document: str

        def apply(self, roll: Roll) -> None:
            old = roll.units[self.unit_id]
            roll.units[self.unit_id] = Unit(
                unit_id=old.unit_id,
                building=old.building,
                entrance=old.entrance,
                room=old.room,
                kind=old.kind,
                area=old.area,
                area_source=old.area_source,
                owners=tuple(self.owners),
                owner_kind=OwnerKind(self.owner_kind),
            )

    class AreaCorrected(ConsultAggregate.Event):
        unit_id: str
        area: Decimal
        area_source: str
        document: str

        def apply(self, roll: Roll) -> None:
            old = roll.units[self.unit_id]
            roll.units[self.unit_id] = Unit(
                unit_id=old.unit_id,
                building=old.building,
                entrance=old.entrance,
                room=old.room,
                kind=old.kind,
                area=self.area,
                area_source=AreaSource(self.area_source),
                owners=old.owners,
                owner_kind=old.owner_kind,
            )

    class HeadRulesChanged(ConsultAggregate.Event):
        head_rules: dict[str, Any]

        def apply(self, roll: Roll) -> None:
            roll.head_rules = HeadRules.from_dict(self.head_rules)

    def unit(self, unit_id: str) -> Unit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise NotFoundError(
                field="unit_id", kind="专有部分", kind_en="unit", ident=unit_id
            ) from None

    def check_new_unit(self, unit: Unit) -> None:
        if unit.unit_id in self.units:
            raise invalid("unit_id", "unit_id", "unit_on_roll", unit=unit.unit_id)


@dataclass(frozen=True)
class Household:
    household_id: str
    address: str
    adults: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "household_id": self.household_id,
            "address": self.address,
            "adults": list(self.adults),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Household:
        return cls(str(d["household_id"]), str(d["address"]), tuple(str(a) for a in d["adults"]))


class ResidentsRegister(ConsultAggregate):
    """Households and their adults (18+), the electorate of residents' and villagers' meetings."""

    class Created(ConsultAggregate.Created):
        community_id: UUID

    def __init__(self, community_id: UUID) -> None:
        self.community_id = community_id
        self.households: dict[str, Household] = {}

    class HouseholdRecorded(ConsultAggregate.Event):
        household: dict[str, Any]

        def apply(self, register: ResidentsRegister) -> None:
            h = Household.from_dict(self.household)
            register.households[h.household_id] = h

    class HouseholdRemoved(ConsultAggregate.Event):
        household_id: str

        def apply(self, register: ResidentsRegister) -> None:
            register.households.pop(self.household_id, None)

    @property
    def adults(self) -> list[tuple[str, str]]:
        """(adult id, household id) for every adult on the register."""
        return [(a, h.household_id) for h in self.households.values() for a in h.adults]
