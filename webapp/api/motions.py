"""``/api/v1/motions``: threshold motions residents open, co-sign and withdraw from."""

from __future__ import annotations

from uuid import UUID

from flask import Response

from webapp.api import bp
from webapp.api.common import body, created, dump, resident_roles
from webapp.api.registry import operation
from webapp.api.schemas import MotionSchema, OpenedMotionSchema, SignatureSchema
from webapp.common import scoped_motion
from webapp.resident import actions as resident
from webapp.resident.schemas import MotionForm, SignForm
from webapp.security import require_user, signed_in


@operation(
    bp,
    "/motions",
    "POST",
    resident_roles,
    summary="发起联署动议 · Open a threshold motion",
    tag="motions",
    body=MotionForm,
    response=OpenedMotionSchema,
    status=201,
)
def open_motion() -> Response:
    return created(OpenedMotionSchema(), resident.open_motion(require_user(), body(MotionForm())))


@operation(
    bp,
    "/motions/<uuid:motion_id>",
    "GET",
    signed_in,
    summary="联署进度 · A motion's progress",
    tag="motions",
    response=MotionSchema,
)
def get_motion(motion_id: UUID) -> Response:
    return dump(MotionSchema(), scoped_motion(motion_id))


@operation(
    bp,
    "/motions/<uuid:motion_id>/signatures",
    "POST",
    resident_roles,
    summary="联署 · Co-sign",
    tag="motions",
    body=SignForm,
    response=SignatureSchema,
    status=201,
)
def sign_motion(motion_id: UUID) -> Response:
    return created(SignatureSchema(), resident.sign(require_user(), motion_id, body(SignForm())))


@operation(
    bp,
    "/motions/<uuid:motion_id>/signatures/withdrawal",
    "POST",
    resident_roles,
    summary="撤回联署 · Withdraw a signature",
    tag="motions",
    body=SignForm,
    response=SignatureSchema,
)
def withdraw_signature(motion_id: UUID) -> Response:
    return dump(
        SignatureSchema(), resident.withdraw_signature(require_user(), motion_id, body(SignForm()))
    )
