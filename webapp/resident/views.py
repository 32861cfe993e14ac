from __future__ import annotations

from uuid import UUID

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from consult.case import STAGE_NAMES, TERMINAL, Stage
from consult.vote import VoteState
from webapp.addressees import elector_names, rooms
from webapp.commands import CaseCommand, add_pages
from webapp.common import attempt, form_page, page_arg, scoped_case, scoped_motion, scoped_vote
from webapp.errors import Problem
from webapp.i18n import _
from webapp.qr import public_url, qr_svg
from webapp.reads import CaseRow
from webapp.resident import actions, bp
from webapp.resident.commands import RESIDENT_COMMANDS
from webapp.resident.schemas import (
    PRESETS,
    MotionForm,
    SignForm,
    TopicForm,
    VoteForm,
)
from webapp.security import ELECTORS, RESIDENTS, public, require_user, roles, signed_in
from webapp.state import services

MAIN_PATH = (
    Stage.COLLECTING,
    Stage.CONFIRMED,
    Stage.NOTICE,
    Stage.DELIBERATION,
    Stage.VOTING,
    Stage.RESULT,
    Stage.IMPLEMENTATION,
    Stage.FEEDBACK,
    Stage.EVALUATION,
    Stage.ARCHIVED,
)


def grouped(rows: tuple[CaseRow, ...]) -> list[tuple[Stage, list[CaseRow]]]:
    order = list(Stage)
    groups: dict[Stage, list[CaseRow]] = {}
    for row in rows:
        groups.setdefault(row.stage, []).append(row)
    return sorted(groups.items(), key=lambda kv: (kv[0] in TERMINAL, order.index(kv[0])))


@bp.get("/")
@public
def home() -> ResponseReturnValue:
    from webapp.security import current_user

    user = current_user()
    if user is None:
        return render_template("resident/welcome.html")
    reads = services().reads
    page = reads.cases(user.estate_id, None, 1, 500)
    return render_template("resident/home.html", groups=grouped(page.items), total=page.total)


@bp.get("/cases")
@signed_in
def cases() -> ResponseReturnValue:
    user = require_user()
    stage_arg = request.args.get("stage") or None
    stage = Stage(stage_arg) if stage_arg in {s.value for s in Stage} else None
    page = services().reads.cases(user.estate_id, stage, page_arg(), 20)
    return render_template("resident/cases.html", page=page, stage=stage, stages=STAGE_NAMES)


def render_case(
    case_id: UUID, problem: Problem | None = None, active: str = "", status: int = 200
) -> ResponseReturnValue:
    user = require_user()
    reads = services().reads
    case = scoped_case(case_id)
    motion = reads.motion(case.motion_id) if case.motion_id else None
    heads = reads.motion_heads(case.motion_id, user.person_id) if case.motion_id else []
    votes = []
    for cv in case.votes:
        vote = reads.vote(cv.vote_id)
        votes.append(
            (vote, reads.tally(cv.vote_id), reads.electors_for(cv.vote_id, user.person_id))
        )
    evaluation = reads.evaluation(case.id, user.person_id)
    council = reads.council(case.estate_id)
    may_withdraw = (
        case.submitted_by == user.person_id
        and case.stage in actions.WITHDRAWABLE
        and not case.tabled
    )
    return (
        render_template(
            "resident/case.html",
            case=case,
            motion=motion,
            heads=heads,
            rooms=rooms(motion.estate_id, motion.roll_version) if motion and heads else {},
            votes=votes,
            evaluation=evaluation,
            council=council,
            may_withdraw=may_withdraw,
            main_path=MAIN_PATH,
            problem=problem,
            active=active,
            values=request.form if problem else {},
            now=services().consult.now(),
        ),
        status,
    )


@bp.get("/cases/<uuid:case_id>")
@signed_in
def case(case_id: UUID) -> ResponseReturnValue:
    return render_case(case_id)


def _after(
    case_id: UUID, problem: Problem | None, active: str, message: str
) -> ResponseReturnValue:
    if problem is not None:
        return render_case(case_id, problem, active, problem.status)
    flash(message, "success")
    return redirect(url_for("resident.case", case_id=case_id, _anchor=active))


def _respond(case_id: UUID, command: CaseCommand, problem: Problem | None) -> ResponseReturnValue:
    return _after(case_id, problem, command.name, str(command.done))


add_pages(bp, RESIDENT_COMMANDS, _respond)


