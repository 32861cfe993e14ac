from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from consult.case import SESSION_KINDS, Stage
from consult.clock import minute_up
from consult.settings import NOTICE_ROUTES, ROUTE_NAMES
from webapp.addressees import elector_names
from webapp.commands import CaseCommand, add_pages
from webapp.committee import actions, bp
from webapp.committee.commands import BY_NAME, CASE_COMMANDS
from webapp.committee.schemas import (
    PAPER_CHOICES,
    PARTIES,
    REFER_TO,
    TOPIC_CHANNELS,
    CloseForm,
    CodesForm,
    CollectForm,
    ExtendForm,
    NoticeForm,
    OpenVoteForm,
    PaperConfirmForm,
    PaperForm,
    ProxyForm,
    SessionForm,
)
from webapp.common import attempt, form_page, scoped_case, scoped_vote
from webapp.errors import Problem
from webapp.i18n import _
from webapp.qr import public_url, qr_svg
from webapp.resident.views import grouped
from webapp.security import COMMITTEE, STAFF, TELLERS, require_user, roles
from webapp.state import local_zone, services
from webapp.voting_codes import IssuedCode

CONVENERS = tuple(COMMITTEE)


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
    return form_page("committee/collect.html", problem, channels=TOPIC_CHANNELS, estates=estates)


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


def _respond(case_id: UUID, command: CaseCommand, problem: Problem | None) -> ResponseReturnValue:
    if problem is not None:
        return render_case(case_id, problem, command.name, problem.status)
    flash(str(command.done), "success")
    return redirect(url_for("committee.case", case_id=case_id))


add_pages(bp, CASE_COMMANDS, _respond)


#: The notice form's default meeting time lies this far beyond the earliest allowed, so that it is
#: still valid however long the form takes to fill in.
NOTICE_MARGIN = timedelta(days=1)


def _full_hour_after(moment: datetime) -> datetime:
    """The first full hour (in the platform's zone) at or after ``moment``."""
    local = moment.astimezone(local_zone())
    hour = local.replace(minute=0, second=0, microsecond=0)
    return hour if hour == local else hour + timedelta(hours=1)


@bp.route("/cases/<uuid:case_id>/notice", methods=["GET", "POST"])
@roles(*CONVENERS)
def notice(case_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case = scoped_case(case_id)
    problem: Problem | None = None
    if request.method == "POST":
        _done, problem = attempt(NoticeForm(), lambda d: actions.publish_notice(user, case_id, d))
        if problem is None:
            flash(str(BY_NAME["notice"].done), "success")
            return redirect(url_for("resident.notice", case_id=case_id))
    estate = services().consult.estate(case.estate_id)
    days = estate.settings.notice_period(case.route) if case.route else None
    earliest = minute_up(services().consult.now() + timedelta(days=days or 0))
    return form_page(
        "committee/notice_form.html",
        problem,
        case=case,
        days=days,
        earliest=earliest,
        suggested=_full_hour_after(earliest + NOTICE_MARGIN),
        source=NOTICE_ROUTES.get(case.route or "", (0, "", ""))[1:],
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
            flash(str(BY_NAME["new_session"].done), "success")
            return redirect(url_for("committee.case", case_id=case_id))
    council = services().reads.council(case.estate_id)
    return form_page(
        "committee/session_form.html",
        problem,
        case=case,
        council=council,
        kinds=SESSION_KINDS,
        parties=PARTIES,
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
    return form_page("committee/vote_form.html", problem, case=case, items=items)


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
            names=elector_names(vote_id)[1],
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
    salutation, names = elector_names(vote_id)
    code_url = public_url(url_for("auth.code", case=case.id))
    return render_template(
        "committee/letters.html",
        vote=vote,
        case=case,
        estate=estate,
        issued=issued,
        salutation=salutation,
        names=names,
        qr=qr_svg(url),
        url=url,
        code_url=code_url,
    )
