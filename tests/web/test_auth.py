"""Signing in and out, voting codes, CSRF, rate limits, no account enumeration, cookies."""

from __future__ import annotations

import re

import pytest

from consult.errors import NotFoundError
from tests.web.conftest import (
    PASSWORD,
    World,
    field_errors,
    post,
    text_of,
    token_of,
    username,
)
from webapp.voting_codes import format_code


def _token(client, path: str = "/signin") -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_sign_in_and_out_with_a_real_form(world: World) -> None:
    c = world.web.test_client()
    token = _token(c)
    r = c.post(
        "/signin", data={"username": username("oc"), "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302 and r.headers["Location"] == "/committee/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert c.get("/committee/").status_code == 200
    # the token changes at sign-in (no fixation); the old one no longer works
    new_token = _token(c, "/committee/")
    assert new_token != token
    assert c.post("/signout", data={"csrf_token": token}).status_code == 400
    assert c.post("/signout", data={"csrf_token": new_token}).status_code == 302
    assert c.get("/committee/").status_code == 302


def test_next_is_followed_only_within_the_site(world: World) -> None:
    c = world.web.test_client()
    token = _token(c)
    data = {"username": username("resident"), "password": PASSWORD, "csrf_token": token}
    r = c.post("/signin", data={**data, "next": "https://evil.example/"})
    assert r.headers["Location"] == "/"
    c2 = world.web.test_client()
    r = c2.post("/signin", data={**data, "csrf_token": _token(c2), "next": "/cases"})
    assert r.headers["Location"] == "/cases"


def test_unknown_user_and_wrong_password_get_the_same_answer(world: World) -> None:
    c = world.web.test_client()
    token = _token(c)
    wrong = c.post(
        "/signin", data={"username": username("oc"), "password": "nope-nope", "csrf_token": token}
    )
    unknown = c.post(
        "/signin", data={"username": "nobody-here", "password": "nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
    assert text_of(wrong).replace(username("oc"), "X") == text_of(unknown).replace(
        "nobody-here", "X"
    )


def test_sign_in_form_names_missing_fields(world: World) -> None:
    r = post(world.client(), "/signin", {"username": "", "password": ""})
    assert r.status_code == 422
    errors = field_errors(r)
    assert any("用户名" in e and "必填" in e for e in errors)
    assert any("密码" in e and "必填" in e for e in errors)


def test_sign_in_is_rate_limited_per_user_name_known_or_not(world: World) -> None:
    for name in (username("oc"), "no-such-user"):
        c = world.client()
        statuses = [
            post(c, "/signin", {"username": name, "password": "wrong-password"}).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        r = post(c, "/signin", {"username": name, "password": PASSWORD})
        assert r.status_code == 429 and "Retry-After" in r.headers
    # another user is not locked out by those failures
    assert (
        post(
            world.client(), "/signin", {"username": username("rc"), "password": PASSWORD}
        ).status_code
        == 302
    )


def test_every_form_needs_the_csrf_token(world: World) -> None:
    case = world.deliberating()
    before = world.position()
    c = world.client("resident")
    r = c.post(f"/cases/{case}/statements", data={"text": "没有令牌"})
    assert r.status_code == 400 and "安全校验码" in r.text
    r = c.post(f"/cases/{case}/statements", data={"text": "错误令牌", "csrf_token": "x" * 40})
    assert r.status_code == 400
    r = c.post(f"/api/v1/cases/{case}/statements", json={"text": "API 也要令牌"})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf"
    assert world.position() == before


def test_a_password_change_ends_old_sessions(world: World) -> None:
    c = world.client("rc")
    assert c.get("/committee/").status_code == 200
    world.services.accounts.set_password(username("rc"), "another-pass-2")
    assert c.get("/committee/").status_code == 302


def test_voting_code_from_letter_to_receipt(world: World) -> None:
    case, vote = world.voting()
    oc = world.client("oc")
    letters = post(oc, f"/committee/votes/{vote}/codes")
    assert letters.status_code == 200 and "表决通知书" in letters.text and "<svg" in letters.text
    codes = re.findall(r'<p class="code">([0-9A-Z-]{19})</p>', letters.text)
    assert len(codes) == 40
    # the QR code leads to the case's public notice, which offers code entry
    landing = world.client().get(f"/q/{case}")
    assert landing.status_code == 200 and "加装电梯" in landing.text
    # an elderly voter types the code in lower case without dashes
    voter = world.client()
    r = post(voter, "/code", {"code": codes[10].replace("-", "").lower()})
    assert r.status_code == 302 and r.headers["Location"] == "/code/ballot"
    page = voter.get("/code/ballot")
    assert page.status_code == 200 and "加装电梯" in page.text
    before = world.position()
    token = token_of(voter, "/code/ballot")
    r = voter.post("/code/ballot", data={"choice": "no", "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/code/receipt"
    receipt = voter.get("/code/receipt")
    assert "回执编号" in receipt.text and "反对" in receipt.text
    assert world.position() > before
    ballot = world.services.reads.tally(vote)
    assert {c.choice: c.heads for c in ballot.raw.by_choice}["no"] == 1
    # the code is spent: neither it nor its session can vote again
    assert voter.get("/code/ballot").status_code == 302
    again = post(world.client(), "/code", {"code": codes[10]})
    assert again.status_code == 401 and "表决码" in " ".join(field_errors(again))


def test_a_bad_or_replaced_code_gets_one_generic_answer(world: World) -> None:
    _, vote = world.voting()
    first = world.services.codes.issue(
        vote, world.consult.vote(vote).case_id, world.estate, ["H:P0005"], "oc-1"
    )
    second = world.services.codes.issue(
        vote, world.consult.vote(vote).case_id, world.estate, ["H:P0005"], "oc-1"
    )
    answers = []
    for code in ("NOT-A-CODE", "0000-0000-0000-0000", first[0].printed):
        r = post(world.client(), "/code", {"code": code})
        answers.append((r.status_code, field_errors(r)))
    assert len({str(a) for a in answers}) == 1 and answers[0][0] == 401
    assert post(world.client(), "/code", {"code": format_code(second[0].code)}).status_code == 302


def test_code_entry_is_rate_limited(world: World) -> None:
    c = world.client()
    statuses = [
        post(c, "/code", {"code": f"AAAA-BBBB-CCCC-{i:04d}"}).status_code for i in range(11)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


def test_a_code_for_a_closed_vote_is_refused_and_stays_unused(world: World) -> None:
    case, vote = world.voting()
    issued = world.services.codes.issue(vote, case, world.estate, ["H:P0007"], "oc-1")
    voter = world.client()
    assert post(voter, "/code", {"code": issued[0].printed}).status_code == 302
    token = token_of(voter, "/code/ballot")
    world.clock.advance(days=8)  # past the deadline
    r = voter.post("/code/ballot", data={"choice": "yes", "csrf_token": token})
    assert r.status_code == 409 and "表决不在进行中" in r.text
    assert world.services.codes.stats(vote).used == 0


def test_language_and_large_type_preferences(world: World) -> None:
    c = world.client()
    assert 'lang="zh-CN"' in c.get("/").text
    r = post(c, "/prefs", {"lang": "en", "next": "/signin"})
    assert r.status_code == 302 and r.headers["Location"] == "/signin"
    page = c.get("/signin")
    assert 'lang="en"' in page.text and "Sign in" in page.text
    post(c, "/prefs", {"display": "large", "next": "https://evil.example/"})
    assert 'class="large"' in c.get("/").text
    r = post(c, "/prefs", {"display": "huge"})
    assert r.status_code == 422


def test_security_headers(world: World) -> None:
    r = world.client().get("/signin")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"


def test_unknown_case_is_not_found(world: World) -> None:
    assert (
        world.client("resident").get("/cases/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )
    with pytest.raises(NotFoundError):
        world.services.reads.case(world.estate)
