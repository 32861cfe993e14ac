"""Signed-cookie sessions and the read-your-writes position, cheap enough for the ballot path.

Flask's own cookie sessions verify and decode the cookie on every request and sign a new one on
every response of a permanent session (its sliding expiry). For a resident casting a ballot that was
about a third of a millisecond of CPU per request, more than the rest of Flask's own handling.

:class:`SessionCookies` keeps Flask's cookie format and signature (a cookie it issues is a cookie
Flask accepts and the other way round) and changes three things:

- the signing serializer is built once, not twice per request;
- a cookie that verified once is remembered (its exact text, the decoded values and when it was
  signed) for as long as it is valid, so the next request with the same cookie skips the HMAC and
  the decoding; a changed byte makes it another text, which is verified afresh; only sessions whose
  values are plain scalars are remembered (nothing a request could change in place);
- an unchanged permanent session is signed again only when its cookie is older than
  :attr:`SessionCookies.refresh_after` seconds, not on every response: the sliding expiry moves in
  steps of five minutes instead of on every click;
- a cookie is signed uncompressed (itsdangerous compresses a payload whenever that makes it
  shorter). A session with the account's claims is then about 400 characters instead of 250, and
  reading it needs no zlib, whose call gives up the interpreter lock: with a web worker's threads
  busy that cost a thread switch, and uncompressed cookies made ballots 8 % cheaper
  (docs/benchmarks.md, fourth pass). Compressed cookies, such as those issued before, are read as
  ever.

The read-your-writes position (after a command, the next reads wait until the views have applied
it; see :mod:`webapp.wiring`) travels in a cookie of its own, ``consult_pos``: the position and a
keyed BLAKE2b tag, a few microseconds to make and check, so a command does not re-sign the session.
A forged or stale tag is ignored (the request then does not wait); the cookie lasts ten minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

import orjson
from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

POSITION_COOKIE = "consult_pos"
#: Seconds a command's position is kept for the reads that follow it.
POSITION_MAX_AGE = 600
_SCALARS = (str, int, bool, float, type(None))


class Session(SecureCookieSession):
    #: When the cookie this session came from was signed (Unix time; 0 for a new session).
    signed_at: float = 0.0


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions with a per-process cache of verified cookies (see above)."""

    session_class = Session
    #: An unchanged permanent session's cookie is signed again once it is this many seconds old.
    refresh_after = 300.0
    #: Verified cookies kept per process (the oldest half is dropped when it is full).
    cache_size = 20_000

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer] | None = None
        self._verified: dict[str, tuple[float, tuple[tuple[str, Any], ...]]] = {}
        self._lock = threading.Lock()
        self._derived: tuple[bytes, hmac.HMAC] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._serializer
        if cached is None or cached[0] != key:
            serializer = _Uncompressed(
                [*key[1], key[0]],  # itsdangerous expects the current key last (as Flask gives it)
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            cached = self._serializer = (key, serializer)
            with self._lock:
                self._verified.clear()  # another key: what was verified with the old one is not
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> Session | None:
        if self.get_signing_serializer(app) is None:
            return None
        text = request.cookies.get(self.get_cookie_name(app))
        if not text:
            return Session()
        verified = self.verify(app, text, self.clock())
        if verified is None:
            return Session()
        session = Session(verified[0])
        session.signed_at = verified[1]
        return session

    def verify(self, app: Flask, text: str, now: float) -> tuple[dict[str, Any], float] | None:
        """The values of a session cookie and when it was signed, or None if it is forged,
        expired or unreadable. A verified cookie of plain values is remembered."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        max_age = app.permanent_session_lifetime.total_seconds()
        hit = self._verified.get(text)
        if hit is not None:
            if not 0 <= now - hit[0] <= max_age:
                return None
            return dict(hit[1]), hit[0]
        plain = self._verify_plain(app, text, now, max_age)
        if plain is not None:
            data, signed_at = plain
        else:  # compressed, tagged values, an old key, or not genuine: itsdangerous decides
            try:
                data, signed = serializer.loads(text, max_age=int(max_age), return_timestamp=True)
            except BadSignature:
                return None
            signed_at = signed.timestamp()
        if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
            self._remember(text, signed_at, tuple(data.items()))
        return data, signed_at

    def _verify_plain(
        self, app: Flask, text: str, now: float, max_age: float
    ) -> tuple[dict[str, Any], float] | None:
        """The common case read directly: a payload of plain JSON values, signed with the current
        key. It is itsdangerous's format (``payload.timestamp.signature``, each URL-safe base64,
        the payload zlib-compressed and marked with a leading ``.`` when that made it shorter;
        HMAC-SHA1 under a key derived from the secret key with HMAC and the salt
        "cookie-session"), checked the way itsdangerous checks it, in a tenth of the time. Anything
        else (None) goes to itsdangerous itself."""
        compressed = text.startswith(".")  # itsdangerous's mark of a zlib-compressed payload
        payload, dot, rest = text[compressed:].partition(".")
        stamp, dot2, signature = rest.partition(".")
        if not (payload and dot and stamp and dot2 and signature) or "." in signature:
            return None
        try:
            given = _b64decode(signature)
            stamped = int.from_bytes(_b64decode(stamp), "big")
            message = f"{'.' if compressed else ''}{payload}.{stamp}".encode("ascii")
            mac = self._mac(app).copy()  # the key's pads are hashed once, not per cookie
            mac.update(message)
            expected = mac.digest()
            if not hmac.compare_digest(given, expected):
                return None
            raw = _b64decode(payload)
            data = orjson.loads(zlib.decompress(raw, bufsize=4096) if compressed else raw)
        except (ValueError, UnicodeError, zlib.error):
            return None
        if not isinstance(data, dict) or not all(
            isinstance(v, _SCALARS) and not k.startswith(" ") for k, v in data.items()
        ):
            return None  # Flask's tagged values (their keys start with a space) are not plain
        if not 0 <= now - stamped <= max_age:
            return None
        return data, float(stamped)

    def _mac(self, app: Flask) -> hmac.HMAC:
        """HMAC-SHA1 under the key derived from the secret key, before any message (to copy)."""
        key = app.secret_key
        secret = key.encode() if isinstance(key, str) else bytes(key or b"")
        cached = self._derived
        if cached is None or cached[0] != secret:
            derived = hmac.new(secret, self.salt.encode(), hashlib.sha1).digest()
            cached = self._derived = (secret, hmac.new(derived, digestmod=hashlib.sha1))
        return cached[1]

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        if session.modified:
            return True
        return self.should_refresh(app, session, getattr(session, "signed_at", 0.0), self.clock())

    def should_refresh(
        self, app: Flask, data: Mapping[str, Any], signed_at: float, now: float
    ) -> bool:
        """Whether an unchanged session is signed again: a permanent one, when its cookie is
        :attr:`refresh_after` seconds old (its sliding expiry)."""
        return bool(
            data.get("_permanent")
            and app.config["SESSION_REFRESH_EACH_REQUEST"]
            and now - signed_at >= self.refresh_after
        )

    def _remember(self, text: str, signed_at: float, items: tuple[tuple[str, Any], ...]) -> None:
        with self._lock:
            if len(self._verified) >= self.cache_size:
                for old in list(islice(self._verified, self.cache_size // 2)):
                    del self._verified[old]
            self._verified[text] = (signed_at, items)


class _Uncompressed(URLSafeTimedSerializer):
    """itsdangerous's serializer of Flask's session cookies, signing payloads uncompressed (it
    still reads compressed ones)."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the read-your-writes position ---------------------------------------------------------------


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
