"""``/api/v1/audit``: the auditors' reads (every one of them is recorded): cases, full
timelines, state at two moments, event exports and results."""

from __future__ import annotations

from uuid import UUID

from flask import Response

from webapp.api import bp
from webapp.api.common import auditor_roles, case_page, dump, dump_page, estate_of, paged, query
from webapp.api.registry import operation
from webapp.api.schemas import (
    CaseRowSchema,
    CompareSchema,
    ResultRowSchema,
    TallySchema,
    TimelineEntrySchema,
    page_schema,
)
from webapp.audit.exports import EVENT_COLUMNS, csv_response, event_rows
from webapp.audit.schemas import CaseQuery, CompareQuery
from webapp.common import scoped_case
from webapp.forms import PageQuery
from webapp.state import services


@operation(
    bp,
    "/audit/cases",
    "GET",
    auditor_roles,
    summary="全部议题 · Every case",
    tag="audit",
    query=CaseQuery,
    response=page_schema(CaseRowSchema),
    paged=True,
)
def audit_cases() -> Response:
    return case_page(query(CaseQuery()))


@operation(
    bp,
    "/audit/cases/<uuid:case_id>/timeline",
    "GET",
    auditor_roles,
    summary="完整时间线（操作人与理由） · Full timeline",
    tag="audit",
    query=PageQuery,
    response=page_schema(TimelineEntrySchema),
    paged=True,
)
def audit_timeline(case_id: UUID) -> Response:
    scoped_case(case_id)
    q = query(PageQuery())
    return dump_page(TimelineEntrySchema, paged(services().reads.timeline(case_id), q))


@operation(
    bp,
    "/audit/cases/<uuid:case_id>/compare",
    "GET",
    auditor_roles,
    summary="两个时刻的状态与计票对比 · State and tally at two moments",
    tag="audit",
    query=CompareQuery,
    response=CompareSchema,
)
def audit_compare(case_id: UUID) -> Response:
    scoped_case(case_id)
    q = query(CompareQuery())
    reads = services().reads
    case_a = reads.case_as_of(case_id, q["a"])
    case_b = reads.case_as_of(case_id, q["b"])
    tallies = []
    latest = case_b or case_a
    for v in latest.votes if latest is not None else ():
        a = reads.tally_as_of(v.vote_id, q["a"])
        b = reads.tally_as_of(v.vote_id, q["b"])
        tallies.append(
            {
                "vote_id": str(v.vote_id),
                "a": TallySchema().dump(a) if a else None,
                "b": TallySchema().dump(b) if b else None,
            }
        )
    return dump(
        CompareSchema(),
        {
            "case_id": case_id,
            "a": q["a"],
            "b": q["b"],
            "case_a": case_a,
            "case_b": case_b,
            "tallies": tallies,
        },
    )


@operation(
    bp,
    "/audit/cases/<uuid:case_id>/events.csv",
    "GET",
    auditor_roles,
    summary="导出事件（CSV） · Export events as CSV",
    tag="audit",
    produces="text/csv",
)
def audit_events_csv(case_id: UUID) -> Response:
    scoped_case(case_id)
    return csv_response(event_rows([case_id]), EVENT_COLUMNS, f"case-{case_id}-events.csv")


@operation(
    bp,
    "/audit/results",
    "GET",
    auditor_roles,
    summary="表决结果 · Vote results",
    tag="audit",
    query=CaseQuery,
    response=page_schema(ResultRowSchema),
    paged=True,
)
def audit_results() -> Response:
    q = query(CaseQuery())
    return dump_page(ResultRowSchema, paged(services().reads.results(estate_id=estate_of(q)), q))
