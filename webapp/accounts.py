"""Accounts (people who sign in) and one-time voting codes (one per vote and head).

Accounts are made with ``consult account`` or on the account page of a committee or operator
(:mod:`webapp.manage`). An account that holds neither the street nor the operator role is bound to
one estate and sees only its cases. Passwords are hashed with werkzeug (scrypt by default); a
password change or a disabled account ends the account's sessions at once (their rows in
``web_sessions`` are deleted, :mod:`webapp.signins`; and its epoch moves on).

An account's name, person, roles and estate never change; its password and whether it is
disabled do, and every such change moves its epoch on and is written, in the same transaction, to
``web_account_changes`` (so is a new account, at epoch 1, and, when the tables are set up, any
account that has no row there yet). A session cookie names the account's fields as they were at
sign-in (:meth:`AccountStore.claims`, signed with the cookie) and the accounts database's
generation, a random token made with the tables. A worker that has read every change up to
``cache_seconds`` ago (it reads the new rows that often) takes the account from the cookie instead
of the database when the account's latest recorded epoch is the session's and the generation is
this database's (:meth:`AccountStore.get`). A database replaced by another (a new generation) or
restored from a backup (its changes numbered lower than those seen) makes the worker read the
changes afresh; anything it cannot vouch for is read from the database, as before.

Voting codes are long random strings (about 50 bits of secret), so they are stored as SHA-256
digests and looked up by a short non-secret selector; a slow password hash is not needed for them
and would make issuing codes for a whole roll take minutes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import (
    DateTime,
    Engine,
    Index,
    String,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from consult.actors import ROLE_NAMES, Actor, Role
from consult.config import Config
from consult.errors import NotFoundError, ValidationError
from webapp.db import Base, create_tables, engine_for
from webapp.signins import SessionRow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 100
MAX_PERSON_ID = 64
#: Accounts with one of these roles may be left unbound (they see every estate).
UNBOUND_ROLES = frozenset({Role.STREET, Role.OPERATOR})
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """A stored moment with its offset: SQLite gives back the UTC time it was given, without one."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class AccountRow(Base):
    __tablename__ = "web_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(500))
    estate_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    epoch: Mapped[int] = mapped_column(default=1)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountChangeRow(Base):
    """One change of an account: the epoch it moved to (see the module's docstring). Rows are
    numbered in the order they were committed: writers take the table's lock on PostgreSQL, and
    SQLite has one writer at a time."""

    __tablename__ = "web_account_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(index=True)
    epoch: Mapped[int] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountsMetaRow(Base):
    """Facts about the accounts database itself: ``generation``, a random token made with it."""

    __tablename__ = "web_accounts_meta"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


