"""The web application: residents, committees and street auditors, and the JSON API.

``create_app(services)`` builds the Flask application around the services the bootstrap built
(:func:`entrypoints.bootstrap.build_web`, from ``CONSULT_DATABASE_URL``, ``CONSULT_SECRET_KEY``
...); it builds no service itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, redirect, request

from webapp.services import WebServices

PREF_COOKIE_AGE = 365 * 24 * 3600


def create_app(built: WebServices, test_config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask application on the services ``built`` (``test_config`` overrides Flask's
    settings)."""
    from webapp import errors, filters, i18n, security
    from webapp.db import IdConverter
    from webapp.state import EXTENSION, Services
    from webapp.wiring import FreshReads, install

    config, settings, runtime = built.config, built.settings, built.runtime
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="consult_session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        PREFERRED_URL_SCHEME="https" if settings.cookie_secure else "http",
    )
    if test_config:
        app.config.update(test_config)
    app.url_map.converters["int"] = IdConverter
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = Services(
        consult=runtime.app,
        reads=FreshReads(built.reads, runtime),
        accounts=built.accounts,
        codes=built.codes,
        limiter=built.limiter,
        settings=settings,
        engine=built.engine,
        signins=built.signins,
    )

    i18n.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    security.init_app(app)

    from webapp.api import bp as api_bp
    from webapp.audit import bp as audit_bp
    from webapp.auth import bp as auth_bp
    from webapp.committee import bp as committee_bp
    from webapp.manage import bp as manage_bp
    from webapp.resident import bp as resident_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(resident_bp)
    app.register_blueprint(committee_bp, url_prefix="/committee")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(manage_bp, url_prefix="/manage")
    app.register_blueprint(api_bp, url_prefix="/api/v1")

    install(app, runtime)  # read-your-writes
    if settings.trust_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        from webapp.i18n import html_lang
        from webapp.security import AUDITORS, COMMITTEE, STAFF

        user = g.get("user")
        return {
            "user": user,
            "grant": g.get("grant"),
            "large_type": request.cookies.get("display") == "large",
            "html_lang": html_lang(),
            "is_staff": user is not None and user.has(STAFF),
            "is_auditor": user is not None and user.has(AUDITORS),
            "is_manager": user is not None and user.has(COMMITTEE),  # manages accounts
        }

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return redirect("/static/favicon.svg", code=301)  # type: ignore[return-value]

    favicon.access_rule = security.Rule("public")  # type: ignore[attr-defined]
    return app
