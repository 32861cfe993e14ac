from __future__ import annotations

from consult.case import Stage
from webapp.forms import Choice, Form, Ident, Number, When
from webapp.i18n import lazy_gettext as _l


class CaseFilter(Form):
    estate = Ident(_l("小区"), required=False)
    stage = Choice(_l("阶段"), [s.value for s in Stage], required=False)
    page = Number(_l("页码"), minimum=1, maximum=100_000, required=False, load_default=1)


class CompareQuery(Form):
    a = When(_l("时刻甲"))
    b = When(_l("时刻乙"))


class ExportQuery(Form):
    estate = Ident(_l("小区"), required=False)
