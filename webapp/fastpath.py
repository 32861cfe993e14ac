"""The ballot's fast path: ``POST /api/v1/votes/<id>/ballots`` without Flask's request machinery.

Casting a ballot is what thousands of owners do within hours of a vote opening. Flask's request
context, hooks and response objects cost more CPU than the cast itself (docs/benchmarks.md, "Load
over HTTP"), so this WSGI middleware serves the one common case directly:

- a signed-in session (the same cookie, checked the same way: :meth:`SessionCookies.verify`, the
  session still live (:meth:`SignIns.holder`), the account and its epoch through
  :meth:`AccountStore.get`, the view's access rule) that needs no refresh,
- the session's CSRF token in the ``X-CSRF-Token`` header,
- a small ``application/json`` body that is exactly ``{"choice": ..., "elector_id": ...}`` with
  values the API's form accepts,

and answers exactly as the Flask view does: ``201`` and the receipt as JSON, with the same headers
(the security headers, ``Vary: Cookie``, ``Cache-Control: no-store``, and the read-your-writes
cookie). ``tests/web/test_fastpath.py`` holds the two side by side.

Everything else goes to Flask unchanged, before anything is done: no session or a voting-code
session, a wrong token, another content type, a body the form would question, a session due for
its refresh. If the cast itself is refused (a domain error) or fails (the store), the error is
answered by the application's own error handlers, in the request's language, inside a Flask
request context. ``CONSULT_FAST_BALLOTS=0`` turns the fast path off.
"""

from __future__ import annotations

import hmac
import io
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError
from werkzeug.http import parse_cookie

from consult.text import TextError, clean_text
from webapp.api.schemas import receipt_fields
from webapp.auth.schemas import BALLOT_CHOICES
from webapp.security import SECURITY_HEADERS, rule_of
from webapp.signins import SESSION_KEY
from webapp.worker import LATER

if TYPE_CHECKING:
    from flask import Flask

    from consult.application import BallotReceipt
    from webapp.sessions import Positions, SessionCookies
    from webapp.state import Services
    from webapp.worker import Later

