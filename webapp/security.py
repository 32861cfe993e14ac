"""Who may see what: access rules on every view, CSRF on every form, rate limits, headers.

Every view declares its rule (:func:`public`, :func:`signed_in`, :func:`own_account`,
:func:`roles`, :func:`code_holder`); a view without one is refused (fail closed), and a test checks
that every route declares one. A view that writes names the roles it is for (:func:`roles`); only
what a person does to their own account (:func:`own_account`) and signing in and out (public) do
not. Who belongs to the estate is the domain's check (:mod:`consult.membership`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from consult import membership
from consult.actors import Role
from webapp.account_model import Account
from webapp.errors import (
    Problem,
    csrf_failed,
    forbidden,
    no_session,
    unauthenticated,
    wants_json,
)
from webapp.i18n import _
from webapp.limits import RateLimited, RateLimiter
from webapp.settings import Limit
from webapp.signins import SESSION_KEY
from webapp.state import services
from webapp.voting_codes import CodeGrant

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

COMMITTEE = frozenset({Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION})
TELLERS = frozenset({Role.TELLER})
IMPLEMENTERS = frozenset({Role.PROPERTY_COMPANY})
STAFF = COMMITTEE | TELLERS | IMPLEMENTERS
AUDITORS = frozenset({Role.STREET})
#: Residents and owners (the domain checks that they belong to the estate).
RESIDENTS = membership.RESIDENTS
#: May speak in a deliberation: residents and owners, and every party to it.
SPEAKERS = RESIDENTS | membership.PARTIES
#: May cast a ballot: owners and residents; committee members and council seat holders in their
#: own bodies' votes (the domain checks the elector).
ELECTORS = RESIDENTS | membership.PARTIES
#: May withdraw a topic: its submitter (a resident) or a committee (the domain checks which).
WITHDRAWERS = RESIDENTS | COMMITTEE


@dataclass(frozen=True)
class Rule:
    kind: str  # "public", "signed_in", "own_account", "roles", "code"
    roles: frozenset[Role] = field(default_factory=frozenset)
    audited: bool = False  # the read is recorded in the auditor's access log

    def allows(self, user: Account | None, grant: CodeGrant | None) -> bool:
        if self.kind == "public":
            return True
        if self.kind == "code":
            return grant is not None
        if user is None:
            return False
        return self.kind in ("signed_in", "own_account") or user.has(self.roles)


def _declare(rule: Rule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: F) -> F:
    return _declare(Rule("public"))(view)


def signed_in(view: F) -> F:
    return _declare(Rule("signed_in"))(view)


def own_account(view: F) -> F:
    """Anyone signed in, acting on their own account only (its password, its sessions)."""
    return _declare(Rule("own_account"))(view)


def code_holder(view: F) -> F:
    return _declare(Rule("code"))(view)


def roles(*allowed: Role, audited: bool = False) -> Callable[[F], F]:
    return _declare(Rule("roles", frozenset(allowed), audited))


def rule_of(endpoint: str) -> Rule | None:
    if endpoint == "static":
        return Rule("public")
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def may(endpoint: str) -> bool:
    """Whether the current user passes the access rule of ``endpoint`` (pages show only the
    actions a user may take)."""
    rule = rule_of(endpoint)
    return rule is not None and rule.allows(current_user(), current_grant())


# --- the current user ---------------------------------------------------------------------------


def current_user() -> Account | None:
    return g.get("user")


def current_grant() -> CodeGrant | None:
    return g.get("grant")


def require_user() -> Account:
    user = current_user()
    if user is None:
        raise unauthenticated()
    return user


def require_grant() -> CodeGrant:
    grant = current_grant()
    if grant is None:
        raise unauthenticated()
    return grant


def sign_in(account: Account) -> None:
    """Start a new session for the account (a fresh session id and CSRF token: no fixation); the
    session it replaces ends."""
    signins = services().signins
    token = signins.start(account.id, account.epoch)
    if token is None:  # the account changed or was disabled since it was authenticated
        raise unauthenticated()
    signins.end(session.get(SESSION_KEY))
    prefs = {k: session[k] for k in ("large",) if k in session}
    session.clear()
    session.update(prefs)
    session[SESSION_KEY] = token
    session["uid"] = account.id
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.user = account
    g.grant = None


def sign_in_with_code(grant: CodeGrant) -> None:
    signins = services().signins
    signins.end(session.get(SESSION_KEY))
    session.clear()
    session[SESSION_KEY] = signins.start_code(grant.id)
    session["code"] = grant.id
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = False
    g.user = None
    g.grant = grant


def sign_out() -> None:
    """End this session, on the server too: its cookie, replayed, is anonymous."""
    services().signins.end(session.get(SESSION_KEY))
    session.clear()
    g.user = None
    g.grant = None


def sign_out_everywhere(user: Account) -> None:
    """End every session of the account, this one included."""
    services().signins.end_all(user.id)
    sign_out()


def load_user() -> None:
    """The account or voting code of the request's session, if the session is live
    (:mod:`webapp.signins`: its row, read with its account)."""
    g.user = None
    g.grant = None
    uid, code_id = session.get("uid"), session.get("code")
    if not isinstance(uid, int) and not isinstance(code_id, int):
        return
    s = services()
    held = s.signins.holder(session.get(SESSION_KEY))
    if isinstance(uid, int):
        if held is not None and held.account is not None and held.account.id == uid:
            g.user = held.account
        else:
            session.clear()
    code_id = session.get("code")
    if isinstance(code_id, int):
        if held is not None and held.code_id == code_id:
            g.grant = s.codes.grant(code_id)
        else:
            session.pop("code", None)
            session.pop(SESSION_KEY, None)


# --- CSRF ---------------------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get("csrf")
    if expected is None and wants_json():
        raise no_session()  # nothing to check a token against
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        raise csrf_failed()


# --- rate limits --------------------------------------------------------------------------------


def enforce_limits(limiter: RateLimiter, checks: Iterable[tuple[str, Limit]]) -> None:
    """Refuse (:class:`RateLimited`, a 429) if any key is at its limit. The limits are counted
    in the web's database, shared by every worker (:mod:`webapp.limits`); ``limiter.hit`` then
    counts the attempt, and refuses it too if other workers reached the limit meanwhile."""
    waits = [w for key, limit in checks if (w := limiter.retry_after(key, limit)) is not None]
    if waits:
        raise RateLimited(max(waits))


def record_audited_read() -> None:
    """Put an auditor's read into the tamper-evident log before serving it; refuse if that fails."""
    from consult.access import record_read

    user = current_user()
    assert user is not None
    try:
        record_read(services().consult, user.actor, request.path, request.args.to_dict())
    except Exception as error:
        logger.exception("could not record an auditor's read of %s", request.path)
        raise Problem(
            503,
            "audit_log_unavailable",
            _("无法记录本次审计访问，为保证可追溯，已拒绝读取。请稍后再试。"),
        ) from error


# --- the request hooks --------------------------------------------------------------------------


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after a form, never another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


#: Sent with every response (and ``Cache-Control: no-store`` with every one but static files).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def init_app(app: Flask) -> None:
    @app.before_request
    def _authorise() -> ResponseReturnValue | None:
        load_user()
        endpoint = request.endpoint
        if endpoint is None:
            return None  # 404 / 405 follow
        rule = rule_of(endpoint)
        if rule is None:
            raise forbidden()
        allowed = rule.allows(current_user(), current_grant())
        if allowed or current_user() is not None:
            check_csrf()  # after authentication: a request without a session is a 401
        if allowed:
            if rule.audited:
                record_audited_read()
            return None
        if current_user() is None and rule.kind != "code":
            if wants_json():
                raise unauthenticated()
            return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
        if rule.kind == "code":
            if wants_json():
                raise unauthenticated()
            return redirect(url_for("auth.code"))
        raise forbidden()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            headers.setdefault(name, value)
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["may"] = may
