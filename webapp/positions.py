"""The read-your-writes position cookie, ``consult_pos``.

After a command, the next reads wait until the views have applied its log position (see
:mod:`webapp.wiring`). The position travels in a cookie of its own: the position and a keyed
BLAKE2b tag, a few microseconds to make and check, so a command does not re-sign the session. A
forged or stale tag is ignored (the request then does not wait); the cookie lasts ten minutes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from flask import Request, Response

POSITION_COOKIE = "consult_pos"
#: Seconds a command's position is kept for the reads that follow it.
POSITION_MAX_AGE = 600


class Positions:
    """Make and check ``consult_pos`` cookies: ``<position>.<tag>``, the tag a BLAKE2b MAC of the
    position under a key derived from the application's secret key."""

    def __init__(self, secret_key: str | bytes, secure: bool) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hashlib.sha256(b"consult read-your-writes position\0" + secret).digest()
        self.secure = secure
        self._attributes = f"; Max-Age={POSITION_MAX_AGE}; {'Secure; ' if secure else ''}" + (
            "HttpOnly; Path=/; SameSite=Lax"
        )

    def _tag(self, position: int) -> str:
        return hashlib.blake2b(str(position).encode(), key=self._key, digest_size=12).hexdigest()

    def text(self, position: int) -> str:
        return f"{position}.{self._tag(position)}"

    def read(self, text: str | None) -> int:
        """The position a cookie carries, or 0 if it carries none, or a forged one."""
        if not text or len(text) > 64:
            return 0
        number, _, tag = text.partition(".")
        if not number.isdigit() or len(number) > 18:
            return 0
        position = int(number)
        return position if hmac.compare_digest(tag, self._tag(position)) else 0

    def of_request(self, request: Request) -> int:
        return self.read(request.cookies.get(POSITION_COOKIE))

    def held(self, cookies: Mapping[str, str]) -> int:
        return self.read(cookies.get(POSITION_COOKIE))

    def set_cookie(self, position: int) -> str:
        """The ``Set-Cookie`` value that keeps ``position`` for the reads that follow (``Max-Age``
        only: the value needs no quoting, and every browser in use honours it)."""
        return f"{POSITION_COOKIE}={self.text(position)}{self._attributes}"

    def save(self, response: Response, position: int, held: int) -> None:
        """Keep ``position`` for the reads that follow, if it is past the one the client holds."""
        if position > held:
            response.headers.add("Set-Cookie", self.set_cookie(position))
