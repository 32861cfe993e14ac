"""Signing in and voting with a code, shared by the pages and the API (rate limits included)."""

from __future__ import annotations

from typing import Any

from flask import request, session

from consult.actors import Actor, Role
from consult.application import BallotReceipt
from consult.errors import ConsultError
from webapp.account_model import Account
from webapp.account_rules import normalise_username
from webapp.common import remember
from webapp.errors import Problem, from_domain
from webapp.i18n import _
from webapp.security import enforce_limits, sign_in, sign_in_with_code
from webapp.signins import SESSION_KEY
from webapp.state import services
from webapp.voting_codes import CodeGrant


def signin(data: dict[str, Any], raw_username: str) -> Account:
    """Check the limits, then the credentials; the same answer whether or not the name exists."""
    s = services()
    ip = request.remote_addr or "-"
    name = normalise_username(raw_username)[:64]
    by_ip = (f"signin:ip:{ip}", s.settings.signin_ip)
    by_user = (f"signin:user:{name}", s.settings.signin_user)
    enforce_limits(s.limiter, [by_ip, by_user])
    s.limiter.hit(*by_ip)
    # Counted before the check (a success clears it), so that attempts on one name arriving at
    # once across workers cannot all be tried before the limit stops them.
    s.limiter.hit(*by_user)
    account = s.accounts.authenticate(data["username"], data["password"])
    if account is None:
        raise Problem(401, "bad_credentials", _("用户名或密码不正确。"))
    s.limiter.reset(by_user[0])
    sign_in(account)
    return account


def change_password(user: Account, data: dict[str, Any]) -> Account:
    """The user's own new password, after the current one; this session stays, others end."""
    s = services()
    key = (f"password:user:{user.id}", s.settings.signin_user)
    if data["password"] != data.get(
        "confirm", data["password"]
    ):  # not a guess of the current password: not counted
        raise Problem(
            422,
            "invalid",
            _("两次输入的新密码不一致。"),
            fields={"confirm": [_("再次输入新密码：与新密码不一致")]},
        )
    enforce_limits(s.limiter, [key])
    s.limiter.hit(*key)  # counted before the check, as for signing in
    if s.accounts.authenticate(user.username, data["current_password"]) is None:
        raise Problem(
            403,
            "bad_password",
            _("当前密码不正确。"),
            fields={"current_password": [_("当前密码：不正确")]},
        )
    s.limiter.reset(key[0])
    s.accounts.change_password(user.id, data["password"])
    account = s.accounts.get(user.id)
    assert account is not None
    sign_in(account)
    return account


def redeem(data: dict[str, Any]) -> CodeGrant:
    s = services()
    key = f"code:ip:{request.remote_addr or '-'}"
    enforce_limits(s.limiter, [(key, s.settings.code_ip)])
    s.limiter.hit(key, s.settings.code_ip)
    grant = s.codes.find(data["code"])
    if grant is None:
        raise Problem(
            401,
            "bad_code",
            _("表决码无效、已经使用或已被更换。请核对通知书上的表决码。"),
            fields={"code": [_("表决码：无效、已经使用或已被更换")]},
        )
    sign_in_with_code(grant)
    return grant


def cast_with_code(grant: CodeGrant, data: dict[str, Any]) -> BallotReceipt:
    """One ballot for the code's head; the code is spent only if the ballot is stored."""
    s = services()
    if not s.codes.claim(grant.id):
        raise Problem(409, "code_used", _("此表决码刚刚已被使用。"))
    try:
        actor = Actor.of(f"code:{grant.selector}", Role.RESIDENT, name="表决码投票 voting code")
        receipt = s.consult.cast_ballot(
            grant.vote_id, data["choice"], actor, elector_id=grant.head_id, via_code=True
        )
    except ConsultError as e:
        s.codes.release(grant.id)
        raise from_domain(e) from None
    remember(receipt.position)
    session.pop("code", None)
    s.signins.end(session.pop(SESSION_KEY, None))  # the code is spent: its session ends
    session["receipt"] = {
        "vote": str(receipt.vote_id),
        "case": str(grant.case_id),
        "elector": receipt.elector_id,
        "choice": receipt.choice.value,
        "receipt": receipt.receipt,
        "changed": receipt.changed,
    }
    return receipt
