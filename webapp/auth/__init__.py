"""Signing in with an account or a voting code, signing out, language and large type."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import views  # noqa: E402,F401
