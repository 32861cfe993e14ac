"""The chain follower: keeps the hash chain up with the event store and signs checkpoints.

Call it with a log position (it is one of ``app.listeners``) or use :meth:`ChainFollower.catch_up`.
Each step chains the events after the last chained position and stores their links in one
transaction, so a crash or a second follower never chains an event twice or skips one.

On SQLite and PostgreSQL a save only wakes a background thread (:meth:`start`), which chains what
has arrived within ``linger`` (50 ms) in one transaction: the ballot path pays a wake-up, not a
transaction. The in-memory store (tests, demos) chains in the saving thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consult.audit.checkpoints import make_checkpoint
from consult.audit.core import Checkpoint
from consult.audit.errors import AuditError
from consult.audit.keys import Signer, key_path, load_signer
from consult.audit.store import AuditStore
from consult.audit.stores import open_store
from consult.clock import Clock, SystemClock
from consult.config import Config

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1000
CHECKPOINT_INTERVAL = timedelta(hours=24)


class ChainFollower:
    """Chains new events and signs a checkpoint every ``checkpoint_every`` positions, or when
    ``checkpoint_interval`` has passed since the last one and there is something new."""

    def __init__(
        self,
        store: AuditStore,
        signer: Callable[[], Signer] | None = None,
        clock: Clock | None = None,
        checkpoint_every: int | None = CHECKPOINT_EVERY,
        checkpoint_interval: timedelta | None = CHECKPOINT_INTERVAL,
        batch: int = 10_000,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.batch = batch
        self._make_signer = signer
        self._signer: Signer | None = None
        self._lock = threading.RLock()
        self._head = store.head().position
        self._checkpointed, self._checkpointed_at = self._last_checkpoint()
        self._retry_from = 0
        self._reached = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    def _last_checkpoint(self) -> tuple[int, datetime]:
        """Where and when the last checkpoint was signed, for scheduling the next one only: a row
        beyond the chain's head or in the future (someone wrote it) does not postpone it."""
        now = self.clock.now()
        latest = self.store.latest_checkpoint()
        if latest is None:
            return 0, now
        try:
            at = _parse_time(latest.time)
        except (TypeError, ValueError):
            return 0, now
        if latest.position > self._head or at > now:
            return 0, now
        return latest.position, at

    @property
    def chained_to(self) -> int:
        return self._head

    @property
    def in_background(self) -> bool:
        return self._worker is not None

    def __call__(self, position: int) -> None:
        if position <= self._head:
            return
        if self._worker is not None:
            self._wake.set()
        else:
            self.catch_up()

    def catch_up(self) -> int:
        """Chain every event not chained yet; returns how many were chained."""
        with self._lock:
            total = self._chain_all()
            if self._checkpoint_due():
                self._checkpoint_quietly()
            return total

    def _chain_all(self) -> int:
        total = 0
        while True:
            count, head = self.store.extend_chain(self.batch)
            total += count
            with self._reached:
                self._head = head.position
                self._reached.notify_all()
            if count < self.batch:
                return total

    def start(self, idle: float = 60.0, linger: float = 0.05) -> None:
        """Chain in a background thread from now on; a save only wakes it. Once woken it lingers
        ``linger`` seconds so that the saves arriving meanwhile share one transaction; when idle it
        still wakes every ``idle`` seconds, to sign the interval checkpoints."""
        if self._worker is None:
            self._stopping.clear()
            self._worker = threading.Thread(
                target=self._run, args=(idle, linger), name="audit-chain", daemon=True
            )
            self._worker.start()
            self._wake.set()

    def _run(self, idle: float, linger: float) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            if self._wake.wait(idle):
                self._stopping.wait(linger)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.catch_up()
                backoff = 1.0
            except Exception:  # a worker outlives a dropped connection: it says so and retries
                logger.exception(
                    "audit chain: catch-up failed / 审计链补链失败 (retry in %.0f s)", backoff
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 60.0)
                self._wake.set()

    def follow(
        self,
        stop: threading.Event,
        wait: Callable[[], object],
        log_head: Callable[[], int],
        on_chained: Callable[[int], None] | None = None,
        idle: float = 60.0,
        linger: float = 0.0,
        rest: Callable[[float], object] | None = None,
    ) -> None:
        """Keep the chain up with the log from a process of its own (``consult follow``) until
        ``stop`` is set: chain whenever the log is beyond the chain (``wait()`` returns when it may
        have grown), and at least every ``idle`` s, to sign the interval checkpoints. After a
        catch-up that chained events the next starts no sooner than ``linger`` s after it started
        (``rest(seconds)`` sleeps meanwhile), so that under load one transaction takes what
        arrived meanwhile. Errors propagate: the caller logs them and calls again (nothing is
        chained twice or skipped)."""
        self._head = self.store.head().position
        last = float("-inf")
        busy = False  # the last catch-up chained events: catch up again without asking the log
        while not stop.is_set():
            now = time.monotonic()
            if busy or now - last >= idle or log_head() > self._head:
                last = now
                chained = self.catch_up()
                if chained and on_chained is not None:
                    on_chained(self._head)
                busy = bool(chained) and linger > 0
                if busy:
                    (rest or stop.wait)(max(0.0, now + linger - time.monotonic()))
                    continue
            wait()

    def wait(self, position: int, timeout: float = 10.0) -> bool:
        """Wait until the chain reaches ``position`` (read-your-writes with a background worker)."""
        with self._reached:
            return self._reached.wait_for(lambda: self._head >= position, timeout)

    def stop(self) -> None:
        """Stop the background thread (what is not chained yet, the next catch-up chains)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._stopping.set()
            self._wake.set()
            worker.join()

    def signer(self) -> Signer:
        if self._make_signer is None:
            raise AuditError(reason="未配置签名密钥", reason_en="no signing key is configured")
        if self._signer is None:
            self._signer = self._make_signer()
        return self._signer

    def checkpoint(self) -> Checkpoint:
        """Chain what is new and sign a checkpoint at the chain's head now (on demand)."""
        with self._lock:
            self._chain_all()
            checkpoint = make_checkpoint(self.store, self.signer(), self.clock.now())
            self._checkpointed = checkpoint.position
            self._checkpointed_at = _parse_time(checkpoint.time)
            return checkpoint

    def _checkpoint_due(self) -> bool:
        if (
            self._make_signer is None
            or self._head <= self._checkpointed
            or self._head < self._retry_from
        ):
            return False
        if self.checkpoint_every and self._head - self._checkpointed >= self.checkpoint_every:
            return True
        interval = self.checkpoint_interval
        return interval is not None and self.clock.now() - self._checkpointed_at >= interval

    def _checkpoint_quietly(self) -> None:
        try:
            self.checkpoint()
        except AuditError as e:
            self._retry_from = self._head + (self.checkpoint_every or 1)
            logger.error(
                "audit checkpoint not signed / 未签发审计检查点: %s | %s",
                e.message("zh"),
                e.message("en"),
            )


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def attach(
    app: Any,
    url: str,
    key_file: Path | None = None,
    *,
    catch_up: bool = True,
    checkpoint_every: int | None = CHECKPOINT_EVERY,
    checkpoint_interval: timedelta | None = CHECKPOINT_INTERVAL,
    background: bool | None = None,
) -> ChainFollower:
    """Keep the chain of ``app`` (on the store at ``url``) after every save; sign checkpoints with
    the key in ``key_file`` (none: chain only). ``background`` defaults to on for a database."""
    store = open_store(url, app)
    signer = (lambda: load_signer(key_file)) if key_file is not None else None
    follower = ChainFollower(store, signer, app.clock, checkpoint_every, checkpoint_interval)
    if catch_up:
        follower.catch_up()
    if store.backend != "memory" if background is None else background:
        follower.start()
    app.listeners.append(follower)
    return follower


def attach_configured(app: Any, config: Config) -> ChainFollower:
    """:func:`attach` as the composition root does it: the configured store and key file."""
    return attach(app, config.database_url, key_path(config.instance_path))


def chain_follower(app: Any, config: Config) -> ChainFollower:
    """The chain follower of an external follower process (:meth:`ChainFollower.follow`): the
    configured store and key file, checkpoints as in the embedded default, not attached."""
    store = open_store(config.database_url, app)
    key_file = key_path(config.instance_path)
    return ChainFollower(store, lambda: load_signer(key_file), app.clock)
