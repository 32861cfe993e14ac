"""Sign-in accounts for the demo's people (``consult demo``), a new password each run."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from consult.actors import ROLE_NAMES, Role
from consult.config import Config
from webapp.account_rules import normalise_username
from webapp.accounts import AccountStore
from webapp.db import engine_for
from webapp.tables import create_tables


class DemoPersonLike(Protocol):
    @property
    def person_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> Sequence[Role]: ...


class DemoSummaryLike(Protocol):
    @property
    def estate_id(self) -> UUID: ...
    @property
    def people(self) -> Sequence[Any]: ...
    @property
    def residents(self) -> Sequence[Any]: ...


def ensure_demo_accounts(config: Config, summary: DemoSummaryLike) -> list[dict[str, str]]:
    """Accounts for the demo's people (a new password each run); returns what to print.

    Street (auditor) accounts see every estate; everyone else is bound to the demo estate.
    """
    engine = engine_for(config.database_url)
    try:
        create_tables(engine)
        store = AccountStore(engine)
        credentials: list[dict[str, str]] = []
        people: list[DemoPersonLike] = [*summary.people, *summary.residents]
        for person in people:
            username = normalise_username(person.person_id)
            password = "demo-" + "".join(
                secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(8)
            )
            roles = tuple(Role(r) for r in person.roles)
            estate = None if Role.STREET in roles or Role.OPERATOR in roles else summary.estate_id
            if store.by_username(username) is None:
                store.create(username, password, person.person_id, person.name, roles, estate)
            else:
                store.set_password(username, password)
            credentials.append(
                {
                    "role": " / ".join(f"{ROLE_NAMES[r][0]} {ROLE_NAMES[r][1]}" for r in roles),
                    "username": username,
                    "password": password,
                    "name": person.name,
                }
            )
        return credentials
    finally:
        engine.dispose()
