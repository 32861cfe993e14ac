"""``/api/v1``: every operation of the pages as JSON. Bodies are validated strictly (unknown fields
are refused); every error is ``{"error": {...}}`` with field-level messages."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, jsonify, request
from marshmallow import Schema, fields
from marshmallow import ValidationError as SchemaError

from consult.case import Stage
from webapp.api import bp
from webapp.api.registry import operation
from webapp.api.schemas import (
    AccountSchema,
    BallotSchema,
    CaseRowSchema,
    CaseSchema,
    CodesSchema,
    CompareSchema,
    DoneSchema,
    ElectorSchema,
    EstateSchema,
    EvaluationSchema,
    FractionField,
    IssuedSchema,
    MotionSchema,
    OpenedMotionSchema,
    Out,
    PaperEntrySchema,
    ReceiptSchema,
    ResultRowSchema,
    SessionSchema,
    SignatureSchema,
    TallySchema,
    TimelineEntrySchema,
    VoteSchema,
    page_schema,
)
from webapp.audit.exports import EVENT_COLUMNS, csv_response, event_rows
from webapp.audit.schemas import CaseQuery, CompareQuery
from webapp.auth import actions as auth_actions
from webapp.auth.schemas import BallotForm, CodeForm, PasswordChange, SignInForm
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
from webapp.common import remember, scoped_case, scoped_motion, scoped_vote
from webapp.errors import Problem, from_schema, not_found
from webapp.forms import Form, PageQuery, labels, load
from webapp.i18n import lazy_gettext as _l
from webapp.manage import actions as manage
from webapp.manage.schemas import AccountForm, AccountQuery
from webapp.reads import Page
from webapp.resident import actions as resident
from webapp.resident.commands import RESIDENT_COMMANDS
from webapp.resident.schemas import (
    MotionForm,
    SignForm,
    TopicForm,
    VoteForm,
)
from webapp.security import (
    AUDITORS,
    COMMITTEE,
    ELECTORS,
    RESIDENTS,
    STAFF,
    TELLERS,
    code_holder,
    csrf_token,
    current_grant,
    current_user,
    own_account,
    public,
    require_grant,
    require_user,
    roles,
    sign_out,
    sign_out_everywhere,
    signed_in,
)
from webapp.state import services

CONFIRMERS = ("party-organisation", "residents-committee")
committee_roles = roles(*COMMITTEE)
confirmer_roles = roles(*(r for r in COMMITTEE if r.value in CONFIRMERS))
auditor_roles = roles(*AUDITORS, audited=True)
resident_roles = roles(*RESIDENTS)
elector_roles = roles(*ELECTORS)


def body(schema: Schema) -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise Problem(
            415,
            "unsupported_media_type",
            str(_l("请以 JSON 格式提交（Content-Type: application/json）。")),
        )
    return load(schema, json_object(), strict=True)


def json_object() -> dict[str, Any]:
    """The request's JSON object; every body of the API is read here. Malformed JSON, anything
    but an object, or nesting too deep for the parser (a RecursionError, which
    ``get_json(silent=True)`` lets through) is a 400 with the standard error body."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise Problem(
            400,
            "bad_json",
            str(_l("请求内容须为 JSON 对象。")),
            fields={"_schema": [str(_l("请求内容须为 JSON 对象。"))]},
        )
    return data


def query(schema: Schema) -> dict[str, Any]:
    """The query string's parameters; one given empty (``?estate=``) is refused, not ignored."""
    args = request.args.to_dict()
    blank = {
        k: [str(_l("不能为空值"))] for k, v in args.items() if k in schema.fields and not v.strip()
    }
    if blank:
        raise from_schema(SchemaError(blank), labels(schema))
    return load(schema, args, strict=False)


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


def paged(items: list[Any], q: dict[str, Any]) -> Page[Any]:
    start = (q["page"] - 1) * q["per_page"]
    return Page(tuple(items[start : start + q["per_page"]]), q["page"], q["per_page"], len(items))


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


# --- session ------------------------------------------------------------------------------------


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


