"""The web application: residents, committees and street auditors, and the JSON API.

``create_app()`` builds it from the environment (``CONSULT_DATABASE_URL``, ``CONSULT_INSTANCE_PATH``,
``CONSULT_SECRET_KEY`` ...); tests pass their own application service and settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, redirect, request

from consult.application import ConsultationApp
from consult.config import Config, Runtime

PREF_COOKIE_AGE = 365 * 24 * 3600


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    config: Config | None = None,
    consult: ConsultationApp | None = None,
    reads: Any = None,
    environ: Mapping[str, str] | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    from webapp import errors, filters, i18n, security
    from webapp.accounts import AccountStore
    from webapp.db import IdConverter, engine_for
    from webapp.limits import rate_limiter_for
    from webapp.reads import make_reads
    from webapp.settings import WebSettings
    from webapp.signins import SignIns
    from webapp.state import EXTENSION, Services
    from webapp.tables import create_tables
    from webapp.voting_codes import VotingCodes
    from webapp.wiring import FreshReads, install, runtime_for

    config = config or Config.from_env(dict(environ) if environ is not None else None)
    settings = WebSettings.from_env(config, environ)
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
    # The composition root wires the projector and the audit chain (CONSULT_FOLLOWERS).
    runtime = runtime or runtime_for(config, consult)
    consult = runtime.app
    engine = engine_for(config.database_url)
    create_tables(engine)
    app.extensions[EXTENSION] = Services(
        consult=consult,
        reads=FreshReads(reads or make_reads(consult, config.database_url), runtime),
        accounts=AccountStore(engine, settings.password_method),
        codes=VotingCodes(engine),
        limiter=rate_limiter_for(engine, settings),
        settings=settings,
        engine=engine,
        signins=SignIns(engine),
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
