"""API operations: each is a Flask route, an access rule and the schemas the OpenAPI document shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint
from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    path: str  # Flask rule, e.g. /cases/<uuid:case_id>
    method: str
    endpoint: str
    summary: str
    tag: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    paged: bool
    produces: str  # "application/json", "text/csv"

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [
            (name, conv or "string")
            for conv, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", self.path)
        ]


OPERATIONS: list[Operation] = []


def operation(
    bp: Blueprint,
    path: str,
    method: str,
    access: Callable[[F], F],
    *,
    summary: str,
    tag: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    paged: bool = False,
    produces: str = "application/json",
) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view = access(view)
        bp.add_url_rule(path, view.__name__, view, methods=[method])
        OPERATIONS.append(
            Operation(
                path,
                method.lower(),
                view.__name__,
                summary,
                tag,
                body,
                query,
                response,
                status,
                paged,
                produces,
            )
        )
        return view

    return decorate