@operation(
    bp,
    "/session",
    "GET",
    public,
    summary="当前会话与 CSRF 令牌 · Current session and CSRF token",
    tag="session",
    response=SessionSchema,
)
def get_session() -> Response:
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/session",
    "POST",
    public,
    summary="用账号登录 · Sign in",
    tag="session",
    body=SignInForm,
    response=SessionSchema,
)
def create_session() -> Response:
    data = body(SignInForm())
    auth_actions.signin(data, data["username"])
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/session",
    "DELETE",
    public,
    summary="退出 · Sign out",
    tag="session",
    response=SessionSchema,
)
def delete_session() -> Response:
    sign_out()
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/sessions",
    "DELETE",
    own_account,
    summary="在所有设备上退出（本账号的全部会话失效） · Sign out everywhere (every session ends)",
    tag="session",
    response=SessionSchema,
)
def delete_sessions() -> Response:
    sign_out_everywhere(require_user())
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/session/password",
    "POST",
    own_account,
    summary="修改自己的密码（其他会话失效） · Change my password (other sessions end)",
    tag="session",
    body=PasswordChange,
    response=SessionSchema,
)
def change_password() -> Response:
    auth_actions.change_password(require_user(), body(PasswordChange()))
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/session/code",
    "POST",
    public,
    summary="用表决码登录（授权一张选票） · Sign in with a voting code",
    tag="session",
    body=CodeForm,
    response=SessionSchema,
)
def create_code_session() -> Response:
    auth_actions.redeem(body(CodeForm()))
    return dump(SessionSchema(), _session())


@operation(
    bp,
    "/session/code/ballot",
    "POST",
    code_holder,
    summary="用表决码投票 · Cast the code's single ballot",
    tag="votes",
    body=BallotForm,
    response=ReceiptSchema,
    status=201,
)
def cast_code_ballot() -> Response:
    receipt = auth_actions.cast_with_code(require_grant(), body(BallotForm()))
    return dump(ReceiptSchema(), receipt, 201)


# --- residents ----------------------------------------------------------------------------------


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
    user = require_user()
    q = query(CaseQuery())
    estate = user.estate_id or q.get("estate")
    stage = Stage(q["stage"]) if q.get("stage") else None
    return dump_page(CaseRowSchema, services().reads.cases(estate, stage, q["page"], q["per_page"]))


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
    return dump(DoneSchema(), resident.submit_topic(require_user(), body(TopicForm())), 201)


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
    return dump(OpenedMotionSchema(), resident.open_motion(require_user(), body(MotionForm())), 201)


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
    return dump(SignatureSchema(), resident.sign(require_user(), motion_id, body(SignForm())), 201)


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


