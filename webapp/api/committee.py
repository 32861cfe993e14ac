"""The committees' operations: the case commands the pages share, collecting topics, closing an
evaluation, opening, extending and closing votes, proxies, paper ballots and voting codes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, request
from marshmallow import fields

from webapp.api import bp
from webapp.api.common import body, committee_roles, created, dump, empty
from webapp.api.registry import operation
from webapp.api.schemas import (
    CodesSchema,
    DoneSchema,
    FractionField,
    Out,
    PaperEntrySchema,
    ReceiptSchema,
    TallySchema,
)
from webapp.commands import CaseCommand
from webapp.committee import actions as committee
from webapp.committee.commands import CASE_COMMANDS
from webapp.committee.schemas import (
    CloseForm,
    CodesForm,
    CollectForm,
    ExtendForm,
    OpenVoteForm,
    PaperConfirmForm,
    PaperForm,
    ProxyForm,
)
from webapp.common import scoped_vote
from webapp.resident.commands import RESIDENT_COMMANDS
from webapp.security import STAFF, TELLERS, require_user, roles
from webapp.state import services


class PositionSchema(Out):
    position = fields.Integer(required=True)


class EvaluationOutcomeSchema(Out):
    position = fields.Integer(required=True)
    reopened = fields.Boolean(required=True)
    threshold = fields.String(required=True)
    respondents = fields.Integer(required=True, attribute="rates.respondents")
    eligible = fields.Integer(required=True, attribute="rates.eligible")
    satisfaction = FractionField(allow_none=True, attribute="rates.satisfaction")
    min_responses = fields.Integer(required=True)
    conclusive = fields.Boolean(required=True)


class PaperConfirmedSchema(Out):
    counted = fields.Boolean(required=True)
    receipt = fields.Nested(ReceiptSchema, allow_none=True)


class VoteOpenedSchema(Out):
    id = fields.UUID(required=True)
    position = fields.Integer(required=True)
    codes = fields.Nested(CodesSchema, allow_none=True)


def _codes(vote_id: UUID, issued: list[Any]) -> dict[str, Any]:
    from flask import url_for

    return {
        "vote_id": vote_id,
        "letter_url": url_for("committee.vote", vote_id=vote_id),
        "codes": issued,
    }


def _case_command(command: CaseCommand) -> None:
    """``POST /cases/<id>/<api_path>``: the page's command, with the same form and access rule."""

    def view(case_id: UUID) -> Response:
        data = body(command.form()) if command.takes_fields else empty()
        return dump(DoneSchema(), command.action(require_user(), case_id, data), command.status)

    view.__name__ = command.api_endpoint
    operation(
        bp,
        f"/cases/<uuid:case_id>/{command.api_path}",
        "POST",
        command.access,
        summary=command.summary,
        tag=command.tag,
        body=command.form if command.takes_fields else None,
        response=DoneSchema,
        status=command.status,
    )(view)


for _command in (*RESIDENT_COMMANDS, *CASE_COMMANDS):
    if _command.api_path is not None:
        _case_command(_command)


@operation(
    bp,
    "/topics",
    "POST",
    committee_roles,
    summary="登记收集到的议题 · Collect a topic",
    tag="committee",
    body=CollectForm,
    response=DoneSchema,
    status=201,
)
def collect_topic() -> Response:
    return created(DoneSchema(), committee.collect_topic(require_user(), body(CollectForm())))


@operation(
    bp,
    "/cases/<uuid:case_id>/evaluation/close",
    "POST",
    committee_roles,
    summary="结束评价并公布 · Close the evaluation",
    tag="committee",
    response=EvaluationOutcomeSchema,
)
def close_evaluation(case_id: UUID) -> Response:
    outcome = committee.close_evaluation(require_user(), case_id, empty())
    return dump(EvaluationOutcomeSchema(), outcome)


@operation(
    bp,
    "/cases/<uuid:case_id>/votes",
    "POST",
    committee_roles,
    summary="开始表决（可同时生成表决码） · Open a vote",
    tag="committee",
    body=OpenVoteForm,
    response=VoteOpenedSchema,
    status=201,
)
def open_vote(case_id: UUID) -> Response:
    done, issued = committee.open_vote(require_user(), case_id, body(OpenVoteForm()))
    codes = _codes(done.id, issued) if issued is not None else None
    return created(VoteOpenedSchema(), {"id": done.id, "position": done.position, "codes": codes})


@operation(
    bp,
    "/votes/<uuid:vote_id>/extension",
    "POST",
    committee_roles,
    summary="延期一次 · Extend once",
    tag="committee",
    body=ExtendForm,
    response=PositionSchema,
)
def extend_vote(vote_id: UUID) -> Response:
    return dump(
        PositionSchema(),
        {"position": committee.extend_vote(require_user(), vote_id, body(ExtendForm()))},
    )


@operation(
    bp,
    "/votes/<uuid:vote_id>/close",
    "POST",
    committee_roles,
    summary="结束表决并计票 · Close and count",
    tag="committee",
    body=CloseForm,
    response=TallySchema,
)
def close_vote(vote_id: UUID) -> Response:
    data = body(CloseForm()) if request.data else {"reason": ""}
    committee.close_vote(require_user(), vote_id, data)
    return dump(TallySchema(), services().reads.tally(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/proxies",
    "POST",
    committee_roles,
    summary="登记书面委托 · Register a written proxy",
    tag="committee",
    body=ProxyForm,
    response=PositionSchema,
    status=201,
)
def register_proxy(vote_id: UUID) -> Response:
    return created(
        PositionSchema(),
        {"position": committee.register_proxy(require_user(), vote_id, body(ProxyForm()))},
    )


@operation(
    bp,
    "/votes/<uuid:vote_id>/paper-ballots",
    "GET",
    roles(*STAFF),
    summary="纸质选票录入情况 · Paper ballot entries",
    tag="committee",
    response=PaperEntrySchema,
)
def list_paper(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(PaperEntrySchema(many=True), services().reads.paper_entries(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/paper-ballots",
    "POST",
    roles(*TELLERS),
    summary="纸质选票第一次录入 · First entry of a paper ballot",
    tag="committee",
    body=PaperForm,
    response=DoneSchema,
    status=201,
)
def enter_paper(vote_id: UUID) -> Response:
    return created(DoneSchema(), committee.enter_paper(require_user(), vote_id, body(PaperForm())))


@operation(
    bp,
    "/votes/<uuid:vote_id>/paper-ballots/confirmation",
    "POST",
    roles(*TELLERS),
    summary="纸质选票第二次录入（复核） · Second entry of a paper ballot",
    tag="committee",
    body=PaperConfirmForm,
    response=PaperConfirmedSchema,
)
def confirm_paper(vote_id: UUID) -> Response:
    receipt = committee.confirm_paper(require_user(), vote_id, body(PaperConfirmForm()))
    return dump(PaperConfirmedSchema(), {"counted": receipt is not None, "receipt": receipt})


@operation(
    bp,
    "/votes/<uuid:vote_id>/codes",
    "POST",
    committee_roles,
    summary="生成表决码（只显示一次） · Issue voting codes",
    tag="committee",
    body=CodesForm,
    response=CodesSchema,
    status=201,
)
def issue_codes(vote_id: UUID) -> Response:
    issued = committee.issue_codes(
        require_user(), vote_id, body(CodesForm()) if request.data else {}
    )
    return created(CodesSchema(), _codes(vote_id, issued))
