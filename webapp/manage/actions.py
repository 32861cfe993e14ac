"""Managing accounts, shared by the pages and the API.

Operators manage every account and grant every role. A committee member manages the accounts of
their own estate that hold only roles they may grant: residents, tellers, the property company and
their own committee. Accounts outside that scope are "not found", exactly like accounts that do not
exist, so that the pages reveal nothing about them. No one resets or disables their own account
here (they change their password on their own page).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from consult.actors import ROLE_NAMES, Role
from consult.errors import NotFoundError, ValidationError
from consult.validation import invalid
from webapp.account_model import Account
from webapp.account_rules import new_password, parse_roles
from webapp.errors import Problem, from_domain, not_found
from webapp.i18n import _
from webapp.reads import Page
from webapp.security import COMMITTEE
from webapp.state import services

logger = logging.getLogger(__name__)

#: What a committee member may grant, besides the committee roles they hold themselves.
GRANTED_BY_COMMITTEES = frozenset({Role.RESIDENT, Role.TELLER, Role.PROPERTY_COMPANY})


@dataclass(frozen=True)
class Issued:
    """An account and its new password, shown once to whoever will hand it over."""

    account: Account
    password: str


def is_operator(manager: Account) -> bool:
    return Role.OPERATOR in manager.roles


def grantable(manager: Account) -> frozenset[Role]:
    if is_operator(manager):
        return frozenset(Role)
    return GRANTED_BY_COMMITTEES | (manager.roles & COMMITTEE)


def manages(manager: Account, account: Account) -> bool:
    if is_operator(manager):
        return True
    return (
        manager.estate_id is not None
        and account.estate_id == manager.estate_id
        and account.roles <= grantable(manager)
    )


def listing(manager: Account, data: dict[str, Any]) -> Page[Account]:
    """The accounts the manager may manage (operators: of one estate, or every account)."""
    page, per_page = data["page"], data["per_page"]
    estate = data.get("estate") if is_operator(manager) else manager.estate_id
    if estate is None and not is_operator(manager):
        return Page((), page, per_page, 0)
    store = services().accounts
    if is_operator(manager):
        items, total = store.accounts(estate, data.get("q", ""), (page - 1) * per_page, per_page)
        return Page(tuple(items), page, per_page, total)
    # A committee sees the accounts of its estate that it may manage (filtered after the query).
    everything, _total = store.accounts(estate, data.get("q", ""))
    mine = [a for a in everything if manages(manager, a)]
    start = (page - 1) * per_page
    return Page(tuple(mine[start : start + per_page]), page, per_page, len(mine))


def create(manager: Account, data: dict[str, Any]) -> Issued:
    roles = parse_roles(data["roles"])
    refused = roles - grantable(manager)
    if refused:
        names = (
            "、".join(ROLE_NAMES[r][0] for r in sorted(refused)),
            ", ".join(ROLE_NAMES[r][1] for r in sorted(refused)),
        )
        raise beyond_powers(invalid("roles", "roles", "cannot_grant", roles=names))
    estate = _estate_for(manager, data.get("estate"))
    password = new_password()
    account = services().accounts.create(
        data["username"], password, data["person_id"], data["display_name"], roles, estate
    )
    logger.info("account %s created by %s", account.username, manager.username)
    return Issued(account, password)


def reset_password(manager: Account, account_id: int) -> Issued:
    account = _managed(manager, account_id)
    password = new_password()
    services().accounts.change_password(account.id, password)
    logger.info("password of %s reset by %s", account.username, manager.username)
    return Issued(_reloaded(account.id), password)


def set_disabled(manager: Account, account_id: int, disabled: bool) -> Account:
    account = _managed(manager, account_id)
    services().accounts.set_disabled(account.id, disabled)
    logger.info(
        "account %s %s by %s",
        account.username,
        "disabled" if disabled else "enabled",
        manager.username,
    )
    return _reloaded(account.id)


def _managed(manager: Account, account_id: int) -> Account:
    account = services().accounts.record(account_id)
    if account is None or not manages(manager, account):
        raise not_found()
    if account.id == manager.id:
        raise Problem(
            409,
            "own_account",
            _("不能在这里重置或停用您自己的账号；修改自己的密码请用“修改密码”页面。"),
        )
    return account


def _reloaded(account_id: int) -> Account:
    account = services().accounts.record(account_id)
    if account is None:  # deleted meanwhile: accounts are never deleted, but say so plainly
        raise not_found()
    return account


def beyond_powers(error: ValidationError) -> Problem:
    """A field asking for more than the manager may grant: 403, the field named in both
    languages (the request itself is well formed)."""
    return replace(from_domain(error), status=403, code="forbidden")


def _estate_for(manager: Account, chosen: UUID | None) -> UUID | None:
    """Committees create accounts of their own estate; operators choose one (or none)."""
    if not is_operator(manager):
        if chosen is not None and chosen != manager.estate_id:
            raise beyond_powers(invalid("estate", "estate", "own_estate_accounts"))
        return manager.estate_id
    if chosen is not None:
        try:
            services().reads.estate(chosen)
        except NotFoundError:
            raise invalid("estate", "estate", "no_such_estate") from None
    return chosen