@operation(
    bp,
    "/votes/<uuid:vote_id>",
    "GET",
    signed_in,
    summary="表决 · A vote",
    tag="votes",
    response=VoteSchema,
)
def get_vote(vote_id: UUID) -> Response:
    return dump(VoteSchema(), scoped_vote(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/tally",
    "GET",
    signed_in,
    summary="计票进度（人数与面积，对照每个门槛） · Live tally",
    tag="votes",
    response=TallySchema,
)
def vote_tally(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(TallySchema(), services().reads.tally(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/electors",
    "GET",
    signed_in,
    summary="我可以投票的业主及选票 · My electors and ballots",
    tag="votes",
    response=ElectorSchema,
)
def my_electors(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(
        ElectorSchema(many=True), services().reads.electors_for(vote_id, require_user().person_id)
    )


@operation(
    bp,
    "/votes/<uuid:vote_id>/ballots",
    "POST",
    elector_roles,
    summary="投票或改票 · Cast or change a ballot",
    tag="votes",
    body=VoteForm,
    response=ReceiptSchema,
    status=201,
)
def cast_ballot(vote_id: UUID) -> Response:
    # The busiest request: the vote is read (and scoped to the user's estate) once, by the cast;
    # the schemas are built once (loading and dumping do not change them).
    user = require_user()
    data = body(_VOTE_FORM)
    receipt = services().consult.cast_ballot(
        vote_id, data["choice"], user.actor, data.get("elector_id") or None, estate=user.estate_id
    )
    remember(receipt.position)
    return dump(_RECEIPT, receipt, 201)


_VOTE_FORM = VoteForm()
_RECEIPT = ReceiptSchema()


@operation(
    bp,
    "/votes/<uuid:vote_id>/ballots/<string:elector_id>",
    "GET",
    signed_in,
    summary="我的选票 · One of my ballots",
    tag="votes",
    response=BallotSchema,
)
def get_ballot(vote_id: UUID, elector_id: str) -> Response:
    scoped_vote(vote_id)
    mine = {
        e.elector_id: e for e in services().reads.electors_for(vote_id, require_user().person_id)
    }
    option = mine.get(elector_id)
    if option is None or option.ballot is None:
        raise not_found()
    return dump(BallotSchema(), option.ballot)


# --- committees ---------------------------------------------------------------------------------


def _case_command(command: CaseCommand) -> None:
    """``POST /cases/<id>/<api_path>``: the page's command, with the same form and access rule."""

    def view(case_id: UUID) -> Response:
        data = body(command.form()) if command.takes_fields else _empty()
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


def _empty() -> dict[str, Any]:
    """An operation without fields: no body, or an empty JSON object."""
    if not request.get_data(cache=True):
        return {}
    return load(Form(), json_object(), strict=True)


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
    return dump(DoneSchema(), committee.collect_topic(require_user(), body(CollectForm())), 201)


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
    outcome = committee.close_evaluation(require_user(), case_id, _empty())
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
    return dump(VoteOpenedSchema(), {"id": done.id, "position": done.position, "codes": codes}, 201)


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
    return dump(
        PositionSchema(),
        {"position": committee.register_proxy(require_user(), vote_id, body(ProxyForm()))},
        201,
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
    return dump(
        DoneSchema(), committee.enter_paper(require_user(), vote_id, body(PaperForm())), 201
    )


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
    return dump(CodesSchema(), _codes(vote_id, issued), 201)


# --- accounts (operators: every estate; committees: their own) --------------------------------


@operation(
    bp,
    "/accounts",
    "GET",
    committee_roles,
    summary="我可以管理的账号 · Accounts I manage",
    tag="accounts",
    query=AccountQuery,
    response=page_schema(AccountSchema),
    paged=True,
)
def list_accounts() -> Response:
    return dump_page(AccountSchema, manage.listing(require_user(), query(AccountQuery())))


@operation(
    bp,
    "/accounts",
    "POST",
    committee_roles,
    summary="开设账号（返回只显示一次的临时密码） · Create an account (its temporary password, once)",
    tag="accounts",
    body=AccountForm,
    response=IssuedSchema,
    status=201,
)
def create_account() -> Response:
    return dump(IssuedSchema(), manage.create(require_user(), body(AccountForm())), 201)


@operation(
    bp,
    "/accounts/<int:account_id>/password",
    "POST",
    committee_roles,
    summary="重置密码（返回只显示一次的临时密码） · Reset a password (a temporary one, once)",
    tag="accounts",
    response=IssuedSchema,
)
def reset_password(account_id: int) -> Response:
    _empty()
    return dump(IssuedSchema(), manage.reset_password(require_user(), account_id))


@operation(
    bp,
    "/accounts/<int:account_id>/disable",
    "POST",
    committee_roles,
    summary="停用账号（会话随即失效） · Disable an account (its sessions end)",
    tag="accounts",
    response=AccountSchema,
)
def disable_account(account_id: int) -> Response:
    _empty()
    return dump(AccountSchema(), manage.set_disabled(require_user(), account_id, True))


@operation(
    bp,
    "/accounts/<int:account_id>/enable",
    "POST",
    committee_roles,
    summary="启用账号 · Enable an account",
    tag="accounts",
    response=AccountSchema,
)
def enable_account(account_id: int) -> Response:
    _empty()
    return dump(AccountSchema(), manage.set_disabled(require_user(), account_id, False))


# --- auditors (every read is recorded) -------------------------------------------------------------


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
    user = require_user()
    q = query(CaseQuery())
    stage = Stage(q["stage"]) if q.get("stage") else None
    return dump_page(
        CaseRowSchema,
        services().reads.cases(user.estate_id or q.get("estate"), stage, q["page"], q["per_page"]),
    )


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
    user = require_user()
    q = query(CaseQuery())
    return dump_page(
        ResultRowSchema,
        paged(services().reads.results(estate_id=user.estate_id or q.get("estate")), q),
    )


@operation(bp, "/openapi.json", "GET", public, summary="本文档 · This OpenAPI document", tag="meta")
def openapi_document() -> Response:
    from webapp.api.openapi import build_spec

    return jsonify(build_spec())
