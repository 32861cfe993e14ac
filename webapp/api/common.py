"""What every operation of ``/api/v1`` shares: the role rules, reading a JSON body or a query
string with its schema (strictly: unknown fields are refused), and answering with a schema."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, jsonify, request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from consult.case import Stage
from webapp.api.schemas import CaseRowSchema
from webapp.errors import Problem, from_schema
from webapp.forms import Form, labels, load
from webapp.i18n import lazy_gettext as _l
from webapp.reads import Page
from webapp.security import AUDITORS, COMMITTEE, ELECTORS, RESIDENTS, require_user, roles
from webapp.state import services

committee_roles = roles(*COMMITTEE)
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


def estate_of(q: dict[str, Any]) -> UUID | None:
    """The estate a query reads: the user's own, or (for users of every estate) the one asked for."""
    return require_user().estate_id or q.get("estate")


def case_page(q: dict[str, Any]) -> Response:
    """A page of the cases of :func:`estate_of` the query, of the stage it names (or every stage)."""
    stage = Stage(q["stage"]) if q.get("stage") else None
    return dump_page(
        CaseRowSchema, services().reads.cases(estate_of(q), stage, q["page"], q["per_page"])
    )


def paged(items: list[Any], q: dict[str, Any]) -> Page[Any]:
    start = (q["page"] - 1) * q["per_page"]
    return Page(tuple(items[start : start + q["per_page"]]), q["page"], q["per_page"], len(items))


def empty() -> dict[str, Any]:
    """An operation without fields: no body, or an empty JSON object."""
    if not request.get_data(cache=True):
        return {}
    return load(Form(), json_object(), strict=True)


def created(schema: Schema, obj: Any) -> Response:
    """The answer to an operation that made something: 201 with it."""
    return dump(schema, obj, 201)
