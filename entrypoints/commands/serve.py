"""``consult serve``: the web application on the configured store.

- One process (the embedded default, ``bash scripts/demo.sh``): werkzeug's threaded server; the
  views and the audit chain are updated in-process after every command.
- ``--workers N`` (N > 1) or ``CONSULT_FOLLOWERS=external``: gunicorn with N worker processes of
  ``--threads`` threads each over the one database, and the followers (``consult follow``) in a
  process of their own, started and supervised here (restarted if it dies) unless
  ``--no-followers``. See docs/scaling.md, "Processes".
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

import click
from werkzeug.serving import make_server

from consult.config import EMBEDDED, EXTERNAL, Config, followers_mode
from consult.errors import ConsultError
from entrypoints.bootstrap import build_runtime, build_web

DEFAULT_THREADS = 4
#: A follower that dies sooner than this after its start is restarted after a growing pause.
STEADY_SECONDS = 10.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return int(text) if text else default
    except ValueError:
        raise click.BadParameter(f"{name}={text!r} is not a whole number") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Web worker processes (gunicorn when more than 1). [default: CONSULT_WEB_WORKERS or 1]",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help=f"Threads per worker process (gunicorn). [default: CONSULT_WEB_THREADS or {DEFAULT_THREADS}]",
)
@click.option(
    "--followers/--no-followers",
    "start_followers",
    default=True,
    help="With external followers: start and supervise 'consult follow' (default) or not.",
)
def serve(
    host: str, port: int, workers: int | None, threads: int | None, start_followers: bool
) -> None:
    """启动网页应用 · Serve the web application (residents, committees, auditors, /api/v1)."""
    try:
        config = Config.from_env()
        workers = workers or _env_int("CONSULT_WEB_WORKERS", 1)
        threads = threads or _env_int("CONSULT_WEB_THREADS", DEFAULT_THREADS)
        chosen = os.environ.get("CONSULT_FOLLOWERS")
        mode = followers_mode(chosen) if chosen else (EXTERNAL if workers > 1 else EMBEDDED)
        if workers == 1 and mode == EMBEDDED:
            check_port(host, port)
            _serve_one_process(config, host, port)
            return
        if config.backend == "memory":
            raise click.UsageError(
                "内存存储只能由一个进程提供服务：请设置 CONSULT_DATABASE_URL（SQLite 或 PostgreSQL）。\n"
                "An in-memory store can be served by one process only: set CONSULT_DATABASE_URL "
                "(SQLite or PostgreSQL)."
            )
        check_port(host, port)
        code = _serve_gunicorn(config, host, port, workers, threads, mode, start_followers)
    except ConsultError as e:
        raise ServeError(f"{e.message('zh')}\n{e.message('en')}") from None
    sys.exit(code)


class ServeError(click.ClickException):
    """Why the server cannot start (both languages), with the exit code of bad input."""

    exit_code = 2


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on (or one this process may not take) before
    anything starts, rather than announcing a server that then fails to bind. The test binds as
    the servers do (SO_REUSEADDR: a port left in TIME_WAIT is free)."""
    where = _address(host, port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise ServeError(
            f"无法在 {host} 上监听：该地址无法解析（--host）。\n"
            f"Cannot listen on {host}: the address does not resolve (--host)."
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                zh = f"端口 {port} 已被占用（{where}）：另一个程序（也许是另一个 consult serve）正在使用它，请换一个端口（--port）或先停止该程序"
                en = f"port {port} is already in use ({where}): another program (perhaps another consult serve) listens there; choose another port (--port) or stop it first"
            elif e.errno == errno.EACCES:
                zh = f"无权使用端口 {port}（{where}）：1024 以下的端口需要管理员权限，请换一个端口（--port）"
                en = f"not allowed to use port {port} ({where}): ports below 1024 need administrator rights; choose another port (--port)"
            elif e.errno == errno.EADDRNOTAVAIL:
                zh = f"无法在 {host} 上监听：本机没有这个地址（--host）"
                en = f"cannot listen on {host}: this machine has no such address (--host)"
            else:
                zh = f"无法在 {where} 上监听：{e.strerror}"
                en = f"cannot listen on {where}: {e.strerror}"
            raise ServeError(f"{zh}。\n{en[0].upper()}{en[1:]}.") from None


def _secure_cookie_note(host: str, secure: bool) -> None:
    if not _loopback(host) and secure:
        click.echo(
            "注意：会话 Cookie 仅通过 HTTPS 发送，请在 TLS 代理之后提供服务（或设 CONSULT_COOKIE_SECURE=0）。\n"
            "Note: session cookies are sent over HTTPS only; serve behind a TLS proxy (or set CONSULT_COOKIE_SECURE=0).",
            err=True,
        )


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve_one_process(config: Config, host: str, port: int) -> None:
    runtime = build_runtime(config)
    try:
        app = build_web(config=config, runtime=runtime)
        _secure_cookie_note(host, app.config["SESSION_COOKIE_SECURE"])
        server = make_server(host, port, app, threaded=True)
        _interrupt_on_sigterm()
        click.echo(
            f"城乡社区协商平台已启动 · Serving on http://{_address(host, port)}/  (Ctrl+C 停止 · to stop)"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        runtime.close()


def _interrupt_on_sigterm() -> None:
    """SIGTERM stops the single-process server like Ctrl-C: the runtime is closed (the audit
    chain's thread stops after chaining what it has)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _prepare(config: Config) -> bool:
    """Create every table and the instance's secret once, before the processes start (so that
    they do not race to create them); returns whether session cookies are HTTPS-only."""
    from webapp.state import EXTENSION

    with build_runtime(config, followers=EXTERNAL, audit=False) as runtime:
        from consult.audit import open_store

        if config.backend != "memory":
            open_store(config.database_url, runtime.app).close()
        app = build_web(config=config, runtime=runtime)
        services = app.extensions[EXTENSION]
        audit_store = getattr(services.reads, "audit_store", None)
        if audit_store is not None:
            audit_store.close()
        services.engine.dispose()
        return bool(app.config["SESSION_COOKIE_SECURE"])


def gunicorn_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command line (each worker builds the application after the fork, with
    ``entrypoints.wsgi:create_app()``)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        _address(host, port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--keep-alive",
        "5",
        "--backlog",
        "2048",
        "--no-control-socket",  # one per machine by default: several servers would clash
        "entrypoints.wsgi:create_app()",
    ]


def follower_command(parent: int) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", "follow", "--parent", str(parent)]


def _serve_gunicorn(
    config: Config,
    host: str,
    port: int,
    workers: int,
    threads: int,
    mode: str,
    start_followers: bool,
) -> int:
    secure = _prepare(config)
    _secure_cookie_note(host, secure)
    env = {
        **os.environ,
        "CONSULT_DATABASE_URL": config.database_url,
        "CONSULT_INSTANCE_PATH": str(config.instance_path),
        "CONSULT_FOLLOWERS": mode,
    }
    follower = follower_command(os.getpid()) if mode == EXTERNAL and start_followers else None
    supervisor = Supervisor(gunicorn_command(host, port, workers, threads), follower, env)
    followers_note = {
        (EXTERNAL, True): "followers: one supervised process · 跟随进程：一个（受监护）",
        (EXTERNAL, False): "followers: not started here · 跟随进程：未在此启动",
    }.get((mode, start_followers), "followers: embedded in each worker · 跟随：各工作进程内")
    click.echo(
        f"城乡社区协商平台已启动 · Serving on http://{_address(host, port)}/  "
        f"(gunicorn: {workers} × {threads} threads; {followers_note}; Ctrl+C 停止 · to stop)"
    )
    return supervisor.run()


class Supervisor:
    """Runs the gunicorn master and the follower process side by side.

    gunicorn restarts its own workers; a follower that exits is restarted here (after a pause
    that grows while it keeps dying early). SIGTERM, SIGINT and SIGHUP stop both; when gunicorn
    exits the follower is stopped and its exit code is returned.
    """

    def __init__(
        self, web: Sequence[str], follower: Sequence[str] | None, env: dict[str, str]
    ) -> None:
        self.web_command = list(web)
        self.follower_command = list(follower) if follower else None
        self.env = env
        self.stopping = False
        self.web: subprocess.Popen[bytes] | None = None
        self.follower: subprocess.Popen[bytes] | None = None
        self._follower_started = 0.0
        self._pause = 0.5
        self._restart_at: float | None = None

    def _spawn(self, command: Sequence[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=self.env, preexec_fn=_die_with_parent)

    def _start_follower(self) -> None:
        assert self.follower_command is not None
        self.follower = self._spawn(self.follower_command)
        self._follower_started = time.monotonic()
        click.echo(f"跟随进程已启动 · follower started (pid {self.follower.pid})", err=True)

    def _request_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._request_stop)
        self.web = self._spawn(self.web_command)
        if self.follower_command is not None:
            self._start_follower()
        try:
            while not self.stopping:
                code = self.web.poll()
                if code is not None:
                    click.echo(f"gunicorn 已退出 · gunicorn exited ({code})", err=True)
                    return code or 1
                self._watch_follower()
                time.sleep(0.2)
            return 0
        finally:
            self._stop_all()

    def _watch_follower(self) -> None:
        if self.follower_command is None:
            return
        now = time.monotonic()
        if self.follower is None:
            if self._restart_at is not None and now >= self._restart_at:
                self._restart_at = None
                self._start_follower()
            return
        code = self.follower.poll()
        if code is None:
            return
        self.follower = None
        lived = now - self._follower_started
        self._pause = 0.5 if lived >= STEADY_SECONDS else min(self._pause * 2, 30.0)
        delay = 0.0 if lived >= STEADY_SECONDS else self._pause
        click.echo(
            f"跟随进程退出（{code}），{delay:.1f} 秒后重启 · "
            f"follower exited ({code}); restarting in {delay:.1f} s",
            err=True,
        )
        self._restart_at = now + delay

    def _stop_all(self) -> None:
        running = [p for p in (self.web, self.follower) if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _die_with_parent() -> None:
    """In a child, before exec: on Linux, get SIGTERM when the supervisor dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
