"""Bad input on every form and every API body: a specific error naming the field, nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CSRF, World, api, field_errors, make_world, post, text_of

LONG = "长" * 20001


@pytest.fixture(scope="module")
def staged(
    tmp_path_factory: pytest.TempPathFactory, module_store_url: str
) -> Iterator[tuple[World, dict[str, str]]]:
    world = make_world(Path(tmp_path_factory.mktemp("bad-input")), module_store_url)
    ids: dict[str, str] = {}
    ids["collecting"] = str(world.topic())
    ids["confirmed"] = str(world.confirmed())
    deliberating = world.deliberating()
    ids["deliberating"] = str(deliberating)
    case, vote = world.voting(days=120)  # still open after the later cases close their votes
    ids["voting"], ids["vote"] = str(case), str(vote)
    world.consult.enter_paper_ballot(vote, "H:P0039", "yes", "ZP-9", world.actor("teller_a"))
    ids["implementing"] = str(world.implementing())
    ids["fed_back"] = str(world.fed_back())
    ids["evaluating"] = str(world.evaluating())
    motion, _ = world.motion("resident")
    ids["motion"] = str(motion)
    yield world, ids
    world.close()


# (persona, url, form data, words the field error must contain)
FORMS: list[tuple[str | None, str, dict[str, str], tuple[str, ...]]] = [
    (None, "/signin", {"username": "", "password": "x"}, ("用户名", "必填")),
    (None, "/code", {"code": ""}, ("表决码", "必填")),
    (None, "/prefs", {"display": "huge"}, ("显示方式", "须为以下之一")),
    ("resident", "/topics/new", {"title": "", "description": "内容"}, ("议题标题", "必填")),
    (
        "resident",
        "/topics/new",
        {"title": "长" * 201, "description": "内容"},
        ("议题标题", "不能超过200个字"),
    ),
    (
        "resident",
        "/motions/new",
        {"title": "动议", "description": "内容", "preset": "bogus"},
        ("动议规则", "须为以下之一"),
    ),
    ("resident", "/motions/new", {"title": "", "description": ""}, ("动议标题", "动议内容")),
    ("resident", "/cases/{deliberating}/statements", {"text": "   "}, ("发言内容", "必填")),
    ("resident", "/cases/{deliberating}/statements", {"text": "长" * 5001}, ("发言内容", "5000")),
    ("resident", "/cases/{evaluating}/rating", {"rating": ""}, ("评价", "必填")),
    ("resident", "/cases/{evaluating}/rating", {"rating": "great"}, ("评价", "满意")),
    ("resident", "/motions/{motion}/sign", {"head_id": "H:NOPE"}, ("您不在", "名册（第1版）")),
    ("resident", "/votes/{vote}/ballot", {"choice": ""}, ("表决意见", "必填")),
    (
        "resident",
        "/votes/{vote}/ballot",
        {"choice": "yes", "elector_id": "H:P0009"},
        ("您不在", "名册"),  # the user is "you", not their internal id
    ),
    (
        "rc",
        "/committee/topics/new",
        {"title": "议题", "description": "内容", "channel": "motion"},
        ("收集渠道", "须为以下之一"),
    ),
    ("party", "/committee/cases/{collecting}/confirm", {"route": ""}, ("议事途径", "必填")),
    (
        "party",
        "/committee/cases/{collecting}/confirm",
        {"route": "court"},
        ("议事途径", "须为以下之一"),
    ),
    ("party", "/committee/cases/{collecting}/reject", {"reason": ""}, ("公开理由", "必填")),
    (
        "party",
        "/committee/cases/{collecting}/refer",
        {"to": "court", "reason": "理由"},
        ("转交对象", "须为以下之一"),
    ),
    ("rc", "/committee/cases/{collecting}/withdraw", {"reason": ""}, ("撤回理由", "必填")),
    (
        "oc",
        "/committee/cases/{confirmed}/notice",
        {
            "content": "内容",
            "place": "会所",
            "form": "现场",
            "meeting_at": "下周三",
            "agenda-0-title": "事项",
            "agenda-0-matter": "5",
        },
        ("会议时间", "日期时间"),
    ),
    (
        "oc",
        "/committee/cases/{confirmed}/notice",
        {"content": "内容", "place": "会所", "form": "现场", "meeting_at": "2026-03-01T09:00"},
        ("议程", "至少需要一项"),
    ),
    (
        "oc",
        "/committee/cases/{confirmed}/notice",
        {
            "content": "内容",
            "place": "会所",
            "form": "现场",
            "meeting_at": "2026-03-01T09:00",
            "agenda-0-title": "事项",
            "agenda-0-matter": "12",
        },
        ("表决事项类别", "1到9"),
    ),
    (
        "oc",
        "/committee/cases/{confirmed}/notice",
        {
            "content": "内容",
            "place": "会所",
            "form": "现场",
            "meeting_at": "2026-03-01T09:00",
            "agenda-0-title": "事项",
        },
        ("表决事项类别", "278"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/sessions/new",
        {"kind": "party", "held_at": "2026-01-21T09:00"},
        ("会议形式", "须为以下之一"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/sessions/new",
        {"kind": "council", "held_at": ""},
        ("召开时间", "必填"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/sessions/new",
        {
            "kind": "council",
            "held_at": "2026-01-21T09:00",
            "use_council": "y",
            "positions-0-party": "owners-committee",
            "positions-0-position": "agree",
        },
        ("各方立场", "party-organisation"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/sessions/new",
        {"kind": "hearing", "held_at": "2026-01-21T09:00", "statements-0-speaker": "oc-1"},
        ("发言内容", "必填"),
    ),
    ("oc", "/committee/cases/{deliberating}/opinion", {"opinion": ""}, ("协商意见", "必填")),
    (
        "oc",
        "/committee/cases/{deliberating}/votes/new",
        {"item_id": "1", "closes_at": ""},
        ("截止时间", "必填"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/votes/new",
        {"item_id": "9", "closes_at": "2026-03-01T09:00"},
        ("表决事项", "不在已公示的议程中"),
    ),
    (
        "oc",
        "/committee/cases/{deliberating}/votes/new",
        {"item_id": "1", "closes_at": "2020-01-01T09:00"},
        ("截止时间", "须晚于当前时间"),
    ),
    (
        "oc",
        "/committee/votes/{vote}/extend",
        {"closes_at": "soon", "reason": "参与不足"},
        ("新的截止时间", "日期时间"),
    ),
    (
        "oc",
        "/committee/votes/{vote}/extend",
        {"closes_at": "2026-01-22T09:00", "reason": "参与不足"},
        ("不能延期", "晚于原截止时间"),
    ),
    ("oc", "/committee/votes/{vote}/close", {"reason": "长" * 1001}, ("结束说明", "1000")),
    (
        "oc",
        "/committee/votes/{vote}/proxies",
        {"principal": "H:P0010", "holder": "", "document": "WT-1"},
        ("代理人", "必填"),
    ),
    (
        "oc",
        "/committee/votes/{vote}/proxies",
        {"principal": "H:P0010", "holder": "P0011", "document": ""},
        ("委托书编号", "必填"),
    ),
    (
        "oc",
        "/committee/votes/{vote}/proxies",
        {"principal": "ZZZ", "holder": "P0011", "document": "WT"},
        ("ZZZ", "名册"),
    ),
    (
        "teller_a",
        "/committee/votes/{vote}/paper",
        {"elector_id": "H:P0010", "choice": "maybe", "sheet_no": "1"},
        ("选票上的意见", "须为以下之一"),
    ),
    (
        "teller_a",
        "/committee/votes/{vote}/paper",
        {"elector_id": "H:P0010", "choice": "yes", "sheet_no": ""},
        ("选票编号", "必填"),
    ),
    (
        "teller_b",
        "/committee/votes/{vote}/paper/confirm",
        {"elector_id": "", "choice": "yes"},
        ("业主（投票对象）", "必填"),
    ),
    (
        "teller_a",
        "/committee/votes/{vote}/paper/confirm",
        {"elector_id": "H:P0039", "choice": "yes"},
        ("另一名计票人",),
    ),
    ("oc", "/committee/votes/{vote}/codes", {"head_id": "nobody"}, ("nobody", "名册")),
    ("oc", "/committee/cases/{voting}/result", {"summary": ""}, ("结果说明", "必填")),
    (
        "oc",
        "/committee/cases/{implementing}/implementation",
        {"assignee": "pm-1", "plan": "施工", "due": "2026-13-01T09:00"},
        ("完成期限", "日期时间"),
    ),
    (
        "pm",
        "/committee/cases/{implementing}/progress",
        {"percent": "150", "text": "进展"},
        ("完成进度", "0到100"),
    ),
    (
        "pm",
        "/committee/cases/{implementing}/progress",
        {"percent": "七十", "text": "进展"},
        ("完成进度", "整数"),
    ),
    (
        "oc",
        "/committee/cases/{implementing}/feedback",
        {"summary": "反馈", "explanations-0-to": "反对者"},
        ("解释内容", "必填"),
    ),
    ("oc", "/committee/cases/{fed_back}/evaluation", {"closes_at": ""}, ("评价截止时间", "必填")),
    (
        "oc",
        "/committee/cases/{fed_back}/evaluation",
        {"closes_at": "2020-01-01T00:00"},
        ("评价截止时间", "须晚于当前时间"),
    ),
]


@pytest.mark.parametrize(
    ("persona", "url", "data", "words"),
    FORMS,
    ids=[f"{f[1]}:{next(iter(f[2].values()))[:8]}" for f in FORMS],
)
def test_bad_form_input_is_refused_field_by_field_and_nothing_is_stored(
    staged: tuple[World, dict[str, str]],
    persona: str | None,
    url: str,
    data: dict[str, str],
    words: tuple[str, ...],
) -> None:
    world, ids = staged
    before = (world.position(), world.web_rows())
    response = post(world.client(persona), url.format(**ids), data)
    assert 400 <= response.status_code < 500, (response.status_code, text_of(response)[:500])
    shown = " ".join(field_errors(response)) + " " + text_of(response)
    for word in words:
        assert word in shown, (word, field_errors(response), text_of(response)[:800])
    assert field_errors(response) or 'class="error-summary"' in response.text
    assert (world.position(), world.web_rows()) == before


# (persona, method, url, body, field that must be named)
BODIES: list[tuple[str | None, str, str, Any, str]] = [
    (None, "POST", "/api/v1/session", {"username": "x"}, "password"),
    (None, "POST", "/api/v1/session", {"username": "x", "password": "y", "admin": True}, "admin"),
    (None, "POST", "/api/v1/session/code", {}, "code"),
    ("resident", "POST", "/api/v1/cases", {"title": "", "description": "x"}, "title"),
    ("resident", "POST", "/api/v1/cases", {"title": 5, "description": "x"}, "title"),
    ("resident", "POST", "/api/v1/cases", [1, 2], "_schema"),
    ("resident", "POST", "/api/v1/cases/{deliberating}/statements", {"text": None}, "text"),
    (
        "resident",
        "POST",
        "/api/v1/cases/{evaluating}/rating",
        {"rating": "satisfied", "aware": "maybe"},
        "aware",
    ),
    (
        "resident",
        "POST",
        "/api/v1/motions",
        {"title": "t", "description": "d", "preset": 7},
        "preset",
    ),
    ("resident", "POST", "/api/v1/motions/{motion}/signatures", {"head_id": ["H"]}, "head_id"),
    ("resident", "POST", "/api/v1/votes/{vote}/ballots", {"choice": "YES"}, "choice"),
    (
        "party",
        "POST",
        "/api/v1/cases/{collecting}/confirmation",
        {"route": "owners-assembly", "participants": [1]},
        "participants",
    ),
    (
        "oc",
        "POST",
        "/api/v1/cases/{confirmed}/notice",
        {
            "content": "c",
            "place": "p",
            "form": "f",
            "meeting_at": "2026-03-01T09:00:00+08:00",
            "agenda": [{"title": ""}],
        },
        "agenda-0-title",
    ),
    (
        "oc",
        "POST",
        "/api/v1/cases/{confirmed}/notice",
        {
            "content": "c",
            "place": "p",
            "form": "f",
            "meeting_at": "2026-03-01T09:00:00+08:00",
            "agenda": "1",
        },
        "agenda",
    ),
    (
        "oc",
        "POST",
        "/api/v1/cases/{deliberating}/sessions",
        {
            "kind": "council",
            "held_at": "2026-01-21T09:00:00Z",
            "statements": [{"speaker": "a", "text": "b", "party": "mob"}],
        },
        "statements-0-party",
    ),
    (
        "oc",
        "POST",
        "/api/v1/cases/{deliberating}/votes",
        {"item_id": "1", "closes_at": 12},
        "closes_at",
    ),
    (
        "oc",
        "POST",
        "/api/v1/votes/{vote}/proxies",
        {"principal": "H:P0010", "holder": "P0011"},
        "document",
    ),
    (
        "teller_a",
        "POST",
        "/api/v1/votes/{vote}/paper-ballots",
        {"elector_id": "H:P0010", "choice": "yes", "sheet_no": "长" * 101},
        "sheet_no",
    ),
    (
        "pm",
        "POST",
        "/api/v1/cases/{implementing}/progress",
        {"percent": 50.5, "text": "x"},
        "percent",
    ),
    (
        "oc",
        "POST",
        "/api/v1/cases/{implementing}/feedback",
        {"summary": "s", "explanations": [{"to": "a"}]},
        "explanations-0-text",
    ),
    ("street", "GET", "/api/v1/audit/cases?page=0", None, "page"),
    ("resident", "GET", "/api/v1/cases?per_page=1000", None, "per_page"),
]


@pytest.mark.parametrize(
    ("persona", "method", "url", "body", "field"), BODIES, ids=[f"{b[2]}:{b[4]}" for b in BODIES]
)
def test_bad_api_bodies_get_one_error_format(
    staged: tuple[World, dict[str, str]],
    persona: str | None,
    method: str,
    url: str,
    body: Any,
    field: str,
) -> None:
    world, ids = staged
    before = world.web_rows()
    position = world.position()
    response = api(world.client(persona), method, url.format(**ids), body)
    assert response.status_code in (400, 422), response.json
    error = response.json["error"]
    assert (
        set(error) >= {"status", "code", "message", "fields"}
        and error["status"] == response.status_code
    )
    assert field in error["fields"] and all(error["fields"][field]), error
    assert world.web_rows() == before
    if persona != "street":  # an auditor's read is itself recorded
        assert world.position() == position


def test_a_form_post_that_is_not_json_is_refused_by_the_api(
    staged: tuple[World, dict[str, str]],
) -> None:
    world, ids = staged
    response = world.client("resident").post(
        f"/api/v1/cases/{ids['deliberating']}/statements",
        data={"text": "x"},
        headers={"X-CSRF-Token": CSRF},
    )
    assert (
        response.status_code == 415 and response.json["error"]["code"] == "unsupported_media_type"
    )


# --- text that may not be stored (NUL, control characters, lone surrogates, direction overrides) -


# (title, words of the field error)
BAD_TITLES = [
    ("nul a\x00b", "控制字符"),
    ("bell \x07", "控制字符"),
    ("tab\there", "一行"),
    ("two\nlines", "一行"),
    ("lone \ud800 surrogate", "代理码位"),
    ("evil\u202etxt.exe", "方向"),
    ("isolate \u2066x\u2069", "方向"),
]


@pytest.mark.parametrize(("title", "words"), BAD_TITLES, ids=[repr(t[0]) for t in BAD_TITLES])
def test_text_that_may_not_be_stored_is_refused_by_the_api_naming_the_field(
    staged: tuple[World, dict[str, str]], title: str, words: str
) -> None:
    world, _ids = staged
    before = (world.position(), world.web_rows())
    raw = json.dumps({"title": title, "description": "说明"})  # "\ud800" escaped, as sent
    response = world.client("resident").post(
        "/api/v1/cases",
        data=raw,
        content_type="application/json",
        headers={"X-CSRF-Token": CSRF},
    )
    assert response.status_code == 422, response.data
    error = response.json["error"]
    assert list(error["fields"]) == ["title"] and words in error["fields"]["title"][0], error
    assert (world.position(), world.web_rows()) == before


@pytest.mark.parametrize(("title", "words"), BAD_TITLES[:4] + BAD_TITLES[5:])
def test_text_that_may_not_be_stored_is_refused_by_the_page_form(
    staged: tuple[World, dict[str, str]], title: str, words: str
) -> None:
    world, _ids = staged
    before = (world.position(), world.web_rows())
    response = post(world.client("resident"), "/topics/new", {"title": title, "description": "x"})
    assert response.status_code == 422
    assert any("议题标题" in e and words in e for e in field_errors(response)), field_errors(
        response
    )
    assert (world.position(), world.web_rows()) == before


def test_multi_line_text_keeps_its_lines_and_text_is_stored_in_nfc(world: World) -> None:
    case = world.deliberating()
    client = world.client("resident")
    r = api(client, "POST", f"/api/v1/cases/{case}/statements", {"text": "第一行\r\n\t第二行"})
    assert r.status_code == 201, r.json
    bad = api(client, "POST", f"/api/v1/cases/{case}/statements", {"text": "a\x00b"})
    assert bad.status_code == 422 and "控制字符" in bad.json["error"]["fields"]["text"][0]
    r = api(client, "POST", "/api/v1/cases", {"title": "Cafe\u0301", "description": "x"})
    assert r.status_code == 201
    detail = api(client, "GET", f"/api/v1/cases/{r.json['id']}").json
    assert detail["title"] == "Caf\u00e9"
    statements = api(client, "GET", f"/api/v1/cases/{case}").json["statements"]
    assert any(s["text"] == "第一行\n\t第二行" for s in statements), statements


def test_the_english_reason_when_asked(staged: tuple[World, dict[str, str]]) -> None:
    world, _ids = staged
    client = world.client("resident")
    client.set_cookie("lang", "en")
    r = api(client, "POST", "/api/v1/cases", {"title": "a\x00b", "description": "x"})
    assert r.status_code == 422
    assert "control characters" in r.json["error"]["fields"]["title"][0]


# --- requests that made a 500 ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/api/v1/cases", "/api/v1/votes/{vote}/ballots"])
def test_json_nested_too_deep_is_a_400(staged: tuple[World, dict[str, str]], target: str) -> None:
    world, ids = staged
    before = world.position()
    response = world.client("resident").post(
        target.format(**ids),
        data="[" * 1000 + "]" * 1000,
        content_type="application/json",
        headers={"X-CSRF-Token": CSRF},
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"
    assert world.position() == before


def test_an_unknown_field_with_a_lone_surrogate_is_named_without_a_500(
    staged: tuple[World, dict[str, str]],
) -> None:
    world, _ids = staged
    response = world.client("resident").post(
        "/api/v1/cases",
        data='{"title": "t", "description": "d", "\\ud800x": 1}',
        content_type="application/json",
        headers={"X-CSRF-Token": CSRF},
    )
    assert response.status_code == 422 and list(response.json["error"]["fields"]) == ["\\ud800x"]


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("oc", "/api/v1/accounts/612686300101385519104/password"),
        ("oc", "/api/v1/accounts/612686300101385519104/disable"),
        ("oc", "/api/v1/accounts/2147483648/enable"),
        ("oc", "/manage/accounts/612686300101385519104/enable"),
    ],
)
def test_an_id_beyond_the_databases_integers_is_not_found(
    staged: tuple[World, dict[str, str]], persona: str, url: str
) -> None:
    world, _ids = staged
    before = world.web_rows()
    response = post(world.client(persona), url) if url.startswith("/manage") else None
    if response is None:
        response = api(world.client(persona), "POST", url)
        assert response.json["error"]["code"] == "not_found"
    assert response.status_code == 404
    assert world.web_rows() == before


def test_the_ballots_fast_path_leaves_bad_text_to_the_form(
    staged: tuple[World, dict[str, str]],
) -> None:
    world, ids = staged
    before = world.position()
    r = api(
        world.client("resident"),
        "POST",
        f"/api/v1/votes/{ids['vote']}/ballots",
        {"choice": "yes", "elector_id": "H:P0001\x00"},
    )
    assert r.status_code == 422 and "控制字符" in r.json["error"]["fields"]["elector_id"][0]
    assert world.position() == before
