"""Streets, communities, estates and councils (DOMAIN.md §1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from consult.aggregate import ConsultAggregate, natural_id
from consult.errors import IllegalTransitionError
from consult.settings import EstateSettings
from consult.validation import invalid


class JurisdictionKind(StrEnum):
    STREET = "street"  # 街道
    COMMUNITY = "community"  # 社区


def jurisdiction_id(kind: JurisdictionKind, code: str) -> UUID:
    return natural_id("jurisdiction", kind.value, code)


def estate_id(code: str) -> UUID:
    return natural_id("estate", code)


def council_id(estate: UUID, kind: str) -> UUID:
    return natural_id("council", estate, kind)


class Jurisdiction(ConsultAggregate):
    """A street (街道) or a community (社区, with its residents' committee)."""

    class Created(ConsultAggregate.Created):
        kind: str
        code: str
        name: str
        parent_id: UUID | None

    def __init__(self, kind: str, code: str, name: str, parent_id: UUID | None) -> None:
        self.kind = JurisdictionKind(kind)
        self.code = code
        self.name = name
        self.parent_id = parent_id


class Estate(ConsultAggregate):
    """A residential estate (小区): its owners' committee, property company, covenant and settings."""

    class Created(ConsultAggregate.Created):
        code: str
        name: str
        community_id: UUID
        street_id: UUID

    def __init__(self, code: str, name: str, community_id: UUID, street_id: UUID) -> None:
        self.code = code
        self.name = name
        self.community_id = community_id
        self.street_id = street_id
        self.owners_committee: list[str] = []
        self.committee_term_ends: str | None = None
        self.acting: dict[str, Any] | None = (
            None  # residents' committee acting for the owners' committee
        )
        self.property_company: str | None = None
        self.property_staff: list[str] = []
        self.covenants: list[dict[str, Any]] = []
        self.settings = EstateSettings()

    class OwnersCommitteeElected(ConsultAggregate.Event):
        members: list[str]
        term_ends: str

        def apply(self, estate: Estate) -> None:
            estate.owners_committee = list(self.members)
            estate.committee_term_ends = self.term_ends

    class ActingArrangementAnnounced(ConsultAggregate.Event):
        residents_committee: str
        legal_basis: str
        election_due: str

        def apply(self, estate: Estate) -> None:
            estate.acting = {
                "residents_committee": self.residents_committee,
                "legal_basis": self.legal_basis,
                "election_due": self.election_due,
                "since": self.timestamp.isoformat(),
            }

    class ActingArrangementEnded(ConsultAggregate.Event):
        def apply(self, estate: Estate) -> None:
            estate.acting = None

    class PropertyCompanyAppointed(ConsultAggregate.Event):
        company: str
        staff: list[str]

        def apply(self, estate: Estate) -> None:
            estate.property_company = self.company
            estate.property_staff = list(self.staff)

    class CovenantAdopted(ConsultAggregate.Event):
        ref: str
        title: str
        silent_majority_clause: bool

        def apply(self, estate: Estate) -> None:
            estate.covenants.append(
                {
                    "ref": self.ref,
                    "title": self.title,
                    "silent_majority_clause": self.silent_majority_clause,
                }
            )

    class SettingsChanged(ConsultAggregate.Event):
        settings: dict[str, Any]

        def apply(self, estate: Estate) -> None:
            estate.settings = EstateSettings.from_dict(self.settings)

    @property
    def has_owners_committee(self) -> bool:
        return bool(self.owners_committee)

    def covenant(self, ref: str) -> dict[str, Any] | None:
        return next((c for c in self.covenants if c["ref"] == ref), None)

    def check_can_announce_acting(self) -> None:
        if self.has_owners_committee:
            raise IllegalTransitionError(
                field="estate",
                stage="已有业主委员会",
                stage_en="an owners' committee exists",
                action="宣布由居民委员会代行职责",
                action_en="announce the residents' committee acting for it",
            )
        if self.acting is not None:
            raise IllegalTransitionError(
                field="estate",
                stage="居民委员会已在代行",
                stage_en="the residents' committee is already acting",
                action="再次宣布代行",
                action_en="announce it again",
            )

    def elect_owners_committee(
        self, members: list[str], term_ends: str, at: datetime, by: str
    ) -> None:
        """Record an election; a residents' committee acting in its place stops automatically."""
        self.record(Estate.OwnersCommitteeElected, at, by, "", members=members, term_ends=term_ends)
        if self.acting is not None:
            self.record(
                Estate.ActingArrangementEnded,
                at,
                "system",
                "业主委员会已选举产生，居民委员会代行职责自动终止 / "
                "an owners' committee was elected; the acting arrangement ends",
            )

    def announce_acting(self, legal_basis: str, months: int, at: datetime, by: str) -> None:
        """The residents' committee acts for a missing owners' committee until one is elected
        (due within ``months``)."""
        self.check_can_announce_acting()
        due = (at + timedelta(days=30 * months)).date().isoformat()
        self.record(
            Estate.ActingArrangementAnnounced,
            at,
            by,
            "",
            residents_committee=by,
            legal_basis=legal_basis,
            election_due=due,
        )

    def adopt_covenant(
        self, ref: str, title: str, silent_majority_clause: bool, at: datetime, by: str
    ) -> None:
        """Record an adopted 管理规约 / 议事规则 version; a version is recorded once."""
        if self.covenant(ref):
            raise invalid("ref", "covenant_ref", "covenant_recorded")
        self.record(
            Estate.CovenantAdopted,
            at,
            by,
            "",
            ref=ref,
            title=title,
            silent_majority_clause=silent_majority_clause,
        )


class CouncilKind(StrEnum):
    FOUR_IN_ONE = "four-in-one"  # 四位一体
    SIX_PARTY = "six-party"  # 六方联动


class Party(StrEnum):
    PARTY_ORGANISATION = "party-organisation"
    RESIDENTS_COMMITTEE = "residents-committee"
    OWNERS_COMMITTEE = "owners-committee"
    PROPERTY_COMPANY = "property-company"
    SUPERVISORY_COMMITTEE = "supervisory-committee"
    RESIDENTS_REPRESENTATIVES = "residents-representatives"


PARTY_NAMES: dict[Party, tuple[str, str]] = {
    Party.PARTY_ORGANISATION: ("社区党组织", "community Party organisation"),
    Party.RESIDENTS_COMMITTEE: ("居民委员会", "residents' committee"),
    Party.OWNERS_COMMITTEE: ("业主委员会", "owners' committee"),
    Party.PROPERTY_COMPANY: ("物业服务企业", "property service company"),
    Party.SUPERVISORY_COMMITTEE: ("居务监督委员会", "supervisory committee"),
    Party.RESIDENTS_REPRESENTATIVES: ("居民代表", "residents' representatives"),
}

COUNCIL_PARTIES: dict[CouncilKind, tuple[Party, ...]] = {
    CouncilKind.FOUR_IN_ONE: (
        Party.PARTY_ORGANISATION,
        Party.RESIDENTS_COMMITTEE,
        Party.OWNERS_COMMITTEE,
        Party.PROPERTY_COMPANY,
    ),
    CouncilKind.SIX_PARTY: (
        Party.PARTY_ORGANISATION,
        Party.RESIDENTS_COMMITTEE,
        Party.OWNERS_COMMITTEE,
        Party.PROPERTY_COMPANY,
        Party.SUPERVISORY_COMMITTEE,
        Party.RESIDENTS_REPRESENTATIVES,
    ),
}

COUNCIL_NAMES: dict[CouncilKind, tuple[str, str]] = {
    CouncilKind.FOUR_IN_ONE: ("四位一体联席会议", "four-in-one council"),
    CouncilKind.SIX_PARTY: ("六方联动议事会", "six-party council"),
}


class Council(ConsultAggregate):
    """A multi-party council: it coordinates and forms opinions; it has no binding vote."""

    class Created(ConsultAggregate.Created):
        estate_id: UUID
        kind: str

    def __init__(self, estate_id: UUID, kind: str) -> None:
        self.estate_id = estate_id
        self.kind = CouncilKind(kind)
        self.seats: dict[str, list[str]] = {p.value: [] for p in COUNCIL_PARTIES[self.kind]}

    class SeatsAssigned(ConsultAggregate.Event):
        party: str
        holders: list[str]

        def apply(self, council: Council) -> None:
            council.seats[self.party] = list(self.holders)

    @property
    def parties(self) -> tuple[Party, ...]:
        return COUNCIL_PARTIES[self.kind]

    def check_party(self, party: str) -> Party:
        try:
            p = Party(party)
        except ValueError:
            p = None
        if p is None or p not in self.parties:
            name_zh, name_en = COUNCIL_NAMES[self.kind]
            raise invalid("party", "party", "not_a_party", party=party, council=(name_zh, name_en))
        return p

    def assign_seats(self, party: str, holders: list[str], at: datetime, by: str) -> None:
        p = self.check_party(party)
        self.record(Council.SeatsAssigned, at, by, "", party=p.value, holders=holders)

    def party_of(self, person_id: str) -> Party | None:
        for party, holders in self.seats.items():
            if person_id in holders:
                return Party(party)
        return None
