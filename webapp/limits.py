"""Rate limits: at most ``count`` attempts per ``seconds`` (a sliding window) for one key, such as
the sign-in attempts of one address or one user name.

On SQLite files and PostgreSQL the attempts are rows of ``web_rate_hits`` in the web's database,
so every worker process, and one that has just restarted, counts the same attempts:

- :meth:`~StoredRateLimiter.hit` inserts its row and then counts the key's rows in the window, in
  one transaction that no other attempt on the same key can interleave with (SQLite: the file's
  write lock, which the insert takes; PostgreSQL: a transaction-scoped advisory lock on the key).
  An attempt that finds the limit already reached is refused (:class:`RateLimited`, a 429) and
  not counted, so
  concurrent attempts from any number of threads and processes never exceed the limit. The
  sign-in and the password change count an attempt before checking the password (a success
  clears the count), so guesses arriving at once are tried only up to the limit.
- A key is stored as its HMAC-SHA256 under the instance secret: the table holds no address and no
  user name. Workers that share the secret (they must, for sessions) share the counts.
- Rows older than the longest window count for nothing; each process deletes them once a minute.
- Times are the hosts' wall clocks in milliseconds: several hosts on one PostgreSQL database need
  synchronised clocks (NTP), as they do for sessions.

``memory://`` stores (one process) keep :class:`MemoryRateLimiter`, as do unit tests that drive a
clock of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Delete,
    Engine,
    Index,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base
from webapp.settings import Limit, WebSettings

#: How often each process deletes the rows older than the longest window (milliseconds).
PRUNE_EVERY_MS = 60_000
#: The first key of the PostgreSQL advisory locks on rate-limit keys ("rate"); the second is
#: taken from the key's digest. Two-key locks do not share the space of one-key locks.
ADVISORY_SPACE = 0x72617465


class RateLimited(Exception):
    """An attempt refused at its key's limit; the web answers it with 429 and ``Retry-After``
    (:func:`webapp.errors.rate_limited`)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after} s")
        #: Seconds until the key is below its limit again.
        self.retry_after = retry_after


class RateLimiter(Protocol):
    """Counts attempts per key; :func:`webapp.security.enforce_limits` refuses at the limit."""

    def retry_after(self, key: str, limit: Limit) -> int | None:
        """Seconds to wait if ``key`` is at its limit, else None."""

    def hit(self, key: str, limit: Limit) -> None:
        """Count one attempt; if the limit has been reached meanwhile (another thread or worker),
        refuse it (:class:`RateLimited`, not counted)."""

    def reset(self, key: str) -> None:
        """Forget the key's attempts (a successful sign-in)."""


def rate_limiter_for(engine: Engine, settings: WebSettings) -> RateLimiter:
    """The limiter of the web's database: shared by every process on a SQLite file or PostgreSQL,
    in this process's memory for an in-memory store."""
    horizon = max(
        limit.seconds for limit in (settings.signin_ip, settings.signin_user, settings.code_ip)
    )
    if engine.dialect.name == "postgresql":
        return PostgresRateLimiter(engine, settings.secret_key, horizon)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return SQLiteRateLimiter(engine, settings.secret_key, horizon)
    return MemoryRateLimiter()


# --- in memory ----------------------------------------------------------------------------------


