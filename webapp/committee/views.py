from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from consult.actors import Role
from consult.case import SESSION_KINDS, Stage
from consult.settings import NOTICE_ROUTES, ROUTE_NAMES
from webapp.accounts import IssuedCode
from webapp.committee import actions, bp
from webapp.committee.schemas import (
    PAPER_CHOICES,
    PARTIES,
    REFER_TO,
    TOPIC_CHANNELS,
    AssignForm,
    CloseForm,
    CodesForm,
    CollectForm,
    ConfirmForm,
    EvaluationForm,
    ExtendForm,
    FeedbackForm,
    NoticeForm,
    OpenVoteForm,
    OpinionForm,
    PaperConfirmForm,
    PaperForm,
    ProgressForm,
    ProxyForm,
    ReasonForm,
    ReferForm,
    ResultForm,
    SessionForm,
)
from webapp.common import attempt, scoped_case, scoped_vote
from webapp.errors import Problem
from webapp.forms import Form
from webapp.i18n import _
from webapp.qr import public_url, qr_svg
from webapp.reads import CaseRow
from webapp.resident import actions as resident_actions
from webapp.resident.schemas import WithdrawForm
from webapp.resident.views import grouped
from webapp.security import COMMITTEE, IMPLEMENTERS, STAFF, TELLERS, require_user, roles
from webapp.state import services

