"""The ballot's fast path (webapp.fastpath) answers exactly as the Flask view does, and hands
everything but the common case to Flask, before doing anything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from flask import Flask, request_started
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.http import parse_cookie
from werkzeug.test import TestResponse

from consult.application import BallotReceipt
from consult.config import Config
from consult.rules import Choice
from entrypoints.bootstrap import build_web
from tests.web.conftest import CSRF, WEB_ENV, World, api
from webapp.api.schemas import ReceiptSchema, receipt_fields
from webapp.fastpath import _plain_cookies
from webapp.sessions import POSITION_COOKIE
from webapp.wiring import POSITIONS


@contextmanager
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests Flask itself dispatched meanwhile (the fast path sends none)."""
    seen: list[str] = []

    def started(sender: Flask, **_: Any) -> None:
        from flask import request

        seen.append(request.path)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


def slow_app(world: World, tmp_path: Path) -> Flask:
    """The same application with the fast path off: every ballot goes through the Flask view."""
    config = world.web.extensions["consult_runtime"].config
    return build_web(
        {"TESTING": True},
        config=Config(config.database_url, tmp_path / "slow"),
        consult=world.consult,
        environ={**WEB_ENV, "CONSULT_FAST_BALLOTS": "0"},
    )


def cast(
    world: World, persona: str, vote: Any, body: Any, app: Flask | None = None
) -> TestResponse:
    """``persona`` casts through the world's application (or ``app``, same secret key)."""
    client = world.client(persona)
    if app is not None:
        cookie = client.get_cookie("consult_session")
        assert cookie is not None
        client = app.test_client()
        client.set_cookie("consult_session", cookie.value)
    return api(client, "POST", f"/api/v1/votes/{vote}/ballots", body)


def receipt_of(response: TestResponse) -> BallotReceipt:
    j = response.json
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


def comparable_headers(response: TestResponse) -> dict[str, str]:
    headers = {k: v for k, v in response.headers.items() if k != "Set-Cookie"}
    return headers


def test_a_ballot_through_the_fast_path_is_answered_as_the_view_answers(
    world: World, tmp_path: Path
) -> None:
    _case, vote = world.voting()
    slow = slow_app(world, tmp_path)
    with flask_requests(world.web) as fast_seen, flask_requests(slow) as slow_seen:
        fast = cast(world, "resident", vote, {"choice": "yes"})
        viewed = cast(world, "resident2", vote, {"choice": " yes ", "elector_id": ""}, slow)
    assert fast_seen == [] and slow_seen == [f"/api/v1/votes/{vote}/ballots"]
    assert fast.status_code == viewed.status_code == 201
    # The same headers (security headers, Vary, Cache-Control, content type and length) ...
    assert comparable_headers(fast) == comparable_headers(viewed)
    # ... the same JSON shape, field by field and in the same order ...
    assert list(fast.json) == list(viewed.json)
    assert fast.data.endswith(b"\n") and viewed.data.endswith(b"\n")
    assert fast.json["vote_id"] == viewed.json["vote_id"] == str(vote)
    assert (fast.json["elector_id"], fast.json["choice"]) == ("H:P0001", "yes")
    assert (viewed.json["elector_id"], viewed.json["choice"]) == ("H:P0002", "yes")
    assert fast.json["changed"] is viewed.json["changed"] is False
    assert receipt_fields(receipt_of(fast)) == ReceiptSchema().dump(receipt_of(fast))
    # ... and a read-your-writes cookie carrying the ballot's position.
    positions = world.web.extensions[POSITIONS]
    for response in (fast, viewed):
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{POSITION_COOKIE}=") and "HttpOnly" in cookie
        text = cookie.split(";")[0].split("=", 1)[1]
        assert positions.read(text) == response.json["position"] > 0
    # Both ballots are stored and counted, each once.
    tally = api(world.client("oc"), "GET", f"/api/v1/votes/{vote}/tally").json
    assert tally["raw"]["participating"]["heads"] == 2


def test_the_receipt_of_a_fast_ballot_reads_back_and_a_second_cast_changes_it(
    world: World,
) -> None:
    _case, vote = world.voting()
    client = world.client("resident")
    with flask_requests(world.web) as seen:
        first = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert first.status_code == 201 and seen == []
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
def test_a_body_the_form_questions_goes_to_flask_which_names_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    _case, vote = world.voting()
    before = world.position()
    with flask_requests(world.web) as seen:
        r = cast(world, "resident", vote, body)
    assert seen == [f"/api/v1/votes/{vote}/ballots"]
    assert r.status_code == 422 and field in r.json["error"]["fields"]
    assert world.position() == before  # nothing stored


def test_no_session_a_wrong_token_or_not_json_go_to_flask(world: World) -> None:
    _case, vote = world.voting()
    path = f"/api/v1/votes/{vote}/ballots"
    before = world.position()
    with flask_requests(world.web) as seen:
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
    assert len(seen) == 4
    assert anonymous.status_code == 401
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "csrf"
    assert form.status_code == 415
    assert broken.status_code == 400 and broken.json["error"]["code"] == "bad_json"
    assert world.position() == before


def test_a_refused_cast_is_answered_by_the_applications_handlers_in_the_users_language(
    world: World,
) -> None:
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


def test_a_disabled_account_cannot_cast_through_the_fast_path(world: World) -> None:
    _case, vote = world.voting()
    client = world.client("resident")
    world.services.accounts.set_disabled(world.accounts["resident"].id, True)
    with flask_requests(world.web) as seen:
        r = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    # Flask ends the session (its epoch moved on): nobody is signed in, a 401 before any CSRF.
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthenticated" and len(seen) == 1
    tally = api(world.client("oc"), "GET", f"/api/v1/votes/{vote}/tally").json
    assert tally["raw"]["participating"]["heads"] == 0


def test_a_session_due_for_its_refresh_goes_through_flask_and_gets_a_new_cookie(
    world: World,
) -> None:
    _case, vote = world.voting()
    client = world.client("resident")
    with client.session_transaction() as s:
        s.permanent = True
    sessions = world.web.session_interface
    later = sessions.clock() + timedelta(minutes=10).total_seconds()
    sessions.clock = lambda: later  # type: ignore[attr-defined]
    with flask_requests(world.web) as seen:
        r = api(client, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert r.status_code == 201 and len(seen) == 1
    assert any(c.startswith("consult_session=") for c in r.headers.getlist("Set-Cookie"))


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab=; \t"x1é,')), max_size=24))
def test_plain_cookie_headers_read_as_werkzeug_reads_them(header: str) -> None:
    """The fast path's own reading of a Cookie header agrees with werkzeug's wherever it answers
    (anything unusual is left to werkzeug)."""
    mine = _plain_cookies(header)
    if mine is not None:
        theirs = parse_cookie(header)
        assert mine == {k: theirs.getlist(k)[0] for k in theirs}


def test_a_browsers_cookie_header_is_read_without_werkzeug() -> None:
    header = "consult_session=.eJx-_a.Zz9.s-g_; consult_pos=123.ab; large=1; consult_pos=9.x"
    assert _plain_cookies(header) == {
        "consult_session": ".eJx-_a.Zz9.s-g_",
        "consult_pos": "123.ab",
        "large": "1",
    }
    assert _plain_cookies('a="quoted"') is None and _plain_cookies("a=b c") is None
