"""Role × endpoint: every route declares who may use it, and the server enforces it for every
kind of user (anonymous, voting-code holder, resident, each committee, teller, property company,
street auditor)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from consult.actors import Role
from tests.web.conftest import CSRF, World
from webapp.security import Rule, rule_of

PUBLIC = "public"
CODE = "code"
SIGNED_IN = "signed_in"
OWN_ACCOUNT = "own_account"  # any signed-in person, on their own account only
R = Role
COMMITTEE = frozenset({R.OWNERS_COMMITTEE, R.RESIDENTS_COMMITTEE, R.PARTY_ORGANISATION})
STAFF = COMMITTEE | {R.TELLER, R.PROPERTY_COMPANY}
CONFIRMERS = frozenset({R.RESIDENTS_COMMITTEE, R.PARTY_ORGANISATION})
IMPLEMENTERS = COMMITTEE | {R.PROPERTY_COMPANY}
TELLERS = frozenset({R.TELLER})
AUDITORS = frozenset({R.STREET})
RESIDENTS = frozenset({R.RESIDENT})
PARTIES = COMMITTEE | {R.PROPERTY_COMPANY, R.SUPERVISORY_COMMITTEE}
SPEAKERS = RESIDENTS | PARTIES  # residents and every party of a deliberation
ELECTORS = RESIDENTS | PARTIES  # owners; committee members and seat holders in their own votes
WITHDRAWERS = RESIDENTS | COMMITTEE  # the submitter or a committee
PERSONAS = ["resident", "outsider", "oc", "rc", "party", "teller_a", "pm", "street", "oc_owner"]

#: Every endpoint that writes (any method but GET), with who may use it. A write is never left to
#: a prefix or to "signed in": each is named here, and the app must declare exactly this.
WRITES: dict[str, Any] = {
    # signing in and out, preferences: no one's data but the browser's own
    "auth.signin": PUBLIC,
    "auth.signout": PUBLIC,
    "auth.code": PUBLIC,
    "auth.prefs": PUBLIC,
    "api.create_session": PUBLIC,
    "api.delete_session": PUBLIC,
    "api.create_code_session": PUBLIC,
    "auth.code_ballot": CODE,
    "api.cast_code_ballot": CODE,
    "auth.password": OWN_ACCOUNT,
    "api.change_password": OWN_ACCOUNT,
    "auth.signout_everywhere": OWN_ACCOUNT,
    "api.delete_sessions": OWN_ACCOUNT,
    # residents and owners (the domain checks that they belong to the estate)
    "api.submit_topic": RESIDENTS,
    "resident.new_topic": RESIDENTS,
    "api.support_case": RESIDENTS,
    "resident.support": RESIDENTS,
    "api.open_motion": RESIDENTS,
    "resident.new_motion": RESIDENTS,
    "api.sign_motion": RESIDENTS,
    "resident.sign": RESIDENTS,
    "api.withdraw_signature": RESIDENTS,
    "resident.withdraw_signature": RESIDENTS,
    "api.rate": RESIDENTS,
    "resident.rate": RESIDENTS,
    "api.speak": SPEAKERS,
    "resident.speak": SPEAKERS,
    "api.cast_ballot": ELECTORS,
    "resident.cast": ELECTORS,
    "api.case_withdraw": WITHDRAWERS,
    "resident.withdraw": WITHDRAWERS,
    # committees, tellers, the property company
    "api.case_confirm": CONFIRMERS,
    "api.case_reject": CONFIRMERS,
    "api.case_refer": CONFIRMERS,
    "committee.confirm": CONFIRMERS,
    "committee.reject": CONFIRMERS,
    "committee.refer": CONFIRMERS,
    "api.case_report_progress": IMPLEMENTERS,
    "committee.progress": IMPLEMENTERS,
    "api.enter_paper": TELLERS,
    "api.confirm_paper": TELLERS,
    "committee.paper": TELLERS,
    "committee.paper_confirm": TELLERS,
    **{
        endpoint: COMMITTEE
        for endpoint in (
            "api.case_archive",
            "api.case_assign",
            "api.case_form_opinion",
            "api.case_give_feedback",
            "api.case_open_evaluation",
            "api.case_publish_notice",
            "api.case_publish_result",
            "api.case_record_session",
            "api.close_evaluation",
            "api.close_vote",
            "api.collect_topic",
            "api.create_account",
            "api.disable_account",
            "api.enable_account",
            "api.extend_vote",
            "api.issue_codes",
            "api.open_vote",
            "api.register_proxy",
            "api.reset_password",
            "committee.archive",
            "committee.assign",
            "committee.close",
            "committee.close_evaluation",
            "committee.codes",
            "committee.collect",
            "committee.extend",
            "committee.feedback",
            "committee.new_session",
            "committee.new_vote",
            "committee.notice",
            "committee.open_evaluation",
            "committee.opinion",
            "committee.proxy",
            "committee.result",
            "committee.withdraw",
            "manage.accounts",
            "manage.disable",
            "manage.enable",
            "manage.reset_password",
        )
    },
}
#: Reads whose rule is not the one of their blueprint (below).
READS: dict[str, Any] = {
    "static": PUBLIC,
    "favicon": PUBLIC,
    "auth.landing": PUBLIC,
    "auth.code_receipt": PUBLIC,
    "resident.home": PUBLIC,
    "api.get_session": PUBLIC,
    "api.openapi_document": PUBLIC,
    "committee.home": STAFF,
    "committee.case": STAFF,
    "committee.vote": STAFF,
    "api.list_paper": STAFF,
    "api.list_accounts": COMMITTEE,
}
#: The case each endpoint acts on, where a voting case would not let it act at all.
CASE_FOR = {
    "api.support_case": "collecting_id",
    "resident.support": "collecting_id",
    "api.speak": "deliberating_id",
    "resident.speak": "deliberating_id",
}


def expected(endpoint: str, writes: bool) -> Any:
    if writes:
        assert endpoint in WRITES, f"{endpoint} writes: name who may use it in WRITES"
        return WRITES[endpoint]
    if endpoint in READS:
        return READS[endpoint]
    if endpoint.startswith(("audit.", "api.audit_")):
        return AUDITORS
    if endpoint.startswith(("committee.", "manage.")):
        return COMMITTEE
    if endpoint.startswith(("resident.", "api.")):
        return SIGNED_IN
    raise AssertionError(f"no expectation for {endpoint}")


def declared_as(rule: Rule) -> Any:
    """A declared rule in the terms of the tables above."""
    return rule.roles if rule.kind == "roles" else rule.kind


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
    collecting = world.topic()
    deliberating = world.deliberating()
    case, vote = world.voting()
    motion, _ = world.motion("resident")
    # an account every committee may manage, used by no one in the matrix
    target = world.services.accounts.create(
        "matrix-target", "target-pass-1", "P0040", "目标", ["resident"], world.estate
    )
    return {
        "account_id": str(target.id),
        "case_id": str(case),
        "collecting_id": str(collecting),
        "deliberating_id": str(deliberating),
        "vote_id": str(vote),
        "motion_id": str(motion),
        "elector_id": "H:P0001",
        "fmt": "csv",
        "filename": "app.css",
    }


def _url(rule: Any, targets: dict[str, str]) -> str:
    chosen = {**targets, "case_id": targets[CASE_FOR.get(rule.endpoint, "case_id")]}
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: chosen[m.group(1)], rule.rule)


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
        s["sid"] = world.services.signins.start_code(code_id)
        s["code"] = code_id
    return client


def test_every_route_declares_an_access_rule(world: World) -> None:
    with world.web.test_request_context():
        missing = [
            r.endpoint for r in world.web.url_map.iter_rules() if rule_of(r.endpoint) is None
        ]
    assert missing == []


def writes(rule: Any) -> bool:
    return bool((rule.methods or set()) - {"GET", "HEAD", "OPTIONS"})


def test_every_rule_is_the_one_expected_and_no_write_is_left_to_signed_in(world: World) -> None:
    """The app declares, for every endpoint, exactly the rule of the tables above; a write names
    roles (or is public: signing in and out; or is on one's own account)."""
    wrong = []
    with world.web.test_request_context():
        for rule in world.web.url_map.iter_rules():
            declared = rule_of(rule.endpoint)
            assert declared is not None
            want = expected(rule.endpoint, writes(rule))
            if declared_as(declared) != want:
                wrong.append(f"{rule.endpoint}: declared {declared_as(declared)}, expected {want}")
            if writes(rule) and declared.kind == "signed_in":
                wrong.append(f"{rule.endpoint} writes with a loose signed-in rule")
    assert wrong == [], "\n".join(wrong)


def test_role_by_endpoint_matrix(world: World, targets: dict[str, str]) -> None:
    """Every endpoint and method, for every kind of user: the web refuses whoever is outside the
    rule, and a refused write stores nothing."""
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
        want = expected(rule.endpoint, writes(rule))
        url = _url(rule, targets)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who, client in clients.items():
                before = world.position()
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
                elif want in (SIGNED_IN, OWN_ACCOUNT):
                    allowed = who not in ("anonymous", "code")
                else:
                    allowed = who in world.accounts and world.accounts[who].has(want)
                refused = refused_by_web(response, url.startswith("/api/"), want)
                if allowed == refused:
                    problems.append(
                        f"{method} {url} as {who}: {response.status_code} (expected {'allowed' if allowed else 'refused'})"
                    )
                if not allowed and world.position() != before:
                    problems.append(f"{method} {url} as {who}: refused, but something was stored")
    assert problems == [], "\n".join(problems)
    assert checked > 1000
