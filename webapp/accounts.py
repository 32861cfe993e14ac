"""Accounts (people who sign in), in ``web_accounts``.

Accounts are made with ``consult account`` or on the account page of a committee or operator
(:mod:`webapp.manage`). An account that holds neither the street nor the operator role is bound to
one estate and sees only its cases (:mod:`webapp.account_rules` checks the fields). Passwords are
hashed with werkzeug (scrypt by default). An account's name, person, roles and estate never
change; its password and whether it is disabled do, and every such change moves its epoch on and
ends the account's sessions at once (their rows in ``web_sessions`` are deleted in the same
transaction, :mod:`webapp.signins`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Engine, String, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from consult.actors import Role
from consult.errors import NotFoundError
from webapp.account_model import ACCOUNT_COLUMNS, Account, account_of, roles_text
from webapp.account_rules import NewAccount, check_password, normalise_username, taken
from webapp.db import Base
from webapp.signins import SessionRow


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


def _account(row: AccountRow) -> Account:
    return account_of(getattr(row, name) for name in ACCOUNT_COLUMNS)


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
        roles: Iterable[Role | str],
        estate_id: UUID | None = None,
    ) -> Account:
        """A new account; every field is checked first, and nothing is stored if one is bad."""
        new = NewAccount.checked(username, person_id, display_name, roles, estate_id)
        check_password(password)
        row = AccountRow(
            username=new.username,
            password_hash=self._hash(password),
            person_id=new.person_id,
            display_name=new.display_name,
            roles=roles_text(new.roles),
            estate_id=new.estate_id.hex if new.estate_id else None,
            created_at=datetime.now(tz=UTC),
        )
        with Session(self.engine) as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                raise taken() from None
            return _account(row)

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
            raise taken()

    def get(self, account_id: int) -> Account | None:
        """The enabled account with this id, or None."""
        account = self.record(account_id)
        return None if account is None or account.disabled else account

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
        """Set a new password; the account's sessions end."""
        self.change_password(self._id_of(username), password)

    def change_password(self, account_id: int, password: str) -> None:
        check_password(password)
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
        """Change the account: its epoch moves on and its sessions end (one transaction)."""
        with Session(self.engine) as s:
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
            # its sessions end at once, everywhere (webapp.signins)
            s.execute(delete(SessionRow).where(SessionRow.account_id == account_id))
            s.commit()

    def count(self) -> int:
        with Session(self.engine) as s:
            return len(s.scalars(select(AccountRow.id)).all())
