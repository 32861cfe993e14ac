from __future__ import annotations

from consult.case import Stage
from webapp.forms import Choice, Form, Ident, PageQuery, When
from webapp.i18n import lazy_gettext as _l


class CaseQuery(PageQuery):
    """Cases by stage and estate, a page at a time (the auditors' page and the API's lists)."""

    estate = Ident(_l("小区"), required=False)
    stage = Choice(_l("阶段"), [s.value for s in Stage], required=False)


class CompareQuery(Form):
    a = When(_l("时刻甲"))
    b = When(_l("时刻乙"))


class ExportQuery(Form):
    estate = Ident(_l("小区"), required=False)
