"""Role × endpoint: every route declares who may use it, and the server enforces it for every
kind of user (anonymous, voting-code holder, resident, each committee, teller, property company,
street auditor)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.web.conftest import CSRF, World
from webapp.security import rule_of

PUBLIC = "public"
CODE = "code"
SIGNED_IN = "signed-in"
STAFF = {"oc", "rc", "party", "teller_a", "pm", "oc_owner"}
COMMITTEE = {"oc", "rc", "party", "oc_owner"}
CONFIRMERS = {"rc", "party"}
IMPLEMENTERS = COMMITTEE | {"pm"}
TELLERS = {"teller_a"}
AUDITORS = {"street"}
PERSONAS = ["resident", "outsider", "oc", "rc", "party", "teller_a", "pm", "street", "oc_owner"]

EXPECTED: dict[str, Any] = {
    "static": PUBLIC,
    "favicon": PUBLIC,
    "auth.signin": PUBLIC,
    "auth.signout": PUBLIC,
    "auth.code": PUBLIC,
    "auth.code_receipt": PUBLIC,
    "auth.landing": PUBLIC,
    "auth.prefs": PUBLIC,
    "auth.code_ballot": CODE,
    "auth.password": SIGNED_IN,
    "resident.home": PUBLIC,
    "committee.home": STAFF,
    "committee.case": STAFF,
    "committee.vote": STAFF,
    "committee.collect": COMMITTEE,
    "committee.confirm": CONFIRMERS,
    "committee.reject": CONFIRMERS,
    "committee.refer": CONFIRMERS,
    "committee.progress": IMPLEMENTERS,
    "committee.paper": TELLERS,
    "committee.paper_confirm": TELLERS,
    "api.get_session": PUBLIC,
    "api.create_session": PUBLIC,
    "api.delete_session": PUBLIC,
    "api.create_code_session": PUBLIC,
    "api.openapi_document": PUBLIC,
    "api.cast_code_ballot": CODE,
    "api.list_paper": STAFF,
    "api.enter_paper": TELLERS,
    "api.confirm_paper": TELLERS,
    "api.case_confirm": CONFIRMERS,
    "api.case_reject": CONFIRMERS,
    "api.case_refer": CONFIRMERS,
    "api.case_report_progress": IMPLEMENTERS,
    "api.case_withdraw": SIGNED_IN,  # the submitter or a committee: the domain decides
}
COMMITTEE_API = {
    "api.collect_topic",
    "api.close_evaluation",
    "api.open_vote",
    "api.extend_vote",
    "api.close_vote",
    "api.register_proxy",
    "api.issue_codes",
    "api.list_accounts",
    "api.create_account",
    "api.reset_password",
    "api.disable_account",
    "api.enable_account",
}


def expected(endpoint: str) -> Any:
    if endpoint in EXPECTED:
        return EXPECTED[endpoint]
    if endpoint.startswith(("audit.", "api.audit_")):
        return AUDITORS
    if (
        endpoint.startswith(("committee.", "manage."))
        or endpoint in COMMITTEE_API
        or endpoint.startswith("api.case_")
    ):
        return COMMITTEE
    if endpoint.startswith(("resident.", "api.")):
        return SIGNED_IN
    raise AssertionError(f"no expectation for {endpoint}")


def refused_by_web(response: TestResponse, api: bool, want: Any) -> bool:
    """The access check (not the domain) refused: sign-in asked for, or the web's own 403."""
    if response.status_code == 302:
        location = response.headers["Location"]
        return "/signin" in location or (want == CODE and location.endswith("/code"))
    if api:
        return response.status_code == 401 or (
            response.status_code == 403
            and response.json["error"]["message"] == "您没有权限访问此页面或执行此操作。"
        )
    return response.status_code == 403 and "您没有权限访问此页面或执行此操作" in response.text


@pytest.fixture
def targets(world: World) -> dict[str, str]:
    case, vote = world.voting()
    motion, _ = world.motion("resident")
    # an account every committee may manage, used by no one in the matrix
    target = world.services.accounts.create(
        "matrix-target", "target-pass-1", "P0040", "目标", ["resident"], world.estate
    )
    return {
        "account_id": str(target.id),
        "case_id": str(case),
        "vote_id": str(vote),
        "motion_id": str(motion),
        "elector_id": "H:P0001",
        "fmt": "csv",
        "filename": "app.css",
    }


def _url(rule: Any, targets: dict[str, str]) -> str:
    return re.sub(
        r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: targets[m.group(1)], rule.rule
    )


def _request(client: FlaskClient, method: str, url: str) -> TestResponse:
    if url.startswith("/api/"):
        headers = {"X-CSRF-Token": CSRF}
        return client.open(
            url, method=method, json={} if method != "GET" else None, headers=headers
        )
    return client.open(url, method=method, data={"csrf_token": CSRF} if method != "GET" else None)


def _code_holder(world: World, code_id: int) -> FlaskClient:
    client = world.client()
    with client.session_transaction() as s:
        s["code"] = code_id
    return client


def test_every_route_declares_an_access_rule(world: World) -> None:
    with world.web.test_request_context():
        missing = [
            r.endpoint for r in world.web.url_map.iter_rules() if rule_of(r.endpoint) is None
        ]
    assert missing == []


def test_role_by_endpoint_matrix(world: World, targets: dict[str, str]) -> None:
    from uuid import UUID

    vote = UUID(targets["vote_id"])

    def code_holder() -> FlaskClient:
        """A fresh code each time: the vote stays open (no early close), and the committees'
        requests to issue codes replace the earlier ones."""
        (issued,) = world.services.codes.issue(
            vote, world.consult.vote(vote).case_id, world.estate, ["H:P0020"], "oc-1"
        )
        grant = world.services.codes.find(issued.code)
        assert grant is not None
        return _code_holder(world, grant.id)

    # a fresh browser for every request: some requests sign out
    clients = {p: (lambda p=p: world.client(p)) for p in PERSONAS}
    clients["anonymous"] = lambda: world.client()
    clients["code"] = code_holder
    problems: list[str] = []
    checked = 0
    for rule in sorted(world.web.url_map.iter_rules(), key=lambda r: r.rule):
        want = expected(rule.endpoint)
        url = _url(rule, targets)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who, client in clients.items():
                response = _request(client(), method, url)
                response.close()
                checked += 1
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {who}: {response.status_code}")
                    continue
                if want == PUBLIC:
                    allowed = True
                elif want == CODE:
                    allowed = who == "code"
                elif want == SIGNED_IN:
                    allowed = who not in ("anonymous", "code")
                else:
                    allowed = who in want
                refused = refused_by_web(response, url.startswith("/api/"), want)
                if allowed == refused:
                    problems.append(
                        f"{method} {url} as {who}: {response.status_code} (expected {'allowed' if allowed else 'refused'})"
                    )
    assert problems == [], "\n".join(problems)
    assert checked > 1000
