from __future__ import annotations

from marshmallow import ValidationError as SchemaError

from consult.actors import ROLE_NAMES, Role
from webapp.account_rules import USERNAME, normalise_username
from webapp.forms import Choices, Form, Ident, PageQuery, Text
from webapp.i18n import gettext
from webapp.i18n import lazy_gettext as _l

ROLES = {r.value: ROLE_NAMES[r] for r in Role}


def _username(value: str) -> None:
    if not USERNAME.match(normalise_username(value)):
        raise SchemaError(gettext("须为3至64位小写字母、数字、点、横线或下划线，以字母或数字开头"))


class AccountForm(Form):
    username = Text(
        _l("用户名"),
        max_length=64,
        validate=_username,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
    )
    display_name = Text(_l("姓名"), max_length=100)
    person_id = Text(_l("人员编号"), max_length=64)
    roles = Choices(_l("身份"), ROLES)
    estate = Ident(_l("小区"), required=False)


class AccountQuery(PageQuery):
    estate = Ident(_l("小区"), required=False)
    q = Text(_l("查找"), max_length=64, required=False)
