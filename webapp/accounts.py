"""Accounts (people who sign in) and one-time voting codes (one per vote and head).

Passwords are hashed with werkzeug (scrypt by default). Voting codes are long random strings
(about 50 bits of secret), so they are stored as SHA-256 digests and looked up by a short
non-secret selector; a slow password hash is not needed for them and would make issuing codes for
a whole roll take minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import DateTime, Engine, Index, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from consult.actors import ROLE_NAMES, Actor, Role
from consult.config import Config
from consult.errors import ValidationError
from webapp.db import Base, create_tables, engine_for

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8


def _now() -> datetime:
    return datetime.now(tz=UTC)


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

    @property
    def actor(self) -> Actor:
        return Actor(self.person_id, self.roles, self.display_name)

    def has(self, roles: Iterable[Role]) -> bool:
        """Holds one of ``roles`` (operators hold every role, as in the domain)."""
        return Role.OPERATOR in self.roles or bool(self.roles.intersection(roles))

    def sees_estate(self, estate: UUID) -> bool:
        """Accounts bound to an estate see only that estate; street and operator accounts see all."""
        return self.estate_id is None or self.estate_id == estate


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        person_id=row.person_id,
        display_name=row.display_name,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        estate_id=UUID(row.estate_id) if row.estate_id else None,
        epoch=row.epoch,
    )


def normalise_username(text: str) -> str:
    return (text or "").strip().lower()


class AccountStore:
    """Accounts in ``web_accounts``."""

    def __init__(self, engine: Engine, password_method: str = "scrypt") -> None:
        self.engine = engine
        self.password_method = password_method
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
        roles: Sequence[Role | str],
        estate_id: UUID | None = None,
    ) -> Account:
        name = normalise_username(username)
        if not USERNAME.match(name):
            raise ValidationError(
                field="username",
                label="用户名",
                label_en="user name",
                reason="须为3至64位小写字母、数字、点、横线或下划线",
                reason_en="use 3 to 64 lower-case letters, digits, dots, dashes or underscores",
            )
        _check_password(password)
        person = (person_id or "").strip()
        if not person:
            raise ValidationError(
                field="person_id",
                label="人员编号",
                label_en="person id",
                reason="不能为空",
                reason_en="must not be empty",
            )
        row = AccountRow(
            username=name,
            password_hash=self._hash(password),
            person_id=person,
            display_name=(display_name or person).strip(),
            roles=",".join(Role(r).value for r in roles),
            estate_id=estate_id.hex if estate_id else None,
            created_at=_now(),
        )
        with Session(self.engine) as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                raise ValidationError(
                    field="username",
                    label="用户名",
                    label_en="user name",
                    reason="已被使用",
                    reason_en="is taken",
                ) from None
            return _account(row)

    def get(self, account_id: int) -> Account | None:
        with Session(self.engine) as s:
            row = s.get(AccountRow, account_id)
            return None if row is None or row.disabled else _account(row)

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

    def set_password(self, username: str, password: str) -> None:
        """Set a new password; sessions signed in with the old one end (the epoch moves on)."""
        _check_password(password)
        with Session(self.engine) as s:
            row = s.scalars(
                select(AccountRow).where(AccountRow.username == normalise_username(username))
            ).one()
            row.password_hash = self._hash(password)
            row.epoch += 1
            s.commit()

    def count(self) -> int:
        with Session(self.engine) as s:
            return len(s.scalars(select(AccountRow.id)).all())


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(
            field="password",
            label="密码",
            label_en="password",
            reason=f"至少{MIN_PASSWORD}位",
            reason_en=f"use at least {MIN_PASSWORD} characters",
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
