"""The API keeps its own OpenAPI document: what the fuzzer (tests/web/test_fuzz.py) found, one
test each: moments with their offset, exact areas as decimal strings, 401 before CSRF, ``Allow``
on 405, no undocumented body fields, no empty query parameters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tests.web.conftest import CSRF, World, api


def _spec(world: World) -> dict[str, Any]:
    spec: dict[str, Any] = world.client().get("/api/v1/openapi.json").json
    return spec


def test_moments_in_the_account_list_carry_their_offset(world: World) -> None:
    items = api(world.client("oc"), "GET", "/api/v1/accounts").json["items"]
    assert items
    for item in items:
        assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None, item


def test_areas_are_exact_decimals_in_strings_as_documented(world: World) -> None:
    motion, _case = world.motion("resident")
    spec = _spec(world)
    schema = spec["components"]["schemas"]["Motion"]["properties"]
    body = api(world.client("resident"), "GET", f"/api/v1/motions/{motion}").json
    for name in ("area_needed", "area_missing", "signed_area", "total_area"):
        assert schema[name]["type"] == "string" and schema[name]["format"] == "decimal"
        assert isinstance(body[name], str) and re.fullmatch(schema[name]["pattern"], body[name])
    total = spec["components"]["schemas"]["ResultRow"]["properties"]["total_area"]
    assert total["type"] == "string" and total["format"] == "decimal"


def test_a_write_without_a_session_is_a_401_before_any_csrf_check(world: World) -> None:
    case = world.deliberating()
    before = world.position()
    fresh = world.web.test_client()  # no session at all
    r = fresh.post("/api/v1/cases", json={"title": "t", "description": "d"})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthenticated"
    r = fresh.delete("/api/v1/session")
    assert r.status_code == 401 and r.json["error"]["code"] == "no_session"
    visitor = world.client()  # a session with its CSRF token, nobody signed in
    r = visitor.post(f"/api/v1/cases/{case}/statements", json={"text": "x"})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthenticated"
    # signed in: the CSRF token is still needed
    r = world.client("resident").post(f"/api/v1/cases/{case}/statements", json={"text": "x"})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf"
    assert world.position() == before


def test_a_405_says_which_methods_are_allowed(world: World) -> None:
    r = world.client("resident").put("/api/v1/cases", headers={"X-CSRF-Token": CSRF})
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}


def test_bodies_refuse_undocumented_fields_as_the_document_says(world: World) -> None:
    case = world.confirmed()
    schemas = _spec(world)["components"]["schemas"]
    assert schemas["TopicForm"]["additionalProperties"] is False
    assert schemas["AgendaRow"]["additionalProperties"] is False
    before = world.position()
    notice = {
        "content": "c",
        "place": "p",
        "form": "f",
        "meeting_at": "2026-03-01T09:00:00+08:00",
        "agenda": [{"title": "事项", "matter": 9, "colour": "red"}],
    }
    r = api(world.client("oc"), "POST", f"/api/v1/cases/{case}/notice", notice)
    assert r.status_code == 422 and "agenda-0-colour" in r.json["error"]["fields"]
    assert world.position() == before


def test_an_empty_query_parameter_is_refused_naming_it(world: World) -> None:
    r = api(world.client("street"), "GET", "/api/v1/cases?estate=")
    assert r.status_code == 422 and "estate" in r.json["error"]["fields"]
    params = _spec(world)["paths"]["/cases"]["get"]["parameters"]
    estate = next(p for p in params if p["name"] == "estate")
    assert estate["schema"]["minLength"] == 1


def test_json_values_have_their_documented_types(world: World) -> None:
    case = world.implementing()
    client = world.client("pm")
    r = api(client, "POST", f"/api/v1/cases/{case}/progress", {"percent": "50", "text": "x"})
    assert r.status_code == 422 and "percent" in r.json["error"]["fields"]
    r = api(
        world.client("resident"),
        "POST",
        "/api/v1/cases",
        {"title": "t", "description": "d", "estate": ""},
    )
    assert r.status_code == 422 and "estate" in r.json["error"]["fields"]
