from __future__ import annotations

from uuid import UUID

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from consult.errors import ConsultError
from webapp.account_model import Account
from webapp.addressees import elector_names
from webapp.auth import actions, bp
from webapp.auth.schemas import BallotForm, CodeForm, PasswordForm, PrefsForm, SignInForm
from webapp.common import attempt, form_page, scoped_case
from webapp.errors import Problem, from_domain
from webapp.forms import load_form
from webapp.i18n import LANG_COOKIE, _
from webapp.security import (
    AUDITORS,
    STAFF,
    code_holder,
    current_user,
    own_account,
    public,
    require_grant,
    require_user,
    safe_next,
    sign_out,
    sign_out_everywhere,
)
from webapp.state import services

PREF_AGE = 365 * 24 * 3600


def home_of(account: Account) -> str:
    if account.has(STAFF):
        return url_for("committee.home")
    if account.has(AUDITORS):
        return url_for("audit.home")
    return url_for("resident.home")


@bp.route("/signin", methods=["GET", "POST"])
@public
def signin() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"), "")
    user = current_user()
    if request.method == "GET":
        if user is not None:
            return redirect(target or home_of(user))
        return render_template("auth/signin.html", next=target, problem=None, values={})
    try:
        account = actions.signin(
            load_form(SignInForm(), request.form), request.form.get("username", "")
        )
    except Problem as problem:
        values = {"username": request.form.get("username", "")}
        return (
            render_template("auth/signin.html", next=target, problem=problem, values=values),
            problem.status,
            problem.headers,
        )
    return redirect(target or home_of(account))


@bp.post("/signout")
@public
def signout() -> ResponseReturnValue:
    sign_out()
    flash(_("您已退出。"), "info")
    return redirect(url_for("resident.home"))


@bp.post("/signout/everywhere")
@own_account
def signout_everywhere() -> ResponseReturnValue:
    sign_out_everywhere(require_user())
    flash(_("您已在所有设备上退出。"), "info")
    return redirect(url_for("resident.home"))


@bp.route("/password", methods=["GET", "POST"])
@own_account
def password() -> ResponseReturnValue:
    """Change one's own password (every other session of the account ends)."""
    user = require_user()
    problem: Problem | None = None
    if request.method == "POST":
        _done, problem = attempt(PasswordForm(), lambda d: actions.change_password(user, d))
        if problem is None:
            flash(_("密码已修改。其他设备上的登录已失效。"), "success")
            return redirect(home_of(user))
    return form_page("auth/password.html", problem)


@bp.route("/code", methods=["GET", "POST"])
@public
def code() -> ResponseReturnValue:
    case = _case_arg()
    if request.method == "GET":
        return render_template("auth/code.html", case=case, problem=None, values={})
    try:
        actions.redeem(load_form(CodeForm(), request.form))
    except Problem as problem:
        return (
            render_template("auth/code.html", case=case, problem=problem, values={}),
            problem.status,
            problem.headers,
        )
    return redirect(url_for("auth.code_ballot"))


def _case_arg() -> object | None:
    try:
        case_id = UUID(request.args.get("case", ""))
    except ValueError:
        return None
    try:
        return services().reads.case(case_id)
    except ConsultError:
        return None


@bp.route("/code/ballot", methods=["GET", "POST"])
@code_holder
def code_ballot() -> ResponseReturnValue:
    grant = require_grant()
    s = services()
    vote = s.reads.vote(grant.vote_id)
    case = scoped_case(grant.case_id)
    problem: Problem | None = None
    if request.method == "POST":
        try:
            actions.cast_with_code(grant, load_form(BallotForm(), request.form))
        except Problem as p:
            problem = p
        else:
            return redirect(url_for("auth.code_receipt"))
    return (
        render_template(
            "auth/code_ballot.html",
            grant=grant,
            addressee=elector_names(vote.id)[1].get(grant.head_id),
            vote=vote,
            case=case,
            tally=s.reads.tally(vote.id),
            problem=problem,
            values=request.form if problem else {},
        ),
        problem.status if problem else 200,
    )


@bp.get("/code/receipt")
@public
def code_receipt() -> ResponseReturnValue:
    receipt = session.get("receipt")
    if not isinstance(receipt, dict):
        return redirect(url_for("auth.code"))
    return render_template("auth/code_receipt.html", receipt=receipt)


@bp.get("/q/<uuid:case_id>")
@public
def landing(case_id: UUID) -> ResponseReturnValue:
    """Where the QR code on a notice leads: the case's public notice and the code entry."""
    try:
        case = services().reads.case(case_id)
    except ConsultError as e:
        raise from_domain(e) from None
    return render_template("auth/landing.html", case=case, problem=None, values={})


@bp.post("/prefs")
@public
def prefs() -> ResponseReturnValue:
    target = safe_next(request.form.get("next"), url_for("resident.home"))
    data = load_form(PrefsForm(), request.form)
    response: Response = redirect(target)  # type: ignore[assignment]
    secure = services().settings.cookie_secure
    if data.get("lang"):
        response.set_cookie(
            LANG_COOKIE,
            data["lang"],
            max_age=PREF_AGE,
            samesite="Lax",
            secure=secure,
            httponly=True,
        )
    if data.get("display"):
        response.set_cookie(
            "display",
            data["display"],
            max_age=PREF_AGE,
            samesite="Lax",
            secure=secure,
            httponly=True,
        )
    return response
