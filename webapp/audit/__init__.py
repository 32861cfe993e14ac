"""Street auditors (read-only): timelines, the state at two moments, exports; every read recorded."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from webapp.audit import views  # noqa: E402,F401
