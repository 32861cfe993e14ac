"""``/api/v1``: every operation of the pages as JSON, one module per area, all on the ``api``
blueprint. Bodies are validated strictly (unknown fields are refused); every error is
``{"error": {...}}`` with field-level messages (see :mod:`webapp.api.common`).

The areas register in the order below, which is the order of the OpenAPI document."""

from __future__ import annotations

from importlib import import_module

from flask import Response, jsonify

from webapp.api import bp
from webapp.api.registry import operation
from webapp.security import public

AREAS = ("session", "cases", "motions", "votes", "committee", "accounts", "audit")

for _area in AREAS:
    import_module(f"webapp.api.{_area}")


@operation(bp, "/openapi.json", "GET", public, summary="本文档 · This OpenAPI document", tag="meta")
def openapi_document() -> Response:
    from webapp.api.openapi import build_spec

    return jsonify(build_spec())
