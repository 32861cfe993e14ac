"""Committees: collect and confirm topics, notices, deliberation, votes, results, implementation."""

from flask import Blueprint

bp = Blueprint("committee", __name__)

from webapp.committee import views  # noqa: E402,F401
