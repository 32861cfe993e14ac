"""``/api/v1/estates`` and ``/api/v1/cases``: what a signed-in user may see, submitting a topic,
and a case's evaluation rates."""

from __future__ import annotations

from uuid import UUID

from flask import Response

from webapp.api import bp
from webapp.api.common import body, case_page, created, dump, query, resident_roles
from webapp.api.registry import operation
from webapp.api.schemas import (
    CaseRowSchema,
    CaseSchema,
    DoneSchema,
    EstateSchema,
    EvaluationSchema,
    page_schema,
)
from webapp.audit.schemas import CaseQuery
from webapp.common import scoped_case
from webapp.errors import not_found
from webapp.resident import actions as resident
from webapp.resident.schemas import TopicForm
from webapp.security import require_user, signed_in
from webapp.state import services


@operation(
    bp,
    "/estates",
    "GET",
    signed_in,
    summary="小区 · Estates the user may see",
    tag="cases",
    response=EstateSchema,
)
def list_estates() -> Response:
    user = require_user()
    estates = [e for e in services().reads.estates() if user.sees_estate(e.id)]
    return dump(EstateSchema(many=True), estates)


@operation(
    bp,
    "/cases",
    "GET",
    signed_in,
    summary="议题列表（按阶段） · Cases, by stage",
    tag="cases",
    query=CaseQuery,
    response=page_schema(CaseRowSchema),
    paged=True,
)
def list_cases() -> Response:
    return case_page(query(CaseQuery()))


@operation(
    bp,
    "/cases",
    "POST",
    resident_roles,
    summary="提出议题 · Submit a topic",
    tag="cases",
    body=TopicForm,
    response=DoneSchema,
    status=201,
)
def submit_topic() -> Response:
    return created(DoneSchema(), resident.submit_topic(require_user(), body(TopicForm())))


@operation(
    bp,
    "/cases/<uuid:case_id>",
    "GET",
    signed_in,
    summary="议题详情 · A case",
    tag="cases",
    response=CaseSchema,
)
def get_case(case_id: UUID) -> Response:
    return dump(CaseSchema(), scoped_case(case_id))


@operation(
    bp,
    "/cases/<uuid:case_id>/evaluation",
    "GET",
    signed_in,
    summary="评价情况 · Evaluation rates",
    tag="evaluation",
    response=EvaluationSchema,
)
def get_evaluation(case_id: UUID) -> Response:
    scoped_case(case_id)
    evaluation = services().reads.evaluation(case_id, require_user().person_id)
    if evaluation is None:
        raise not_found()
    return dump(EvaluationSchema(), evaluation)
