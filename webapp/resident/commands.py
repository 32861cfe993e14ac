"""What residents do on a case: each is a form on the case page and an API endpoint."""

from __future__ import annotations

from webapp.commands import CaseCommand
from webapp.forms import Form
from webapp.i18n import lazy_gettext as _l
from webapp.resident import actions
from webapp.resident.schemas import RatingForm, SpeakForm, WithdrawForm
from webapp.security import RESIDENTS, SPEAKERS, WITHDRAWERS, roles

RESIDENT_COMMANDS = (
    CaseCommand(
        "support",
        Form,
        actions.support,
        roles(*RESIDENTS),
        _l("已附议。"),
        "附议 · Support a topic",
        page_path="support",
        api_path="support",
        api_name="support_case",
        tag="cases",
        status=201,
    ),
    CaseCommand(
        "speak",
        SpeakForm,
        actions.speak,
        roles(*SPEAKERS),
        _l("您的发言已发布。"),
        "网上发言 · Speak in online deliberation",
        page_path="statements",
        api_path="statements",
        api_name="speak",
        tag="cases",
        status=201,
    ),
    CaseCommand(
        "rate",
        RatingForm,
        actions.rate,
        roles(*RESIDENTS),
        _l("感谢您的评价。"),
        "评价办理结果 · Rate an outcome",
        page_path="rating",
        api_path="rating",
        api_name="rate",
        tag="evaluation",
        status=201,
    ),
    CaseCommand(
        "withdraw",
        WithdrawForm,
        actions.withdraw,
        roles(*WITHDRAWERS),
        _l("议题已撤回，撤回理由已公开。"),
        "撤回议题（提出人或委员会，须说明理由） · Withdraw a topic (its submitter or a committee)",
        page_path="withdraw",
        api_path="withdrawal",
        api_name="case_withdraw",
        tag="cases",
    ),
)
