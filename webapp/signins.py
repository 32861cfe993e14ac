"""Server-side sessions: a signed-in (or voting-code) session counts only while its row exists.

A sign-in makes a random session id; the signed session cookie carries it (``sid``) and
``web_sessions`` keeps its SHA-256 digest (so the table holds nothing a cookie could be made from),
with the account, or the voting code, it is for. Every request that names an account or a code
looks the digest up, one read by primary key and nothing kept in memory, so an ended session is
refused at once by every worker process:

- signing out deletes the session's row;
- signing out everywhere, a password change and disabling the account delete all of the
  account's rows (the last two in the transaction that changes the account,
  :meth:`webapp.accounts.AccountStore._update`);
- a sign-in records its row only if the account is still enabled at the epoch it authenticated
  (a password change or a disable racing the sign-in wins).

Rows older than :data:`MAX_AGE` (sessions slide by 12 hours of use, but none lives longer) are
refused and removed at the next sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, column, delete, insert, literal, select, table
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.db import Base

#: The longest a session lives, however often it is used (seconds).
MAX_AGE = 30 * 24 * 3600
SESSION_KEY = "sid"

Fetch = Callable[[str, tuple[Any, ...]], Sequence[Any]]


class SessionRow(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(primary_key=True)  # SHA-256 of the cookie's session id (hex)
    account_id: Mapped[int | None] = mapped_column(index=True)
    code_id: Mapped[int | None] = mapped_column()
    started: Mapped[int] = mapped_column(index=True)  # Unix seconds


_accounts = table("web_accounts", column("id"), column("epoch"), column("disabled"))
_HOLDER_SQL = "SELECT account_id, code_id FROM web_sessions WHERE id = {0} AND started > {0}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignIns:
    """The ``web_sessions`` table. ``fetch`` runs a small read on the cheapest connection the
    caller has (:meth:`webapp.accounts.AccountStore.fetch`)."""

    def __init__(
        self, engine: Engine, fetch: Fetch, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.fetch = fetch
        self.clock = clock
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._holder_sql = _HOLDER_SQL.format(marker)

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

    def holder(self, token: Any) -> tuple[int | None, int | None] | None:
        """(account id, code id) of a live session, or None if it has ended (or never was)."""
        if not isinstance(token, str) or not token or len(token) > 100:
            return None
        rows = self.fetch(self._holder_sql, (_digest(token), int(self.clock()) - MAX_AGE))
        return (rows[0][0], rows[0][1]) if rows else None

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
