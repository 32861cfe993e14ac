"""The owners' roll and the residents' register, and the electorates made from them.

A roll is imported whole (every row checked, nothing stored if one is bad) and then changed unit by
unit; votes and motions freeze a version of it. Electorates are made once per frozen version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from consult import electorate as electorates
from consult.actors import Actor, Role
from consult.application.base import ServiceBase
from consult.application.estates import checked_people
from consult.bodies import Jurisdiction
from consult.case import require_text
from consult.electorate import Electorate
from consult.errors import NotFoundError
from consult.registers import Household, ResidentsRegister, Roll, register_id, roll_id
from consult.roll import AreaSource, HeadRules, OwnerKind, RollSummary, Unit, parse_roll, summarize
from consult.validation import invalid, parse_enum
from consult.vote import Vote


class RollService(ServiceBase):
    def import_roll(
        self,
        estate: UUID,
        text: str,
        actor: Actor,
        source_name: str = "",
        head_rules: HeadRules | None = None,
    ) -> tuple[RollSummary, int]:
        """Validate every row (nothing is stored if any is bad), then store the roll as a new version."""
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        self.estate(estate)
        units = parse_roll(text)
        rid = roll_id(estate)
        at = self.now()

        def attempt() -> tuple[HeadRules, int]:
            if self.exists(rid):
                roll = self._get(Roll, rid, "名册", "roll")
                roll.record(
                    Roll.Reimported,
                    at,
                    actor.person_id,
                    "重新导入名册 / roll re-imported",
                    units=[u.to_dict() for u in units],
                    source_name=source_name,
                )
                if head_rules is not None and head_rules != roll.head_rules:
                    roll.record(
                        Roll.HeadRulesChanged,
                        at,
                        actor.person_id,
                        "",
                        head_rules=head_rules.to_dict(),
                    )
            else:
                roll = Roll.start(
                    rid,
                    at,
                    actor.person_id,
                    "导入名册 / roll imported",
                    estate_id=estate,
                    units=[u.to_dict() for u in units],
                    head_rules=(head_rules or HeadRules()).to_dict(),
                    source_name=source_name,
                )
            return roll.head_rules, self._save(roll)

        rules, position = self._retrying(attempt)
        return summarize(units, rules), position

    def roll_version(self, estate: UUID) -> int:
        version = self.eventlog.last_version(roll_id(estate))
        if version is None:
            raise NotFoundError(field="estate", kind="名册", kind_en="roll", ident=str(estate))
        return version

    def roll(self, estate: UUID, version: int | None = None) -> Roll:
        """The roll as it stood at a version (the latest by default); never cached mutable state."""
        return self._get(
            Roll, roll_id(estate), "名册", "roll", version=version or self.roll_version(estate)
        )

    def roll_at(self, estate: UUID, moment: datetime) -> Roll:
        """The roll as it stood at a moment in time."""
        version = self.eventlog.version_at(roll_id(estate), moment)
        if version == 0:
            raise NotFoundError(
                field="at",
                kind="该时间的名册",
                kind_en="roll at that time",
                ident=moment,
            )
        return self.roll(estate, version)

    def roll_summary(self, estate: UUID, version: int | None = None) -> RollSummary:
        r = self.roll(estate, version)
        return summarize(list(r.units.values()), r.head_rules)

    def _roll_command(self, estate: UUID, change: Callable[[Roll, datetime], None]) -> int:
        return self._command(lambda: self._get(Roll, roll_id(estate), "名册", "roll"), change)

    def add_unit(self, estate: UUID, unit: Unit, document: str, actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        doc = _document(document)

        def change(r: Roll, at: datetime) -> None:
            r.check_new_unit(unit)
            r.record(Roll.UnitAdded, at, actor.person_id, doc, unit=unit.to_dict())

        return self._roll_command(estate, change)

    def change_owner(
        self,
        estate: UUID,
        unit_id: str,
        owners: Sequence[str],
        owner_kind: str,
        document: str,
        actor: Actor,
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        people = checked_people(owners, "owners", "owners")
        doc = _document(document)
        kind = parse_enum(OwnerKind, owner_kind, "owner_kind", "owner_kind")

        def change(r: Roll, at: datetime) -> None:
            r.unit(unit_id)
            r.record(
                Roll.OwnerChanged,
                at,
                actor.person_id,
                doc,
                unit_id=unit_id,
                owners=people,
                owner_kind=kind.value,
                document=doc,
            )

        return self._roll_command(estate, change)

    def correct_area(
        self,
        estate: UUID,
        unit_id: str,
        area: Decimal,
        area_source: str,
        document: str,
        actor: Actor,
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        doc = _document(document)
        exponent = area.as_tuple().exponent if isinstance(area, Decimal) else 0
        if (
            not isinstance(area, Decimal)
            or not area.is_finite()
            or area <= 0
            or not isinstance(exponent, int)
            or exponent < -2
        ):
            raise invalid("area", "area", "bad_area")
        source = parse_enum(AreaSource, area_source, "area_source", "area_source")

        def change(r: Roll, at: datetime) -> None:
            r.unit(unit_id)
            r.record(
                Roll.AreaCorrected,
                at,
                actor.person_id,
                doc,
                unit_id=unit_id,
                area=area,
                area_source=source.value,
                document=doc,
            )

        return self._roll_command(estate, change)

    def set_head_rules(self, estate: UUID, rules: HeadRules, reason: str, actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        why = require_text(reason, "reason", "依据", "basis", 1000)

        def change(r: Roll, at: datetime) -> None:
            r.record(Roll.HeadRulesChanged, at, actor.person_id, why, head_rules=rules.to_dict())

        return self._roll_command(estate, change)

    # --- the residents' register --------------------------------------------------------------

    def record_household(self, community: UUID, household: Household, actor: Actor) -> int:
        actor.require(Role.RESIDENTS_COMMITTEE)
        if not household.household_id.strip() or not household.adults:
            raise invalid("household", "household", "household_needs")
        self._get(Jurisdiction, community, "社区", "community")
        rid = register_id(community)

        def attempt() -> int:
            if self.exists(rid):
                reg = self._get(ResidentsRegister, rid, "居民名册", "residents' register")
            else:
                reg = ResidentsRegister.start(
                    rid, self.now(), actor.person_id, community_id=community
                )
            reg.record(
                ResidentsRegister.HouseholdRecorded,
                self.now(),
                actor.person_id,
                "",
                household=household.to_dict(),
            )
            return self._save(reg)

        return self._retrying(attempt)

    # --- electorates --------------------------------------------------------------------------

    def owners_electorate(self, estate: UUID, version: int | None = None) -> Electorate:
        version = version or self.roll_version(estate)
        rid = roll_id(estate)

        def make() -> Electorate:
            r = self.roll(estate, version)
            return electorates.from_roll(
                list(r.units.values()),
                r.head_rules,
                {"kind": "roll", "roll_id": rid.hex, "version": version},
            )

        return self._electorates.get_or_make(("roll", rid, version), make)

    def register_electorate(self, community: UUID, basis: str) -> Electorate:
        rid = register_id(community)
        version = self.eventlog.last_version(rid)
        if version is None:
            raise NotFoundError(
                field="community",
                kind="居民名册",
                kind_en="residents' register",
                ident=str(community),
            )
        ref = {"kind": "register", "register_id": rid.hex, "version": version, "basis": basis}
        return self._register_electorate(rid, version, ref)

    def _register_electorate(self, rid: UUID, version: int, ref: dict[str, Any]) -> Electorate:
        basis = str(ref["basis"])

        def make() -> Electorate:
            reg = self._get(
                ResidentsRegister, rid, "居民名册", "residents' register", version=version
            )
            return electorates.from_register(reg.adults, basis, ref)

        return self._electorates.get_or_make(("register", rid, version, basis), make)

    def electorate(self, vote: Vote) -> Electorate:
        """The electorate a vote froze when it opened."""
        ref = vote.electorate
        kind = ref["kind"]
        if kind == "roll":
            return self.owners_electorate(vote.estate_id, int(ref["version"]))
        if kind == "register":
            return self._register_electorate(UUID(ref["register_id"]), int(ref["version"]), ref)
        if kind == "members":
            return electorates.from_members(ref["members"], ref)
        return electorates.from_council(ref["seats"], ref)

    def belongs(self, estate: UUID, person: str) -> bool:
        """Whether the person is on the estate's owners' roll (its latest version) or an adult on
        its community's residents' register (:mod:`consult.membership`)."""
        try:
            if self.owners_electorate(estate).electors_of(person):
                return True
        except NotFoundError:  # no roll imported yet
            pass
        try:
            register = self.register_electorate(self.estate(estate).community_id, "adults")
        except NotFoundError:  # no register recorded yet
            return False
        return bool(register.electors_of(person))

    def _member_of(self, estate: UUID) -> Callable[[str], bool]:
        return lambda person: self.belongs(estate, person)


def _document(document: str) -> str:
    return require_text(document, "document", "依据文件", "supporting document", 500)
