"""``/api/v1/session``: sign in and out (with a password or a voting code), the CSRF token, and
the ballot a voting code grants."""

from __future__ import annotations

from flask import Response

from webapp.api import bp
from webapp.api.common import body, created, dump
from webapp.api.registry import operation
from webapp.api.schemas import ReceiptSchema, SessionSchema
from webapp.auth import actions as auth_actions
from webapp.auth.schemas import BallotForm, CodeForm, PasswordChange, SignInForm
from webapp.security import (
    code_holder,
    csrf_token,
    current_grant,
    current_user,
    own_account,
    public,
    require_grant,
    require_user,
    sign_out,
    sign_out_everywhere,
)


def _session() -> Response:
    """The session as it is now: what every session operation answers."""
    user = current_user()
    return dump(
        SessionSchema(),
        {
            "signed_in": user is not None,
            "csrf_token": csrf_token(),
            "person_id": user.person_id if user else None,
            "display_name": user.display_name if user else None,
            "roles": sorted(r.value for r in user.roles) if user else [],
            "estate_id": user.estate_id if user else None,
            "voting_code": current_grant() is not None,
        },
    )


@operation(
    bp,
    "/session",
    "GET",
    public,
    summary="当前会话与 CSRF 令牌 · Current session and CSRF token",
    tag="session",
    response=SessionSchema,
)
def get_session() -> Response:
    return _session()


@operation(
    bp,
    "/session",
    "POST",
    public,
    summary="用账号登录 · Sign in",
    tag="session",
    body=SignInForm,
    response=SessionSchema,
)
def create_session() -> Response:
    data = body(SignInForm())
    auth_actions.signin(data, data["username"])
    return _session()


@operation(
    bp,
    "/session",
    "DELETE",
    public,
    summary="退出 · Sign out",
    tag="session",
    response=SessionSchema,
)
def delete_session() -> Response:
    sign_out()
    return _session()


@operation(
    bp,
    "/sessions",
    "DELETE",
    own_account,
    summary="在所有设备上退出（本账号的全部会话失效） · Sign out everywhere (every session ends)",
    tag="session",
    response=SessionSchema,
)
def delete_sessions() -> Response:
    sign_out_everywhere(require_user())
    return _session()


@operation(
    bp,
    "/session/password",
    "POST",
    own_account,
    summary="修改自己的密码（其他会话失效） · Change my password (other sessions end)",
    tag="session",
    body=PasswordChange,
    response=SessionSchema,
)
def change_password() -> Response:
    auth_actions.change_password(require_user(), body(PasswordChange()))
    return _session()


@operation(
    bp,
    "/session/code",
    "POST",
    public,
    summary="用表决码登录（授权一张选票） · Sign in with a voting code",
    tag="session",
    body=CodeForm,
    response=SessionSchema,
)
def create_code_session() -> Response:
    auth_actions.redeem(body(CodeForm()))
    return _session()


@operation(
    bp,
    "/session/code/ballot",
    "POST",
    code_holder,
    summary="用表决码投票 · Cast the code's single ballot",
    tag="votes",
    body=BallotForm,
    response=ReceiptSchema,
    status=201,
)
def cast_code_ballot() -> Response:
    receipt = auth_actions.cast_with_code(require_grant(), body(BallotForm()))
    return created(ReceiptSchema(), receipt)
