"""Signing out ends the session on the server: its cookie, replayed at once, is anonymous, in this
worker and in another one. So do signing out everywhere, a password change and disabling the
account; a voting code's session is ended by signing out (and by its ballot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import CSRF, PASSWORD, World, api, post, token_of, username
from tests.web.test_limits import close, other_worker
from webapp.signins import MAX_AGE, Holder, SignIns

COOKIE = "consult_session"


@pytest.fixture
def second(world: World, tmp_path: Path) -> Iterator[Flask]:
    """Another worker's application on the same database (its own caches, its own connections)."""
    app = other_worker(world, tmp_path / "second")
    yield app
    close(app)


def signed_in(world: World, persona: str) -> FlaskClient:
    """A browser signed in through the API, as a person signs in."""
    client = world.web.test_client()
    csrf = client.get("/api/v1/session").json["csrf_token"]
    response = client.post(
        "/api/v1/session",
        json={"username": username(persona), "password": PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200 and response.json["signed_in"], response.json
    return client


def saved(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def replay(app: Flask, cookie: str) -> dict[str, Any]:
    """A request of someone who kept the cookie: what the session answers."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    session: dict[str, Any] = other.get("/api/v1/session").json
    return session


def test_a_replayed_cookie_is_anonymous_at_once_after_signing_out(
    world: World, second: Flask
) -> None:
    client = signed_in(world, "resident")
    cookie = saved(client)
    assert replay(world.web, cookie)["signed_in"] and replay(second, cookie)["signed_in"]
    csrf = client.get("/api/v1/session").json["csrf_token"]
    out = client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and not out.json["signed_in"]
    for app in (world.web, second):
        session = replay(app, cookie)
        assert not session["signed_in"] and session["person_id"] is None
    # a write with the old cookie and its token is refused as from anyone not signed in
    thief = world.web.test_client()
    thief.set_cookie(COOKIE, cookie)
    before = world.position()
    response = thief.post(
        "/api/v1/cases",
        json={"title": "冒名议题", "description": "说明"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code in (400, 401) and world.position() == before


def test_signing_out_from_the_page_ends_the_session_too(world: World, second: Flask) -> None:
    client = world.web.test_client()
    token = token_of(client, "/signin")
    client.post(
        "/signin", data={"username": username("oc"), "password": PASSWORD, "csrf_token": token}
    )
    cookie = saved(client)
    assert replay(second, cookie)["signed_in"]
    client.post("/signout", data={"csrf_token": token_of(client, "/committee/")})
    assert not replay(world.web, cookie)["signed_in"]
    assert not replay(second, cookie)["signed_in"]


def test_signing_out_everywhere_ends_every_session_of_the_account_only(
    world: World, second: Flask
) -> None:
    phone, laptop = signed_in(world, "resident"), signed_in(world, "resident")
    neighbour = signed_in(world, "resident2")
    cookies = [saved(phone), saved(laptop)]
    csrf = phone.get("/api/v1/session").json["csrf_token"]
    response = phone.delete("/api/v1/sessions", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and not response.json["signed_in"]
    for app in (world.web, second):
        assert [replay(app, c)["signed_in"] for c in cookies] == [False, False]
        assert replay(app, saved(neighbour))["signed_in"]
    # not signed in: nothing to end
    assert api(world.client(), "DELETE", "/api/v1/sessions").status_code == 401


def test_signing_out_everywhere_from_the_password_page(world: World, second: Flask) -> None:
    phone, laptop = signed_in(world, "street"), signed_in(world, "street")
    page = laptop.get("/password")
    assert "在所有设备上退出" in page.text and 'action="/signout/everywhere"' in page.text
    response = laptop.post(
        "/signout/everywhere", data={"csrf_token": token_of(laptop, "/password")}
    )
    assert response.status_code == 302
    assert not replay(second, saved(phone))["signed_in"]
    assert laptop.get("/api/v1/session").json["signed_in"] is False


def test_a_password_change_ends_the_other_sessions_at_once_in_every_worker(
    world: World, second: Flask
) -> None:
    here, elsewhere = signed_in(world, "resident"), signed_in(world, "resident")
    old = saved(elsewhere)
    assert replay(second, old)["signed_in"]  # the other worker now knows the session
    csrf = here.get("/api/v1/session").json["csrf_token"]
    response = here.post(
        "/api/v1/session/password",
        json={
            "current_password": PASSWORD,
            "password": "a-new-password-2",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200 and response.json["signed_in"]
    assert not replay(second, old)["signed_in"] and not replay(world.web, old)["signed_in"]
    assert replay(second, saved(here))["signed_in"]  # the session that changed it goes on


def test_disabling_an_account_ends_its_sessions_at_once_in_every_worker(
    world: World, second: Flask
) -> None:
    client = signed_in(world, "resident2")
    cookie = saved(client)
    assert replay(second, cookie)["signed_in"]
    world.services.accounts.set_disabled(world.accounts["resident2"].id, True)
    assert not replay(second, cookie)["signed_in"] and not replay(world.web, cookie)["signed_in"]


def test_a_ballot_with_a_replayed_cookie_is_refused_also_by_the_fast_path(world: World) -> None:
    _case, vote = world.voting()
    client = signed_in(world, "resident")
    cookie = saved(client)
    csrf = client.get("/api/v1/session").json["csrf_token"]
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    thief = world.web.test_client()
    thief.set_cookie(COOKIE, cookie)
    before = world.position()
    response = thief.post(
        f"/api/v1/votes/{vote}/ballots", json={"choice": "yes"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code in (400, 401) and world.position() == before
    # the street auditor, signed in, is refused by the view's own rule, fast path or not
    street = world.client("street")
    response = api(street, "POST", f"/api/v1/votes/{vote}/ballots", {"choice": "yes"})
    assert response.status_code == 403 and world.position() == before


def _code(world: World) -> tuple[Any, str]:
    _case, vote = world.voting()
    issued = world.services.codes.issue(
        vote, world.consult.vote(vote).case_id, world.estate, ["H:P0020"], "oc-1"
    )
    return vote, issued[0].code


def test_a_voting_code_session_works_as_before_and_signing_out_ends_it(
    world: World, second: Flask
) -> None:
    _vote, code = _code(world)
    holder = world.client()
    response = api(holder, "POST", "/api/v1/session/code", {"code": code})
    assert response.status_code == 200 and response.json["voting_code"]
    cookie = saved(holder)
    assert replay(second, cookie)["voting_code"]
    csrf = response.json["csrf_token"]
    out = holder.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and not out.json["voting_code"]
    assert (
        not replay(second, cookie)["voting_code"] and not replay(world.web, cookie)["voting_code"]
    )
    thief = world.web.test_client()
    thief.set_cookie(COOKIE, cookie)
    before = world.position()
    response = thief.post(
        "/api/v1/session/code/ballot", json={"choice": "yes"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code in (400, 401) and world.position() == before
    # the code itself is unused: it signs in again and casts its ballot
    again = world.client()
    session = api(again, "POST", "/api/v1/session/code", {"code": code}).json
    assert session["voting_code"]
    response = again.post(
        "/api/v1/session/code/ballot",
        json={"choice": "yes"},
        headers={"X-CSRF-Token": session["csrf_token"]},
    )
    assert response.status_code == 201, response.json


def test_an_account_signing_out_everywhere_leaves_code_sessions_alone(world: World) -> None:
    _vote, code = _code(world)
    holder = world.client()
    assert api(holder, "POST", "/api/v1/session/code", {"code": code}).json["voting_code"]
    resident = world.client("resident")
    assert api(resident, "DELETE", "/api/v1/sessions").status_code == 200
    assert holder.get("/api/v1/session").json["voting_code"]


def test_a_sign_in_racing_a_change_of_the_account_records_no_session(world: World) -> None:
    signins = world.services.signins
    account = world.accounts["resident"]
    world.services.accounts.change_password(account.id, "another-pass-3")
    assert signins.start(account.id, account.epoch) is None  # authenticated at the old epoch
    assert signins.start(account.id, account.epoch + 1) is not None
    world.services.accounts.set_disabled(account.id, True)
    assert signins.start(account.id, account.epoch + 2) is None  # disabled


def test_no_session_lives_longer_than_its_maximum_age(world: World) -> None:
    now = [1_000_000.0]
    signins = SignIns(world.services.engine, clock=lambda: now[0])
    account = world.accounts["resident"]
    token = signins.start(account.id, account.epoch)
    assert signins.holder(token) == Holder(account, None)
    now[0] += MAX_AGE - 1
    assert signins.holder(token) == Holder(account, None)
    now[0] += 1
    assert signins.holder(token) is None
    assert signins.holder("not-a-session") is None and signins.holder(None) is None
    signins.start(account.id, account.epoch)  # a sign-in clears what has expired
    assert signins.end_all(account.id) == 1
    signins.close()


def test_a_forged_session_id_is_anonymous(world: World) -> None:
    client = world.client("resident")
    with client.session_transaction() as s:
        s["sid"] = "guessed-" + CSRF
    assert client.get("/api/v1/session").json["signed_in"] is False
    before = world.position()
    assert post(client, f"/cases/{world.topic()}/support").status_code in (302, 400)
    assert world.position() == before + 1  # the topic only
