"""``webapp.worker.Worker`` under real gunicorn, over real sockets: a request answered later (by
another thread, without its own waiting) is answered as HTTP/1.1 wants it. Keep-alive, pipelined
requests, ``Connection: close``, HTTP/1.0, answers made on a request thread, an answer larger than
the socket takes at once, a client gone before its answer, a body left unread, and a graceful stop
with answers still to come. The app is ``tests/later_app.py``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[], Served]]:
    started: list[Served] = []

    def start() -> Served:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--worker-class",
            "webapp.worker.Worker",
            "--graceful-timeout",
            "20",
            "--no-control-socket",
            "tests.later_app:app",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Served(process, port, log)
        started.append(server)
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(OSError), server.connect() as s:
                s.sendall(b"GET /now HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                if read_all(s).startswith(b"HTTP/1.1 200"):
                    return server
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(30)
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


class Responses:
    """Reads HTTP/1.1 responses (with Content-Length) off one socket, one at a time."""

    def __init__(self, s: socket.socket) -> None:
        self.s, self.buf = s, b""

    def next(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            assert chunk, f"the connection closed mid-response: {self.buf!r}"
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        length = int(headers["content-length"])
        while len(self.buf) < length:
            chunk = self.s.recv(65536)
            assert chunk, "the connection closed mid-body"
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(status_line.split()[1]), headers, body

    def closed(self) -> bool:
        return not self.buf and self.s.recv(1) == b""


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def test_answers_given_later_keep_the_connection_alive_in_order(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        answers = Responses(s)
        s.sendall(get("/offered"))
        assert answers.next()[2] == b"yes"
        for path, expected in [("/later?ms=30", b"later"), ("/now", b"now"), ("/later", b"later")]:
            s.sendall(get(path))
            status, headers, body = answers.next()
            assert (status, body) == (200, expected)
            assert headers["connection"] == "keep-alive" and "date" in headers
        # Pipelined: the second request is already there while the first waits for its answer.
        s.sendall(get("/later?ms=80") + get("/now") + get("/later?ms=10"))
        assert [answers.next()[2] for _ in range(3)] == [b"later", b"now", b"later"]
        s.sendall(get("/later?ms=20", "Connection: close\r\n"))
        status, headers, body = answers.next()
        assert (status, body, headers["connection"]) == (200, b"later", "close")
        assert answers.closed()


def test_an_http_1_0_request_answered_later_closes_the_connection(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        s.sendall(b"GET /later?ms=20 HTTP/1.0\r\nHost: t\r\n\r\n")
        raw = read_all(s)  # the server closes after the answer
    assert raw.startswith(b"HTTP/1.0 200 OK\r\n") and raw.endswith(b"\r\n\r\nlater")
    assert b"Connection: close" in raw


def test_answers_made_on_a_request_thread_and_a_failing_one(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        answers = Responses(s)
        s.sendall(get("/later-with"))
        assert answers.next()[::2] == (202, b"made")
        s.sendall(get("/now"))
        assert answers.next()[::2] == (200, b"now")
    with server.connect() as s:
        s.sendall(get("/later-fails"))
        raw = read_all(s)  # gunicorn's own error answer, then the connection closes
    assert raw.startswith(b"HTTP/1.1 500")
    assert "the application failed while answering later" in server.log.read_text()
    with server.connect() as s:  # and the worker serves on
        s.sendall(get("/now"))
        assert Responses(s).next()[::2] == (200, b"now")


def test_an_answer_larger_than_the_socket_takes_at_once_arrives_whole(
    served: Callable[[], Served],
) -> None:
    server = served()
    size = 32 * 1024 * 1024  # more than the socket buffers of both ends hold
    with server.connect() as s:
        answers = Responses(s)
        s.sendall(get(f"/later?size={size}"))
        time.sleep(0.5)  # not reading: the server's first send fills the buffers and no more
        status, _, body = answers.next()
        assert status == 200 and body == b"x" * size
        s.sendall(get("/now"))  # the connection is kept
        assert answers.next()[::2] == (200, b"now"), server.log.read_text()


def test_a_client_gone_before_its_answer_leaves_the_worker_serving(
    served: Callable[[], Served],
) -> None:
    server = served()
    for _ in range(5):
        s = server.connect()
        s.sendall(get("/later?ms=100"))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # a reset: the answer finds no one
    time.sleep(0.4)
    with server.connect() as s:
        s.sendall(get("/later?ms=10"))
        assert Responses(s).next()[::2] == (200, b"later")
    assert "Traceback" not in server.log.read_text()


def test_a_body_left_unread_is_drained_and_the_connection_kept(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        answers = Responses(s)
        body = b"y" * 5000
        s.sendall(b"POST /later-unread HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + body)
        assert answers.next()[::2] == (200, b"later")
        s.sendall(get("/now"))
        assert answers.next()[::2] == (200, b"now")


def test_answers_without_their_exact_length_are_framed_as_gunicorn_frames_them(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        s.sendall(get("/later-unframed") + get("/later-short") + get("/now"))
        raw = b""
        while not raw.endswith(b"\r\n\r\nnow"):
            chunk = s.recv(65536)
            assert chunk, raw
            raw += chunk
    first, second, third = raw.split(b"HTTP/1.1 ")[1:]
    assert b"Transfer-Encoding: chunked" in first and first.endswith(
        b"\r\n8\r\nunframed\r\n0\r\n\r\n"
    )
    assert second.startswith(b"200 OK") and second.endswith(b"\r\n\r\nshort")  # cut to its length
    assert third.startswith(b"200 OK") and third.endswith(b"\r\n\r\nnow")


def test_a_bad_answer_is_gunicorns_500_and_a_broken_one_is_cut_off(
    served: Callable[[], Served],
) -> None:
    server = served()
    with server.connect() as s:
        s.sendall(get("/later-bad"))
        assert read_all(s).startswith(b"HTTP/1.1 500")
    with server.connect() as s:
        s.sendall(get("/later-breaks"))
        raw = read_all(s)  # what was sent, then the connection closes: no error page after it
    assert raw.startswith(b"HTTP/1.1 200 OK") and raw.endswith(b"\r\n\r\nabc")
    assert "the application failed halfway through its answer" in server.log.read_text()


def test_a_graceful_stop_still_gives_the_answers_to_come(served: Callable[[], Served]) -> None:
    server = served()
    sockets = [server.connect() for _ in range(3)]
    for s in sockets:  # each connection accepted by the worker (not still in the backlog)
        s.sendall(get("/now"))
        assert Responses(s).next()[::2] == (200, b"now")
    for s in sockets:
        s.sendall(get("/later?ms=1500"))
    time.sleep(0.3)
    server.process.send_signal(signal.SIGTERM)
    for s in sockets:
        with s:
            assert Responses(s).next()[::2] == (200, b"later")
    assert server.process.wait(30) == 0
