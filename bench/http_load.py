"""The parts of ``bench/load_bench.py`` that are about processes rather than the product: the
stores it runs on (a throw-away PostgreSQL database, or a server of its own), the server it
starts and measures, and ``wrk`` with ``load_ballots.lua`` as the load generator."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("load_ballots.lua")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
VENV_BIN = Path(sys.executable).parent

# --- stores ------------------------------------------------------------------------------------


@contextlib.contextmanager
def store(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'consult.sqlite3'}"
        return
    import psycopg

    admin = os.environ.get("CONSULT_BENCH_PG_ADMIN", PG_ADMIN)
    name = f"consult_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_postgres(workdir: Path) -> Iterator[str]:
    """A PostgreSQL server of our own (Debian's binaries, default settings, trust on a local port),
    for runs where other work on the machine holds the shared server's connections."""
    binaries = Path(
        subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    data = workdir / "pgdata"
    data.mkdir()
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}"
    subprocess.run(
        [
            *as_postgres,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
        )


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of the server's processes: web workers, followers."""
        tick = os.sysconf("SC_CLK_TCK")
        used = {"web": 0.0, "follower": 0.0}
        for pid, role in self._processes():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[role] += (int(fields[11]) + int(fields[12])) / tick
        return used

    def _processes(self) -> list[tuple[int, str]]:
        """The server's processes and their roles ("web" or "follower")."""
        found = []
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                found.append((pid, "follower" if b"follow" in command else "web"))
        return found


def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            for child in text:
                found.append(int(child))
                found.extend(_children(int(child)))
    return found


def start_server(
    command: list[str], env: dict[str, str], port: int, log: Path, cwd: Path
) -> Server:
    process = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=cwd
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if _answers(port):
                time.sleep(1.0)  # every worker up
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("the server did not answer in 120 s")


def wait_quiet(server: Server, timeout: float = 30.0) -> None:
    """Until the server's processes use under 5 % of a core (its followers have caught up)."""
    deadline = time.monotonic() + timeout
    before = sum(server.cpu_seconds().values())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(server.cpu_seconds().values())
        if now - before < 0.025:
            return
        before = now


def product_server(env: dict[str, str], workers: int, threads: int, log: Path, cwd: Path) -> Server:
    """``consult serve``: gunicorn workers and, with external followers, the follower process."""
    port = free_port()
    command = [str(VENV_BIN / "consult"), "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    return start_server(command, env, port, log, cwd)


def _answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"GET /favicon.ico HTTP/1.0\r\nHost: x\r\n\r\n")
        return s.recv(12).startswith(b"HTTP/1.")


# --- the load generator ------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    statuses: dict[str, int]
    acknowledged: list[str]


class Wrk:
    """``wrk`` with ``load_ballots.lua``: each line of ``requests_file`` is sent once (or, with
    ``loop``, round and round until :meth:`stop`).

    The script times the run (first request to last response) and writes ``END``; wrk is then
    stopped with SIGINT and prints its latency summary (its own clock would run the full ``-d``).
    """

    def __init__(
        self, port: int, requests_file: Path, clients: int, out: Path, loop: bool = False
    ) -> None:
        self.requests_file, self.out, self.loop = requests_file, out, loop
        env = {
            **os.environ,
            "LOAD_REQUESTS": str(requests_file),
            "LOAD_OUT": str(out),
            "LOAD_LOOP": "1" if loop else "0",
        }
        command = ["wrk", "-t1", f"-c{clients}", "-d3600s", "--timeout", "30s"]
        command += ["-s", str(LUA), f"http://127.0.0.1:{port}/"]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finished(self) -> bool:
        with contextlib.suppress(OSError):
            return "END\t" in _tail(self.out)
        return False

    def wait(self, timeout: float) -> None:
        """Until every line was answered (or ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None and not self.finished():
            time.sleep(0.2)

    def stop(self) -> WrkResult:
        self.proc.send_signal(signal.SIGINT)
        stdout, _stderr = self.proc.communicate(timeout=60)
        wall = time.perf_counter() - self.started
        summary = json.loads(next(line for line in stdout.splitlines() if line.startswith("{")))
        acknowledged: list[str] = []
        statuses: Counter[str] = Counter()
        seconds = wall
        for line in self.out.read_text().splitlines():
            status, _, value = line.partition("\t")
            if status == "END":
                seconds = int(value) / 1e6
                continue
            statuses[status] += 1
            if status == "201" and value:
                acknowledged.append(value)
        if not self.loop and not self.finished():
            with self.requests_file.open("rb") as f:
                statuses["unanswered"] = sum(1 for _ in f) - sum(statuses.values())
        return WrkResult(
            requests=sum(statuses.values()),
            seconds=seconds,
            p50_ms=summary["p50_us"] / 1000,
            p90_ms=summary["p90_us"] / 1000,
            p95_ms=summary["p95_us"] / 1000,
            p99_ms=summary["p99_us"] / 1000,
            p999_ms=summary["p999_us"] / 1000,
            max_ms=summary["max_us"] / 1000,
            statuses=dict(statuses),
            acknowledged=acknowledged,
        )


def run_wrk(port: int, requests_file: Path, clients: int, out: Path, timeout: float) -> WrkResult:
    """Send every line of ``requests_file`` once."""
    wrk = Wrk(port, requests_file, clients, out)
    wrk.wait(timeout)
    return wrk.stop()


def _tail(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 200))
        return f.read().decode("utf-8", "replace")


Request = tuple[str, str, str, str, str]  # cookie, CSRF token, method, path, JSON body


def write_requests(path: Path, lines: list[Request]) -> None:
    """One request per line, tab-separated (``load_ballots.lua`` reads them)."""
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write("\t".join(line) + "\n")


def latencies(result: WrkResult) -> dict[str, float]:
    return {
        "p50_ms": round(result.p50_ms, 2),
        "p90_ms": round(result.p90_ms, 2),
        "p95_ms": round(result.p95_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "p999_ms": round(result.p999_ms, 2),
        "max_ms": round(result.max_ms, 1),
    }
