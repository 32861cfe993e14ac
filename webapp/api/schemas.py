"""What the API returns, as marshmallow schemas (the OpenAPI document is built from them)."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, fields

from consult.actors import Role

if TYPE_CHECKING:
    from consult.application import BallotReceipt


class FractionField(fields.Field):
    """An exact fraction as text ("2/3", "152/170")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "string", "example": "2/3"}, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(Fraction(value))


class PairField(fields.Field):
    """A text in both languages: ``{"zh": ..., "en": ...}``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "object"}, **kwargs)

    def _serialize(
        self, value: Any, attr: str | None, obj: Any, **kwargs: Any
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        zh, en = value
        return {
            "zh": zh if isinstance(zh, str) else list(zh),
            "en": en if isinstance(en, str) else list(en),
        }


class Out(Schema):
    pass


class Texts(Out):
    zh = fields.String()
    en = fields.String()


class ErrorBody(Out):
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    messages = fields.Nested(Texts)
    field_errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), required=True, data_key="fields"
    )


class ErrorSchema(Out):
    error = fields.Nested(ErrorBody, required=True)


class AccountSchema(Out):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    person_id = fields.String()
    roles = fields.Function(
        lambda a: [r.value for r in Role if r in a.roles],
        metadata={"type": "array", "items": {"type": "string", "enum": [r.value for r in Role]}},
    )
    estate_id = fields.UUID(allow_none=True)
    disabled = fields.Boolean()
    created_at = fields.DateTime(allow_none=True)


class IssuedSchema(Out):
    """An account and its temporary password (shown once)."""

    account = fields.Nested(AccountSchema)
    password = fields.String()


class DoneSchema(Out):
    id = fields.UUID(required=True)
    position = fields.Integer(required=True)


class SessionSchema(Out):
    signed_in = fields.Boolean(required=True)
    csrf_token = fields.String(required=True)
    person_id = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    estate_id = fields.UUID(allow_none=True)
    voting_code = fields.Boolean()


class EstateSchema(Out):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    owners_committee = fields.List(fields.String())
    acting = fields.Boolean()
    property_company = fields.String(allow_none=True)


class CaseRowSchema(Out):
    id = fields.UUID()
    estate_id = fields.UUID()
    title = fields.String()
    stage = fields.String()
    stage_name = PairField()
    channel = fields.String()
    submitted_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    motion_id = fields.UUID(allow_none=True)
    tabled = fields.Boolean()
    answer_due = fields.DateTime(allow_none=True)
    escalated = fields.Boolean()


class CaseVoteSchema(Out):
    vote_id = fields.UUID()
    item_id = fields.String()
    closed = fields.Boolean()
    passed = fields.Boolean(allow_none=True)


class CaseSchema(CaseRowSchema):
    description = fields.String()
    version = fields.Integer()
    supporters = fields.List(fields.String())
    route = fields.String(allow_none=True)
    participants = fields.List(fields.String())
    notice = fields.Dict(allow_none=True)
    earliest_start = fields.DateTime(allow_none=True)
    agenda = fields.List(fields.Dict())
    sessions = fields.List(fields.Dict())
    statements = fields.List(fields.Dict())
    opinion = fields.String(allow_none=True)
    votes = fields.List(fields.Nested(CaseVoteSchema))
    result = fields.Dict(allow_none=True)
    implementation = fields.Dict(allow_none=True)
    progress = fields.List(fields.Dict())
    feedback = fields.Dict(allow_none=True)
    evaluation_rounds = fields.Integer()
    evaluation_open = fields.Boolean()
    evaluation_outcome = fields.Dict(allow_none=True)
    exit_reason = fields.String(allow_none=True)


class CheckSchema(Out):
    key = fields.String()
    label = PairField()
    numerator = FractionField()
    denominator = FractionField()
    ratio = FractionField(allow_none=True)
    required = FractionField()
    required_label = fields.String()
    required_words = PairField()
    met = fields.Boolean()


class CountSchema(Out):
    heads = fields.Integer()
    area = fields.Decimal(as_string=True, allow_none=True)


class ChoiceCountSchema(CountSchema):
    choice = fields.String()
    label = PairField()


class TallyPartSchema(Out):
    by_choice = fields.List(fields.Nested(ChoiceCountSchema))
    not_voted = fields.Nested(CountSchema)
    total = fields.Nested(CountSchema)
    participating = fields.Nested(CountSchema)
    quorum = fields.List(fields.Nested(CheckSchema))
    quorum_met = fields.Boolean()
    passing = fields.List(fields.Nested(CheckSchema))
    passed = fields.Boolean()


class TallySchema(Out):
    vote_id = fields.UUID()
    final = fields.Boolean()
    rule_name = PairField()
    rule_source = PairField()
    options_text = PairField()
    raw = fields.Nested(TallyPartSchema)
    deemed = fields.Nested(TallyPartSchema, allow_none=True)
    passed = fields.Boolean()
    silent_majority = PairField()
    uses_area = fields.Boolean()


class VoteSchema(Out):
    id = fields.UUID()
    case_id = fields.UUID()
    estate_id = fields.UUID()
    item_id = fields.String()
    title = fields.String()
    state = fields.String()
    opened_at = fields.DateTime()
    closes_at = fields.DateTime()
    original_closes_at = fields.DateTime()
    extended = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    change_allowed = fields.Boolean()
    proxy_cap = fields.Integer()
    tellers = fields.List(fields.String())
    rule_set_id = fields.String()
    rule_name = PairField()
    rule_description = PairField()


class BallotSchema(Out):
    ballot_id = fields.UUID()
    vote_id = fields.UUID()
    elector_id = fields.String()
    choice = fields.String()
    choice_label = PairField()
    channel = fields.String()
    channel_label = PairField()
    receipt = fields.String()
    changes = fields.Integer()
    cast_at = fields.DateTime()


class ElectorSchema(Out):
    elector_id = fields.String()
    via = fields.String()
    units = fields.List(fields.String())
    area = fields.Decimal(as_string=True, allow_none=True)
    ballot = fields.Nested(BallotSchema, allow_none=True)


class ReceiptSchema(Out):
    ballot_id = fields.UUID()
    vote_id = fields.UUID()
    elector_id = fields.String()
    choice = fields.Function(lambda r: r.choice.value)
    channel = fields.String()
    receipt = fields.String()
    changed = fields.Boolean()
    position = fields.Integer()


def receipt_fields(r: BallotReceipt) -> dict[str, Any]:
    """What :class:`ReceiptSchema` dumps, built directly (the ballot's fast path; a test holds
    the two equal)."""
    return {
        "ballot_id": str(r.ballot_id),
        "vote_id": str(r.vote_id),
        "elector_id": r.elector_id,
        "choice": r.choice.value,
        "channel": r.channel,
        "receipt": r.receipt,
        "changed": r.changed,
        "position": r.position,
    }


class MotionSchema(Out):
    id = fields.UUID()
    case_id = fields.UUID()
    estate_id = fields.UUID()
    title = fields.String()
    state = fields.String()
    state_name = PairField()
    rule_name = PairField()
    rule_source = PairField()
    effect = PairField()
    basis = fields.String()
    pct = FractionField()
    withdrawable = fields.Boolean()
    answer_days = fields.Integer()
    opened_at = fields.DateTime()
    closes_at = fields.DateTime()
    tabled_at = fields.DateTime(allow_none=True)
    roll_version = fields.Integer()
    heads = fields.Nested(CheckSchema)
    area = fields.Nested(CheckSchema)
    reached = fields.Boolean()
    heads_needed = fields.Integer()
    heads_missing = fields.Integer()
    area_needed = fields.Decimal(as_string=True)
    area_missing = fields.Decimal(as_string=True)
    signed_heads = fields.Integer()
    signed_area = fields.Decimal(as_string=True)
    total_heads = fields.Integer()
    total_area = fields.Decimal(as_string=True)


class OpenedMotionSchema(Out):
    motion_id = fields.UUID()
    case_id = fields.UUID()


class SignatureSchema(Out):
    motion_id = fields.UUID()
    head_ids = fields.List(fields.String())
    tabled = fields.Boolean()
    position = fields.Integer()


class EvaluationSchema(Out):
    """A round's rates, each to be shown with its number of responses and its base."""

    case_id = fields.UUID()
    round_no = fields.Integer()
    eligible = fields.Integer(
        metadata={"description": "the base: heads who may rate (每项比率的基数：应评价户数)"}
    )
    respondents = fields.Integer(
        metadata={"description": "number of responses, the denominator of each rate (作答户数)"}
    )
    closes_at = fields.DateTime()
    closed = fields.Boolean()
    awareness = FractionField(allow_none=True)
    participation = FractionField(allow_none=True)
    satisfaction = FractionField(allow_none=True)
    response = FractionField(allow_none=True)
    rated_by_me = fields.Boolean()
    min_responses = fields.Integer(
        metadata={"description": "responses needed to decide on the rates (or every eligible head)"}
    )
    conclusive = fields.Boolean(
        metadata={"description": "enough responses: the rates may decide rectification"}
    )
    threshold = FractionField(allow_none=True)


