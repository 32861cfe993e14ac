"""Residents: cases by stage, materials, deliberation, co-signing, voting with receipts, rating."""

from __future__ import annotations

import re

from consult.case import Stage
from consult.motion import MotionState
from tests.web.conftest import OPERATOR, World, api, field_errors, post, text_of


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
    assert r.status_code == 403 and "您不在本次冻结的名册" in r.text and "X9999" not in r.text


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


def test_evaluation_rates_are_the_read_side_figures_of_the_latest_round(world: World) -> None:
    case = world.evaluating()
    for persona, form in [
        ("resident", {"rating": "satisfied", "aware": "y"}),
        ("resident2", {"rating": "dissatisfied"}),  # an unticked box is not sent
        ("oc_owner", {"rating": "basically-satisfied", "aware": "y"}),
    ]:
        assert post(world.client(persona), f"/cases/{case}/rating", form).status_code == 302
    body = api(world.client("resident"), "GET", f"/api/v1/cases/{case}/evaluation").json
    rates = world.consult.evaluation(case).rates()
    assert (body["respondents"], body["eligible"]) == (3, rates.eligible) == (3, 40)
    assert body["satisfaction"] == "2/3" == str(rates.satisfaction)
    assert body["awareness"] == "2/3" and body["response"] == "3/40" and body["rated_by_me"]
    assert not api(world.client("resident"), "GET", f"/api/v1/cases/{case}/evaluation").json[
        "closed"
    ]
    assert not api(world.client("oc"), "GET", f"/api/v1/cases/{case}/evaluation").json[
        "rated_by_me"
    ]
    page = text_of(world.client("resident2").get(f"/cases/{case}"))
    assert "您已评价" in page and "满意率 66.6%" in page  # shown rounded down


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


def test_the_submitter_withdraws_their_topic_with_a_published_reason(world: World) -> None:
    case = world.topic()
    mine = world.client("resident")
    assert "撤回我提出的议题" in mine.get(f"/cases/{case}").text
    assert "撤回我提出的议题" not in world.client("resident2").get(f"/cases/{case}").text
    version = world.consult.case(case).version

    # Bad input: the reason is required and bounded; nothing is stored.
    r = post(mine, f"/cases/{case}/withdraw", {"reason": "  "})
    assert r.status_code == 422 and field_errors(r) == ["错误：撤回理由：必填，不能为空"]
    r = post(mine, f"/cases/{case}/withdraw?lang=en", {"reason": "x" * 5001})
    assert r.status_code == 422
    assert field_errors(r) == ["Error: Reason for withdrawal: must be at most 5000 characters"]
    assert world.consult.case(case).version == version

    r = post(mine, f"/cases/{case}/withdraw", {"reason": "问题已由物业解决。"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case}#withdraw")
    stored = world.consult.case(case)
    assert stored.stage == Stage.WITHDRAWN and stored.exit_reason == "问题已由物业解决。"
    page = text_of(mine.get(f"/cases/{case}"))
    assert "已撤回" in page and "问题已由物业解决。" in page and "撤回我提出的议题" not in page


def test_withdrawal_is_refused_where_the_domain_does_not_allow_it(world: World) -> None:
    # Someone else's topic: refused by the domain, nothing stored.
    case = world.topic()
    r = post(world.client("resident2"), f"/cases/{case}/withdraw", {"reason": "不想要了"})
    assert r.status_code == 403 and world.consult.case(case).stage == Stage.COLLECTING
    # Once the vote has begun: no form, and a post is refused with the stage named.
    _voting_case, _vote = world.voting()
    page = world.client("resident").get(f"/cases/{_voting_case}")
    assert "撤回我提出的议题" not in page.text
    r = post(world.client("resident"), f"/cases/{_voting_case}/withdraw", {"reason": "不想要了"})
    assert r.status_code == 409 and "表决" in text_of(r)
    assert world.consult.case(_voting_case).stage == Stage.VOTING
    # A motion tabled by its signatures: its topic must be answered, not withdrawn.
    motion, motion_case = world.motion("resident")
    world.consult.sign_motion(motion, world.actor("resident"))
    world.consult.sign_motion(motion, world.actor("resident2"))  # 2 of 40 heads: tabled
    assert "撤回我提出的议题" not in world.client("resident").get(f"/cases/{motion_case}").text
    r = post(world.client("resident"), f"/cases/{motion_case}/withdraw", {"reason": "算了"})
    assert r.status_code == 409 and "不得撤回" in text_of(r)
    assert world.consult.case(motion_case).stage == Stage.COLLECTING
    # Another estate's account sees no such case.
    other = world.consult.create_estate("OTHER2", "别的小区", "C01", OPERATOR)
    world.accounts["other"] = world.services.accounts.create(
        "web-other2", "password-x1", "P0001", "别处", ["resident"], other
    )
    assert (
        post(world.client("other"), f"/cases/{case}/withdraw", {"reason": "x"}).status_code == 404
    )


def test_withdrawing_a_motion_s_topic_ends_its_signing(world: World) -> None:
    motion, case = world.motion("resident")
    world.consult.sign_motion(motion, world.actor("resident"))  # 1 of 40 heads: below 5 %
    mine = world.client("resident")
    assert "撤回我提出的议题" in mine.get(f"/cases/{case}").text
    r = post(mine, f"/cases/{case}/withdraw", {"reason": "物业已经答复。"})
    assert r.status_code == 302
    assert world.consult.case(case).stage == Stage.WITHDRAWN
    page = text_of(world.client("resident2").get(f"/cases/{case}"))
    assert "议题已撤回，联署终止" in page
    r = post(world.client("resident2"), f"/motions/{motion}/sign")
    assert r.status_code == 409 and "联署终止" in text_of(r)
    assert len(world.consult.motion(motion).signed) == 1  # only the signature before it


def test_withdrawing_a_topic_through_the_api(world: World) -> None:
    case = world.topic()
    mine = world.client("resident")
    url = f"/api/v1/cases/{case}/withdrawal"
    r = api(mine, "POST", url, {})
    assert r.status_code == 422 and r.json["error"]["fields"]["reason"] == [
        "撤回理由：必填，不能为空"
    ]
    r = api(mine, "POST", url, {"reason": "重复提出", "extra": 1})
    assert r.status_code == 422 and "extra" in r.json["error"]["fields"]
    r = api(world.client("resident2"), "POST", url, {"reason": "不是我的"})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert world.consult.case(case).stage == Stage.COLLECTING
    r = api(mine, "POST", url, {"reason": "重复提出"})
    assert r.status_code == 200 and r.json["id"] == str(case)
    assert world.consult.case(case).stage == Stage.WITHDRAWN
    r = api(mine, "POST", url, {"reason": "再撤一次"})
    assert r.status_code == 409
