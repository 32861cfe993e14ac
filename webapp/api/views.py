from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, jsonify, request
from marshmallow import Schema

from consult.case import Stage
from consult.errors import ConsultError
from webapp.api import bp
from webapp.api.registry import operation
from webapp.api.schemas import (
    CaseRowSchema,
    CaseSchema,
    MotionSchema,
    PageQuery,
    SessionSchema,
    TallySchema,
    VoteSchema,
    page_schema,
)
from webapp.common import scoped_case, scoped_motion, scoped_vote
from webapp.errors import Problem, from_domain
from webapp.forms import Choice, Ident, load
from webapp.i18n import lazy_gettext as _l
from webapp.reads import Page
from webapp.security import current_grant, current_user, csrf_token, public, require_user, signed_in
from webapp.state import services


def body(schema: Schema) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        if request.mimetype != "application/json":
            raise Problem(415, "unsupported_media_type", "Content-Type: application/json")
        raise Problem(400, "bad_json", "JSON")
    if not isinstance(data, dict):
        raise Problem(422, "invalid", "JSON object", fields={"_schema": ["JSON object"]})
    return load(schema, data, strict=True)


def query(schema: Schema) -> dict[str, Any]:
    return load(schema, request.args.to_dict(), strict=False)


def dump(schema: Schema, obj: Any, status: int = 200) -> Response:
    response = jsonify(schema.dump(obj))
    response.status_code = status
    return response


def dump_page(item: type[Schema], page: Page[Any]) -> Response:
    return jsonify(
        {
            "items": item(many=True).dump(page.items),
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
        }
    )


# --- session --------------------------------------------------------------------------------------


def _session() -> dict[str, Any]:
    user = current_user()
    return {
        "signed_in": user is not None,
        "csrf_token": csrf_token(),
        "person_id": user.person_id if user else None,
        "display_name": user.display_name if user else None,
        "roles": sorted(r.value for r in user.roles) if user else [],
        "estate_id": user.estate_id if user else None,
        "voting_code": current_grant() is not None,
    }


@operation(bp, "/session", "GET", public, summary="当前会话与 CSRF 令牌 · Current session and CSRF token", tag="session", response=SessionSchema)
def get_session() -> Response:
    return dump(SessionSchema(), _session())


# --- cases, votes, motions ----------------------------------------------------------------------


class CaseListQuery(PageQuery):
    stage = Choice(_l("阶段"), [s.value for s in Stage], required=False)
    estate = Ident(_l("小区"), required=False)


@operation(
    bp, "/cases", "GET", signed_in, summary="议题列表 · Cases", tag="cases", query=CaseListQuery,
    response=page_schema(CaseRowSchema), paged=True,
)
def list_cases() -> Response:
    user = require_user()
    q = query(CaseListQuery())
    estate = user.estate_id or q.get("estate")
    stage = Stage(q["stage"]) if q.get("stage") else None
    return dump_page(CaseRowSchema, services().reads.cases(estate, stage, q["page"], q["per_page"]))


@operation(bp, "/cases/<uuid:case_id>", "GET", signed_in, summary="议题详情 · A case", tag="cases", response=CaseSchema)
def get_case(case_id: UUID) -> Response:
    return dump(CaseSchema(), scoped_case(case_id))


@operation(bp, "/votes/<uuid:vote_id>", "GET", signed_in, summary="表决 · A vote", tag="votes", response=VoteSchema)
def get_vote(vote_id: UUID) -> Response:
    return dump(VoteSchema(), scoped_vote(vote_id))


@operation(
    bp, "/votes/<uuid:vote_id>/tally", "GET", signed_in, summary="计票进度 · Live tally against every threshold",
    tag="votes", response=TallySchema,
)
def vote_tally(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(TallySchema(), services().reads.tally(vote_id))


@operation(bp, "/motions/<uuid:motion_id>", "GET", signed_in, summary="联署动议进度 · A motion's progress", tag="motions", response=MotionSchema)
def get_motion(motion_id: UUID) -> Response:
    return dump(MotionSchema(), scoped_motion(motion_id))


_unused = (ConsultError, from_domain)
