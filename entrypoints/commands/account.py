"""``consult account``: the web application's accounts, for operators.

Passwords never appear on the command line, where the shell's history and the process list would
keep them: they are typed at a hidden prompt (twice), or read as one line from standard input with
``--password-stdin`` (for scripts). Every error is a message and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from uuid import UUID

import click

from consult.actors import ROLE_NAMES, Role
from consult.bodies import estate_id
from consult.config import Config
from consult.errors import NotFoundError
from consult.validation import invalid
from entrypoints.bootstrap import account_store, build_app
from entrypoints.commands.base import lang, report_errors, say
from webapp.account_model import Account
from webapp.account_rules import normalise_username
from webapp.accounts import AccountStore

ROLE_VALUES = [r.value for r in Role]


@contextmanager
def _store() -> Iterator[AccountStore]:
    with account_store(Config.from_env(), _password_method()) as store:
        yield store


def _password_method() -> str:
    return os.environ.get("CONSULT_PASSWORD_METHOD", "scrypt")  # as the web app hashes


def _estate(code: str) -> UUID:
    eid = estate_id(code.strip())
    with closing(build_app()) as app:
        exists = app.exists(eid)
    if not exists:
        raise invalid("estate", "estate", "no_estate", code=code)
    return eid


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    text: str = click.prompt(
        say("新密码", "New password"),
        hide_input=True,
        confirmation_prompt=say("再次输入新密码", "Repeat the new password"),
    )
    return text


def _find(store: AccountStore, username: str) -> Account:
    account = store.find(username)
    if account is None:
        raise NotFoundError(
            field="username", kind="账号", kind_en="account", ident=normalise_username(username)
        )
    return account


def _roles(account: Account) -> str:
    pick = 0 if lang().startswith("zh") else 1
    return ", ".join(ROLE_NAMES[r][pick] for r in Role if r in account.roles)


PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password as one line from standard input instead of a hidden prompt.",
)


@click.group("account")
def account() -> None:
    """网页账号 · Web accounts: create, list, set passwords, disable and enable."""


@account.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name shown on pages (姓名).")
@click.option(
    "--person-id", required=True, help="The person's id on the roll or staff list (人员编号)."
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLE_VALUES),
    help="A role (repeat for several).",
)
@click.option(
    "--estate",
    "estate_code",
    default=None,
    help="Code of the estate the account belongs to (street and operator accounts may omit it).",
)
@PASSWORD_STDIN
@report_errors
def create(
    username: str,
    display_name: str,
    person_id: str,
    roles: tuple[str, ...],
    estate_code: str | None,
    password_stdin: bool,
) -> None:
    """Create USERNAME, bound to an estate unless it is a street or operator account."""
    estate = _estate(estate_code) if estate_code else None
    with _store() as store:
        store.check_new(username, person_id, display_name, roles, estate)  # before the password
        created = store.create(
            username, _read_password(password_stdin), person_id, display_name, roles, estate
        )
    where = estate_code or say("全部小区", "every estate")
    click.echo(
        say(
            f"已创建账号 {created.username}（{created.display_name}，{_roles(created)}，{where}）",
            f"Account {created.username} created ({created.display_name}; {_roles(created)}; {where})",
        )
    )


@account.command("list")
@click.option("--estate", "estate_code", default=None, help="Only the accounts of this estate.")
@click.option("--find", "text", default="", help="Part of a user name, name or person id.")
@report_errors
def list_accounts(estate_code: str | None, text: str) -> None:
    """List accounts: user name, name, person id, roles, estate and whether it is disabled."""
    estate = _estate(estate_code) if estate_code else None
    with _store() as store:
        found, total = store.accounts(estate, text)
    codes: dict[UUID, str] = {}
    if any(a.estate_id for a in found):
        with closing(build_app()) as app:
            for a in found:
                if a.estate_id is not None and a.estate_id not in codes:
                    codes[a.estate_id] = app.estate(a.estate_id).code
    click.echo(
        "\t".join(
            [
                say("用户名", "user name"),
                say("姓名", "name"),
                say("人员编号", "person id"),
                say("身份", "roles"),
                say("小区", "estate"),
                say("状态", "status"),
            ]
        )
    )
    for a in found:
        estate_text = codes[a.estate_id] if a.estate_id else say("全部", "all")
        status = say("已停用", "disabled") if a.disabled else say("启用", "enabled")
        click.echo(
            "\t".join([a.username, a.display_name, a.person_id, _roles(a), estate_text, status])
        )
    click.echo(say(f"共 {total} 个账号", f"{total} accounts"))


@account.command("password")
@click.argument("username")
@PASSWORD_STDIN
@report_errors
def password(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME; its sessions end."""
    with _store() as store:
        found = _find(store, username)
        store.change_password(found.id, _read_password(password_stdin))
    click.echo(
        say(
            f"已为 {found.username} 设置新密码，已登录的会话均已失效。",
            f"New password set for {found.username}; its sessions have ended.",
        )
    )


@account.command("disable")
@click.argument("username")
@report_errors
def disable(username: str) -> None:
    """Disable USERNAME: it can no longer sign in, and its sessions end."""
    _set_disabled(username, True)


@account.command("enable")
@click.argument("username")
@report_errors
def enable(username: str) -> None:
    """Enable USERNAME again."""
    _set_disabled(username, False)


def _set_disabled(username: str, disabled: bool) -> None:
    with _store() as store:
        found = _find(store, username)
        store.set_disabled(found.id, disabled)
    if disabled:
        click.echo(say(f"账号 {found.username} 已停用。", f"Account {found.username} disabled."))
    else:
        click.echo(say(f"账号 {found.username} 已启用。", f"Account {found.username} enabled."))
