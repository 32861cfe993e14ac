"""gunicorn settings that ``consult serve`` adds to its command line (``-c python:...``).

Each worker sets the interpreter's switch interval (``CONSULT_SWITCH_INTERVAL``, seconds; by default
Python's own, 0.005). A worker's threads share one interpreter lock, and a thread that waited on the
database (the group committer after its commit, a request after its account read) waits again for
the lock until the running thread is asked to give it up, after the switch interval. A shorter
interval shortens that wait and adds switches between the running threads: with threads spinning in
Python beside 32 casting threads, 0.5 ms raised group-committed ballots from 218/s to 1,137/s, but
over HTTP, where request threads give the lock up at every socket read and write, 0.5 ms was slower
than 5 ms in back-to-back runs (docs/benchmarks.md, "Load over HTTP"). The setting is there to
measure with.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from consult.config import seconds_setting
from consult.errors import SettingError

DEFAULT_SWITCH_INTERVAL = "0.005"


def switch_interval(environ: dict[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    value = env.get("CONSULT_SWITCH_INTERVAL") or DEFAULT_SWITCH_INTERVAL
    return seconds_setting("CONSULT_SWITCH_INTERVAL", value, 0.0001, 0.1)


def on_starting(server: Any) -> None:
    """Refuse a bad setting in the master, before any worker starts (as ``consult serve`` does
    before it runs gunicorn), also when gunicorn is run with this file directly."""
    try:
        switch_interval()
    except SettingError as error:
        server.log.error("%s", error)
        raise SystemExit(2) from None


def post_worker_init(worker: Any) -> None:
    sys.setswitchinterval(switch_interval())