class MemoryRateLimiter:
    """Sliding-window counters in memory (one process; a restart forgets them)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def retry_after(self, key: str, limit: Limit) -> int | None:
        now = self._clock()
        with self._lock:
            return self._wait(self._prune(key, limit, now), limit, now)

    def hit(self, key: str, limit: Limit) -> None:
        now = self._clock()
        with self._lock:
            hits = self._prune(key, limit, now)
            wait = self._wait(hits, limit, now)
            if wait is None:
                hits.append(now)
            if len(self._hits) > 50_000:
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 3600}
        if wait is not None:
            raise RateLimited(wait)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _prune(self, key: str, limit: Limit, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - limit.seconds:
            hits.popleft()
        return hits

    @staticmethod
    def _wait(hits: deque[float], limit: Limit, now: float) -> int | None:
        if len(hits) < limit.count:
            return None
        if limit.count <= 0:
            return max(1, limit.seconds)
        return max(1, int(hits[len(hits) - limit.count] + limit.seconds - now) + 1)


# --- in the web's database ----------------------------------------------------------------------


class RateHitRow(Base):
    """One attempt: the key's HMAC and when it was made (milliseconds since the epoch)."""

    __tablename__ = "web_rate_hits"
    __table_args__ = (
        Index("web_rate_hits_digest_at", "digest", "at_ms"),
        Index("web_rate_hits_at", "at_ms"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    at_ms: Mapped[int] = mapped_column(BigInteger)


HITS = cast(Table, RateHitRow.__table__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _seconds(ms: int) -> int:
    """Whole seconds to wait for ``ms`` milliseconds, at least 1."""
    return max(1, -(-ms // 1000))


class StoredRateLimiter(ABC):
    """Attempts as rows of ``web_rate_hits`` (see the module's docstring); the backends differ in
    how they keep two attempts on one key apart and how they prune."""

    def __init__(
        self,
        engine: Engine,
        secret: str,
        horizon: int,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        """``horizon``: the longest window in seconds (older rows are deleted); ``clock``: now in
        milliseconds since the epoch, the same in every process."""
        self.engine = engine
        self._secret = secret.encode()
        self._horizon_ms = horizon * 1000
        self._clock = clock
        self._next_prune = 0
        self._prune_lock = threading.Lock()

    def digest(self, key: str) -> str:
        """What is stored for ``key``: its HMAC under the instance secret."""
        return hmac.new(self._secret, b"rate-limit:" + key.encode(), hashlib.sha256).hexdigest()

    def retry_after(self, key: str, limit: Limit) -> int | None:
        now = self._clock()
        with self.engine.connect() as conn:
            oldest = self._blocking_hit(conn, self.digest(key), limit, now)
        return None if oldest is None else _seconds(oldest + limit.seconds * 1000 - now)

    def hit(self, key: str, limit: Limit) -> None:
        digest = self.digest(key)
        with self._prune_lock:  # a longer window than the settings' keeps its rows as long
            self._horizon_ms = max(self._horizon_ms, limit.seconds * 1000)
        with self._transaction(digest) as conn:
            now = self._clock()
            conn.execute(insert(HITS).values(digest=digest, at_ms=now))
            # With this attempt counted, the key may hold one more than the limit: any more and
            # the limit had been reached (the transaction is rolled back: nothing is counted).
            oldest = self._blocking_hit(conn, digest, Limit(limit.count + 1, limit.seconds), now)
            if oldest is not None:
                raise RateLimited(_seconds(oldest + limit.seconds * 1000 - now))
        self._prune_now_and_then(now)

    def reset(self, key: str) -> None:
        digest = self.digest(key)
        with self._transaction(digest) as conn:
            conn.execute(delete(HITS).where(HITS.c.digest == digest))

    def prune(self, now: int | None = None) -> int:
        """Delete the rows older than the longest window; the number deleted."""
        cutoff = (self._clock() if now is None else now) - self._horizon_ms
        with self._pruning() as conn:
            return int(conn.execute(self._prune_statement(cutoff)).rowcount or 0)

    @staticmethod
    def _blocking_hit(conn: Connection, digest: str, limit: Limit, now: int) -> int | None:
        """The time of the hit whose expiry lets the key below ``limit`` again (the count-th
        newest in the window), or None if the key is below the limit now."""
        if limit.count <= 0:
            return now
        return conn.scalar(
            select(HITS.c.at_ms)
            .where(HITS.c.digest == digest, HITS.c.at_ms > now - limit.seconds * 1000)
            .order_by(HITS.c.at_ms.desc())
            .offset(limit.count - 1)
            .limit(1)
        )

    def _prune_now_and_then(self, now: int) -> None:
        with self._prune_lock:
            if now < self._next_prune:
                return
            self._next_prune = now + PRUNE_EVERY_MS
        self.prune(now)

    @abstractmethod
    def _transaction(self, digest: str) -> AbstractContextManager[Connection]:
        """A transaction in which no other attempt on the key can interleave."""

    @abstractmethod
    def _pruning(self) -> AbstractContextManager[Connection]:
        """A transaction for :meth:`prune`."""

    @abstractmethod
    def _prune_statement(self, cutoff: int) -> Delete:
        """Delete the rows made at or before ``cutoff``."""


class SQLiteRateLimiter(StoredRateLimiter):
    """On a SQLite file. The insert (always a transaction's first statement here) takes the
    file's write lock until the commit, so attempts are counted one at a time: across processes
    on SQLite's lock, and within the process on a thread lock first (the next thread is woken
    when it is free rather than polling in SQLite's busy wait)."""

    def __init__(
        self,
        engine: Engine,
        secret: str,
        horizon: int,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(engine, secret, horizon, clock)
        self._writer = threading.Lock()

    @contextmanager
    def _transaction(self, digest: str) -> Iterator[Connection]:
        with self._writer, self.engine.begin() as conn:
            yield conn

    def _pruning(self) -> AbstractContextManager[Connection]:
        return self._transaction("")

    def _prune_statement(self, cutoff: int) -> Delete:
        return delete(HITS).where(HITS.c.at_ms <= cutoff)


#: Waits for the key's lock; released at commit or rollback, when the count it guards is visible.
_KEY_LOCK = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))")


class PostgresRateLimiter(StoredRateLimiter):
    """On PostgreSQL. Each attempt first takes a transaction-scoped advisory lock on its key
    (the first 32 bits of the digest: two keys that share them only wait for each other), so the
    count after the insert sees every earlier attempt on the key, committed. Pruning skips the
    rows another transaction holds, so it never waits and never deadlocks with a reset."""

    @contextmanager
    def _transaction(self, digest: str) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            conn.execute(_KEY_LOCK, {"space": ADVISORY_SPACE, "key": int(digest[:8], 16) - 2**31})
            yield conn

    def _pruning(self) -> AbstractContextManager[Connection]:
        return self.engine.begin()

    def _prune_statement(self, cutoff: int) -> Delete:
        doomed = select(HITS.c.id).where(HITS.c.at_ms <= cutoff).with_for_update(skip_locked=True)
        return delete(HITS).where(HITS.c.id.in_(doomed))
