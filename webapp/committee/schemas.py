from __future__ import annotations

from consult.bodies import PARTY_NAMES
from consult.case import CHANNELS, POSITIONS, SESSION_KINDS
from consult.settings import ROUTE_NAMES
from webapp.auth.schemas import BALLOT_CHOICES
from webapp.forms import Choice, Flag, Form, Ident, Number, People, Rows, Text, When
from webapp.i18n import lazy_gettext as _l

TOPIC_CHANNELS = {k: v for k, v in CHANNELS.items() if k != "motion"}
PARTIES = {p.value: names for p, names in PARTY_NAMES.items()}
PAPER_CHOICES = {**BALLOT_CHOICES, "invalid": ("无效票", "Invalid")}
REFER_TO = {
    "street": ("街道", "the street"),
    "owners-assembly": ("业主大会", "the owners' assembly"),
}
BASES = {"adults": ("成年居民", "adults"), "households": ("户", "households")}


class CollectForm(Form):
    title = Text(_l("议题标题"), max_length=200)
    description = Text(_l("议题内容"), max_length=20000, multiline=True)
    channel = Choice(_l("收集渠道"), TOPIC_CHANNELS)
    estate = Ident(_l("小区"), required=False)


class ConfirmForm(Form):
    route = Choice(_l("议事途径"), ROUTE_NAMES)
    participants = People(_l("参与主体"), required=False)
    reason = Text(_l("确定理由"), max_length=1000, required=False, multiline=True)


class ReasonForm(Form):
    reason = Text(_l("公开理由"), max_length=5000, multiline=True)


class ReferForm(Form):
    to = Choice(_l("转交对象"), REFER_TO)
    reason = Text(_l("转交理由"), max_length=5000, multiline=True)


class AgendaRow(Form):
    item_id = Text(_l("编号"), max_length=20, required=False)
    title = Text(_l("议程标题"), max_length=500)
    matter = Number(_l("表决事项类别"), minimum=1, maximum=9, required=False)
    basis = Choice(_l("表决基数"), BASES, required=False)
    members = People(_l("代表名单"), required=False)
    silent_majority = Flag(_l("适用“未投票视为同意多数”规则"))
    covenant_ref = Text(_l("规约编号"), max_length=200, required=False)


class NoticeForm(Form):
    content = Text(_l("公示内容"), max_length=20000, multiline=True)
    place = Text(_l("地点"), max_length=500)
    form = Text(_l("形式"), max_length=200)
    meeting_at = When(_l("会议时间"))
    agenda = Rows(_l("议程"), AgendaRow)


class StatementRow(Form):
    speaker = Text(_l("发言人"), max_length=200)
    party = Choice(_l("所属方"), PARTIES, required=False)
    text = Text(_l("发言内容"), max_length=5000, multiline=True)


class PositionRow(Form):
    party = Choice(_l("参会方"), PARTIES)
    position = Choice(_l("立场"), POSITIONS)
    text = Text(_l("说明"), max_length=2000, required=False, multiline=True)


class SessionForm(Form):
    kind = Choice(_l("会议形式"), SESSION_KINDS)
    held_at = When(_l("召开时间"))
    use_council = Flag(_l("由本小区议事会召开（须记录每一方立场）"))
    attendees = People(_l("参会人员"), required=False)
    statements = Rows(_l("发言"), StatementRow, required=False)
    positions = Rows(_l("各方立场"), PositionRow, required=False)
    dissent = Text(_l("不同意见"), max_length=5000, required=False, multiline=True)
    summary = Text(_l("会议纪要"), max_length=5000, required=False, multiline=True)


class OpinionForm(Form):
    opinion = Text(_l("协商意见"), max_length=20000, multiline=True)


class OpenVoteForm(Form):
    item_id = Text(_l("表决事项"), max_length=20)
    closes_at = When(_l("截止时间"))
    tellers = People(_l("计票人"), required=False)
    codes = Flag(_l("同时生成表决码并打印表决通知书"))


class ExtendForm(Form):
    closes_at = When(_l("新的截止时间"))
    reason = Text(_l("延期理由"), max_length=1000, multiline=True)


class CloseForm(Form):
    reason = Text(_l("结束说明"), max_length=1000, required=False, multiline=True)


class ProxyForm(Form):
    principal = Text(_l("委托人（业主）"), max_length=64)
    holder = Text(_l("代理人"), max_length=64)
    document = Text(_l("委托书编号"), max_length=200)


class PaperForm(Form):
    elector_id = Text(_l("业主（投票对象）"), max_length=64)
    choice = Choice(_l("选票上的意见"), PAPER_CHOICES)
    sheet_no = Text(_l("选票编号"), max_length=100)


class PaperConfirmForm(Form):
    elector_id = Text(_l("业主（投票对象）"), max_length=64)
    choice = Choice(_l("选票上的意见"), PAPER_CHOICES)


class CodesForm(Form):
    head_id = Text(_l("只为这一户重新生成"), max_length=64, required=False)


class ResultForm(Form):
    summary = Text(_l("结果说明"), max_length=20000, multiline=True)


class AssignForm(Form):
    assignee = Text(_l("承办人"), max_length=200)
    plan = Text(_l("实施方案"), max_length=20000, multiline=True)
    due = When(_l("完成期限"))


class ProgressForm(Form):
    percent = Number(_l("完成进度（%）"), minimum=0, maximum=100)
    text = Text(_l("进展说明"), max_length=5000, multiline=True)


class ExplanationRow(Form):
    to = Text(_l("解释对象"), max_length=200)
    text = Text(_l("解释内容"), max_length=5000, multiline=True)


class FeedbackForm(Form):
    summary = Text(_l("反馈说明"), max_length=20000, multiline=True)
    explanations = Rows(_l("对不同意见的解释"), ExplanationRow, required=False)


class EvaluationForm(Form):
    closes_at = When(_l("评价截止时间"))
