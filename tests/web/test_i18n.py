"""Chinese by default, complete English: the catalogue covers every message, and English pages
show no Chinese except what people typed (titles, notices, names) and the language switch."""

from __future__ import annotations

import re

from tests.web.conftest import World, post, text_of
from webapp import i18n_tool

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def test_the_english_catalogue_is_complete() -> None:
    assert i18n_tool.missing(i18n_tool.extract(), i18n_tool.current()) == []


def test_chinese_is_the_default(world: World) -> None:
    page = world.client().get("/signin", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="zh-CN"' in page.text and "登录" in page.text


def _typed_by_people(world: World) -> set[str]:
    """Every run of Chinese characters that came from data, not from the interface."""
    texts = ["中文"]  # the switch back to Chinese is written in Chinese on purpose
    texts += [a.display_name for a in world.accounts.values()]
    texts += [e.name for e in world.services.reads.estates()]
    for row in world.services.reads.cases(None, None, 1, 1000).items:
        case = world.services.reads.case(row.id)
        texts += [case.title, case.description, case.exit_reason or "", case.opinion or ""]
        texts += [s["text"] for s in case.statements] + list(case.participants)
        if case.notice:
            texts += [case.notice["content"], case.notice["place"], case.notice["form"]]
        texts += [i["title"] for i in case.agenda]
        if case.result:
            texts.append(case.result["summary"])
        if case.implementation:
            texts.append(case.implementation["plan"])
        texts += [p["text"] for p in case.progress]
        if case.feedback:
            texts.append(case.feedback["summary"])
            texts += [t for e in case.feedback["explanations"] for t in e.values()]
    return {run for t in texts for run in CJK.findall(t)}


def test_english_pages_show_no_untranslated_interface_text(world: World) -> None:
    case, vote = world.voting()
    evaluating = world.evaluating()
    _motion, motion_case = world.motion("resident")
    collecting = world.topic("路灯")
    pages = {
        "resident": [
            "/",
            "/cases",
            f"/cases/{case}",
            f"/votes/{vote}",
            f"/cases/{evaluating}",
            f"/cases/{motion_case}",
            "/topics/new",
            "/motions/new",
            f"/cases/{case}/notice",
            f"/cases/{collecting}",  # the submitter's own topic, with its withdrawal form
            "/password",
        ],
        "oc": [
            "/committee/",
            f"/committee/cases/{collecting}",
            f"/committee/cases/{case}",
            f"/committee/votes/{vote}",
            f"/committee/cases/{evaluating}",
            f"/committee/cases/{case}/sessions/new",
            "/manage/accounts",
        ],
        "street": ["/audit/", f"/audit/cases/{case}/compare?a=2020-01-01T00:00&b=2030-01-01T00:00"],
    }
    allowed = _typed_by_people(world)
    leftovers: dict[str, set[str]] = {}
    for persona, paths in pages.items():
        client = world.client(persona)
        client.set_cookie("lang", "en")
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            found = set(CJK.findall(text_of(response))) - allowed
            if found:
                leftovers[path] = found
    assert leftovers == {}


def test_english_form_errors(world: World) -> None:
    client = world.client("resident")
    client.set_cookie("lang", "en")
    response = post(client, "/topics/new", {"title": "", "description": "x" * 20001})
    text = text_of(response)
    assert "Topic title: is required and must not be empty" in text
    assert "Topic description: must be at most 20000 characters" in text
