"""Server-side sessions: a signed-in (or voting-code) session counts only while its row exists.

A sign-in makes a random session id; Flask's signed session cookie carries it (``sid``) and
``web_sessions`` keeps its SHA-256 digest (so the table holds nothing a cookie could be made from),
with the account, or the voting code, it is for. Every request that names an account or a code
reads the row with its account (:meth:`SignIns.holder`: one read by primary key, joined to the
account by its primary key; nothing kept in memory), so an ended session is refused at once by
every worker process:

- signing out deletes the session's row;
- signing out everywhere, a password change and disabling the account delete all of the
  account's rows (the last two in the transaction that changes the account,
  :meth:`webapp.accounts.AccountStore._update`), which moves the account's epoch on;
- a sign-in records its row only if the account is still enabled at the epoch it authenticated
  (a password change or a disable racing the sign-in wins).

Rows older than :data:`MAX_AGE` (sessions slide by 12 hours of use, but none lives longer) are
refused and removed at the next sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, column, delete, insert, literal, select, table
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.account_model import ACCOUNT_COLUMNS, Account, account_of
from webapp.db import Base
from webapp.rawreads import RawReads

#: The longest a session lives, however often it is used (seconds).
MAX_AGE = 30 * 24 * 3600
SESSION_KEY = "sid"


class SessionRow(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(primary_key=True)  # SHA-256 of the cookie's session id (hex)
    account_id: Mapped[int | None] = mapped_column(index=True)
    code_id: Mapped[int | None] = mapped_column()
    started: Mapped[int] = mapped_column(index=True)  # Unix seconds


_accounts = table("web_accounts", column("id"), column("epoch"), column("disabled"))
_HOLDER_SQL = (
    "SELECT s.code_id, "
    + ", ".join(f"a.{name}" for name in ACCOUNT_COLUMNS)
    + " FROM web_sessions s LEFT JOIN web_accounts a ON a.id = s.account_id"
    " WHERE s.id = {0} AND s.started > {0}"
)


@dataclass(frozen=True)
class Holder:
    """Whom a live session is for: an enabled account, or a voting code's holder."""

    account: Account | None
    code_id: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignIns:
    """The ``web_sessions`` table; a session's row is read on the driver's own connections
    (:class:`webapp.rawreads.RawReads`)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.reads = RawReads(engine)
        self.clock = clock
        self._holder_sql = _HOLDER_SQL.format(self.reads.marker)

    def close(self) -> None:
        """Let go of the connections of the session reads (the engine is the caller's)."""
        self.reads.close()

    def start(self, account_id: int, epoch: int) -> str | None:
        """A new session of the account as it stands at ``epoch``, enabled; None if it no longer
        does (changed or disabled since it was authenticated)."""
        token = secrets.token_urlsafe(32)
        now = int(self.clock())
        account = select(literal(_digest(token)), _accounts.c.id, literal(now)).where(
            _accounts.c.id == account_id,
            _accounts.c.epoch == epoch,
            _accounts.c.disabled == False,  # noqa: E712 (SQL, not Python)
        )
        with Session(self.engine) as s:
            s.execute(delete(SessionRow).where(SessionRow.started <= now - MAX_AGE))
            started = s.execute(
                insert(SessionRow)
                .from_select(["id", "account_id", "started"], account)
                .returning(SessionRow.id)
            ).first()
            s.commit()
        return token if started is not None else None

    def start_code(self, code_id: int) -> str:
        """A new session of a voting code's holder."""
        token = secrets.token_urlsafe(32)
        with Session(self.engine) as s:
            s.add(SessionRow(id=_digest(token), code_id=code_id, started=int(self.clock())))
            s.commit()
        return token

    def holder(self, token: Any) -> Holder | None:
        """Whom a live session is for, or None if it has ended (or never was). A session of an
        account that is disabled has no account."""
        if not isinstance(token, str) or not token or len(token) > 100:
            return None
        rows = self.reads.fetch(self._holder_sql, (_digest(token), int(self.clock()) - MAX_AGE))
        if not rows:
            return None
        code_id, *account = rows[0]
        if account[0] is None or account[ACCOUNT_COLUMNS.index("disabled")]:
            return Holder(None, code_id)
        return Holder(account_of(account), code_id)

    def end(self, token: Any) -> None:
        """End one session (signing out)."""
        if isinstance(token, str) and token:
            with Session(self.engine) as s:
                s.execute(delete(SessionRow).where(SessionRow.id == _digest(token)))
                s.commit()

    def end_all(self, account_id: int) -> int:
        """End every session of the account (signing out everywhere); how many there were."""
        with Session(self.engine) as s:
            ended = s.execute(
                delete(SessionRow)
                .where(SessionRow.account_id == account_id)
                .returning(SessionRow.id)
            ).all()
            s.commit()
        return len(ended)
