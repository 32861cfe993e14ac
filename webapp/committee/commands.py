"""The committees' commands on a case: each is a form on the committee's case page and, where
``api_path`` is set, ``POST /api/v1/cases/<id>/<api_path>``."""

from __future__ import annotations

from consult.actors import Role
from webapp.commands import CaseCommand
from webapp.committee import actions
from webapp.committee.schemas import (
    AssignForm,
    ConfirmForm,
    EvaluationForm,
    FeedbackForm,
    NoticeForm,
    OpinionForm,
    ProgressForm,
    ReasonForm,
    ReferForm,
    ResultForm,
    SessionForm,
)
from webapp.forms import Form
from webapp.i18n import lazy_gettext as _l
from webapp.resident import actions as resident
from webapp.resident.schemas import WithdrawForm
from webapp.security import COMMITTEE, IMPLEMENTERS, roles

CONFIRMERS = roles(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
CONVENERS = roles(*COMMITTEE)

CASE_COMMANDS = (
    CaseCommand(
        "confirm",
        ConfirmForm,
        actions.confirm,
        CONFIRMERS,
        _l("议题已确定。"),
        "确定议题 · Confirm a topic",
        page_path="confirm",
        api_path="confirmation",
    ),
    CaseCommand(
        "reject",
        ReasonForm,
        actions.reject,
        CONFIRMERS,
        _l("已不予立项，理由已公开。"),
        "不予立项（公开理由） · Reject with a published reason",
        page_path="reject",
        api_path="rejection",
    ),
    CaseCommand(
        "refer",
        ReferForm,
        actions.refer,
        CONFIRMERS,
        _l("议题已转交。"),
        "转交 · Refer",
        page_path="refer",
        api_path="referral",
    ),
    CaseCommand(  # the API's withdrawal is the submitters' and the committees' alike (residents)
        "withdraw",
        WithdrawForm,
        resident.withdraw,
        CONVENERS,
        _l("议题已撤回。"),
        "撤回 · Withdraw",
        page_path="withdraw",
        api_path=None,
    ),
    CaseCommand(
        "notice",
        NoticeForm,
        actions.publish_notice,
        CONVENERS,
        _l("公示已发布。请打印张贴。"),
        "发布公示（冻结议程，开始公示期） · Publish the notice",
        page_path=None,
        api_path="notice",
        status=201,
    ),
    CaseCommand(
        "new_session",
        SessionForm,
        actions.record_session,
        CONVENERS,
        _l("协商会议已记录。"),
        "记录协商会议与各方立场 · Record a deliberation session",
        page_path=None,
        api_path="sessions",
        status=201,
    ),
    CaseCommand(
        "opinion",
        OpinionForm,
        actions.form_opinion,
        CONVENERS,
        _l("协商意见已记录。"),
        "形成协商意见 · Record the consultation opinion",
        page_path="opinion",
        api_path="opinion",
    ),
    CaseCommand(
        "result",
        ResultForm,
        actions.publish_result,
        CONVENERS,
        _l("结果已公示。"),
        "公示结果 · Publish the result",
        page_path="result",
        api_path="result",
        status=201,
    ),
    CaseCommand(
        "assign",
        AssignForm,
        actions.assign,
        CONVENERS,
        _l("已安排实施。"),
        "安排实施 · Assign implementation",
        page_path="implementation",
        api_path="implementation",
    ),
    CaseCommand(
        "progress",
        ProgressForm,
        actions.report_progress,
        roles(*(COMMITTEE | IMPLEMENTERS)),
        _l("进度已报告。"),
        "报告实施进度 · Report progress",
        page_path="progress",
        api_path="progress",
        status=201,
    ),
    CaseCommand(
        "feedback",
        FeedbackForm,
        actions.give_feedback,
        CONVENERS,
        _l("反馈已发布。"),
        "反馈（含对不同意见的解释） · Give feedback",
        page_path="feedback",
        api_path="feedback",
        status=201,
    ),
    CaseCommand(
        "open_evaluation",
        EvaluationForm,
        actions.open_evaluation,
        CONVENERS,
        _l("评价已开始。"),
        "开始评价 · Open the evaluation",
        page_path="evaluation",
        api_path="evaluation",
        status=201,
    ),
    CaseCommand(  # the API answers with the evaluation's outcome: declared there
        "close_evaluation",
        Form,
        actions.close_evaluation,
        CONVENERS,
        _l("评价已结束，结果已公布。"),
        "结束评价并公布 · Close the evaluation",
        page_path="evaluation/close",
        api_path=None,
    ),
    CaseCommand(
        "archive",
        Form,
        actions.archive,
        CONVENERS,
        _l("议题已归档。"),
        "归档 · Archive",
        page_path="archive",
        api_path="archive",
    ),
)

BY_NAME = {c.name: c for c in CASE_COMMANDS}
