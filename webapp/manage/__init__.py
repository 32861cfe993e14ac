"""Accounts, managed by operators (every estate) and by committees (their own estate)."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from webapp.manage import views  # noqa: E402,F401
