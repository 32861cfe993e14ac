"""Helpers every blueprint uses: loading what the current user may see, read-your-writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from uuid import UUID

from flask import g, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from consult.errors import ConsultError, NotFoundError
from webapp.errors import Problem, from_domain, not_found
from webapp.forms import load_form
from webapp.reads import CaseDetail, MotionView, VoteView
from webapp.security import current_grant, current_user
from webapp.state import services


def remember(position: int) -> None:
    """After a command: the next pages wait for the read side to reach this position (kept in the
    ``consult_pos`` cookie when the response goes out, see :mod:`webapp.positions`)."""
    if position and int(position) > g.get("remembered", 0):
        g.remembered = int(position)


class Stored(Protocol):
    """What a command returns: where its last event is in the log."""

    @property
    def position(self) -> int: ...


S = TypeVar("S", bound=Stored)


def recorded(result: S) -> S:
    """Remember a command's log position (read-your-writes) and hand its result on."""
    remember(result.position)
    return result


def catch_up() -> None:
    from webapp.wiring import held_position

    position = max(held_position(), g.get("remembered", 0))
    if position > 0:
        services().reads.wait(position)


def _visible(estate_id: UUID, case_id: UUID | None = None) -> bool:
    user = current_user()
    if user is not None:
        return user.sees_estate(estate_id)
    grant = current_grant()
    return grant is not None and case_id is not None and grant.case_id == case_id


def scoped_case(case_id: UUID) -> CaseDetail:
    """The case, if the current user may see it; otherwise "not found" (never "forbidden")."""
    try:
        case = services().reads.case(case_id)
    except NotFoundError:
        raise not_found() from None
    if not _visible(case.estate_id, case.id):
        raise not_found()
    return case


def scoped_vote(vote_id: UUID) -> VoteView:
    try:
        vote = services().reads.vote(vote_id)
    except NotFoundError:
        raise not_found() from None
    if not _visible(vote.estate_id, vote.case_id):
        raise not_found()
    return vote


def scoped_motion(motion_id: UUID) -> MotionView:
    try:
        motion = services().reads.motion(motion_id)
    except NotFoundError:
        raise not_found() from None
    if not _visible(motion.estate_id, motion.case_id):
        raise not_found()
    return motion


def page_arg(name: str = "page") -> int:
    try:
        return max(1, min(int(request.args.get(name, "1")), 100_000))
    except ValueError:
        return 1


def user_estate() -> UUID | None:
    user = current_user()
    return user.estate_id if user is not None else None


def form_page(template: str, problem: Problem | None, **context: Any) -> ResponseReturnValue:
    """A page with a form: as first shown, or again with the problem and what was typed."""
    return (
        render_template(template, problem=problem, values=request.form, **context),
        problem.status if problem else 200,
        problem.headers if problem else {},
    )


def attempt(schema: Schema, action: Callable[[dict[str, Any]], Any]) -> tuple[Any, Problem | None]:
    """Validate the posted form and run the action; a refusal comes back as a Problem."""
    try:
        return action(load_form(schema, request.form)), None
    except Problem as problem:
        return None, problem
    except ConsultError as error:
        return None, from_domain(error)
