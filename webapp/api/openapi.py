"""The OpenAPI 3 document, built from the registered operations and their marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from webapp.api.registry import OPERATIONS, Operation
from webapp.api.schemas import ErrorSchema, FractionField, PairField
from webapp.db import MAX_ID
from webapp.security import CSRF_HEADER

SESSION_COOKIE = "consult_session"

DESCRIPTION = """城乡社区协商平台的 JSON 接口，与网页提供相同的操作。
JSON API of the community consultation platform: the same operations as the web pages.

- 登录：先 `GET /session` 取得 `csrf_token`，再 `POST /session`；之后所有修改请求须带 `X-CSRF-Token` 头。
  Sign in: `GET /session` for a `csrf_token`, then `POST /session`; every later change sends `X-CSRF-Token`.
- 错误 Errors: `{"error": {"status", "code", "message", "messages", "fields": {field: [messages]}}}`.
- 分页 Pagination: `?page=1&per_page=20`; lists return `{"items", "page", "per_page", "total", "pages"}`.
- 比例为精确分数 Shares are exact fractions ("2/3"); 面积为精确的十进制数字符串 areas are exact
  decimals in strings ("123.45", format `decimal`).
- 请求体只能包含文档列出的字段，其他字段会被拒绝（422）。Bodies may hold only the documented fields
  (`additionalProperties: false`); any other is refused (422). 查询参数不能为空值 A query parameter
  given must not be empty.
"""


DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


def _custom_fields(
    self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    label = field.metadata.get("label")
    if label is not None and "description" not in ret:
        out["description"] = str(label)
    if isinstance(field, fields.Decimal) and field.as_string:
        # Areas are exact: a decimal in a string ("123.45"), never a binary floating-point number.
        out.update(type="string", format="decimal", pattern=DECIMAL_PATTERN)
    if isinstance(field, FractionField):
        out.update(type="string", pattern=r"^-?\d+(/\d+)?$")
    if isinstance(field, PairField):
        out.update(type="object", additionalProperties=True)
    if isinstance(field, fields.Dict) and "additionalProperties" not in ret:
        out["additionalProperties"] = True
    return out


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, converter in op.path_params:
        schema = {
            "uuid": {"type": "string", "format": "uuid"},
            "int": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
        }.get(converter, {"type": "string", "minLength": 1})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    return params


def _responses(op: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if op.response is not None:
        many = op.response.__name__ in ("EstateSchema", "ElectorSchema", "PaperEntrySchema")
        schema: Any = {"type": "array", "items": op.response} if many else op.response
        ok["content"] = {op.produces: {"schema": schema}}
    elif op.produces != "application/json":
        ok["content"] = {op.produces: {"schema": {"type": "string"}}}
    error = {"description": "错误 Error", "content": {"application/json": {"schema": "Error"}}}
    return {str(op.status): ok, "default": error}


def build_spec(server_url: str = "/api/v1") -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="城乡社区协商 API · Community consultation API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": DESCRIPTION},
        servers=[{"url": server_url}],
    )
    assert plugin.converter is not None
    plugin.converter.add_attribute_function(_custom_fields)
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
    )
    spec.components.security_scheme("csrf", {"type": "apiKey", "in": "header", "name": CSRF_HEADER})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _parameters(op),
            "responses": _responses(op),
        }
        if op.method in ("post", "put", "patch", "delete"):
            operation["security"] = [{"session": [], "csrf": []}]
        else:
            operation["security"] = [{"session": []}, {}]
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": op.body}},
            }
        paths.setdefault(op.openapi_path, {})[op.method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    for operations in document["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                schema = param["schema"]
                if param["in"] == "query" and schema.get("type") == "string":
                    schema["minLength"] = max(1, schema.get("minLength", 0))
                    if schema.get("default") == "":
                        del schema["default"]  # not given is not the same as given empty
    return document


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if issubclass(cls, Schema) and getattr(schema, "partial", False):
        name += "Partial"
    return name
