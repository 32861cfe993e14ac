"""Committees through their pages: a topic from collection to archive, and the refusals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from consult.case import Stage
from consult.vote import VoteState
from tests.web.conftest import World, field_errors, post, text_of
from webapp.filters import when, when_input


def when_local(world: World, moment: datetime) -> str:
    """A moment as pages show it: minutes, in the platform's zone."""
    with world.web.app_context():
        return when(moment)


def _local(world: World, days: float) -> str:
    """A datetime-local value (the platform's zone), as a browser sends it."""
    with world.web.app_context():
        return when_input(world.clock.now() + timedelta(days=days))


def test_a_topic_from_collection_to_archive_through_the_committee_pages(world: World) -> None:
    oc, party, pm = world.client("oc"), world.client("party"), world.client("pm")
    teller_a, teller_b = world.client("teller_a"), world.client("teller_b")

    # The residents' committee records a topic raised at a grid visit.
    r = post(
        world.client("rc"),
        "/committee/topics/new",
        {"title": "楼道照明", "description": "3号楼楼道灯坏了。", "channel": "grid"},
    )
    assert r.status_code == 302
    case = UUID(r.headers["Location"].rsplit("/", 1)[1])

    # The Party organisation confirms it for the owners' assembly.
    r = post(
        party,
        f"/committee/cases/{case}/confirm",
        {"route": "owners-assembly", "participants": "全体业主, 物业", "reason": "涉及维修资金"},
    )
    assert r.status_code == 302 and world.consult.case(case).stage == Stage.CONFIRMED

    # The owners' committee publishes the notice; a meeting inside the notice period is refused.
    form = {
        "content": "使用维修资金更换楼道灯。",
        "place": "会所",
        "form": "网上投票",
        "agenda-0-title": "更换楼道灯",
        "agenda-0-matter": "5",
    }
    r = post(oc, f"/committee/cases/{case}/notice", {**form, "meeting_at": _local(world, 10)})
    assert (
        r.status_code == 409
        and "公示期未满" in r.text
        and world.consult.case(case).stage == Stage.CONFIRMED
    )
    r = post(oc, f"/committee/cases/{case}/notice", {**form, "meeting_at": _local(world, 16)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case}/notice")
    assert world.consult.case(case).notice["notice_days"] == 15

    # Opening the vote before the notice period has ended is refused.
    r = post(
        oc, f"/committee/cases/{case}/votes/new", {"item_id": "1", "closes_at": _local(world, 20)}
    )
    assert r.status_code == 409 and "公示期未满" in r.text

    # Fifteen days later the council meets; every party's position is recorded.
    world.clock.advance(days=15)
    session = {
        "kind": "council",
        "held_at": _local(world, 0),
        "use_council": "y",
        "summary": "四方议事",
        "positions-0-party": "party-organisation",
        "positions-0-position": "agree",
        "positions-1-party": "residents-committee",
        "positions-1-position": "agree",
        "positions-2-party": "owners-committee",
        "positions-2-position": "agree",
        "positions-3-party": "property-company",
        "positions-3-position": "reserve",
        "positions-3-text": "需要报价",
        "statements-0-speaker": "oc-1",
        "statements-0-party": "owners-committee",
        "statements-0-text": "请各方发表意见。",
        "dissent": "一位业主认为不急",
    }
    r = post(oc, f"/committee/cases/{case}/sessions/new", session)
    assert r.status_code == 302
    recorded = world.consult.case(case).sessions[-1]
    assert recorded["positions"]["property-company"] == {"position": "reserve", "text": "需要报价"}
    assert recorded["consensus"] is False and recorded["dissent"] == ["一位业主认为不急"]
    assert (
        post(oc, f"/committee/cases/{case}/opinion", {"opinion": "提交业主大会表决。"}).status_code
        == 302
    )

    # The vote opens with voting codes: the notice letters are printed at once.
    r = post(
        oc,
        f"/committee/cases/{case}/votes/new",
        {
            "item_id": "1",
            "closes_at": _local(world, 7),
            "tellers": "teller-a, teller-b",
            "codes": "y",
        },
    )
    assert r.status_code == 200 and "表决通知书" in r.text
    assert len(re.findall(r'<p class="code">', r.text)) == 40
    vote = UUID(next(iter(world.consult.case(case).votes)))

    # Owners vote online; a written proxy; a paper ballot entered twice by two tellers.
    world.cast(vote, range(5, 30))
    world.cast(vote, range(33, 36))
    r = post(
        oc,
        f"/committee/votes/{vote}/proxies",
        {"principal": "T-B2-U030", "holder": "P0031", "document": "WT-1"},
    )
    assert r.status_code == 302 and world.consult.vote(vote).proxies["H:P0030"]["holder"] == "P0031"
    r = post(
        teller_a,
        f"/committee/votes/{vote}/paper",
        {"elector_id": "T-B2-U032", "choice": "yes", "sheet_no": "ZP-1"},
    )
    assert r.status_code == 302
    r = post(
        teller_a,
        f"/committee/votes/{vote}/paper/confirm",
        {"elector_id": "H:P0032", "choice": "yes"},
    )
    assert r.status_code == 422 and "另一名计票人" in r.text
    r = post(
        teller_b,
        f"/committee/votes/{vote}/paper/confirm",
        {"elector_id": "H:P0032", "choice": "no"},
    )
    assert r.status_code == 302 and "两次录入不一致" in teller_b.get(r.headers["Location"]).text
    r = post(
        teller_a,
        f"/committee/votes/{vote}/paper",
        {"elector_id": "H:P0032", "choice": "yes", "sheet_no": "ZP-1"},
    )
    assert r.status_code == 302
    r = post(
        teller_b,
        f"/committee/votes/{vote}/paper/confirm",
        {"elector_id": "H:P0032", "choice": "yes"},
    )
    assert r.status_code == 302
    assert world.consult.ballots(world.consult.vote(vote))["H:P0032"].value == "yes"
    page = oc.get(f"/committee/votes/{vote}")
    assert "29 / 40" in text_of(page) and "已发出 40 个" in text_of(page)

    # Quorum met: no extension; close, publish, implement, feed back, evaluate, archive.
    r = post(
        oc, f"/committee/votes/{vote}/extend", {"closes_at": _local(world, 30), "reason": "延长"}
    )
    assert r.status_code == 409 and "无需延期" in r.text
    # Not everyone has voted: no close before the published end, said in local time.
    r = post(oc, f"/committee/votes/{vote}/close", {"reason": "提前结束"})
    closes_at = world.consult.vote(vote).closes_at
    assert r.status_code == 409 and "不能提前结束" in r.text
    assert when_local(world, closes_at) in r.text and closes_at.isoformat() not in r.text
    assert world.consult.vote(vote).state == VoteState.OPEN
    world.clock.set(closes_at)
    assert post(oc, f"/committee/votes/{vote}/close", {"reason": "期满"}).status_code == 302
    assert world.consult.vote(vote).state == VoteState.CLOSED
    assert post(oc, f"/committee/cases/{case}/result", {"summary": "通过。"}).status_code == 302
    r = post(
        oc,
        f"/committee/cases/{case}/implementation",
        {"assignee": "pm-1", "plan": "一周内更换。", "due": _local(world, 7)},
    )
    assert r.status_code == 302
    assert (
        post(
            pm, f"/committee/cases/{case}/progress", {"percent": "100", "text": "已更换。"}
        ).status_code
        == 302
    )
    r = post(
        oc,
        f"/committee/cases/{case}/feedback",
        {"summary": "已完成。", "explanations-0-to": "反对者", "explanations-0-text": "费用很低。"},
    )
    assert r.status_code == 302
    assert (
        post(oc, f"/committee/cases/{case}/evaluation", {"closes_at": _local(world, 5)}).status_code
        == 302
    )
    post(world.client("resident"), f"/cases/{case}/rating", {"rating": "satisfied"})
    assert post(oc, f"/committee/cases/{case}/evaluation/close").status_code == 302
    assert post(oc, f"/committee/cases/{case}/archive").status_code == 302
    assert world.consult.case(case).stage == Stage.ARCHIVED


def test_rejection_needs_a_published_reason_and_a_tabled_motion_cannot_be_rejected(
    world: World,
) -> None:
    party = world.client("party")
    case = world.topic()
    r = post(party, f"/committee/cases/{case}/reject", {"reason": ""})
    assert r.status_code == 422 and any("公开理由" in e for e in field_errors(r))
    assert (
        post(party, f"/committee/cases/{case}/reject", {"reason": "属于市政管理范围。"}).status_code
        == 302
    )
    assert world.consult.case(case).exit_reason == "属于市政管理范围。"
    assert "属于市政管理范围" in world.client("resident").get(f"/cases/{case}").text

    motion, tabled = world.motion("resident")
    world.consult.sign_motion(motion, world.actor("resident"))
    world.consult.sign_motion(motion, world.actor("resident2"))
    page = party.get(f"/committee/cases/{tabled}")
    assert "不得驳回" in page.text and f"/committee/cases/{tabled}/reject" not in page.text
    r = post(party, f"/committee/cases/{tabled}/reject", {"reason": "不同意"})
    assert r.status_code == 409 and "不得驳回" in r.text
    assert "联署达到门槛、须答复的议题" in party.get("/committee/").text


def test_extending_a_vote_short_of_quorum_once(world: World) -> None:
    _, vote = world.voting()
    oc = world.client("oc")
    r = post(
        oc,
        f"/committee/votes/{vote}/extend",
        {"closes_at": _local(world, 14), "reason": "参与不足"},
    )
    assert r.status_code == 302 and world.consult.vote(vote).extended
    r = post(
        oc, f"/committee/votes/{vote}/extend", {"closes_at": _local(world, 20), "reason": "再延"}
    )
    assert r.status_code == 409 and "只能延期一次" in r.text


def test_reissuing_one_code_by_unit_number(world: World) -> None:
    _, vote = world.voting()
    oc = world.client("oc")
    r = post(oc, f"/committee/votes/{vote}/codes", {"head_id": "T-B1-U004"})
    assert (
        r.status_code == 200
        and len(re.findall(r'<p class="code">', r.text)) == 1
        and "业主：1栋1单元0004" in text_of(r)  # addressed by the room, not the unit's key
        and "T-B1-U004" not in r.text
    )
    r = post(oc, f"/committee/votes/{vote}/codes", {"head_id": "nobody"})
    assert r.status_code == 422 and "nobody" in r.text


def test_property_staff_cannot_be_proxies(world: World) -> None:
    _, vote = world.voting()
    r = post(
        world.client("oc"),
        f"/committee/votes/{vote}/proxies",
        {"principal": "H:P0009", "holder": "pm-1", "document": "WT-9"},
    )
    assert r.status_code == 422 and "物业服务企业工作人员不得担任委托代理人" in r.text
    assert world.consult.vote(vote).proxies == {}
