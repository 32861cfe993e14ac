"""Streets, communities and estates; the estate's bodies (owners' committee, acting residents'
committee, property company), covenants, settings and deliberative councils."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consult.actors import Actor, Role
from consult.application.base import ServiceBase
from consult.bodies import (
    Council,
    CouncilKind,
    Estate,
    Jurisdiction,
    JurisdictionKind,
    council_id,
    estate_id,
    jurisdiction_id,
)
from consult.case import require_text
from consult.validation import invalid, parse_enum


class EstateService(ServiceBase):
    def create_street(self, code: str, name: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        return self._create_jurisdiction(JurisdictionKind.STREET, code, name, None, actor)

    def create_community(self, code: str, name: str, street_code: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        parent = jurisdiction_id(JurisdictionKind.STREET, street_code)
        self._get(Jurisdiction, parent, "街道", "street")
        return self._create_jurisdiction(JurisdictionKind.COMMUNITY, code, name, parent, actor)

    def _create_jurisdiction(
        self, kind: JurisdictionKind, code: str, name: str, parent: UUID | None, actor: Actor
    ) -> UUID:
        code = checked_code(code)
        name = require_text(name, "name", "名称", "name", 200)
        jid = jurisdiction_id(kind, code)
        j = Jurisdiction.start(
            jid,
            self.now(),
            actor.person_id,
            kind=kind.value,
            code=code,
            name=name,
            parent_id=parent,
        )
        self._save_new(j, "code", code)
        return jid

    def create_estate(self, code: str, name: str, community_code: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        code = checked_code(code)
        name = require_text(name, "name", "小区名称", "estate name", 200)
        community = self._get(
            Jurisdiction,
            jurisdiction_id(JurisdictionKind.COMMUNITY, community_code),
            "社区",
            "community",
        )
        assert community.parent_id is not None
        eid = estate_id(code)
        estate = Estate.start(
            eid,
            self.now(),
            actor.person_id,
            code=code,
            name=name,
            community_id=community.id,
            street_id=community.parent_id,
        )
        self._save_new(estate, "estate_code", code)
        return eid

    def _estate_command(self, estate: UUID, change: Callable[[Estate, datetime], None]) -> int:
        return self._command(lambda: self.estate(estate), change)

    def elect_owners_committee(
        self, estate: UUID, members: Sequence[str], term_ends: str, actor: Actor
    ) -> int:
        """Record an election; a residents' committee acting in its place stops automatically."""
        actor.require(Role.RESIDENTS_COMMITTEE, Role.STREET)
        people = checked_people(members, "members", "members")
        if len(people) < 3:
            raise invalid("members", "members", "committee_size")

        return self._estate_command(
            estate, lambda e, at: e.elect_owners_committee(people, term_ends, at, actor.person_id)
        )

    def announce_acting(
        self, estate: UUID, legal_basis: str, election_months: int, actor: Actor
    ) -> int:
        actor.require(Role.RESIDENTS_COMMITTEE, Role.STREET)
        basis = require_text(legal_basis, "legal_basis", "法律依据", "legal basis", 1000)
        if not 1 <= election_months <= 24:
            raise invalid("election_months", "election_months", "months_1_24")

        return self._estate_command(
            estate, lambda e, at: e.announce_acting(basis, election_months, at, actor.person_id)
        )

    def appoint_property_company(
        self, estate: UUID, company: str, staff: Sequence[str], actor: Actor
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        name = require_text(company, "company", "物业服务企业", "property company", 200)
        people = checked_people(staff, "staff", "staff", allow_empty=True)
        return self._estate_command(
            estate,
            lambda e, at: e.record(
                Estate.PropertyCompanyAppointed, at, actor.person_id, "", company=name, staff=people
            ),
        )

    def adopt_covenant(
        self, estate: UUID, ref: str, title: str, silent_majority_clause: bool, actor: Actor
    ) -> int:
        """Record an adopted 管理规约 / 议事规则 version (the silent-majority option refers to it)."""
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        ref = require_text(ref, "ref", "规约编号", "covenant reference", 200)
        title = require_text(title, "title", "规约名称", "covenant title", 500)

        return self._estate_command(
            estate,
            lambda e, at: e.adopt_covenant(ref, title, silent_majority_clause, at, actor.person_id),
        )

    def change_settings(self, estate: UUID, changes: dict[str, Any], actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)

        def change(e: Estate, at: datetime) -> None:
            new = e.settings.merged(changes)
            e.record(Estate.SettingsChanged, at, actor.person_id, "", settings=new.to_dict())

        return self._estate_command(estate, change)

    # --- deliberative councils (四位一体 / 六方联动) --------------------------------------------

    def create_council(self, estate: UUID, kind: str, actor: Actor) -> UUID:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        self.estate(estate)
        ck = parse_enum(CouncilKind, kind, "kind", "council_kind")
        cid = council_id(estate, ck.value)
        c = Council.start(cid, self.now(), actor.person_id, estate_id=estate, kind=ck.value)
        self._save_new(c, "council", ck.value)
        return cid

    def assign_seats(self, council: UUID, party: str, holders: Sequence[str], actor: Actor) -> int:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        people = checked_people(holders, "holders", "holders")

        return self._command(
            lambda: self.council(council),
            lambda c, at: c.assign_seats(party, people, at, actor.person_id),
        )


def checked_code(code: str) -> str:
    """A code for a street, community or estate: 1 to 64 characters, no spaces or slashes."""
    code = (code or "").strip()
    if not code or len(code) > 64 or any(c.isspace() or c in "/\\" for c in code):
        raise invalid("code", "code", "bad_code")
    return code


def checked_people(
    values: Sequence[str], field: str, label: str, allow_empty: bool = False
) -> list[str]:
    """Person ids without blanks; refused if empty (unless allowed) or repeated."""
    people = [str(v).strip() for v in values if str(v).strip()]
    if not people and not allow_empty:
        raise invalid(field, label, "empty")
    if len(set(people)) != len(people):
        raise invalid(field, label, "duplicates")
    return people
