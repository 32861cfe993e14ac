"""gunicorn settings that ``consult serve`` adds to its command line (``-c python:...``).

Each worker lowers the interpreter's switch interval (``CONSULT_SWITCH_INTERVAL``, seconds; 0.0005
by default, Python's own is 0.005). A worker's threads share one interpreter lock, and a thread that
waited on the database (the group committer after its commit, a request after its account read)
waits again for the lock until the running thread is asked to give it up, after the switch
interval. At 5 ms, a group commit of ballots spent most of its time waiting for the lock, not for
the disk (docs/benchmarks.md, "Load over HTTP").
"""

from __future__ import annotations

import os
import sys
from typing import Any

from consult.config import seconds_setting

DEFAULT_SWITCH_INTERVAL = "0.0005"


def switch_interval(environ: dict[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    value = env.get("CONSULT_SWITCH_INTERVAL") or DEFAULT_SWITCH_INTERVAL
    return seconds_setting("CONSULT_SWITCH_INTERVAL", value, 0.0001, 0.1)


def post_worker_init(worker: Any) -> None:
    sys.setswitchinterval(switch_interval())
