from __future__ import annotations

from consult.rules import Choice
from webapp.account_rules import MAX_PASSWORD, MIN_PASSWORD
from webapp.forms import Choice as ChoiceField
from webapp.forms import Form, Text
from webapp.i18n import lazy_gettext as _l

BALLOT_CHOICES = {
    Choice.YES.value: ("同意", "Yes"),
    Choice.NO.value: ("反对", "No"),
    Choice.ABSTAIN.value: ("弃权", "Abstain"),
}


class SignInForm(Form):
    username = Text(_l("用户名"), max_length=64)
    password = Text(_l("密码"), max_length=200)


class PasswordChange(Form):
    """A new password through the API (a program need not type it twice)."""

    current_password = Text(_l("当前密码"), max_length=MAX_PASSWORD)
    password = Text(_l("新密码"), min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class PasswordForm(PasswordChange):
    confirm = Text(_l("再次输入新密码"), max_length=MAX_PASSWORD)


class CodeForm(Form):
    code = Text(_l("表决码"), max_length=40)


class BallotForm(Form):
    choice = ChoiceField(_l("表决意见"), BALLOT_CHOICES)


class PrefsForm(Form):
    lang = ChoiceField(
        _l("语言"), {"zh_CN": ("中文", "Chinese"), "en": ("English", "English")}, required=False
    )
    display = ChoiceField(
        _l("显示方式"),
        {"large": ("大字", "large type"), "normal": ("标准", "standard")},
        required=False,
    )
