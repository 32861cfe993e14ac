"""A resident votes on a phone, a committee's motion reaches 5 % and tables itself, an auditor
exports a timeline, and every page passes an accessibility scan (WCAG 2.1 A and AA)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from playwright.sync_api import expect

from consult.motion import MotionState
from tests.browser.conftest import PHONE, axe_source, axe_violations, sign_in
from tests.web.conftest import World, username

# Pages load slowly on a busy two-core CI machine: wait for what a user would wait for.
expect.set_options(timeout=30_000)

pytestmark = pytest.mark.slow


def test_a_resident_on_a_phone_votes_and_sees_it_counted(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    _case, vote = world.voting()
    world.cast(vote, range(10, 20))
    page = context_factory(**PHONE).new_page()
    sign_in(page, base, "resident")
    page.get_by_role("link", name="加装电梯").first.click()
    expect(page.get_by_role("heading", name="加装电梯", exact=True)).to_be_visible()
    expect(page.get_by_text("10 / 40", exact=False).first).to_be_visible()
    page.get_by_role("link", name="去投票 / 查看我的选票").click()
    page.get_by_label("同意").check()
    page.get_by_role("button", name="提交选票").click()
    page.wait_for_url("**/receipt**")
    expect(page.get_by_role("heading", name="投票回执")).to_be_visible()
    expect(page.get_by_text("您的选票已计入本次表决。")).to_be_visible()
    expect(page.get_by_text("11 / 40", exact=False).first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the page must not scroll sideways on a phone"
    assert world.consult.ballots(world.consult.vote(vote))["H:P0001"].value == "yes"


def test_a_committee_motion_reaches_five_percent_and_is_tabled(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    committee = context_factory().new_page()
    sign_in(committee, base, "oc_owner")  # an owners' committee member who owns a unit
    committee.get_by_role("link", name="发起联署动议").first.click()
    committee.get_by_label("动议标题").fill("增设快递柜")
    committee.get_by_label("动议内容").fill("在南门增设智能快递柜。")
    committee.get_by_role("button", name="发起动议").click()
    expect(committee.get_by_text("动议已发起")).to_be_visible()
    committee.get_by_role("button", name="联署", exact=True).click()
    expect(committee.get_by_text("1 / 40", exact=False).first).to_be_visible()
    expect(committee.get_by_text("还差 1 人", exact=False)).to_be_visible()

    neighbour = context_factory(**PHONE).new_page()
    sign_in(neighbour, base, "resident2")
    neighbour.goto(committee.url)
    neighbour.get_by_role("button", name="联署", exact=True).click()
    expect(neighbour.get_by_text("已自动列入议题").first).to_be_visible()

    committee.goto(f"{base}/committee/")
    tabled = committee.get_by_role("region", name="联署达到门槛、须答复的议题")
    expect(tabled.get_by_role("link", name="增设快递柜")).to_be_visible()
    motion = next(
        m
        for m in world.consult.recorder.select_notifications(1, 100_000)
        if m.topic.endswith("Motion.Tabled")
    )
    assert world.consult.motion(motion.originator_id).state == MotionState.TABLED


def test_an_auditor_opens_a_timeline_and_exports_it(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    case = world.topic("审计测试议题")
    world.consult.reject_topic(case, world.actor("party"), "理由已公开：不属于本小区事务。")
    page = context_factory(accept_downloads=True).new_page()
    sign_in(page, base, "street")
    page.goto(f"{base}/audit/")
    page.get_by_role("link", name="审计测试议题").click()
    expect(page.get_by_role("cell", name="理由已公开：不属于本小区事务。")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="导出事件 CSV").click()
    download = info.value
    content = download.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["event"] for r in rows] == ["Created", "Rejected"]
    assert rows[1]["actor"] == "party-1" and "不属于本小区事务" in rows[1]["reason"]
    assert download.suggested_filename == f"case-{case}-events.csv"


def test_keyboard_skip_link_and_large_type(live: tuple[World, str], context_factory: Any) -> None:
    _world, base = live
    page = context_factory().new_page()
    page.goto(f"{base}/signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    with page.expect_response("**/prefs"):
        page.get_by_role("button", name="大字模式").click()
    assert (
        page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        > size * 1.2
    )
    assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"
    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('large')")
    # the sign-in form works from the keyboard alone
    page.get_by_label("用户名").focus()
    page.keyboard.type(username("rc"))
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/committee/")


def _pages(world: World) -> dict[str | None, list[str]]:
    case_voting, vote = world.voting()
    noticed = world.noticed()
    deliberating = world.deliberating()
    evaluating = world.evaluating()
    _motion, motion_case = world.motion("resident")
    collecting = world.topic("可访问性测试")
    confirmed = world.confirmed()
    far_past, far_future = "2020-01-01T00:00", "2030-01-01T00:00"
    return {
        None: [
            "/",
            "/signin",
            "/code",
            f"/q/{case_voting}",
            "/cases/00000000-0000-0000-0000-000000000000",
        ],
        "resident": [
            "/",
            "/cases",
            f"/cases/{case_voting}",
            f"/cases/{noticed}",
            f"/cases/{deliberating}",
            f"/cases/{evaluating}",
            f"/cases/{motion_case}",
            f"/votes/{vote}",
            f"/cases/{noticed}/notice",
            "/topics/new",
            "/motions/new",
            f"/cases/{collecting}",
            "/password",
        ],
        "oc": [
            "/committee/",
            "/committee/topics/new",
            f"/committee/cases/{collecting}",
            f"/committee/cases/{confirmed}",
            f"/committee/cases/{confirmed}/notice",
            f"/committee/cases/{deliberating}/sessions/new",
            f"/committee/cases/{deliberating}/votes/new",
            f"/committee/votes/{vote}",
            f"/committee/cases/{evaluating}",
            "/manage/accounts",
        ],
        "street": [
            "/audit/",
            f"/audit/cases/{case_voting}",
            f"/audit/cases/{case_voting}/compare?a={far_past}&b={far_future}",
            "/audit/access",
        ],
    }


def test_every_page_passes_an_accessibility_scan(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    source = axe_source()
    problems: dict[str, Any] = {}
    scanned = 0
    for persona, paths in _pages(world).items():
        for language in ("zh_CN", "en"):
            context = context_factory()
            page = context.new_page()
            if persona is not None:
                sign_in(page, base, persona)
            context.add_cookies([{"name": "lang", "value": language, "url": base}])
            for path in paths:
                page.goto(base + path)
                violations = axe_violations(page, source)
                scanned += 1
                if violations:
                    problems[f"{persona} {language} {path}"] = violations
    assert problems == {}
    assert scanned >= 50


def test_a_committee_opens_an_account_and_the_newcomer_signs_in_and_changes_it(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    source = axe_source()
    committee = context_factory().new_page()
    sign_in(committee, base, "rc")
    committee.get_by_role("link", name="账号管理").click()
    committee.get_by_role("button", name="开设账号").click()  # nothing filled in
    expect(committee.get_by_role("alert")).to_be_visible()
    expect(committee.get_by_text("身份：至少选择一项").first).to_be_visible()
    assert axe_violations(committee, source) == []
    committee.get_by_label("用户名").fill("browser.newcomer")
    committee.get_by_label("姓名").fill("新来的业主")
    committee.get_by_label("人员编号").fill("P0033")
    committee.get_by_label("居民/业主").check()
    committee.get_by_role("button", name="开设账号").click()
    expect(committee.get_by_role("heading", name="账号已创建。")).to_be_visible()
    assert axe_violations(committee, source) == []
    temporary = committee.locator(".secret").inner_text()

    newcomer = context_factory(**PHONE).new_page()
    newcomer.goto(f"{base}/signin")
    newcomer.get_by_label("用户名").fill("browser.newcomer")
    newcomer.get_by_label("密码").fill(temporary)
    newcomer.get_by_role("button", name="登录").click()
    newcomer.get_by_role("link", name="修改密码").click()
    newcomer.get_by_label("当前密码").fill(temporary)
    newcomer.get_by_label("新密码", exact=True).fill("my-own-pass-1")
    newcomer.get_by_label("再次输入新密码").fill("my-own-pass-1")
    newcomer.get_by_role("button", name="修改密码").click()
    expect(newcomer.get_by_text("密码已修改")).to_be_visible()
    store = world.services.accounts
    assert store.authenticate("browser.newcomer", "my-own-pass-1") is not None


def test_forms_with_errors_and_the_letters_page_pass_the_scan(
    live: tuple[World, str], context_factory: Any
) -> None:
    world, base = live
    source = axe_source()
    _, vote = world.voting()
    page = context_factory().new_page()
    sign_in(page, base, "oc")
    page.goto(f"{base}/committee/topics/new")
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_role("alert")).to_be_visible()
    # the page's script moves the focus once it has run: wait for it (it may run after the alert shows)
    expect(page.locator(".error-summary")).to_be_focused()
    assert axe_violations(page, source) == []
    page.goto(f"{base}/committee/votes/{vote}")
    page.get_by_role("button", name="生成表决码并打印通知书").click()
    expect(page.get_by_role("heading", name="表决通知书").first).to_be_visible()
    assert axe_violations(page, source) == []
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{base}/committee/votes/{vote}")
    assert axe_violations(page, source) == []
    # the scan does find problems: an unlabelled field is reported
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')"
    )
    assert "label" in {v["id"] for v in axe_violations(page, source)}
