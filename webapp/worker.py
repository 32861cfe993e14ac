"""gunicorn's ``gthread`` worker, where a request can be answered later without a thread waiting.

A ballot is acknowledged only once it is committed, and ballots are committed many to a
transaction (consult.committer). In gunicorn's ``gthread`` worker a request's thread would wait
for that commit. Under load every thread of a worker is then parked on a commit, and each wakes
into a crowd of threads contending for the interpreter lock. Measured on the 2-core machine of
docs/benchmarks.md, a bare Flask view that does nothing but wait 5 ms cost 0.47 ms of CPU and 16
thread switches a request, against 0.24 ms and 3.5 switches for the same view without the wait.

:class:`Worker` lets the application hand such a request back instead:

- the WSGI callable finds ``environ[LATER]`` (only under this worker, without TLS: elsewhere it
  must answer as usual), calls it for a :class:`Later` and returns that as its response;
- the request's thread is then free. Whoever learns the answer (the committer's thread) gives it,
  once, from any thread: :meth:`Later.answer` with the status, headers and body, which the worker's
  event loop (its main thread) writes; or :meth:`Later.answer_with` with a WSGI callable, run on a
  request thread like any request (an error page rendered by Flask);
- the connection then goes back to the event loop for its next request, exactly as after an answer
  written by a request thread.

Everything else is gunicorn's own worker. (Its ``post_request`` hook runs when the request's
thread lets the request go, before a later answer is written.) It leans on that worker's parts (its thread pool, the
queue of callbacks to its event loop, ``finish_request``), so ``pyproject.toml`` pins gunicorn to
the release series it was written against, and :func:`_check` refuses to start on one without
them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from concurrent import futures
from datetime import datetime
from typing import Any

from gunicorn.http.body import LengthReader
from gunicorn.http.wsgi import Response
from gunicorn.workers import gthread

#: The environ key of the factory of a :class:`Later`.
LATER = "consult.later"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Later:
    """A request to be answered later (see the module's docstring). Not iterable: it is not a body."""

    __slots__ = ("_conn", "_lock", "_resp", "_started", "_todo", "_worker", "environ")

    def __init__(self, worker: Worker, environ: dict[str, Any], resp: Any) -> None:
        self._worker = worker
        self.environ = environ
        self._resp = resp
        self._started = datetime.now()
        self._lock = threading.Lock()
        self._todo: tuple[str, Any] | None = None
        self._conn: Any = None  # set once the request's thread has let the request go

    def answer(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        """The answer, from any thread: written by the worker's event loop."""
        self._give(("write", (status, headers, body)))

    def answer_with(self, app: WSGIApp) -> None:
        """The answer made by ``app(environ, start_response)`` on one of the worker's request
        threads (for answers that take work, or may block)."""
        self._give(("run", app))

    def _give(self, todo: tuple[str, Any]) -> None:
        with self._lock:
            if self._todo is not None:
                raise RuntimeError("this request has been answered")
            self._todo = todo
            ready = self._conn is not None
        if ready:
            self._worker._dispatch(self, todo)

    def _let_go(self, conn: Any) -> None:
        """The request's thread has returned: an answer already given goes out now."""
        with self._lock:
            self._conn = conn
            todo = self._todo
        if todo is not None:
            self._worker._dispatch(self, todo)


class _Answered(BaseException):
    """Carries a :class:`Later` out of gunicorn's request handling, which lets a BaseException
    through untouched (nothing is written, the connection is left alone) to the thread pool's
    future, where :meth:`Worker.enqueue_req`'s callback takes it."""

    def __init__(self, later: Later) -> None:
        super().__init__()
        self.later = later


def _check() -> None:
    missing = [
        name
        for name in ("enqueue_req", "finish_request", "handle", "_keepalive_after")
        if not callable(getattr(gthread.ThreadWorker, name, None))
    ]
    if missing or not hasattr(gthread, "PollableMethodQueue"):
        raise RuntimeError(
            "webapp.worker needs gunicorn's gthread worker as of gunicorn 27 "
            f"(missing: {', '.join(missing) or 'PollableMethodQueue'})"
        )


class Worker(gthread.ThreadWorker):
    """gunicorn's ``gthread`` worker with :class:`Later` answers (see the module's docstring)."""

    wsgi: WSGIApp

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _check()
        super().__init__(*args, **kwargs)
        # Answers for the event loop to write, gathered so that a batch of them (a group
        # commit's) wakes it once.
        self._answers: list[tuple[Later, tuple[str, list[tuple[str, str]], bytes]]] = []
        self._answers_lock = threading.Lock()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi
        offers = not self.cfg.is_ssl  # a TLS socket cannot be written without blocking

        def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            resp = getattr(start_response, "__self__", None)
            if offers and type(resp) is Response:  # HTTP/1 (HTTP/2 streams answer in place)
                environ[LATER] = lambda: Later(self, environ, resp)
            result = app(environ, start_response)
            if isinstance(result, Later):
                raise _Answered(result)
            return result

        self.wsgi = wsgi

    def enqueue_req(self, conn: Any) -> None:
        fs = self.tpool.submit(self.handle, conn)
        fs.add_done_callback(lambda fut: self._handled(conn, fut))

    def _handled(self, conn: Any, fut: futures.Future[Any]) -> None:
        """On the request's thread, once it returned: a request answered later is let go,
        every other goes back to the event loop as in gunicorn."""
        error = None if fut.cancelled() else fut.exception()
        if isinstance(error, _Answered):
            error.later._let_go(conn)
        else:
            self.method_queue.defer(self.finish_request, conn, fut)

    def _dispatch(self, later: Later, todo: tuple[str, Any]) -> None:
        kind, what = todo
        if kind == "write":
            with self._answers_lock:
                self._answers.append((later, what))
                wake = len(self._answers) == 1
            if wake:
                self.method_queue.defer(self._write_answers)
            return
        try:
            self.tpool.submit(self._run, later, what)
        except RuntimeError:  # the pool is shut down (the worker is stopping)
            self.method_queue.defer(self.finish_request, later._conn, _done(False))

    def _write_answers(self) -> None:
        """On the event loop: every answer given since it last looked."""
        with self._answers_lock:
            answers, self._answers = self._answers, []
        for later, (status, headers, body) in answers:
            try:
                self._write(later, status, headers, body)
            except Exception as error:  # never the event loop's end, nor the other answers'
                self._lost(later, error)

    def _write(
        self, later: Later, status: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        """On the event loop: the answer, sent without blocking; what the socket does not take
        at once is sent by a request thread."""
        resp, conn = later._resp, later._conn
        if not (_body_read(resp.req) and _framed(headers, body)):
            # Draining the rest of the body may block, and an answer without its exact
            # Content-Length needs gunicorn's framing: a request thread writes it.
            self._dispatch(later, ("run", _fixed(status, headers, body)))
            return
        try:
            resp.start_response(status, headers)
        except Exception as error:  # a bad status or header: gunicorn's 500, from a request thread
            self._dispatch(later, ("run", _failing(error)))
            return
        data = _head(resp) + (b"" if resp._omits_body else body)
        resp.headers_sent = True
        resp.sent = 0 if resp._omits_body else len(body)
        try:
            sent = conn.sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError as error:  # the client is gone
            self._lost(later, error)
            return
        if sent < len(data):
            try:
                self.tpool.submit(self._write_rest, later, data[sent:])
            except RuntimeError as error:  # the pool is shut down (the worker is stopping)
                self._lost(later, error)
            return
        self.finish_request(conn, _done(self._completed(later, may_block=False)))

    def _write_rest(self, later: Later, rest: bytes) -> None:
        try:
            later._conn.sock.sendall(rest)
        except Exception as error:
            self.method_queue.defer(self._lost, later, error)
            return
        keepalive = self._completed(later, may_block=True)
        self.method_queue.defer(self.finish_request, later._conn, _done(keepalive))

    def _run(self, later: Later, app: WSGIApp) -> None:
        """On a request thread: the answer made by ``app``, written as gunicorn writes one."""
        resp, environ, conn = later._resp, later.environ, later._conn
        environ.pop(LATER, None)  # this answer is made here, now
        keepalive = False
        try:
            respiter = app(environ, resp.start_response)
            try:
                for item in respiter:
                    resp.write(item)
                resp.close()
            finally:
                if hasattr(respiter, "close"):
                    respiter.close()
            keepalive = self._completed(later, may_block=True)
        except OSError as error:
            self.log.debug("Socket error answering a request later: %s", error)
        except Exception as error:
            if resp.headers_sent:  # part of the answer is out: no error page after it
                self.log.exception("Error answering a request later")
            else:
                self.handle_error(resp.req, conn.sock, conn.client, error)
        self.method_queue.defer(self.finish_request, conn, _done(keepalive))

    def _completed(self, later: Later, may_block: bool) -> bool:
        """After the answer was sent: the access log, and whether the connection is kept. A body
        left partly unread is drained as gunicorn drains it, on a request thread (``may_block``);
        the event loop never gets one (:meth:`_write`)."""
        resp = later._resp
        self.log.access(resp, resp.req, later.environ, datetime.now() - later._started)
        if resp.should_close():
            return False
        if _body_read(resp.req):
            return True
        return bool(self._keepalive_after(later._conn, True)) if may_block else False

    def _lost(self, later: Later, error: BaseException) -> None:
        """The answer could not be sent (the client went away, a bad header): the connection is
        closed, as gunicorn closes it after a failed request."""
        if not isinstance(error, OSError):
            self.log.error("Answering a request later failed: %r", error, exc_info=error)
        self.finish_request(later._conn, _done(False))


def _head(resp: Any) -> bytes:
    """The status line and headers of ``resp``, as gunicorn's ``Response.send_headers`` makes
    them."""
    lines = resp.default_headers()
    lines.extend(f"{k}: {v}\r\n" for k, v in resp.headers)
    return ("".join(lines) + "\r\n").encode("latin-1")


def _body_read(req: Any) -> bool:
    """Whether the request's body has been read to its end (or it has none)."""
    body = req.body
    if body is None:
        return True
    return bool(
        isinstance(body.reader, LengthReader) and body.reader.length == 0 and not body.buf.tell()
    )


def _framed(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether the answer says its body's exact length (so it needs no other framing)."""
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    return lengths == [str(len(body))]


def _failing(error: Exception) -> WSGIApp:
    """A WSGI callable that fails with ``error`` (the worker then answers 500)."""

    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise error

    return answer


def _fixed(status: str, headers: list[tuple[str, str]], body: bytes) -> WSGIApp:
    """A WSGI callable that gives this answer."""

    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, headers)
        return [body]

    return answer


def _done(keepalive: bool) -> futures.Future[Any]:
    """A finished request's result, as ``finish_request`` takes it."""
    fut: futures.Future[Any] = futures.Future()
    fut.set_result(keepalive)
    return fut


__all__ = ["LATER", "Later", "Worker"]