def prepare_account_tables(engine: Engine) -> None:
    """After the tables are made: the database's generation, if it has none, and a recorded
    change (at its current epoch) for every account that has none (accounts made before changes
    were recorded). Idempotent; safe from several processes at once."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = engine.dialect.name == "postgresql"
    upsert: Any = postgresql.insert if postgres else sqlite.insert
    unrecorded = select(AccountRow.id, AccountRow.epoch, literal(_now())).where(
        ~exists().where(AccountChangeRow.account_id == AccountRow.id)
    )
    with Session(engine) as s:
        if postgres:
            s.execute(text("LOCK TABLE web_account_changes IN EXCLUSIVE MODE"))
        s.execute(
            upsert(AccountsMetaRow)
            .values(key="generation", value=secrets.token_hex(16))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        s.execute(
            insert(AccountChangeRow).from_select(["account_id", "epoch", "changed_at"], unrecorded)
        )
        s.commit()


class VotingCodeRow(Base):
    __tablename__ = "web_voting_codes"
    __table_args__ = (Index("web_voting_codes_vote_head", "vote_id", "head_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selector: Mapped[str] = mapped_column(String(8), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    vote_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(32))
    estate_id: Mapped[str] = mapped_column(String(32))
    head_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_by: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    person_id: str
    display_name: str
    roles: frozenset[Role]
    estate_id: UUID | None
    epoch: int
    disabled: bool = False
    created_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.person_id, self.roles, self.display_name)

    def has(self, roles: Iterable[Role]) -> bool:
        """Holds one of ``roles`` (operators hold every role, as in the domain)."""
        return Role.OPERATOR in self.roles or bool(self.roles.intersection(roles))

    def sees_estate(self, estate: UUID) -> bool:
        """Accounts bound to an estate see only that estate; street and operator accounts see all."""
        return self.estate_id is None or self.estate_id == estate


#: The session keys that carry the signed-in account's fields (:meth:`AccountStore.claims`) and
#: the accounts database's generation.
CLAIM_KEYS = ("a_person", "a_name", "a_roles", "a_estate", "a_user")
GENERATION_KEY = "a_gen"


def account_claims(account: Account, generation: str) -> dict[str, str]:
    """The account's fields as a sign-in puts them in the session cookie (plain strings), with
    the generation of the database they were read from."""
    fields = (
        account.person_id,
        account.display_name,
        ",".join(r.value for r in Role if r in account.roles),
        account.estate_id.hex if account.estate_id else "",
        account.username,
    )
    return {**dict(zip(CLAIM_KEYS, fields, strict=True)), GENERATION_KEY: generation}


def claimed_account(account_id: int, epoch: int, session: Any) -> Account | None:
    """The account a session's claims describe, or None if it has none or they are malformed."""
    try:
        person, name, roles, estate, username = (session.get(k) for k in CLAIM_KEYS)
        if not all(isinstance(v, str) for v in (person, name, roles, estate, username)):
            return None
        return Account(
            id=account_id,
            username=username,
            person_id=person,
            display_name=name,
            roles=_roles(roles),
            estate_id=UUID(hex=estate) if estate else None,
            epoch=epoch,
        )
    except (AttributeError, TypeError, ValueError):
        return None


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        person_id=row.person_id,
        display_name=row.display_name,
        roles=_roles(row.roles),
        estate_id=UUID(row.estate_id) if row.estate_id else None,
        epoch=row.epoch,
        disabled=row.disabled,
        created_at=_aware(row.created_at),
    )


class _Readers:
    """A few autocommit PostgreSQL connections of a process's own for the account read: one round
    trip each (SQLAlchemy's pool adds a ping before and a rollback after, two more, each of which
    gives up and takes back the interpreter lock). A connection that fails is closed and the read
    is tried once more on a new one."""

    def __init__(self, url: Any, size: int = 4) -> None:
        from psycopg.conninfo import make_conninfo

        self.conninfo = make_conninfo(
            dbname=url.database or "",
            user=url.username or "",
            password=url.password or "",
            host=url.host or "127.0.0.1",
            port=str(url.port or 5432),
        )
        self._idle: list[Any] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        import psycopg

        with self._slots:
            for attempt in (1, 2):
                conn = self._take()
                try:
                    rows = conn.execute(sql, params).fetchall()
                except psycopg.OperationalError:
                    conn.close()
                    if attempt == 2:
                        raise
                    continue
                self._give(conn)
                return rows
        raise AssertionError("unreachable")

    def _take(self) -> Any:
        import psycopg

        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's connections are not ours
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return psycopg.connect(self.conninfo, autocommit=True)

    def _give(self, conn: Any) -> None:
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


@functools.lru_cache(maxsize=256)
def _roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


def normalise_username(text: str) -> str:
    return (text or "").strip().lower()


_BY_ID_SQL = (
    "SELECT id, username, password_hash, person_id, display_name, roles, estate_id, epoch, "
    "disabled, created_at FROM web_accounts WHERE id = "
)
_CHANGES_SQL = "SELECT id, account_id, epoch FROM web_account_changes WHERE id > "
_LAST_CHANGE_SQL = "SELECT MAX(id) FROM web_account_changes"
_GENERATION_SQL = "SELECT value FROM web_accounts_meta WHERE key = 'generation'"


