"""What makes an account's fields and password acceptable, with the answer when they are not.

Used by the account store before it writes (:mod:`webapp.accounts`), by the forms that ask for
them and by ``consult account``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from consult.actors import Role
from consult.errors import ValidationError

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 100
MAX_PERSON_ID = 64
#: Accounts with one of these roles may be left unbound (they see every estate).
UNBOUND_ROLES = frozenset({Role.STREET, Role.OPERATOR})
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def normalise_username(text: str) -> str:
    return (text or "").strip().lower()


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


def taken() -> ValidationError:
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


def check_password(password: str) -> None:
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
