"""Bad input on every form and every API body: a specific error naming the field, nothing stored."""

from __future__ import annotations

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