class AccountStore:
    """Accounts in ``web_accounts``."""

    def __init__(
        self, engine: Engine, password_method: str = "scrypt", cache_seconds: float = 0.0
    ) -> None:
        self.engine = engine
        self.password_method = password_method
        # Signed-in accounts read in the last ``cache_seconds`` (see WebSettings.account_cache).
        self.cache_seconds = cache_seconds
        self._cache: dict[int, tuple[float, Account | None]] = {}
        self._cache_lock = threading.Lock()
        marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(engine.dialect.paramstyle)
        if marker is None:  # SQLite and psycopg are what this product runs on
            raise ValueError(f"no account reads for the {engine.dialect.name} driver")
        self._by_id_sql = _BY_ID_SQL + marker
        self._changes_sql = _CHANGES_SQL + marker + " ORDER BY id"
        # The changes read so far: the latest recorded epoch of every account, the database's
        # generation, and when they were read (monotonic seconds; -inf: never).
        self._recorded: dict[int, int] = {}
        self._generation: str | None = None
        self._changes_seen = 0
        self._changes_read_at = float("-inf")
        self._changes_lock = threading.Lock()
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite_file = database if database and database != ":memory:" else None
        self._local = threading.local()
        self._pg = _Readers(engine.url) if engine.dialect.name == "postgresql" else None
        # Checked against when the user name is unknown, so that both cases take the same time.
        self._dummy = generate_password_hash(secrets.token_hex(16), method=password_method)

    def _hash(self, password: str) -> str:
        return generate_password_hash(password, method=self.password_method)

    def create(
        self,
        username: str,
        password: str,
        person_id: str,
        display_name: str,
        roles: Iterable[Role | str],
        estate_id: UUID | None = None,
    ) -> Account:
        """A new account; every field is checked first, and nothing is stored if one is bad."""
        new = NewAccount.checked(username, person_id, display_name, roles, estate_id)
        _check_password(password)
        row = AccountRow(
            username=new.username,
            password_hash=self._hash(password),
            person_id=new.person_id,
            display_name=new.display_name,
            roles=",".join(r.value for r in Role if r in new.roles),
            estate_id=new.estate_id.hex if new.estate_id else None,
            created_at=_now(),
        )
        with Session(self.engine) as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text("LOCK TABLE web_account_changes IN EXCLUSIVE MODE"))
            s.add(row)
            try:
                s.flush()
                s.add(AccountChangeRow(account_id=row.id, epoch=row.epoch, changed_at=_now()))
                s.commit()
            except IntegrityError:
                raise _taken() from None
            return _account(row)

    def claims(self, account: Account) -> dict[str, str]:
        """What a sign-in puts in the session for ``account`` (see :meth:`get`)."""
        with self._changes_lock:
            if self._generation is None:
                self._generation = self._read_generation()
            generation = self._generation
        return account_claims(account, generation or "")

    def check_new(
        self,
        username: str,
        person_id: str,
        display_name: str,
        roles: Iterable[Role | str],
        estate_id: UUID | None = None,
    ) -> None:
        """Refuse what :meth:`create` would refuse, except the password (asked for afterwards)."""
        new = NewAccount.checked(username, person_id, display_name, roles, estate_id)
        if self.find(new.username) is not None:
            raise _taken()

    def close(self) -> None:
        """Let go of the connections this store opened itself (the engine is the caller's)."""
        if self._pg is not None:
            self._pg.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def get(self, account_id: int, epoch: int | None = None, session: Any = None) -> Account | None:
        """The enabled account with this id, or None.

        Every signed-in request asks this. With ``cache_seconds`` set:

        - a session that carries the account's claims (:meth:`claims`) for ``epoch`` is answered
          from them, without a read, when ``epoch`` is the account's latest recorded one and the
          claims come from this database (its generation). The changes are read at most
          ``cache_seconds`` apart, so a disabled account or a changed password ends its sessions
          within that time, in every worker;
        - otherwise an account read in the last ``cache_seconds`` is taken from memory, unless the
          session names a later ``epoch`` than the one remembered (signed in again since).

        Changes made through this store take effect in it at once.
        """
        if (
            self.cache_seconds > 0
            and session is not None
            and epoch is not None
            and self._recorded_epoch(account_id) == epoch
            and self._generation is not None
            and session.get(GENERATION_KEY) == self._generation
        ):
            claimed = claimed_account(account_id, epoch, session)
            if claimed is not None:
                return claimed
        if self.cache_seconds > 0:
            now = time.monotonic()
            hit = self._cache.get(account_id)
            if hit is not None and now - hit[0] < self.cache_seconds:
                account = hit[1]
                if account is not None and (epoch is None or epoch <= account.epoch):
                    return account
        found = self._read(account_id)
        if self.cache_seconds > 0:
            with self._cache_lock:
                if len(self._cache) >= 50_000:
                    self._cache.clear()
                self._cache[account_id] = (now, found)
        return found

    def _recorded_epoch(self, account_id: int) -> int:
        """The account's latest recorded epoch (0: none recorded), as of at most
        ``cache_seconds`` ago."""
        if time.monotonic() - self._changes_read_at >= self.cache_seconds:
            with self._changes_lock:  # one thread reads; the others wait for what it finds
                started = time.monotonic()
                if started - self._changes_read_at >= self.cache_seconds:
                    self._read_changes()
                    self._changes_read_at = started
        return self._recorded.get(account_id, 0)

    def _read_changes(self) -> None:
        generation = self._read_generation()
        last = self._fetch(_LAST_CHANGE_SQL, ())
        if generation != self._generation or (last[0][0] or 0) < self._changes_seen:
            # another database, or this one restored from a backup: start again
            self._recorded, self._changes_seen, self._generation = {}, 0, generation
        rows = self._fetch(self._changes_sql, (self._changes_seen,))
        for seen, account_id, epoch in rows:
            if epoch > self._recorded.get(account_id, 0):
                self._recorded[account_id] = epoch
            self._changes_seen = max(self._changes_seen, seen)

    def _read_generation(self) -> str | None:
        rows = self._fetch(_GENERATION_SQL, ())
        return str(rows[0][0]) if rows else None

    def fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
        """The rows of a small read of the web's tables, as cheaply as the account's own read
        (for :class:`webapp.signins.SignIns`)."""
        return self._fetch(sql, params)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
        """The rows of a small query, on the cheapest connection this store has."""
        if self._sqlite_file:
            return self._sqlite_connection().execute(sql, params).fetchall()
        if self._pg is not None:
            return self._pg.fetch(sql, params)
        connection = self.engine.raw_connection()  # an in-memory SQLite database: the pool's
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            connection.close()

    def _sqlite_connection(self) -> sqlite3.Connection:
        """A SQLite connection of the thread's own, kept open: no pool to go through."""
        own: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if own is None:
            assert self._sqlite_file is not None
            own = self._local.conn = sqlite3.connect(
                self._sqlite_file, timeout=30, isolation_level=None
            )
        return own

    def _read(self, account_id: int) -> Account | None:
        # The busiest read of the web: on the driver's own cursor, about a quarter of the CPU of
        # the same statement through SQLAlchemy Core (docs/benchmarks.md, "Load over HTTP").
        rows = self._fetch(self._by_id_sql, (account_id,))
        found = rows[0] if rows else None
        if found is None or found[8]:
            return None
        created = found[9]
        return Account(
            id=found[0],
            username=found[1],
            person_id=found[3],
            display_name=found[4],
            roles=_roles(found[5]),
            estate_id=UUID(found[6]) if found[6] else None,
            epoch=found[7],
            disabled=False,
            created_at=_aware(
                datetime.fromisoformat(created) if isinstance(created, str) else created
            ),
        )

    def by_username(self, username: str) -> Account | None:
        with Session(self.engine) as s:
            row = s.scalars(
                select(AccountRow).where(AccountRow.username == normalise_username(username))
            ).first()
            return None if row is None or row.disabled else _account(row)

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account for these credentials, or None; unknown names cost the same as wrong passwords."""
        with Session(self.engine) as s:
            row = s.scalars(
                select(AccountRow).where(AccountRow.username == normalise_username(username))
            ).first()
            if row is None or row.disabled:
                check_password_hash(self._dummy, password or "")
                return None
            if not check_password_hash(row.password_hash, password or ""):
                return None
            return _account(row)

    def find(self, username: str) -> Account | None:
        """The account of this user name, disabled or not (for those who manage accounts)."""
        with Session(self.engine) as s:
            row = s.scalars(
                select(AccountRow).where(AccountRow.username == normalise_username(username))
            ).first()
            return None if row is None else _account(row)

    def record(self, account_id: int) -> Account | None:
        """The account with this id, disabled or not (for those who manage accounts)."""
        with Session(self.engine) as s:
            row = s.get(AccountRow, account_id)
            return None if row is None else _account(row)

    def accounts(
        self,
        estate_id: UUID | None = None,
        text: str = "",
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Account], int]:
        """Accounts bound to ``estate_id`` (every account when None) whose user name, name or
        person id contains ``text``, by user name; and how many there are in all."""
        where = []
        if estate_id is not None:
            where.append(AccountRow.estate_id == estate_id.hex)
        if text.strip():
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text.strip().lower()) + "%"
            where.append(
                or_(
                    AccountRow.username.like(pattern, escape="\\"),
                    func.lower(AccountRow.display_name).like(pattern, escape="\\"),
                    func.lower(AccountRow.person_id).like(pattern, escape="\\"),
                )
            )
        query = select(AccountRow).where(*where).order_by(AccountRow.username).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with Session(self.engine) as s:
            total = s.scalar(select(func.count()).select_from(AccountRow).where(*where)) or 0
            return [_account(row) for row in s.scalars(query)], total

    def set_password(self, username: str, password: str) -> None:
        """Set a new password; sessions signed in with the old one end (the epoch moves on)."""
        self.change_password(self._id_of(username), password)

    def change_password(self, account_id: int, password: str) -> None:
        _check_password(password)
        self._update(account_id, password_hash=self._hash(password))

    def set_disabled(self, account_id: int, disabled: bool) -> None:
        """Disable (the account can no longer sign in, its sessions end) or enable it again."""
        self._update(account_id, disabled=disabled)

    def _id_of(self, username: str) -> int:
        account = self.find(username)
        if account is None:
            raise NotFoundError(
                field="username", kind="账号", kind_en="account", ident=normalise_username(username)
            )
        return account.id

    def _update(self, account_id: int, **values: Any) -> None:
        """Change the account: its epoch moves on, and the change is recorded (one transaction)."""
        self._cache.pop(account_id, None)
        with Session(self.engine) as s:
            if self.engine.dialect.name == "postgresql":
                # Changes are numbered in commit order: a reader that has seen change n has seen
                # every change before it (see _read_changes).
                s.execute(text("LOCK TABLE web_account_changes IN EXCLUSIVE MODE"))
            epoch = s.execute(
                update(AccountRow)
                .where(AccountRow.id == account_id)
                .values(epoch=AccountRow.epoch + 1, **values)
                .returning(AccountRow.epoch)
            ).scalar_one_or_none()
            if epoch is None:
                raise NotFoundError(
                    field="account", kind="账号", kind_en="account", ident=str(account_id)
                )
            s.add(AccountChangeRow(account_id=account_id, epoch=epoch, changed_at=_now()))
            # its sessions end at once, everywhere (webapp.signins)
            s.execute(delete(SessionRow).where(SessionRow.account_id == account_id))
            s.commit()
        self._cache.pop(account_id, None)  # a read racing the update may have put the old one back
        with self._changes_lock:
            self._recorded[account_id] = max(self._recorded.get(account_id, 0), epoch)

    def count(self) -> int:
        with Session(self.engine) as s:
            return len(s.scalars(select(AccountRow.id)).all())


@dataclass(frozen=True)
class NewAccount:
    """An account's fields, checked, before it is stored."""

    username: str
    person_id: str
    display_name: str
    roles: frozenset[Role]
    estate_id: UUID | None

    @classmethod
    def checked(
        cls,
        username: str,
        person_id: str,
        display_name: str,
        roles: Iterable[Role | str],
        estate_id: UUID | None,
    ) -> NewAccount:
        name = normalise_username(username)
        if not USERNAME.match(name):
            raise ValidationError(
                field="username",
                label="用户名",
                label_en="user name",
                reason="须为3至64位小写字母、数字、点、横线或下划线，以字母或数字开头",
                reason_en=(
                    "use 3 to 64 lower-case letters, digits, dots, dashes or underscores, "
                    "starting with a letter or digit"
                ),
            )
        person = (person_id or "").strip()
        if not person or len(person) > MAX_PERSON_ID:
            raise ValidationError(
                field="person_id",
                label="人员编号",
                label_en="person id",
                reason=f"不能为空，且不能超过{MAX_PERSON_ID}个字",
                reason_en=f"must not be empty or longer than {MAX_PERSON_ID} characters",
            )
        shown = (display_name or person).strip()
        if len(shown) > MAX_NAME:
            raise ValidationError(
                field="display_name",
                label="姓名",
                label_en="name",
                reason=f"不能超过{MAX_NAME}个字",
                reason_en=f"must not be longer than {MAX_NAME} characters",
            )
        held = parse_roles(roles)
        if estate_id is None and not held & UNBOUND_ROLES:
            raise ValidationError(
                field="estate",
                label="小区",
                label_en="estate",
                reason="除街道和平台管理员外，账号须属于一个小区",
                reason_en="every account except street and operator accounts belongs to an estate",
            )
        return cls(name, person, shown, held, estate_id)


