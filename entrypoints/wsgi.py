"""The WSGI entry point for gunicorn: ``gunicorn 'entrypoints.wsgi:create_app()'``.

Each worker builds the web application after the fork, from the environment, through the
bootstrap (``consult serve`` starts gunicorn with it; docs/scaling.md shows it under a supervisor
of your own).
"""

from __future__ import annotations

from flask import Flask

from entrypoints.bootstrap import build_web


def create_app() -> Flask:
    """The web application on the configured store, with its services (one per worker)."""
    return build_web()
