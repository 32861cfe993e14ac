"""The JSON API: the OpenAPI document, a story through it, pagination, and one error format."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from consult.case import Stage
from tests.web.conftest import CSRF, PASSWORD, World, api, username


def test_the_openapi_document_is_valid_and_covers_every_api_route(world: World) -> None:
    spec = world.client().get("/api/v1/openapi.json").json
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {
        (re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in world.web.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert routes == documented
    assert spec["components"]["schemas"]["ErrorBody"]["properties"]["fields"]["type"] == "object"


def test_sign_in_through_the_api_needs_the_csrf_token_first(world: World) -> None:
    c = world.web.test_client()
    session = c.get("/api/v1/session").json
    assert session["signed_in"] is False and session["csrf_token"]
    r = c.post("/api/v1/session", json={"username": username("resident"), "password": PASSWORD})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf"
    r = c.post(
        "/api/v1/session",
        json={"username": username("resident"), "password": PASSWORD},
        headers={"X-CSRF-Token": session["csrf_token"]},
    )
    assert r.status_code == 200 and r.json["signed_in"] and r.json["person_id"] == "P0001"
    token = r.json["csrf_token"]
    assert token != session["csrf_token"]
    r = c.post(
        "/api/v1/session",
        json={"username": username("resident"), "password": "wrong-one"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 401 and r.json["error"]["message"] == "用户名或密码不正确。"


def test_a_resident_votes_through_the_api(world: World) -> None:
    case, vote = world.voting()
    c = world.client("resident")
    page = api(c, "GET", "/api/v1/cases?stage=voting&per_page=5").json
    assert (
        page["total"] == 1
        and page["items"][0]["id"] == str(case)
        and page["items"][0]["stage_name"]["en"] == "vote"
    )
    electors = api(c, "GET", f"/api/v1/votes/{vote}/electors").json
    assert electors == [
        {
            "elector_id": "H:P0001",
            "via": "own",
            "units": ["T-B1-U001"],
            "area": electors[0]["area"],
            "ballot": None,
        }
    ]
    r = api(c, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert r.status_code == 201 and r.json["choice"] == "yes" and len(r.json["receipt"]) == 16
    tally = api(c, "GET", f"/api/v1/votes/{vote}/tally").json
    assert tally["raw"]["participating"]["heads"] == 1
    assert (
        tally["raw"]["quorum"][1]["required"] == "2/3" and tally["raw"]["quorum"][1]["met"] is False
    )
    ballot = api(c, "GET", f"/api/v1/votes/{vote}/ballots/H:P0001").json
    assert ballot["receipt"] == r.json["receipt"]


def test_a_committee_confirms_and_publishes_through_the_api(world: World) -> None:
    case = world.topic()
    r = api(
        world.client("party"),
        "POST",
        f"/api/v1/cases/{case}/confirmation",
        {"route": "owners-assembly", "participants": ["全体业主"]},
    )
    assert r.status_code == 200 and r.json["id"] == str(case)
    r = api(
        world.client("oc"),
        "POST",
        f"/api/v1/cases/{case}/notice",
        {
            "content": "公示",
            "place": "会所",
            "form": "网上",
            "meeting_at": "2026-02-01T09:00:00+08:00",
            "agenda": [{"title": "加装电梯", "matter": 9}],
        },
    )
    assert r.status_code == 201
    assert world.consult.case(case).stage == Stage.NOTICE
    r = api(
        world.client("oc"),
        "POST",
        f"/api/v1/cases/{case}/votes",
        {"item_id": "1", "closes_at": "2026-03-01T09:00:00+08:00"},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "notice_period"
    assert r.json["error"]["messages"]["en"].startswith("The notice period has not elapsed")


def test_the_api_says_401_and_403_in_the_error_format(world: World) -> None:
    case = world.topic()
    r = world.client().get("/api/v1/cases")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthenticated"
    r = api(
        world.client("resident"),
        "POST",
        f"/api/v1/cases/{case}/confirmation",
        {"route": "owners-assembly"},
    )
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = world.client("resident").get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = world.client("resident").put("/api/v1/cases", headers={"X-CSRF-Token": CSRF})
    assert r.status_code == 405


def test_english_error_messages_when_asked(world: World) -> None:
    r = world.client().get("/api/v1/cases", headers={"Accept-Language": "en"})
    assert r.json["error"]["message"] == "Please sign in first."


def test_pagination(world: World) -> None:
    for i in range(5):
        world.topic(f"议题{i}")
    c = world.client("rc")
    first = api(c, "GET", "/api/v1/cases?per_page=2").json
    assert first["total"] == 5 and first["pages"] == 3 and len(first["items"]) == 2
    last = api(c, "GET", "/api/v1/cases?per_page=2&page=3").json
    assert len(last["items"]) == 1
    ids = {
        i["id"]
        for p in (1, 2, 3)
        for i in api(c, "GET", f"/api/v1/cases?per_page=2&page={p}").json["items"]
    }
    assert len(ids) == 5
