"""What every ``consult`` subcommand shares: the language of its messages, errors turned into a
message and an exit code, and the runtime of a command that writes (from the bootstrap).

Every error is a clear message (Chinese first, or English with ``--lang en`` / ``CONSULT_LANG=en``)
and a non-zero exit, never a traceback (set ``CONSULT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from consult.adapters.storecheck import connection_error
from consult.config import Config, backend_of, postgres_params
from consult.errors import ConsultError, RollValidationError
from entrypoints.bootstrap import Runtime, build_runtime

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 2
EXIT_INTERNAL = 1


def lang() -> str:
    ctx = click.get_current_context(silent=True)
    chosen = ctx.find_root().params.get("lang") if ctx else None
    return str(chosen or os.environ.get("CONSULT_LANG", "zh"))


def say(zh: str, en: str) -> str:
    return zh if lang().startswith("zh") else en


def report_errors(func: F) -> F:
    """Turn domain errors into messages and exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RollValidationError as e:
            click.echo(e.message(lang()), err=True)
            for problem in e.problems:
                click.echo("  " + problem.message(lang()), err=True)
            sys.exit(EXIT_INVALID)
        except ConsultError as e:
            click.echo(say("错误：", "Error: ") + e.message(lang()), err=True)
            sys.exit(EXIT_INVALID)
        except (
            click.ClickException,
            click.exceptions.Exit,
            click.exceptions.Abort,
            SystemExit,
            KeyboardInterrupt,
        ):
            raise
        except Exception as e:  # last resort: a message, not a traceback
            explained = store_error(e)
            if explained is not None:
                click.echo(say("错误：", "Error: ") + explained.message(lang()), err=True)
                sys.exit(EXIT_INVALID)
            if os.environ.get("CONSULT_DEBUG"):
                raise
            click.echo(
                say(
                    f"内部错误（{type(e).__name__}）：{e}。设置 CONSULT_DEBUG=1 可查看详细信息。",
                    f"Internal error ({type(e).__name__}): {e}. Set CONSULT_DEBUG=1 for details.",
                ),
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return cast(F, wrapper)


def store_error(e: BaseException) -> ConsultError | None:
    """What is wrong with the configured PostgreSQL store, when ``e`` is a connection to it that
    failed (a part that connects on its own, not through the composition root's probe)."""
    try:
        url = Config.from_env().database_url
        params = postgres_params(url) if backend_of(url) == "postgresql" else None
    except ConsultError:
        return None
    return connection_error(e, params) if params is not None else None


def command_runtime() -> Runtime:
    """The runtime of a command that writes, wired by the composition root (embedded: the views
    and the audit chain are brought up to date when it closes); closed when the command ends."""
    runtime = build_runtime(batch=True)
    click.get_current_context().call_on_close(runtime.close)
    return runtime


def command_app() -> Any:
    """The application of a command that writes (:func:`command_runtime`)."""
    return command_runtime().app
