"""Who acts: a person with the roles the caller has authenticated."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from consult.errors import PermissionDeniedError


class Role(StrEnum):
    RESIDENT = "resident"  # 居民 / 业主
    OWNERS_COMMITTEE = "owners-committee"  # 业主委员会
    RESIDENTS_COMMITTEE = "residents-committee"  # 居民委员会
    PARTY_ORGANISATION = "party-organisation"  # 社区党组织
    PROPERTY_COMPANY = "property-company"  # 物业服务企业
    SUPERVISORY_COMMITTEE = "supervisory-committee"  # 居务监督委员会
    TELLER = "teller"  # 计票人
    STREET = "street"  # 街道党工委 (supervises, audits, may revoke)
    OPERATOR = "operator"  # platform operator (imports rolls, sets up estates)


ROLE_NAMES: dict[Role, tuple[str, str]] = {
    Role.RESIDENT: ("居民/业主", "resident or owner"),
    Role.OWNERS_COMMITTEE: ("业主委员会", "owners' committee"),
    Role.RESIDENTS_COMMITTEE: ("居民委员会", "residents' committee"),
    Role.PARTY_ORGANISATION: ("社区党组织", "community Party organisation"),
    Role.PROPERTY_COMPANY: ("物业服务企业", "property service company"),
    Role.SUPERVISORY_COMMITTEE: ("居务监督委员会", "supervisory committee"),
    Role.TELLER: ("计票人", "teller"),
    Role.STREET: ("街道党工委", "street Party working committee"),
    Role.OPERATOR: ("平台管理员", "platform operator"),
}


@dataclass(frozen=True)
class Actor:
    """A person acting with roles the caller vouches for (the web layer authenticates)."""

    person_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    name: str = ""

    @classmethod
    def of(cls, person_id: str, *roles: Role | str, name: str = "") -> Actor:
        return cls(person_id, frozenset(Role(r) for r in roles), name)

    def require(self, *allowed: Role) -> None:
        """Refuse unless the actor holds one of the allowed roles (operators hold all)."""
        if Role.OPERATOR in self.roles or self.roles.intersection(allowed):
            return
        raise PermissionDeniedError(
            field="actor",
            role="、".join(ROLE_NAMES[r][0] for r in allowed),
            role_en=" or ".join(ROLE_NAMES[r][1] for r in allowed),
        )

    @property
    def label(self) -> str:
        return self.name or self.person_id
