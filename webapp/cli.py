"""``consult serve``: the web application on the configured store (the embedded SQLite default)."""

from __future__ import annotations

import ipaddress

import click
from werkzeug.serving import make_server

from consult.config import Config, build_app


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
def serve(host: str, port: int) -> None:
    """启动网页应用 · Serve the web application (residents, committees, auditors, /api/v1)."""
    from webapp import create_app

    config = Config.from_env()
    consult = build_app(config.database_url)
    _keep_audit_chain(consult, config)
    app = create_app(config=config, consult=consult)
    if not _loopback(host) and app.config["SESSION_COOKIE_SECURE"]:
        click.echo(
            "注意：会话 Cookie 仅通过 HTTPS 发送，请在 TLS 代理之后提供服务（或设 CONSULT_COOKIE_SECURE=0）。\n"
            "Note: session cookies are sent over HTTPS only; serve behind a TLS proxy (or set CONSULT_COOKIE_SECURE=0).",
            err=True,
        )
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"城乡社区协商平台已启动 · Serving on http://{shown}:{port}/  (Ctrl+C 停止 · to stop)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _keep_audit_chain(consult: object, config: Config) -> None:
    """The embedded default keeps the tamper-evident chain after every command, where installed."""
    try:
        from consult.audit import attach_configured
    except ImportError:
        return
    attach_configured(consult, config)
