"""An account as the web uses it: who signs in, with which roles, bound to which estate.

The stores (:mod:`webapp.accounts`, :mod:`webapp.signins`) read accounts into :class:`Account`;
the views ask it what the person may do.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from consult.actors import Actor, Role

#: The columns of ``web_accounts`` that :func:`account_of` reads, in its order.
ACCOUNT_COLUMNS = (
    "id",
    "username",
    "person_id",
    "display_name",
    "roles",
    "estate_id",
    "epoch",
    "disabled",
    "created_at",
)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    person_id: str
    display_name: str
    roles: frozenset[Role]
    estate_id: UUID | None
    epoch: int
    disabled: bool = False
    created_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.person_id, self.roles, self.display_name)

    def has(self, roles: Iterable[Role]) -> bool:
        """Holds one of ``roles`` (operators hold every role, as in the domain)."""
        return Role.OPERATOR in self.roles or bool(self.roles.intersection(roles))

    def sees_estate(self, estate: UUID) -> bool:
        """Accounts bound to an estate see only that estate; street and operator accounts see all."""
        return self.estate_id is None or self.estate_id == estate


@functools.lru_cache(maxsize=256)
def roles_of(text: str) -> frozenset[Role]:
    """The roles stored as ``text`` (their values, comma-separated)."""
    return frozenset(Role(r) for r in text.split(",") if r)


def roles_text(roles: Iterable[Role]) -> str:
    """How ``roles`` are stored: their values in the enum's order, comma-separated."""
    held = frozenset(roles)
    return ",".join(r.value for r in Role if r in held)


def aware(moment: datetime | None) -> datetime | None:
    """A stored moment with its offset: SQLite gives back the UTC time it was given, without one."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def account_of(values: Iterable[Any]) -> Account:
    """The account of a row's :data:`ACCOUNT_COLUMNS` values (as an ORM row or a driver gives
    them: the time as a ``datetime``, or as ISO text from SQLite's own driver)."""
    id_, username, person, name, roles, estate, epoch, disabled, created = values
    return Account(
        id=id_,
        username=username,
        person_id=person,
        display_name=name,
        roles=roles_of(roles),
        estate_id=UUID(estate) if estate else None,
        epoch=epoch,
        disabled=bool(disabled),
        created_at=aware(datetime.fromisoformat(created) if isinstance(created, str) else created),
    )