def _taken() -> ValidationError:
    """The same answer for any name in use: it says nothing of whose account it is."""
    return ValidationError(
        field="username",
        label="用户名",
        label_en="user name",
        reason="已被使用，请换一个",
        reason_en="is taken; choose another",
    )


def parse_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    """Roles by value; at least one, each a known role."""
    held: set[Role] = set()
    for r in roles:
        try:
            held.add(Role(r))
        except ValueError:
            raise ValidationError(
                field="roles",
                label="身份",
                label_en="roles",
                reason=f"没有“{r}”这种身份；可选：{'、'.join(x.value for x in Role)}",
                reason_en=f"there is no role '{r}'; choose from {', '.join(x.value for x in Role)}",
            ) from None
    if not held:
        raise ValidationError(
            field="roles",
            label="身份",
            label_en="roles",
            reason="至少选择一种身份",
            reason_en="choose at least one role",
        )
    return frozenset(held)


def new_password() -> str:
    """A temporary password to hand over once: 12 unambiguous characters (about 59 bits)."""
    text = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise ValidationError(
            field="password",
            label="密码",
            label_en="password",
            reason=f"须为{MIN_PASSWORD}至{MAX_PASSWORD}个字符",
            reason_en=f"use {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        )
    if password != password.strip():  # the sign-in form trims what is typed
        raise ValidationError(
            field="password",
            label="密码",
            label_en="password",
            reason="不能以空格开头或结尾",
            reason_en="must not begin or end with a space",
        )


# --- voting codes -------------------------------------------------------------------------------

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
CODE_LENGTH = 16  # printed as four groups of four
SELECTOR_LENGTH = 6  # looked up in clear; the other 10 characters (50 bits) are the secret
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def normalise_code(text: str) -> str:
    """Upper case, without spaces or dashes, with look-alike letters read as Crockford does."""
    return re.sub(r"[\s\-_.·]", "", (text or "").upper()).translate(_CONFUSABLE)


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _digest(code: str) -> str:
    return hashlib.sha256(f"consult-voting-code:{code}".encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCode:
    head_id: str
    code: str  # in clear: shown once, on the notice letter

    @property
    def printed(self) -> str:
        return format_code(self.code)


@dataclass(frozen=True)
class CodeGrant:
    """What a valid, unused code allows: one ballot for one head in one vote."""

    id: int
    selector: str
    vote_id: UUID
    case_id: UUID
    estate_id: UUID
    head_id: str


@dataclass(frozen=True)
class CodeStats:
    issued: int
    used: int


class VotingCodes:
    """One-time voting codes in ``web_voting_codes``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(
        self, vote_id: UUID, case_id: UUID, estate_id: UUID, heads: Sequence[str], issued_by: str
    ) -> list[IssuedCode]:
        """New codes for these heads; their earlier unused codes for this vote stop working."""
        for _ in range(5):
            issued = [
                IssuedCode(h, "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
                for h in heads
            ]
            now = _now()
            with Session(self.engine) as s:
                for chunk in _chunks(list(heads), 500):
                    s.execute(
                        update(VotingCodeRow)
                        .where(
                            VotingCodeRow.vote_id == vote_id.hex,
                            VotingCodeRow.head_id.in_(chunk),
                            VotingCodeRow.used_at.is_(None),
                            VotingCodeRow.revoked_at.is_(None),
                        )
                        .values(revoked_at=now)
                    )
                s.add_all(
                    VotingCodeRow(
                        selector=c.code[:SELECTOR_LENGTH],
                        digest=_digest(c.code),
                        vote_id=vote_id.hex,
                        case_id=case_id.hex,
                        estate_id=estate_id.hex,
                        head_id=c.head_id,
                        issued_at=now,
                        issued_by=issued_by,
                    )
                    for c in issued
                )
                try:
                    s.commit()
                except IntegrityError:  # a selector collided: draw again
                    s.rollback()
                    continue
            return issued
        raise RuntimeError("could not draw unique voting-code selectors")

    def find(self, code: str) -> CodeGrant | None:
        """The grant of a valid code that is neither used nor replaced, else None."""
        text = normalise_code(code)
        if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
            _digest(text)
            return None
        with Session(self.engine) as s:
            row = s.scalars(
                select(VotingCodeRow).where(VotingCodeRow.selector == text[:SELECTOR_LENGTH])
            ).first()
            expected = row.digest if row is not None else _digest("-")
            matches = hmac.compare_digest(expected, _digest(text))
            if row is None or not matches or row.used_at is not None or row.revoked_at is not None:
                return None
            return _grant(row)

    def grant(self, code_id: int) -> CodeGrant | None:
        """A grant still usable (not used, not replaced)."""
        with Session(self.engine) as s:
            row = s.get(VotingCodeRow, code_id)
            if row is None or row.used_at is not None or row.revoked_at is not None:
                return None
            return _grant(row)

    def claim(self, code_id: int) -> bool:
        """Mark the code used; False if someone else used (or it was replaced) first."""
        with Session(self.engine) as s:
            result = s.execute(
                update(VotingCodeRow)
                .where(
                    VotingCodeRow.id == code_id,
                    VotingCodeRow.used_at.is_(None),
                    VotingCodeRow.revoked_at.is_(None),
                )
                .values(used_at=_now())
            )
            s.commit()
            return bool(getattr(result, "rowcount", 0) == 1)

    def release(self, code_id: int) -> None:
        """Undo a claim whose ballot was refused, so that the code can be used again."""
        with Session(self.engine) as s:
            s.execute(update(VotingCodeRow).where(VotingCodeRow.id == code_id).values(used_at=None))
            s.commit()

    def stats(self, vote_id: UUID) -> CodeStats:
        with Session(self.engine) as s:
            rows = s.execute(
                select(VotingCodeRow.used_at).where(
                    VotingCodeRow.vote_id == vote_id.hex, VotingCodeRow.revoked_at.is_(None)
                )
            ).all()
        return CodeStats(issued=len(rows), used=sum(1 for r in rows if r[0] is not None))


def _grant(row: VotingCodeRow) -> CodeGrant:
    return CodeGrant(
        id=row.id,
        selector=row.selector,
        vote_id=UUID(row.vote_id),
        case_id=UUID(row.case_id),
        estate_id=UUID(row.estate_id),
        head_id=row.head_id,
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- demo accounts ------------------------------------------------------------------------------


class DemoPersonLike(Protocol):
    @property
    def person_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> Sequence[Role]: ...


class DemoSummaryLike(Protocol):
    @property
    def estate_id(self) -> UUID: ...
    @property
    def people(self) -> Sequence[Any]: ...
    @property
    def residents(self) -> Sequence[Any]: ...


def ensure_demo_accounts(config: Config, summary: DemoSummaryLike) -> list[dict[str, str]]:
    """Accounts for the demo's people (a new password each run); returns what to print.

    Street (auditor) accounts see every estate; everyone else is bound to the demo estate.
    """
    engine = engine_for(config.database_url)
    try:
        create_tables(engine)
        store = AccountStore(engine)
        credentials: list[dict[str, str]] = []
        people: list[DemoPersonLike] = [*summary.people, *summary.residents]
        for person in people:
            username = normalise_username(person.person_id)
            password = "demo-" + "".join(
                secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(8)
            )
            roles = tuple(Role(r) for r in person.roles)
            estate = None if Role.STREET in roles or Role.OPERATOR in roles else summary.estate_id
            if store.by_username(username) is None:
                store.create(username, password, person.person_id, person.name, roles, estate)
            else:
                store.set_password(username, password)
            credentials.append(
                {
                    "role": " / ".join(f"{ROLE_NAMES[r][0]} {ROLE_NAMES[r][1]}" for r in roles),
                    "username": username,
                    "password": password,
                    "name": person.name,
                }
            )
        return credentials
    finally:
        engine.dispose()
