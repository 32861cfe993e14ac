"""How the web application waits for the read side the bootstrap built (``entrypoints.bootstrap``).

Read-your-writes in both follower modes: a page or API response never silently shows the read
side from before the user's own command.

- A command's log position is kept for the rest of the request (an application listener) and, for
  the pages that follow, in the ``consult_pos`` cookie (``webapp.common.remember``; the cookie is
  described in :mod:`webapp.positions`).
- Before a request reads the views, it waits, at most ``CONSULT_READ_WAIT`` seconds, until the
  views have applied that position: at once in the embedded mode (the saving thread projected),
  until the follower process got there in the external mode.
- If they have not got there in time, the response says so: a notice on the page, and on every
  response the headers ``Warning: 110 - "Response is Stale"`` and ``X-Consult-Read-Side: behind``.
- A view stalled on an event it cannot apply (``projections.faults``) shows on every page: a banner
  of the base template (``read_side_stalled``), until the view moves on.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask, Response, current_app, flash, g, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from webapp.positions import Positions
from webapp.services import ReadSide

logger = logging.getLogger(__name__)

RUNTIME = "consult_runtime"
POSITIONS = "consult_positions"
STALE_HEADER = "X-Consult-Read-Side"
STALLED_NOTICE = (
    "部分数据已停止更新：读取端在日志第 {position} 位处理失败，此后的操作可能未显示在本页。"
    "已记录原因，请联系平台管理员（consult projections status）。",
    "Some figures have stopped updating: the read side failed at log position {position}, and "
    "what happened since may not show on this page. The cause is recorded; please tell the "
    "platform's operator (consult projections status).",
)
STALE_NOTICE = (
    "页面上的数字可能尚未包含您刚才的操作：读取端仍在更新，请稍后刷新。",
    "The figures on this page may not include your last action yet: the read side is still "
    "catching up; refresh in a moment.",
)


def runtime() -> ReadSide:
    from flask import current_app

    return cast(ReadSide, current_app.extensions[RUNTIME])


def held_position() -> int:
    """The position of the client's last command, from its ``consult_pos`` cookie (0 if none)."""
    held = g.get("held_position")
    if held is None:
        positions = cast(Positions, current_app.extensions[POSITIONS])
        held = g.held_position = positions.of_request(request)
    return cast(int, held)


def install(app: Flask, rt: ReadSide) -> None:
    app.extensions[RUNTIME] = rt
    positions = app.extensions[POSITIONS] = Positions(
        app.config["SECRET_KEY"], bool(app.config.get("SESSION_COOKIE_SECURE"))
    )

    def written(position: int) -> None:
        if has_request_context() and position > g.get("written", 0):
            g.written = position

    rt.app.listeners.append(written)

    @app.context_processor
    def _read_side() -> dict[str, Any]:
        return {"read_side_stalled": _stalled_notice(rt)}

    @app.before_request
    def _read_your_writes() -> None:
        if request.method == "GET":
            position = held_position()
            if position > 0:
                _wait(rt, position)

    @app.after_request
    def _say_if_stale(response: Response) -> Response:
        remembered = g.get("remembered", 0)
        if remembered:
            positions.save(response, remembered, held_position())
        if g.get("stale"):
            response.headers["Warning"] = '110 - "Response is Stale"'
            response.headers[STALE_HEADER] = "behind"
        return response


def _stalled_notice(rt: ReadSide) -> str | None:
    """The banner's text when a view is stalled (the earliest position), else None."""
    if rt.projector is None:
        return None
    try:
        stalled = rt.projector.faults()
    except SQLAlchemyError:  # the page (or its error page) says what failed; this is not it
        logger.warning("the views' faults could not be read", exc_info=True)
        return None
    if not stalled:
        return None
    from webapp.i18n import pick

    return pick(STALLED_NOTICE).format(position=min(f.position for f in stalled))


def _wait(rt: ReadSide, position: int) -> None:
    if position <= g.get("waited", 0):
        return
    g.waited = position
    if not rt.wait(position) and not g.get("stale"):
        g.stale = True
        if request.blueprint != "api":
            from webapp.i18n import pick

            flash(pick(STALE_NOTICE), "error")


class FreshReads:
    """The views' reads, each first waiting for the views to reach the commands made so far in
    this request (see the module's docstring)."""

    def __init__(self, reads: Any, rt: ReadSide) -> None:
        self._reads = reads
        self._runtime = rt

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._reads, name)
        if name.startswith("_") or name == "wait" or not callable(attr):
            return attr

        def fresh(*args: Any, **kwargs: Any) -> Any:
            if has_request_context():
                position = g.get("written", 0)
                if position:
                    _wait(self._runtime, position)
            return attr(*args, **kwargs)

        return fresh
