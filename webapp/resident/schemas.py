from __future__ import annotations

from consult.evaluation import RATING_NAMES
from consult.rules import THRESHOLD_PRESETS
from webapp.auth.schemas import BALLOT_CHOICES
from webapp.forms import Choice, Flag, Form, Ident, Text
from webapp.i18n import lazy_gettext as _l

PRESETS = {key: (rule.name_zh, rule.name_en) for key, rule in THRESHOLD_PRESETS.items()}
RATINGS = {r.value: names for r, names in RATING_NAMES.items()}


class TopicForm(Form):
    title = Text(_l("议题标题"), max_length=200)
    description = Text(_l("议题内容"), max_length=20000, multiline=True)
    estate = Ident(_l("小区"), required=False)


class MotionForm(Form):
    title = Text(_l("动议标题"), max_length=200)
    description = Text(_l("动议内容"), max_length=20000, multiline=True)
    preset = Choice(_l("动议规则"), PRESETS, required=False, load_default="motion-5pct")
    estate = Ident(_l("小区"), required=False)


class SpeakForm(Form):
    text = Text(_l("发言内容"), max_length=5000, multiline=True)


class RatingForm(Form):
    rating = Choice(_l("评价"), RATINGS)
    aware = Flag(_l("我知道这件事的处理过程"))
    participated = Flag(_l("我参与了协商或表决"))


class WithdrawForm(Form):
    reason = Text(_l("撤回理由"), max_length=5000, multiline=True)


class SignForm(Form):
    head_id = Text(_l("联署户"), max_length=64, required=False)


class VoteForm(Form):
    choice = Choice(_l("表决意见"), BALLOT_CHOICES)
    elector_id = Text(_l("投票对象"), max_length=64, required=False)
