"""What a user reads: rates with their base, refusals in local time, names instead of keys, and no
developer notes (issue 13, items 8 and 9), checked on the rendered pages and the API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from consult.case import Stage
from consult.vote import VoteState
from tests.web.conftest import World, api, post, text_of
from webapp.filters import when

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00")


def local(world: World, moment: datetime) -> str:
    with world.web.app_context():
        return when(moment)


# --- item 8: rates with their base, decisions from enough answers -------------------------------


def test_a_rate_is_shown_with_its_answers_and_base_and_one_answer_decides_nothing(
    world: World,
) -> None:
    case = world.evaluating()
    assert (
        post(world.client("resident"), f"/cases/{case}/rating", {"rating": "satisfied"}).status_code
        == 302
    )
    for client in (world.client("resident2"), world.client("oc")):
        page = text_of(client.get(f"/cases/{case}"))
        assert "满意率 100.0%（1/40 人作答）" in page, page
        assert "回答不足 30 份" in page and "不作结论" in page
    body = api(world.client("resident"), "GET", f"/api/v1/cases/{case}/evaluation").json
    assert (body["respondents"], body["eligible"], body["satisfaction"]) == (1, 40, "1")
    assert body["min_responses"] == 30 and body["conclusive"] is False
    assert body["threshold"] == "2/3"
    schema = api(world.client(), "GET", "/api/v1/openapi.json").json
    props = schema["components"]["schemas"]["Evaluation"]["properties"]
    assert {"respondents", "eligible", "min_responses", "conclusive"} <= set(props)

    closed = api(world.client("oc"), "POST", f"/api/v1/cases/{case}/evaluation/close", {})
    assert closed.status_code == 200, closed.json
    assert (closed.json["respondents"], closed.json["eligible"]) == (1, 40)
    assert closed.json["conclusive"] is False and closed.json["reopened"] is False
    assert world.consult.case(case).stage == Stage.EVALUATION  # not reopened on one answer
    page = text_of(world.client("resident").get(f"/cases/{case}"))
    assert "满意率 100.0%（1/40 人作答）" in page and "不作结论" in page
    world.client("oc").get(f"/cases/{case}")  # the views have caught up
    reads: Any = world.services.reads
    (closing,) = [
        e for e in reads.queries.case_timeline(case).entries if e.event == "EvaluationClosed"
    ]
    assert "满意率100.0%（1/40 人作答）" in closing.summary_zh and "不作结论" in closing.summary_zh
    assert "(1 of 40 answered)" in closing.summary_en


def test_a_rate_in_english_names_its_answers_and_base(world: World) -> None:
    case = world.evaluating()
    post(world.client("resident"), f"/cases/{case}/rating", {"rating": "dissatisfied"})
    client = world.client("resident2")
    client.set_cookie("lang", "en")
    page = text_of(client.get(f"/cases/{case}"))
    assert "0.0% (1 of 40 answered)" in page and "not conclusive" in page


def test_the_estates_minimum_is_shown_with_the_result(world: World) -> None:
    world.consult.change_settings(world.estate, {"evaluation_min_responses": 2}, world.actor("oc"))
    case = world.evaluating()
    for persona in ("resident", "resident2"):
        post(world.client(persona), f"/cases/{case}/rating", {"rating": "dissatisfied"})
    page = text_of(world.client("resident").get(f"/cases/{case}"))
    assert "满意率 0.0%（2/40 人作答）" in page
    assert "回答数已达作出决定所需的 2 份" in page and "满意率低于 2/3 时重新进入整改" in page
    body = api(world.client("oc"), "POST", f"/api/v1/cases/{case}/evaluation/close", {}).json
    assert body["conclusive"] and body["reopened"] and body["min_responses"] == 2
    assert world.consult.case(case).stage == Stage.RECTIFICATION


# --- item 8: no early close, said in local time ---------------------------------------------------


def test_an_early_close_is_refused_through_the_api_with_a_field_error_in_local_time(
    world: World,
) -> None:
    _case, vote = world.voting()
    world.cast(vote, range(5, 40))  # 35 of 40 voted: five could still vote
    world.clock.advance(days=1)
    r = api(world.client("oc"), "POST", f"/api/v1/votes/{vote}/close", {"reason": "提前"})
    closes_at = world.consult.vote(vote).closes_at
    assert r.status_code == 409, r.json
    error = r.json["error"]
    assert error["code"] == "early_close" and "closes_at" in error["fields"]
    shown = local(world, closes_at)
    assert shown in error["messages"]["zh"] and shown in error["messages"]["en"]
    assert "5个表决单位" in error["messages"]["zh"] and "5 of its owners" in error["messages"]["en"]
    assert not ISO.search(error["messages"]["zh"] + error["messages"]["en"])
    assert world.consult.vote(vote).state == VoteState.OPEN
    world.clock.set(closes_at)
    r = api(world.client("oc"), "POST", f"/api/v1/votes/{vote}/close", {"reason": "期满"})
    assert r.status_code == 200 and world.consult.vote(vote).state == VoteState.CLOSED


# --- item 9: no developer notes, names not keys, local times, the roll's version --------------


def test_the_motion_page_shows_no_developer_note(world: World) -> None:
    _motion, case = world.motion()
    for lang in ("zh", "en"):
        client = world.client("resident")
        client.set_cookie("lang", lang)
        page = client.get(f"/cases/{case}").text
        for note in (
            "种子文件",
            "待定设置",
            "未见法律条文",
            "seed 002",
            "open setting",
            "no statute",
        ):
            assert note not in page, (lang, note)
    page = text_of(world.client("resident").get(f"/cases/{case}"))
    assert "1栋1单元0001" in page and "T-B1-U001" not in page  # the resident's room, not the key


def test_letters_for_a_council_vote_name_the_bodies(world: World) -> None:
    case = world.confirmed("consultation")
    item = {"item_id": "1", "title": "加装电梯", "council_id": str(world.council)}
    rc = world.actor("rc")
    world.consult.publish_notice(
        case, "协商。", "会所", "现场", world.clock.now() + timedelta(days=5), [item], rc
    )
    world.clock.advance(days=5)
    world.consult.speak(case, "我赞成。", world.actor("resident2"))
    vote = world.consult.open_vote(case, "1", world.clock.now() + timedelta(days=3), rc).id
    r = post(world.client("rc"), f"/committee/votes/{vote}/codes", {})
    assert r.status_code == 200, text_of(r)
    page = text_of(r)
    for key in ("owners-committee", "property-company", "residents-committee"):
        assert key not in page
    assert "协商方：业主委员会" in page and "协商方：物业服务企业" in page
    assert "业主：" not in page


def test_the_notice_forms_default_time_is_still_valid_a_minute_later(world: World) -> None:
    case = world.confirmed()
    world.clock.advance(seconds=20, microseconds=187701)  # a clock between whole minutes
    oc = world.client("oc")
    form_page = oc.get(f"/committee/cases/{case}/notice")
    default = re.search(r'name="meeting_at"[^>]*value="([^"]+)"', form_page.text)
    assert default is not None, form_page.text
    assert default.group(1).endswith(":00")  # a whole hour
    form = {
        "content": "请业主表决。",
        "place": "会所",
        "form": "网上投票",
        "agenda-0-title": "加装电梯",
        "agenda-0-matter": "9",
    }
    # Too early: the earliest time is said in local time, rounded up to the minute, never ISO.
    too_early = world.clock.now() + timedelta(days=10)
    with world.web.app_context():
        from webapp.filters import when_input

        r = post(
            oc, f"/committee/cases/{case}/notice", {**form, "meeting_at": when_input(too_early)}
        )
    assert r.status_code == 409
    earliest = world.clock.now() + timedelta(days=15)
    shown = local(world, earliest.replace(second=0, microsecond=0) + timedelta(minutes=1))
    assert shown in text_of(r) and not ISO.search(text_of(r))
    world.clock.advance(minutes=1)
    r = post(oc, f"/committee/cases/{case}/notice", {**form, "meeting_at": default.group(1)})
    assert r.status_code == 302, text_of(r)
    assert world.consult.case(case).stage == Stage.NOTICE


def test_not_on_the_frozen_roll_names_its_version(world: World) -> None:
    _case, vote = world.voting()
    r = post(world.client("oc"), f"/committee/votes/{vote}/codes", {"head_id": "nobody"})
    version = world.consult.vote(vote).electorate["version"]
    assert r.status_code == 422
    page = text_of(r)
    assert f"名册（第{version}版）" in page and "版本 -" not in page and "第-版" not in page
    # A resident off the roll is told so as "you", not by an internal id.
    r = post(world.client("outsider"), f"/votes/{vote}/ballot", {"choice": "yes"})
    assert r.status_code == 422 and "您不在本次冻结的名册" in text_of(r)
    assert "X9999" not in text_of(r)


def test_people_are_named_with_their_rooms_not_their_ids(world: World) -> None:
    case = world.implementing()  # resident2 spoke in deliberation; pm-1 implements
    page = text_of(world.client("resident").get(f"/cases/{case}"))
    assert "— resident2 用户（1栋1单元0002）" in page and "— P0002" not in page
    assert "pm 用户" in page and "pm-1" not in page
    committee = text_of(world.client("oc").get(f"/committee/cases/{case}"))
    assert "提出人：resident 用户（1栋1单元0001）" in committee and "P0001" not in committee
