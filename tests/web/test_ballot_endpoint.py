"""The ballot endpoint (``POST /api/v1/votes/<id>/ballots``): its answer, its read-your-writes
cookie, and the errors it gives, storing nothing, for every request it refuses."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from werkzeug.test import TestResponse

from consult.application import BallotReceipt
from consult.rules import Choice
from tests.web.conftest import CSRF, World, api
from webapp.api.schemas import ReceiptSchema, receipt_fields
from webapp.positions import POSITION_COOKIE
from webapp.wiring import POSITIONS


def cast(world: World, persona: str, vote: Any, body: Any) -> TestResponse:
    return api(world.client(persona), "POST", f"/api/v1/votes/{vote}/ballots", body)


def receipt_of(response: TestResponse) -> BallotReceipt:
    j = response.json
    assert j is not None
    return BallotReceipt(
        UUID(j["ballot_id"]),
        UUID(j["vote_id"]),
        j["elector_id"],
        Choice(j["choice"]),
        j["channel"],
        j["receipt"],
        j["changed"],
        j["position"],
    )


def test_a_ballot_is_answered_with_its_receipt_and_a_position_cookie(world: World) -> None:
    _case, vote = world.voting()
    first = cast(world, "resident", vote, {"choice": "yes"})
    second = cast(world, "resident2", vote, {"choice": " yes ", "elector_id": ""})
    for response, elector in ((first, "H:P0001"), (second, "H:P0002")):
        assert response.status_code == 201 and response.data.endswith(b"\n")
        j = response.json
        assert j["vote_id"] == str(vote) and (j["elector_id"], j["choice"]) == (elector, "yes")
        assert j["changed"] is False
        assert list(j) == list(receipt_fields(receipt_of(response)))
        assert receipt_fields(receipt_of(response)) == ReceiptSchema().dump(receipt_of(response))
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Security-Policy"]
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{POSITION_COOKIE}=") and "HttpOnly" in cookie
        text = cookie.split(";")[0].split("=", 1)[1]
        assert world.web.extensions[POSITIONS].read(text) == j["position"] > 0
    tally = api(world.client("oc"), "GET", f"/api/v1/votes/{vote}/tally").json
    assert tally["raw"]["participating"]["heads"] == 2


def test_the_receipt_reads_back_and_a_second_cast_changes_it(world: World) -> None:
    _case, vote = world.voting()
    client = world.client("resident")
    first = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert first.status_code == 201
    ballot = api(client, "GET", f"/api/v1/votes/{vote}/ballots/H:P0001").json
    assert ballot["receipt"] == first.json["receipt"] and ballot["choice"] == "yes"
    second = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "no"})
    assert second.status_code == 201 and second.json["changed"] is True
    assert second.json["choice"] == "no" and second.json["ballot_id"] == first.json["ballot_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"choice": "maybe"}, "choice"),
        ({"choice": "yes", "colour": "red"}, "colour"),
        ({"choice": 1}, "choice"),
        ({}, "choice"),
        ({"choice": "yes", "elector_id": "H:" + "x" * 80}, "elector_id"),
    ],
)
def test_a_bad_body_is_refused_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    _case, vote = world.voting()
    before = world.position()
    r = cast(world, "resident", vote, body)
    assert r.status_code == 422 and field in r.json["error"]["fields"]
    assert world.position() == before  # nothing stored


def test_no_session_a_wrong_token_a_form_or_broken_json_are_refused(world: World) -> None:
    _case, vote = world.voting()
    path = f"/api/v1/votes/{vote}/ballots"
    before = world.position()
    anonymous = api(world.client(), "POST", path, {"choice": "yes"})
    wrong = world.client("resident").post(
        path, json={"choice": "yes"}, headers={"X-CSRF-Token": "not-the-token"}
    )
    form = world.client("resident").post(
        path, data={"choice": "yes"}, headers={"X-CSRF-Token": CSRF}
    )
    broken = world.client("resident").post(
        path, data=b"{not json", content_type="application/json", headers={"X-CSRF-Token": CSRF}
    )
    assert anonymous.status_code == 401
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "csrf"
    assert form.status_code == 415
    assert broken.status_code == 400 and broken.json["error"]["code"] == "bad_json"
    assert world.position() == before


def test_a_refused_cast_is_answered_in_the_users_language(world: World) -> None:
    _case, vote = world.voting()
    world.close_at_end(vote)
    before = world.position()
    client = world.client("resident")
    client.set_cookie("lang", "en")
    r = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert r.status_code == 409 and r.json["error"]["message"].isascii()
    assert r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"
    outsider = api(
        world.client("outsider"), "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"}
    )
    assert outsider.status_code in (403, 409, 422) and "error" in outsider.json
    assert world.position() == before


def test_a_disabled_account_cannot_cast(world: World) -> None:
    _case, vote = world.voting()
    client = world.client("resident")
    world.services.accounts.set_disabled(world.accounts["resident"].id, True)
    r = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    # Its session ended with the change: nobody is signed in, a 401 before any CSRF check.
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthenticated"
    tally = api(world.client("oc"), "GET", f"/api/v1/votes/{vote}/tally").json
    assert tally["raw"]["participating"]["heads"] == 0
