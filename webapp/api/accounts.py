"""``/api/v1/accounts``: the accounts a committee manages (operators: every estate)."""

from __future__ import annotations

from flask import Response

from webapp.api import bp
from webapp.api.common import body, committee_roles, created, dump, dump_page, empty, query
from webapp.api.registry import operation
from webapp.api.schemas import AccountSchema, IssuedSchema, page_schema
from webapp.manage import actions as manage
from webapp.manage.schemas import AccountForm, AccountQuery
from webapp.security import require_user


@operation(
    bp,
    "/accounts",
    "GET",
    committee_roles,
    summary="我可以管理的账号 · Accounts I manage",
    tag="accounts",
    query=AccountQuery,
    response=page_schema(AccountSchema),
    paged=True,
)
def list_accounts() -> Response:
    return dump_page(AccountSchema, manage.listing(require_user(), query(AccountQuery())))


@operation(
    bp,
    "/accounts",
    "POST",
    committee_roles,
    summary="开设账号（返回只显示一次的临时密码） · Create an account (its temporary password, once)",
    tag="accounts",
    body=AccountForm,
    response=IssuedSchema,
    status=201,
)
def create_account() -> Response:
    return created(IssuedSchema(), manage.create(require_user(), body(AccountForm())))


@operation(
    bp,
    "/accounts/<int:account_id>/password",
    "POST",
    committee_roles,
    summary="重置密码（返回只显示一次的临时密码） · Reset a password (a temporary one, once)",
    tag="accounts",
    response=IssuedSchema,
)
def reset_password(account_id: int) -> Response:
    empty()
    return dump(IssuedSchema(), manage.reset_password(require_user(), account_id))


@operation(
    bp,
    "/accounts/<int:account_id>/disable",
    "POST",
    committee_roles,
    summary="停用账号（会话随即失效） · Disable an account (its sessions end)",
    tag="accounts",
    response=AccountSchema,
)
def disable_account(account_id: int) -> Response:
    empty()
    return dump(AccountSchema(), manage.set_disabled(require_user(), account_id, True))


@operation(
    bp,
    "/accounts/<int:account_id>/enable",
    "POST",
    committee_roles,
    summary="启用账号 · Enable an account",
    tag="accounts",
    response=AccountSchema,
)
def enable_account(account_id: int) -> Response:
    empty()
    return dump(AccountSchema(), manage.set_disabled(require_user(), account_id, False))