CONFIRMERS = (Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
CONVENERS = tuple(COMMITTEE)


def _needs_action(row: CaseRow) -> bool:
    return row.stage in (Stage.COLLECTING, Stage.CONFIRMED, Stage.RESULT, Stage.FEEDBACK) or (
        row.tabled and row.stage == Stage.COLLECTING
    )


@bp.get("/")
@roles(*STAFF)
def home() -> ResponseReturnValue:
    user = require_user()
    reads = services().reads
    page = reads.cases(user.estate_id, None, 1, 1000)
    tabled = [r for r in page.items if r.tabled and r.stage == Stage.COLLECTING]
    return render_template(
        "committee/home.html", groups=grouped(page.items), tabled=tabled, total=page.total
    )


@bp.route("/topics/new", methods=["GET", "POST"])
@roles(*COMMITTEE)
def collect() -> ResponseReturnValue:
    user = require_user()
    problem: Problem | None = None
    if request.method == "POST":
        done, problem = attempt(CollectForm(), lambda d: actions.collect_topic(user, d))
        if problem is None:
            flash(_("议题已登记。"), "success")
            return redirect(url_for("committee.case", case_id=done.id))
    estates = services().reads.estates() if user.estate_id is None else []
    return (
        render_template(
            "committee/collect.html",
            problem=problem,
            values=request.form,
            channels=TOPIC_CHANNELS,
            estates=estates,
        ),
        problem.status if problem else 200,
    )


def render_case(
    case_id: UUID, problem: Problem | None = None, active: str = "", status: int = 200
) -> ResponseReturnValue:
    reads = services().reads
    case = scoped_case(case_id)
    votes = [(reads.vote(v.vote_id), reads.tally(v.vote_id)) for v in case.votes]
    motion = reads.motion(case.motion_id) if case.motion_id else None
    return (
        render_template(
            "committee/case.html",
            case=case,
            votes=votes,
            motion=motion,
            evaluation=reads.evaluation(case.id),
            problem=problem,
            active=active,
            values=request.form if problem else {},
            routes=ROUTE_NAMES,
            refer_to=REFER_TO,
            now=services().consult.now(),
            voted_items={v.item_id for v in case.votes},
        ),
        status,
    )


@bp.get("/cases/<uuid:case_id>")
@roles(*STAFF)
def case(case_id: UUID) -> ResponseReturnValue:
    return render_case(case_id)


def _case_action(
    case_id: UUID, schema: Schema, action: Callable[..., Any], active: str, message: str
) -> ResponseReturnValue:
    user = require_user()
    scoped_case(case_id)
    _done, problem = attempt(schema, lambda d: action(user, case_id, d))
    if problem is not None:
        return render_case(case_id, problem, active, problem.status)
    flash(message, "success")
    return redirect(url_for("committee.case", case_id=case_id))


@bp.post("/cases/<uuid:case_id>/confirm")
@roles(*CONFIRMERS)
def confirm(case_id: UUID) -> ResponseReturnValue:
    return _case_action(case_id, ConfirmForm(), actions.confirm, "confirm", _("议题已确定。"))


@bp.post("/cases/<uuid:case_id>/reject")
@roles(*CONFIRMERS)
def reject(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, ReasonForm(), actions.reject, "reject", _("已不予立项，理由已公开。")
    )


@bp.post("/cases/<uuid:case_id>/refer")
@roles(*CONFIRMERS)
def refer(case_id: UUID) -> ResponseReturnValue:
    return _case_action(case_id, ReferForm(), actions.refer, "refer", _("议题已转交。"))


@bp.post("/cases/<uuid:case_id>/withdraw")
@roles(*COMMITTEE)
def withdraw(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, WithdrawForm(), resident_actions.withdraw, "withdraw", _("议题已撤回。")
    )


@bp.post("/cases/<uuid:case_id>/opinion")
@roles(*CONVENERS)
def opinion(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, OpinionForm(), actions.form_opinion, "opinion", _("协商意见已记录。")
    )


@bp.post("/cases/<uuid:case_id>/result")
@roles(*CONVENERS)
def result(case_id: UUID) -> ResponseReturnValue:
    return _case_action(case_id, ResultForm(), actions.publish_result, "result", _("结果已公示。"))


@bp.post("/cases/<uuid:case_id>/implementation")
@roles(*CONVENERS)
def assign(case_id: UUID) -> ResponseReturnValue:
    return _case_action(case_id, AssignForm(), actions.assign, "assign", _("已安排实施。"))


@bp.post("/cases/<uuid:case_id>/progress")
@roles(*(COMMITTEE | IMPLEMENTERS))
def progress(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, ProgressForm(), actions.report_progress, "progress", _("进度已报告。")
    )


@bp.post("/cases/<uuid:case_id>/feedback")
@roles(*CONVENERS)
def feedback(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, FeedbackForm(), actions.give_feedback, "feedback", _("反馈已发布。")
    )


@bp.post("/cases/<uuid:case_id>/evaluation")
@roles(*CONVENERS)
def open_evaluation(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, EvaluationForm(), actions.open_evaluation, "open_evaluation", _("评价已开始。")
    )


@bp.post("/cases/<uuid:case_id>/evaluation/close")
@roles(*CONVENERS)
def close_evaluation(case_id: UUID) -> ResponseReturnValue:
    return _case_action(
        case_id, Form(), actions.close_evaluation, "close_evaluation", _("评价已结束，结果已公布。")
    )


@bp.post("/cases/<uuid:case_id>/archive")
@roles(*CONVENERS)
def archive(case_id: UUID) -> ResponseReturnValue:
    return _case_action(case_id, Form(), actions.archive, "archive", _("议题已归档。"))


@bp.route("/cases/<uuid:case_id>/notice", methods=["GET", "POST"])
@roles(*CONVENERS)
def notice(case_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case = scoped_case(case_id)
    problem: Problem | None = None
    if request.method == "POST":
        _done, problem = attempt(NoticeForm(), lambda d: actions.publish_notice(user, case_id, d))
        if problem is None:
            flash(_("公示已发布。请打印张贴。"), "success")
            return redirect(url_for("resident.notice", case_id=case_id))
    estate = services().consult.estate(case.estate_id)
    days = estate.settings.notice_period(case.route) if case.route else None
    earliest = services().consult.now() + timedelta(days=days or 0)
    return (
        render_template(
            "committee/notice_form.html",
            case=case,
            problem=problem,
            values=request.form,
            days=days,
            earliest=earliest,
            source=NOTICE_ROUTES.get(case.route or "", (0, "", ""))[1:],
        ),
        problem.status if problem else 200,
    )


@bp.route("/cases/<uuid:case_id>/sessions/new", methods=["GET", "POST"])
@roles(*CONVENERS)
def new_session(case_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case = scoped_case(case_id)
    problem: Problem | None = None
    if request.method == "POST":
        _done, problem = attempt(SessionForm(), lambda d: actions.record_session(user, case_id, d))
        if problem is None:
            flash(_("协商会议已记录。"), "success")
            return redirect(url_for("committee.case", case_id=case_id))
    council = services().reads.council(case.estate_id)
    return (
        render_template(
            "committee/session_form.html",
            case=case,
            council=council,
            kinds=SESSION_KINDS,
            parties=PARTIES,
            problem=problem,
            values=request.form,
        ),
        problem.status if problem else 200,
    )


@bp.route("/cases/<uuid:case_id>/votes/new", methods=["GET", "POST"])
@roles(*CONVENERS)
def new_vote(case_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case = scoped_case(case_id)
    problem: Problem | None = None
    if request.method == "POST":
        opened, problem = attempt(OpenVoteForm(), lambda d: actions.open_vote(user, case_id, d))
        if problem is None:
            done, codes = opened
            flash(_("表决已开始。"), "success")
            if codes:
                return letters(done.id, codes)
            return redirect(url_for("committee.vote", vote_id=done.id))
    voted = {v.item_id for v in case.votes}
    items = [i for i in case.agenda if i["item_id"] not in voted]
    return (
        render_template(
            "committee/vote_form.html", case=case, items=items, problem=problem, values=request.form
        ),
        problem.status if problem else 200,
    )


def render_vote(
    vote_id: UUID, problem: Problem | None = None, active: str = "", status: int = 200
) -> ResponseReturnValue:
    reads = services().reads
    vote = scoped_vote(vote_id)
    return (
        render_template(
            "committee/vote.html",
            vote=vote,
            case=reads.case(vote.case_id),
            tally=reads.tally(vote_id),
            papers=reads.paper_entries(vote_id),
            codes=services().codes.stats(vote_id),
            problem=problem,
            active=active,
            values=request.form if problem else {},
            paper_choices=PAPER_CHOICES,
        ),
        status,
    )


@bp.get("/votes/<uuid:vote_id>")
@roles(*STAFF)
def vote(vote_id: UUID) -> ResponseReturnValue:
    return render_vote(vote_id)


def _vote_action(
    vote_id: UUID, schema: Schema, action: Callable[..., Any], active: str, message: str
) -> ResponseReturnValue:
    user = require_user()
    scoped_vote(vote_id)
    outcome, problem = attempt(schema, lambda d: action(user, vote_id, d))
    if problem is not None:
        return render_vote(vote_id, problem, active, problem.status)
    if active == "paper_confirm" and outcome is None:
        flash(
            _("两次录入不一致，已标记为待重新录入。请核对纸质选票后由第一位计票人重新录入。"),
            "error",
        )
    else:
        flash(message, "success")
    return redirect(url_for("committee.vote", vote_id=vote_id))


@bp.post("/votes/<uuid:vote_id>/extend")
@roles(*CONVENERS)
def extend(vote_id: UUID) -> ResponseReturnValue:
    return _vote_action(vote_id, ExtendForm(), actions.extend_vote, "extend", _("表决已延期。"))


@bp.post("/votes/<uuid:vote_id>/close")
@roles(*CONVENERS)
def close(vote_id: UUID) -> ResponseReturnValue:
    return _vote_action(
        vote_id, CloseForm(), actions.close_vote, "close", _("表决已结束，结果已计算。")
    )


@bp.post("/votes/<uuid:vote_id>/proxies")
@roles(*CONVENERS)
def proxy(vote_id: UUID) -> ResponseReturnValue:
    return _vote_action(
        vote_id, ProxyForm(), actions.register_proxy, "proxy", _("书面委托已登记。")
    )


@bp.post("/votes/<uuid:vote_id>/paper")
@roles(*TELLERS)
def paper(vote_id: UUID) -> ResponseReturnValue:
    return _vote_action(
        vote_id, PaperForm(), actions.enter_paper, "paper", _("已录入，等待另一位计票人复核。")
    )


@bp.post("/votes/<uuid:vote_id>/paper/confirm")
@roles(*TELLERS)
def paper_confirm(vote_id: UUID) -> ResponseReturnValue:
    return _vote_action(
        vote_id,
        PaperConfirmForm(),
        actions.confirm_paper,
        "paper_confirm",
        _("复核一致，选票已计入。"),
    )


@bp.post("/votes/<uuid:vote_id>/codes")
@roles(*CONVENERS)
def codes(vote_id: UUID) -> ResponseReturnValue:
    user = require_user()
    scoped_vote(vote_id)
    issued, problem = attempt(CodesForm(), lambda d: actions.issue_codes(user, vote_id, d))
    if problem is not None:
        return render_vote(vote_id, problem, "codes", problem.status)
    return letters(vote_id, issued)


def letters(vote_id: UUID, issued: list[IssuedCode]) -> ResponseReturnValue:
    """The notice letters: one per head, with its code in clear (shown this once) and the QR code."""
    reads = services().reads
    vote = reads.vote(vote_id)
    case = reads.case(vote.case_id)
    estate = reads.estate(vote.estate_id)
    url = public_url(url_for("auth.landing", case_id=case.id))
    units = {e.elector_id: e.units for e in reads.vote_electors(vote_id)}
    code_url = public_url(url_for("auth.code", case=case.id))
    return render_template(
        "committee/letters.html",
        vote=vote,
        case=case,
        estate=estate,
        issued=issued,
        units=units,
        qr=qr_svg(url),
        url=url,
        code_url=code_url,
    )
