"""The JSON API under ``/api/v1``: the same operations as the pages, documented by OpenAPI."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import views  # noqa: E402,F401