class TimelineEntrySchema(Out):
    at = fields.DateTime()
    stream = fields.String(attribute="kind")
    stream_id = fields.UUID(attribute="aggregate_id")
    version = fields.Integer()
    event = fields.String()
    actor = fields.String()
    reason = fields.String()
    data = fields.Dict()


class ResultRowSchema(Out):
    case_id = fields.UUID()
    case_title = fields.String()
    estate_id = fields.UUID()
    vote_id = fields.UUID()
    item_id = fields.String()
    title = fields.String()
    state = fields.String()
    closed_at = fields.DateTime(allow_none=True)
    rule_set_id = fields.String()
    participating_heads = fields.Integer()
    participating_area = fields.Decimal(as_string=True, allow_none=True)
    yes_heads = fields.Integer()
    yes_area = fields.Decimal(as_string=True, allow_none=True)
    no_heads = fields.Integer()
    abstain_heads = fields.Integer()
    total_heads = fields.Integer()
    total_area = fields.Decimal(as_string=True, allow_none=True)
    quorum_met = fields.Boolean()
    passed = fields.Boolean()


class PaperEntrySchema(Out):
    elector_id = fields.String()
    sheet_no = fields.String()
    state = fields.String()
    first_teller = fields.String()


class CodeSchema(Out):
    head_id = fields.String()
    code = fields.String(attribute="printed")


class CodesSchema(Out):
    vote_id = fields.UUID()
    letter_url = fields.String()
    codes = fields.List(fields.Nested(CodeSchema))


class CompareSchema(Out):
    case_id = fields.UUID()
    a = fields.DateTime()
    b = fields.DateTime()
    case_a = fields.Nested(CaseSchema, allow_none=True)
    case_b = fields.Nested(CaseSchema, allow_none=True)
    tallies = fields.List(fields.Dict())


_PAGES: dict[type[Schema], type[Schema]] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    """``{"items": [...], "page", "per_page", "total", "pages"}`` (one class per item schema)."""
    if item not in _PAGES:
        _PAGES[item] = _page(item)
    return _PAGES[item]


def _page(item: type[Schema]) -> type[Schema]:
    return type(
        f"{item.__name__.removesuffix('Schema')}PageSchema",
        (Out,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
    )
