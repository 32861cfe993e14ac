"""One error format for pages and the API.

Every refusal becomes a :class:`Problem`: an HTTP status, a stable code, a message in the request's
language (with both languages where the domain gives them) and field-level messages, each of which
names the field and says why. The API returns ``{"error": problem}``; pages show the same content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import HTTPException

from consult import errors as de
from webapp.filters import when
from webapp.i18n import _, lang
from webapp.limits import RateLimited

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[de.ConsultError], int] = {
    de.ValidationError: 422,
    de.SettingError: 422,
    de.RollValidationError: 422,
    de.ProxyError: 422,
    de.PaperBallotError: 422,
    de.NotOnRollError: 422,
    de.NotAMemberError: 403,
    de.PermissionDeniedError: 403,
    de.NotFoundError: 404,
}


@dataclass
class Problem(Exception):
    status: int
    code: str
    message: str
    messages: dict[str, str] | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "fields": self.fields,
        }
        if self.messages:
            body["messages"] = self.messages
        return body

    def for_field(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def unauthenticated() -> Problem:
    return Problem(401, "unauthenticated", _("请先登录。"))


def forbidden() -> Problem:
    return Problem(403, "forbidden", _("您没有权限访问此页面或执行此操作。"))


def not_found() -> Problem:
    return Problem(404, "not_found", _("找不到您要的内容。"))


def csrf_failed() -> Problem:
    return Problem(
        400,
        "csrf",
        _("表单已过期或来源无法验证，请刷新页面后重试。"),
        fields={"csrf_token": [_("安全校验码无效或缺失")]},
    )


def no_session() -> Problem:
    """An API write without a session (so without a CSRF token to check): unauthenticated."""
    problem = csrf_failed()
    return Problem(401, "no_session", problem.message, fields=problem.fields)


def rate_limited(retry_after: int) -> Problem:
    minutes = max(1, (retry_after + 59) // 60)
    return Problem(
        429,
        "rate_limited",
        _("尝试次数过多，请%(minutes)s分钟后再试。", minutes=minutes),
        headers={"Retry-After": str(retry_after)},
    )


def form_field(domain_field: str | None) -> str:
    """A domain field name as a form field name: ``agenda[0].title`` → ``agenda-0-title``."""
    if not domain_field:
        return ""
    name = re.sub(r"\[(\d+)\]\.?", r"-\1-", domain_field).replace(".", "-")
    return name.rstrip("-")


def from_domain(error: de.ConsultError) -> Problem:
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(error, cls)), 409)
    if status == 422 and error.field == "actor":
        status = 403  # not what was sent but who sent it (not on the roll, say): forbidden
    message = error.message(lang(), when)
    fields: dict[str, list[str]] = {}
    name = form_field(error.field)
    if name:
        fields[name] = [message]
    if isinstance(error, de.RollValidationError):
        for p in error.problems:
            fields.setdefault(f"line-{p.line}", []).append(p.message(lang()))
    return Problem(
        status,
        error.code,
        message,
        messages={"zh": error.message("zh", when), "en": error.message("en", when)},
        fields=fields,
    )


def from_schema(error: SchemaError, labels: Mapping[str, str] | None = None) -> Problem:
    """Marshmallow's nested messages, flattened to form names, each prefixed with its field's label."""
    fields: dict[str, list[str]] = {}
    _flatten(error.messages, "", fields)
    labelled: dict[str, list[str]] = {}
    sep = "：" if lang() == "zh" else ": "
    for name, messages in fields.items():
        label = (
            (labels or {}).get(name) or (labels or {}).get(re.sub(r"-\d+-", "-*-", name)) or name
        )
        labelled[name] = [f"{label}{sep}{m}" for m in messages]
    first = next(iter(labelled.values()), [""])[0]
    return Problem(
        422,
        "invalid",
        _("提交的内容有误，请按提示修改：%(first)s", first=first)
        if first
        else _("提交的内容有误。"),
        fields=labelled,
    )


def _shown(key: Any) -> str:
    """A field's name as an error may echo it: what is not printable (a lone surrogate, a control
    character) escaped, at most 100 characters; the empty name quoted."""
    text = str(key)
    if not text:
        return '""'
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[:100])
    return shown + ("…" if len(text) > 100 else "")


def _flatten(messages: Any, prefix: str, out: dict[str, list[str]]) -> None:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = _shown(key) if not prefix else f"{prefix}-{_shown(key)}"
            if key == "_schema":
                name = prefix or "_schema"
            _flatten(value, name, out)
    elif isinstance(messages, list | tuple):
        if not any(isinstance(m, Mapping | list | tuple) for m in messages):
            out.setdefault(prefix or "_schema", []).extend(str(m) for m in messages)
        else:
            for i, m in enumerate(messages):
                _flatten(m, f"{prefix}-{i}", out)
    else:
        out.setdefault(prefix or "_schema", []).append(str(messages))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def problem_response(problem: Problem) -> Response:
    if wants_json():
        response = jsonify({"error": problem.as_dict()})
    else:
        response = Response(
            render_template("errors/problem.html", problem=problem), mimetype="text/html"
        )
    response.status_code = problem.status
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def from_http(error: HTTPException) -> Problem:
    status = error.code or 500
    if status == 404:
        return not_found()
    if status == 405:
        allowed = getattr(error, "valid_methods", None) or []
        return Problem(
            405,
            "method_not_allowed",
            _("不支持此请求方法。"),
            headers={"Allow": ", ".join(allowed)} if allowed else {},
        )
    if status == 413:
        return Problem(413, "too_large", _("提交的内容过大。"))
    if status == 415:
        return Problem(
            415,
            "unsupported_media_type",
            _("请以 JSON 格式提交（Content-Type: application/json）。"),
        )
    if status == 400:
        return Problem(400, "bad_request", _("请求格式有误。"))
    return Problem(status, "http_error", _("请求未能完成（%(status)s）。", status=status))


def is_store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the store cannot be reached now (refused, overloaded, locked).

    A programming error that a driver also reports as "operational" (SQLite's "no such table")
    stays a 500: only connection failures, pool exhaustion and SQLite's lock timeouts count.
    """
    import sqlite3

    import psycopg
    import psycopg_pool
    import sqlalchemy.exc

    seen: BaseException | None = error
    while seen is not None:  # eventsourcing and SQLAlchemy wrap the driver's error
        if isinstance(seen, sqlite3.OperationalError):
            text = str(seen).lower()
            return any(w in text for w in ("locked", "busy", "unable to open", "disk i/o"))
        if isinstance(
            seen,
            psycopg.OperationalError
            | psycopg.InterfaceError
            | psycopg_pool.PoolTimeout
            | sqlalchemy.exc.TimeoutError,
        ):
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else (seen.__cause__ or seen.__context__)
    return False


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(problem: Problem) -> Response:
        return problem_response(problem)

    @app.errorhandler(RateLimited)
    def _limited(error: RateLimited) -> Response:
        return problem_response(rate_limited(error.retry_after))

    @app.errorhandler(de.ConsultError)
    def _domain(error: de.ConsultError) -> Response:
        return problem_response(from_domain(error))

    @app.errorhandler(SchemaError)
    def _schema(error: SchemaError) -> Response:
        return problem_response(from_schema(error))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return problem_response(from_http(error))

    @app.errorhandler(Exception)
    def _internal(error: Exception) -> Response:
        if is_store_unavailable(error):
            # The database refused a connection or is overloaded: say so, and when to retry.
            logger.warning("store unavailable on %s %s: %s", request.method, request.path, error)
            return problem_response(
                Problem(
                    503,
                    "store_unavailable",
                    _("系统繁忙，数据库暂时无法访问，操作可能未完成。请稍后刷新查看，再重试。"),
                    headers={"Retry-After": "5"},
                )
            )
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            Problem(500, "internal", _("服务器内部错误，请稍后再试。操作可能未完成。"))
        )
