"""Commands on one case, declared once for the case page's form and for the API.

A :class:`CaseCommand` names the form (one marshmallow schema), the access rule and the action;
:func:`add_pages` makes the page routes of a blueprint from a list of them and the API makes
its endpoints from the same list (``webapp/api/committee.py``), so that a page and its endpoint
cannot drift apart in the fields they take, who may use them or what they do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from flask import Blueprint
from flask.typing import ResponseReturnValue

from webapp.account_model import Account
from webapp.common import attempt, scoped_case
from webapp.errors import Problem
from webapp.forms import Form
from webapp.security import require_user

#: What a blueprint answers after a command: the case page again with the problem, or onwards.
Respond = Callable[[UUID, "CaseCommand", Problem | None], ResponseReturnValue]


@dataclass(frozen=True)
class CaseCommand:
    name: str  # the page's endpoint, and the name of its form on the case page
    form: type[Form]  # Form itself: the command takes no fields
    action: Callable[[Account, UUID, dict[str, Any]], Any]
    access: Callable[[Any], Any]  # the access rule of the page and of the API endpoint
    done: Any  # what the page says afterwards (a lazy text)
    summary: str  # the API endpoint's summary
    page_path: (
        str | None
    )  # POST .../cases/<id>/<page_path>; None: the command has a page of its own
    api_path: str | None  # POST /api/v1/cases/<id>/<api_path>; None: the API declares it itself
    api_name: str = ""  # the API endpoint (by default case_<action>)
    tag: str = "committee"
    status: int = 200  # the API's status on success

    @property
    def api_endpoint(self) -> str:
        return self.api_name or f"case_{self.action.__name__}"

    @property
    def takes_fields(self) -> bool:
        return self.form is not Form


def add_pages(bp: Blueprint, commands: Iterable[CaseCommand], respond: Respond) -> None:
    """A POST route for every command that is a form on the case page."""
    for command in commands:
        if command.page_path is not None:
            bp.add_url_rule(
                f"/cases/<uuid:case_id>/{command.page_path}",
                command.name,
                command.access(_page_view(command, respond)),
                methods=["POST"],
            )


def _page_view(command: CaseCommand, respond: Respond) -> Callable[[UUID], ResponseReturnValue]:
    def view(case_id: UUID) -> ResponseReturnValue:
        user = require_user()
        scoped_case(case_id)
        _result, problem = attempt(command.form(), lambda d: command.action(user, case_id, d))
        return respond(case_id, command, problem)

    view.__name__ = command.name
    return view
