from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from webapp.common import attempt
from webapp.errors import Problem
from webapp.forms import load
from webapp.i18n import _
from webapp.manage import actions, bp
from webapp.manage.actions import Issued
from webapp.manage.schemas import ROLES, AccountForm, AccountQuery
from webapp.security import COMMITTEE, require_user, roles
from webapp.state import services

MANAGERS = tuple(COMMITTEE)  # operators hold every role


def render_accounts(problem: Problem | None = None, status: int = 200) -> ResponseReturnValue:
    user = require_user()
    query = load(AccountQuery(), request.args.to_dict())
    operator = actions.is_operator(user)
    estates = services().reads.estates()
    return (
        render_template(
            "manage/accounts.html",
            page=actions.listing(user, query),
            query=query,
            operator=operator,
            estates=estates,
            estate_names={e.id: e.name for e in estates},
            roles=[
                (r.value, ROLES[r.value])
                for r in sorted(actions.grantable(user), key=list(ROLES).index)
            ],
            problem=problem,
            values=request.form if problem else {},
            me=user.id,
            my_estate=user.estate_id,
        ),
        status,
    )


@bp.route("/accounts", methods=["GET", "POST"])
@roles(*MANAGERS)
def accounts() -> ResponseReturnValue:
    if request.method == "GET":
        return render_accounts()
    user = require_user()
    issued, problem = attempt(AccountForm(), lambda d: actions.create(user, d))
    if problem is not None:
        return render_accounts(problem, problem.status)
    return _issued(issued, _("账号已创建。"))


@bp.post("/accounts/<int:account_id>/password")
@roles(*MANAGERS)
def reset_password(account_id: int) -> ResponseReturnValue:
    user = require_user()
    return _issued(
        actions.reset_password(user, account_id), _("密码已重置，原密码和已登录的会话均已失效。")
    )


@bp.post("/accounts/<int:account_id>/disable")
@roles(*MANAGERS)
def disable(account_id: int) -> ResponseReturnValue:
    account = actions.set_disabled(require_user(), account_id, True)
    flash(_("账号 %(name)s 已停用，不能再登录。", name=account.username), "success")
    return redirect(_back())


@bp.post("/accounts/<int:account_id>/enable")
@roles(*MANAGERS)
def enable(account_id: int) -> ResponseReturnValue:
    account = actions.set_disabled(require_user(), account_id, False)
    flash(_("账号 %(name)s 已启用。", name=account.username), "success")
    return redirect(_back())


def _back() -> str:
    """The list as it was (estate, search, page): the action forms carry them in their address."""
    kept = {k: v for k, v in request.args.items() if k in ("estate", "q", "page")}
    return url_for("manage.accounts") + (f"?{urlencode(kept)}" if kept else "")


def _issued(issued: Issued, message: str) -> ResponseReturnValue:
    """The new password, shown this once (never stored in clear, never sent again)."""
    estate = services().reads.estate(issued.account.estate_id) if issued.account.estate_id else None
    return render_template("manage/issued.html", issued=issued, message=message, estate=estate)
