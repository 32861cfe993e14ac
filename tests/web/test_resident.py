"""Residents: cases by stage, materials, deliberation, co-signing, voting with receipts, rating."""

from __future__ import annotations

import re

from consult.case import Stage
from consult.motion import MotionState
from tests.web.conftest import World, field_errors, post, text_of


def test_cases_are_grouped_by_stage(world: World) -> None:
    world.topic("垃圾分类点")
    world.voting()
    page = world.client("resident").get("/")
    text = text_of(page)
    assert "收集议题" in text and "表决" in text and "垃圾分类点" in text
    assert text.index("收集议题") < text.index("表决 （")  # stages in lifecycle order
    listing = world.client("resident").get("/cases?stage=voting")
    assert "加装电梯" in listing.text and "垃圾分类点" not in listing.text


def test_the_case_page_shows_notice_agenda_and_notice_period(world: World) -> None:
    case = world.noticed()
    page = world.client("resident").get(f"/cases/{case}")
    text = text_of(page)
    assert "定于会所召开业主大会" in text and "15 天" in text and "公示期内" in text
    assert "有关共有和共同管理权利的其他重大事项" in text  # the agenda item's matter
    assert "我要发言" not in text  # statements open only when the notice period has ended
    printable = world.client("resident").get(f"/cases/{case}/notice")
    assert (
        printable.status_code == 200 and "<svg" in printable.text and f"/q/{case}" in printable.text
    )


def test_speaking_in_online_deliberation(world: World) -> None:
    case = world.deliberating()
    c = world.client("resident")
    r = post(c, f"/cases/{case}/statements", {"text": "希望电梯费用按楼层分摊。"})
    assert r.status_code == 302
    assert "希望电梯费用按楼层分摊" in c.get(f"/cases/{case}").text
    assert world.consult.case(case).statements[-1]["speaker"] == "P0001"


def test_speaking_before_the_notice_period_ends_is_refused_with_the_date(world: World) -> None:
    case = world.noticed()
    before = world.position()
    r = post(world.client("resident"), f"/cases/{case}/statements", {"text": "太早了"})
    assert r.status_code == 409 and "公示期未满" in r.text
    assert world.position() == before


def test_supporting_a_topic_once(world: World) -> None:
    case = world.topic()
    c = world.client("resident2")
    assert post(c, f"/cases/{case}/support").status_code == 302
    assert world.consult.case(case).supporters == ["P0002"]
    r = post(c, f"/cases/{case}/support")
    assert r.status_code == 422 and "您已附议过" in r.text


def test_a_resident_proposes_a_topic(world: World) -> None:
    c = world.client("resident")
    r = post(c, "/topics/new", {"title": "增加路灯", "description": "北门路段夜间太暗。"})
    assert r.status_code == 302
    case_id = r.headers["Location"].rsplit("/", 1)[1]
    assert world.consult.case(__import__("uuid").UUID(case_id)).channel == "online"


def test_co_signing_reaches_five_percent_and_tables_the_motion(world: World) -> None:
    motion, case = world.motion("resident")
    c1, c2 = world.client("resident"), world.client("resident2")
    head1 = world.services.reads.motion_heads(motion, "P0001")[0].head_id
    r = post(c1, f"/motions/{motion}/sign", {"head_id": head1})
    assert r.status_code == 302
    page = c1.get(f"/cases/{case}")
    assert "1 / 40" in text_of(page) and "还差 1 人" in text_of(page)
    r = post(c2, f"/motions/{motion}/sign")
    assert r.status_code == 302
    flashed = c2.get(r.headers["Location"])
    assert "已自动列入议题" in flashed.text
    assert world.consult.motion(motion).state == MotionState.TABLED
    assert world.consult.case(case).tabled_by_motion
    # a second signature for the same head is refused
    r = post(c2, f"/motions/{motion}/sign")
    assert r.status_code == 409