@bp.post("/motions/<uuid:motion_id>/sign")
@roles(*RESIDENTS)
def sign(motion_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case_id = scoped_motion(motion_id).case_id
    result, problem = attempt(SignForm(), lambda d: actions.sign(user, motion_id, d))
    if result is not None and result.tabled:
        return _after(case_id, None, "motion", _("联署成功。联署已达到门槛，动议已自动列入议题。"))
    return _after(case_id, problem, "motion", _("联署成功。"))


@bp.post("/motions/<uuid:motion_id>/withdraw")
@roles(*RESIDENTS)
def withdraw_signature(motion_id: UUID) -> ResponseReturnValue:
    user = require_user()
    case_id = scoped_motion(motion_id).case_id
    _done, problem = attempt(SignForm(), lambda d: actions.withdraw_signature(user, motion_id, d))
    return _after(case_id, problem, "motion", _("已撤回联署。"))


@bp.route("/topics/new", methods=["GET", "POST"])
@roles(*RESIDENTS)
def new_topic() -> ResponseReturnValue:
    user = require_user()
    problem: Problem | None = None
    if request.method == "POST":
        done, problem = attempt(TopicForm(), lambda d: actions.submit_topic(user, d))
        if problem is None:
            flash(_("议题已提交，等待社区确定。"), "success")
            return redirect(url_for("resident.case", case_id=done.id))
    estates = services().reads.estates() if user.estate_id is None else []
    return form_page("resident/new_topic.html", problem, estates=estates)


@bp.route("/motions/new", methods=["GET", "POST"])
@roles(*RESIDENTS)
def new_motion() -> ResponseReturnValue:
    user = require_user()
    problem: Problem | None = None
    if request.method == "POST":
        opened, problem = attempt(MotionForm(), lambda d: actions.open_motion(user, d))
        if problem is None:
            flash(_("动议已发起，请邀请其他业主联署。"), "success")
            return redirect(url_for("resident.case", case_id=opened.case_id))
    estates = services().reads.estates() if user.estate_id is None else []
    return form_page("resident/new_motion.html", problem, presets=PRESETS, estates=estates)


def render_vote(
    vote_id: UUID, problem: Problem | None = None, status: int = 200
) -> ResponseReturnValue:
    user = require_user()
    reads = services().reads
    vote = scoped_vote(vote_id)
    case = reads.case(vote.case_id)
    electors = reads.electors_for(vote_id, user.person_id)
    tally = reads.tally(vote_id)
    accepting = vote.state == VoteState.OPEN and services().consult.now() < vote.closes_at
    return (
        render_template(
            "resident/vote.html",
            vote=vote,
            case=case,
            electors=electors,
            names=elector_names(vote_id)[1],
            tally=tally,
            problem=problem,
            values=request.form if problem else {},
            accepting=accepting,
        ),
        status,
    )


@bp.get("/votes/<uuid:vote_id>")
@signed_in
def vote(vote_id: UUID) -> ResponseReturnValue:
    return render_vote(vote_id)


@bp.post("/votes/<uuid:vote_id>/ballot")
@roles(*ELECTORS)
def cast(vote_id: UUID) -> ResponseReturnValue:
    user = require_user()
    receipt, problem = attempt(VoteForm(), lambda d: actions.cast(user, vote_id, d))
    if problem is not None:
        return render_vote(vote_id, problem, problem.status)
    flash(_("您的选票已计入。") if not receipt.changed else _("您的选票已更改。"), "success")
    return redirect(url_for("resident.receipt", vote_id=vote_id, elector=receipt.elector_id))


@bp.get("/votes/<uuid:vote_id>/receipt")
@signed_in
def receipt(vote_id: UUID) -> ResponseReturnValue:
    user = require_user()
    reads = services().reads
    vote = scoped_vote(vote_id)
    mine = {e.elector_id: e for e in reads.electors_for(vote_id, user.person_id)}
    elector = request.args.get("elector", "")
    option = mine.get(elector) or next(iter(mine.values()), None)
    if option is None or option.ballot is None:
        return redirect(url_for("resident.vote", vote_id=vote_id))
    return render_template(
        "resident/receipt.html",
        vote=vote,
        option=option,
        names=elector_names(vote_id)[1],
        tally=reads.tally(vote_id),
    )


@bp.get("/cases/<uuid:case_id>/notice")
@signed_in
def notice(case_id: UUID) -> ResponseReturnValue:
    case = scoped_case(case_id)
    if case.notice is None:
        raise Problem(404, "no_notice", _("该议题尚未发布公示。"))
    url = public_url(url_for("auth.landing", case_id=case.id))
    estate = services().reads.estate(case.estate_id)
    return render_template(
        "resident/notice_print.html", case=case, estate=estate, qr=qr_svg(url), url=url
    )


@bp.get("/votes/<uuid:vote_id>/tally")
@signed_in
def tally_fragment(vote_id: UUID) -> ResponseReturnValue:
    """The live figures alone, for the page's script to swap in."""
    scoped_vote(vote_id)
    return render_template("resident/tally_fragment.html", tally=services().reads.tally(vote_id))
