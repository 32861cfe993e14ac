"""What makes an account's fields and password acceptable, with the answer when they are not.

Used by the account store before it writes (:mod:`webapp.accounts`), by the forms that ask for
them and by ``consult account``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from consult.actors import Role
from consult.errors import ValidationError
from consult.validation import invalid, parse_enum

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 100
MAX_PERSON_ID = 64
#: Accounts with one of these roles may be left unbound (they see every estate).
UNBOUND_ROLES = frozenset({Role.STREET, Role.OPERATOR})
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def normalise_username(text: str) -> str:
    return (text or "").strip().lower()


@dataclass(frozen=True)
class NewAccount:
    """An account's fields, checked, before it is stored."""

    username: str
    person_id: str
    display_name: str
    roles: frozenset[Role]
    estate_id: UUID | None

    @classmethod
    def checked(
        cls,
        username: str,
        person_id: str,
        display_name: str,
        roles: Iterable[Role | str],
        estate_id: UUID | None,
    ) -> NewAccount:
        name = normalise_username(username)
        if not USERNAME.match(name):
            raise invalid("username", "username", "bad_username")
        person = (person_id or "").strip()
        if not person or len(person) > MAX_PERSON_ID:
            raise invalid("person_id", "person_id", "bad_person_id", max=MAX_PERSON_ID)
        shown = (display_name or person).strip()
        if len(shown) > MAX_NAME:
            raise invalid("display_name", "display_name", "name_too_long", max=MAX_NAME)
        held = parse_roles(roles)
        if estate_id is None and not held & UNBOUND_ROLES:
            raise invalid("estate", "estate", "estate_bound")
        return cls(name, person, shown, held, estate_id)


def taken() -> ValidationError:
    """The same answer for any name in use: it says nothing of whose account it is."""
    return invalid("username", "username", "taken")


def parse_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    """Roles by value; at least one, each a known role."""
    held = frozenset(parse_enum(Role, r, "roles", "roles", "no_such_role") for r in roles)
    if not held:
        raise invalid("roles", "roles", "choose_role")
    return held


def new_password() -> str:
    """A temporary password to hand over once: 12 unambiguous characters (about 59 bits)."""
    text = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise invalid("password", "password", "password_length", min=MIN_PASSWORD, max=MAX_PASSWORD)
    if password != password.strip():  # the sign-in form trims what is typed
        raise invalid("password", "password", "password_spaces")