def test_withdrawing_a_signature_where_allowed(world: World) -> None:
    motion, _case = world.motion("resident")
    c = world.client("resident")
    post(c, f"/motions/{motion}/sign")
    r = post(c, f"/motions/{motion}/withdraw")
    assert r.status_code == 302
    assert world.consult.motion(motion).signed == {}
    r = post(c, f"/motions/{motion}/withdraw")
    assert r.status_code == 409 and "尚未联署" in r.text


def test_someone_off_the_roll_cannot_co_sign(world: World) -> None:
    motion, case = world.motion("resident")
    page = world.client("outsider").get(f"/cases/{case}")
    assert "不在冻结的业主名册中" in page.text
    r = post(world.client("outsider"), f"/motions/{motion}/sign")
    assert r.status_code == 422 and "X9999" in r.text


def test_vote_change_once_and_receipt(world: World) -> None:
    _case, vote = world.voting()
    c = world.client("resident")
    page = c.get(f"/votes/{vote}")
    assert page.status_code == 200 and "提交选票" in page.text
    r = post(c, f"/votes/{vote}/ballot", {"choice": "yes"})
    assert r.status_code == 302 and "/receipt" in r.headers["Location"]
    receipt = c.get(r.headers["Location"])
    code = re.search(r'class="code">([0-9A-F]{16})<', receipt.text)
    assert code and "您的选票已计入本次表决" in receipt.text
    assert world.consult.ballots(world.consult.vote(vote))["H:P0001"].value == "yes"
    r = post(c, f"/votes/{vote}/ballot", {"choice": "no"})
    assert r.status_code == 302
    assert world.consult.ballots(world.consult.vote(vote))["H:P0001"].value == "no"
    r = post(c, f"/votes/{vote}/ballot", {"choice": "abstain"})
    assert r.status_code == 409 and "已改过一次票" in r.text
    assert "您已投票，且不能再更改" in c.get(f"/votes/{vote}").text


def test_progress_bars_have_text_equivalents_against_every_threshold(world: World) -> None:
    case, vote = world.voting()
    world.cast(vote, range(1, 21))
    page = world.client("resident2").get(f"/cases/{case}")
    text = text_of(page)
    # quorum by area and by heads, passing by area and by heads: each with figures and status
    for label in (
        "参与表决的专有部分面积 / 全体专有部分面积",
        "参与表决的业主 / 全体业主",
        "同意的业主 / 参与表决的业主",
    ):
        assert label in text
    assert "20 / 40" in text and "（50.0%）" in text and "要求 ≥ 2/3" in text and "✗ 未达到" in text
    assert 'aria-hidden="true"' in page.text  # the bars themselves are decorative
    fragment = world.client("resident2").get(f"/votes/{vote}/tally")
    assert fragment.status_code == 200 and "20 / 40" in text_of(fragment)


def test_rating_an_outcome(world: World) -> None:
    case = world.evaluating()
    c = world.client("resident")
    r = post(c, f"/cases/{case}/rating", {"rating": "satisfied", "aware": "y"})
    assert r.status_code == 302
    page = c.get(f"/cases/{case}")
    assert "您已评价" in page.text and "100.0%" in page.text
    r = post(c, f"/cases/{case}/rating", {"rating": "satisfied"})
    assert r.status_code == 422 and "已评价过" in r.text
    r = post(world.client("outsider"), f"/cases/{case}/rating", {"rating": "satisfied"})
    assert r.status_code == 422 and "不在本小区的业主名册上" in r.text  # respondents <= eligible
    r = post(world.client("resident2"), f"/cases/{case}/rating", {"rating": "meh"})
    assert r.status_code == 422 and any("评价" in e for e in field_errors(r))


def test_residents_of_another_estate_see_nothing(world: World) -> None:
    other = world.consult.create_estate(
        "OTHER", "别的小区", "C01", __import__("tests.web.conftest", fromlist=["OPERATOR"]).OPERATOR
    )
    account = world.services.accounts.create(
        "web-other", "password-x1", "P0001", "别处", ["resident"], other
    )
    world.accounts["other"] = account
    case = world.topic()
    assert world.client("other").get(f"/cases/{case}").status_code == 404
    assert "加装电梯" not in world.client("other").get("/").text
    assert world.consult.case(case).stage == Stage.COLLECTING
