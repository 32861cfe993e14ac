from __future__ import annotations

from uuid import UUID

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from consult.case import STAGE_NAMES, Stage
from webapp.audit import bp
from webapp.audit.exports import event_rows, export, result_rows
from webapp.audit.schemas import CaseQuery, CompareQuery, ExportQuery
from webapp.common import scoped_case
from webapp.errors import Problem
from webapp.forms import load
from webapp.security import AUDITORS, require_user, roles
from webapp.state import services

TIMELINE_PAGE = 200


def _scope(estate: UUID | None) -> UUID | None:
    user = require_user()
    return user.estate_id or estate


@bp.get("/")
@roles(*AUDITORS, audited=True)
def home() -> ResponseReturnValue:
    q = load(CaseQuery(), request.args.to_dict())
    reads = services().reads
    stage = Stage(q["stage"]) if q.get("stage") else None
    page = reads.cases(_scope(q.get("estate")), stage, q["page"], 20)
    return render_template(
        "audit/home.html",
        page=page,
        stages=STAGE_NAMES,
        stage=stage,
        estates=reads.estates(),
        estate=q.get("estate"),
        chain=reads.chain_status(),
    )


@bp.get("/cases/<uuid:case_id>")
@roles(*AUDITORS, audited=True)
def timeline(case_id: UUID) -> ResponseReturnValue:
    case = scoped_case(case_id)
    entries = services().reads.timeline(case_id)
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(entries) // TIMELINE_PAGE))
    shown = entries[(page - 1) * TIMELINE_PAGE : page * TIMELINE_PAGE]
    return render_template(
        "audit/timeline.html",
        case=case,
        entries=shown,
        total=len(entries),
        page=page,
        pages=pages,
        streams=sorted({e.kind for e in entries}),
    )


@bp.get("/cases/<uuid:case_id>/compare")
@roles(*AUDITORS, audited=True)
def compare(case_id: UUID) -> ResponseReturnValue:
    case = scoped_case(case_id)
    reads = services().reads
    problem: Problem | None = None
    sides = None
    if "a" in request.args or "b" in request.args:
        try:
            q = load(CompareQuery(), request.args.to_dict())
        except Problem as p:
            problem = p
        else:
            sides = []
            for moment in (q["a"], q["b"]):
                state = reads.case_as_of(case_id, moment)
                tallies = []
                if state is not None:
                    for v in state.votes:
                        tallies.append(
                            (reads.vote(v.vote_id), reads.tally_as_of(v.vote_id, moment))
                        )
                sides.append((moment, state, tallies))
    return (
        render_template(
            "audit/compare.html",
            case=case,
            sides=sides,
            problem=problem,
            values=request.args,
            now=services().consult.now(),
        ),
        problem.status if problem else 200,
    )


@bp.get("/cases/<uuid:case_id>/events.<any(csv, json):fmt>")
@roles(*AUDITORS, audited=True)
def case_events(case_id: UUID, fmt: str) -> ResponseReturnValue:
    scoped_case(case_id)
    rows = list(event_rows([case_id]))
    return export(fmt, "events", rows, f"case-{case_id}-events", _me(), case_id=case_id)


@bp.get("/cases/<uuid:case_id>/results.<any(csv, json):fmt>")
@roles(*AUDITORS, audited=True)
def case_results(case_id: UUID, fmt: str) -> ResponseReturnValue:
    scoped_case(case_id)
    rows = result_rows(services().reads.results(case_id=case_id))
    return export(fmt, "results", rows, f"case-{case_id}-results", _me(), case_id=case_id)


@bp.get("/events.<any(csv, json):fmt>")
@roles(*AUDITORS, audited=True)
def all_events(fmt: str) -> ResponseReturnValue:
    q = load(ExportQuery(), request.args.to_dict())
    estate = _scope(q.get("estate"))
    case_ids = [c.id for c in services().reads.cases(estate, None, 1, 1_000_000).items]
    return export(fmt, "events", list(event_rows(case_ids)), "events", _me(), estate_id=estate)


@bp.get("/results.<any(csv, json):fmt>")
@roles(*AUDITORS, audited=True)
def all_results(fmt: str) -> ResponseReturnValue:
    q = load(ExportQuery(), request.args.to_dict())
    estate = _scope(q.get("estate"))
    rows = result_rows(services().reads.results(estate_id=estate))
    return export(fmt, "results", rows, "results", _me(), estate_id=estate)


def _me() -> str:
    return require_user().person_id


@bp.get("/views")
@roles(*AUDITORS, audited=True)
def verify_views() -> ResponseReturnValue:
    """Every view rebuilt from the events and compared with the live one (``projections.verify``):
    as long as a rebuild of every view (docs/audit.md)."""
    from projections.verify import check_views
    from webapp.wiring import RUNTIME

    runtime = current_app.extensions[RUNTIME]
    projector = runtime.projector
    check = None if projector is None else check_views(runtime.app, projector.store)
    return render_template("audit/views.html", check=check)


@bp.get("/access")
@roles(*AUDITORS, audited=True)
def access() -> ResponseReturnValue:
    return render_template("audit/access.html", entries=services().reads.access_log(300))
