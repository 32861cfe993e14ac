"""A WSGI app for tests/test_worker.py, served by gunicorn with ``webapp.worker.Worker``.

- ``/now``: answered in place (``now``);
- ``/later?ms=N&size=S``: a :class:`~webapp.worker.Later`, answered by a timer thread after N ms
  with ``S`` bytes (``x``), or ``later`` if no size is given;
- ``/later-with``: answered by a WSGI callable on a request thread (``202 made``);
- ``/later-fails``: the callable given raises (the worker answers ``500``);
- ``/later-unread``: reads one byte of the request's body and leaves the rest;
- ``/later-unframed``: answered without a Content-Length; ``/later-short``: with one shorter than
  the body; ``/later-bad``: with an invalid status line;
- ``/later-breaks``: the callable given sends part of its answer, then raises;
- ``/offered``: whether the server offered a later answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from webapp.worker import LATER


def _made(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("202 Accepted", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return [b"made"]


def _fails(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("the application failed while answering later")


def _breaks(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Length", "10")])
    yield b"abc"
    raise RuntimeError("the application failed halfway through its answer")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/offered":
        body = b"yes" if LATER in environ else b"no"
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/now" or LATER not in environ:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"now"]
    if path == "/later-unread":
        environ["wsgi.input"].read(1)
    later = environ[LATER]()
    if path == "/later-with":
        later.answer_with(_made)
    elif path == "/later-fails":
        later.answer_with(_fails)
    elif path == "/later-breaks":
        later.answer_with(_breaks)
    elif path == "/later-unframed":
        later.answer("200 OK", [("Content-Type", "text/plain")], b"unframed")
    elif path == "/later-short":
        later.answer("200 OK", [("Content-Length", "5")], b"shortXXX")
    elif path == "/later-bad":
        later.answer("OK", [("Content-Length", "3")], b"bad")
    else:
        size = int(query.get("size", "0"))
        body = b"x" * size if size else b"later"
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        timer = threading.Timer(
            int(query.get("ms", "0")) / 1000, later.answer, ("200 OK", headers, body)
        )
        timer.start()
    return later