PATH = re.compile(
    r"/api/v1/votes/([A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12})"
    r"/ballots"
)
#: Bodies larger than this go to Flask (a ballot's is under a hundred bytes).
MAX_BODY = 4096
BODY_FIELDS = frozenset({"choice", "elector_id"})
ELECTOR_MAX = 64  # the form's limit (webapp.resident.schemas.VoteForm)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class BallotFastPath:
    """WSGI middleware in front of the Flask application (see the module's docstring)."""

    def __init__(
        self,
        flask_app: Flask,
        next_app: WSGIApp,
        services: Services,
        sessions: SessionCookies,
        positions: Positions,
    ) -> None:
        self.app = flask_app
        self.next = next_app
        self.services = services
        self.sessions = sessions
        self.positions = positions
        self.cookie_name = flask_app.config["SESSION_COOKIE_NAME"]
        #: The Flask view's access rule: whoever it refuses goes to Flask, which refuses them.
        with flask_app.app_context():
            rule = rule_of("api.cast_ballot")
        assert rule is not None
        self.rule = rule
        self.headers = [
            *SECURITY_HEADERS,
            ("Cache-Control", "no-store"),
            ("Vary", "Cookie"),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.next(environ, start_response)
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.next(environ, start_response)
        body = _body(environ)
        if body is None:
            return self.next(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again if it takes over
        cast = self._admissible(environ, body)
        if cast is None:
            return self.next(environ, start_response)
        vote_id = UUID(match.group(1))
        later = environ.get(LATER)
        if later is not None and self.services.consult.group_commit:
            return self._cast_later(environ, start_response, later(), vote_id, cast)
        return self._cast_now(environ, start_response, vote_id, cast)

    def _cast_now(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        vote_id: UUID,
        cast: tuple[Any, str, str | None, int],
        again: bool = False,
    ) -> Iterable[bytes]:
        """The cast, this thread waiting for its commit (``again``: the elector has a ballot)."""
        user, choice, elector, held = cast
        consult = self.services.consult
        try:
            receipt = (consult.recast_ballot if again else consult.cast_ballot)(
                vote_id, choice, user.actor, elector, estate=user.estate_id
            )
        except Exception as error:  # answered by the application's own error handlers
            return self._error(environ, start_response, error)
        headers, payload = self._created(receipt, held)
        start_response("201 CREATED", headers)
        return [payload]

    def _cast_later(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        later: Later,
        vote_id: UUID,
        cast: tuple[Any, str, str | None, int],
    ) -> Iterable[bytes]:
        """The cast, answered once committed without this thread waiting (webapp.worker): the
        receipt by the server's event loop; an error, or a second ballot of the elector (which
        changes the first, where allowed, and is cast again the usual way), by a request
        thread."""
        user, choice, elector, held = cast

        def done(receipt: BallotReceipt | None, error: BaseException | None) -> None:
            if receipt is not None:
                try:
                    headers, payload = self._created(receipt, held)
                except Exception as failed:  # never a request left without its answer
                    error = failed
                else:
                    later.answer("201 CREATED", headers, payload)
                    return
            if isinstance(error, IntegrityError):
                later.answer_with(lambda env, sr: self._cast_now(env, sr, vote_id, cast, True))
            else:
                failure = error if isinstance(error, Exception) else RuntimeError(error)
                later.answer_with(lambda env, sr: self._error(env, sr, failure))

        try:
            self.services.consult.cast_ballot_later(
                vote_id, choice, user.actor, elector, done, estate=user.estate_id
            )
        except Exception as error:  # refused before anything was stored
            return self._error(environ, start_response, error)
        return later  # type: ignore[return-value]  # not a body: the worker answers it later

    def _created(self, receipt: BallotReceipt, held: int) -> tuple[list[tuple[str, str]], bytes]:
        """The headers and body of a cast's ``201``, as the Flask view answers it."""
        payload = orjson.dumps(receipt_fields(receipt)) + b"\n"
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            *self.headers,
        ]
        if receipt.position > held:
            headers.append(("Set-Cookie", self.positions.set_cookie(receipt.position)))
        return headers, payload

    def _admissible(
        self, environ: dict[str, Any], body: bytes
    ) -> tuple[Any, str, str | None, int] | None:
        """The user, choice, elector and held position of the common case, or None."""
        header = environ.get("HTTP_COOKIE", "")
        cookies = _plain_cookies(header)
        if cookies is None:
            cookies = parse_cookie(header)
        text = cookies.get(self.cookie_name)
        if not text:
            return None
        now = self.sessions.clock()
        verified = self.sessions.verify(self.app, text, now)
        if verified is None:
            return None
        data, signed_at = verified
        uid, epoch, token = data.get("uid"), data.get("epoch"), data.get("csrf")
        if not (isinstance(uid, int) and isinstance(epoch, int) and isinstance(token, str)):
            return None
        if "code" in data or self.sessions.should_refresh(self.app, data, signed_at, now):
            return None
        given = environ.get("HTTP_X_CSRF_TOKEN", "")
        if not given or not hmac.compare_digest(token.encode(), given.encode()):
            return None
        form = _vote_form(body)
        if form is None:
            return None
        held = self.services.signins.holder(data.get(SESSION_KEY))
        if held is None or held[0] != uid:  # an ended session: Flask answers it as anonymous
            return None
        user = self.services.accounts.get(uid, epoch, data)
        if user is None or user.epoch != epoch or not self.rule.allows(user, None):
            return None
        return user, form[0], form[1], self.positions.held(cookies)

    def _error(
        self, environ: dict[str, Any], start_response: StartResponse, error: Exception
    ) -> Iterable[bytes]:
        """The cast was refused or failed: answer as the Flask view would have."""
        from webapp.security import load_user

        app = self.app
        with app.request_context(environ):
            load_user()  # g.user and the session as the view would have had them
            response = app.finalize_request(app.handle_user_exception(error))
            return response(environ, start_response)


def _plain_cookies(header: str) -> Mapping[str, str] | None:
    """The cookies of a ``Cookie`` header made of plain ``name=value`` pairs (the first value of a
    name), as werkzeug's ``parse_cookie`` reads them in a fifth of the time; None for anything
    else (quoted values, spaces within a pair, bytes beyond ASCII), which werkzeug then reads."""
    if '"' in header or not header.isascii():
        return None
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, _, value = part.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not name:
            if value:
                return None
            continue  # an empty pair: werkzeug skips it too
        if " " in name or "\t" in name or " " in value or "\t" in value:
            return None
        found.setdefault(name, value)
    return found


def _body(environ: dict[str, Any]) -> bytes | None:
    """The request's JSON body if it is small and says how long it is, else None (untouched)."""
    if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    body: bytes = environ["wsgi.input"].read(length)
    return body


def _vote_form(body: bytes) -> tuple[str, str | None] | None:
    """The choice and elector of a body the API's form accepts as it is, or None (Flask then
    validates it and names what is wrong)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= BODY_FIELDS:
        return None
    choice = data.get("choice")
    if not isinstance(choice, str) or choice.strip() not in BALLOT_CHOICES:
        return None
    elector = data.get("elector_id", "")
    if not isinstance(elector, str):
        return None
    try:
        elector = clean_text(elector, max_length=ELECTOR_MAX)  # the form's own check
    except TextError:
        return None
    return choice.strip(), elector or None


def install(app: Flask, services: Services, sessions: SessionCookies, positions: Positions) -> None:
    app.wsgi_app = BallotFastPath(  # type: ignore[method-assign]
        app, app.wsgi_app, services, sessions, positions
    )
