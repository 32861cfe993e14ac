"""Accounts: the store's rules, the account page of committees and operators (with its API), one's
own password, and ``consult account``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from consult.actors import Role
from consult.errors import NotFoundError, ValidationError
from tests.web.conftest import (
    OPERATOR,
    PASSWORD,
    World,
    api,
    field_errors,
    post,
    text_of,
    token_of,
    username,
)
from webapp.account_model import Account

# --- the store ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"username": "ab"}, "username", "3至64位"),
        ({"username": "-zhang"}, "username", "以字母或数字开头"),
        ({"username": "张伟"}, "username", "小写字母"),
        ({"password": "short"}, "password", "8至200"),
        ({"password": " padded-pass "}, "password", "空格"),
        ({"password": "p" * 201}, "password", "8至200"),
        ({"person_id": " "}, "person_id", "不能为空"),
        ({"person_id": "P" * 65}, "person_id", "64"),
        ({"display_name": "名" * 101}, "display_name", "100"),
        ({"roles": []}, "roles", "至少选择一种身份"),
        ({"roles": ["mayor"]}, "roles", "mayor"),
        ({"estate_id": None}, "estate", "须属于一个小区"),
        ({"username": "web-resident"}, "username", "已被使用"),
    ],
)
def test_a_new_account_is_checked_field_by_field(
    world: World, fields: dict[str, Any], field: str, words: str
) -> None:
    given: dict[str, Any] = {
        "username": "new.person",
        "password": "a-good-pass-1",
        "person_id": "P0030",
        "display_name": "新业主",
        "roles": [Role.RESIDENT],
        "estate_id": world.estate,
        **fields,
    }
    before = world.web_rows()
    with pytest.raises(ValidationError) as err:
        world.services.accounts.create(**given)
    assert err.value.field == field and words in err.value.message("zh")
    assert err.value.message("en") != err.value.message("zh")
    assert world.web_rows() == before


def test_street_and_operator_accounts_may_be_unbound_and_names_are_normalised(
    world: World,
) -> None:
    store = world.services.accounts
    street = store.create(" Zhao.Audit ", "audit-pass-1", "S-9", "", [Role.STREET], None)
    assert street.username == "zhao.audit" and street.display_name == "S-9"
    assert street.estate_id is None and street.sees_estate(world.estate)
    assert store.authenticate("ZHAO.AUDIT", "audit-pass-1") is not None


def test_disabling_ends_sessions_and_sign_in_says_no_more_than_for_a_wrong_password(
    world: World,
) -> None:
    store = world.services.accounts
    signed_in = world.client("resident2")
    assert signed_in.get("/cases").status_code == 200
    account = world.accounts["resident2"]
    store.set_disabled(account.id, True)
    assert store.authenticate(username("resident2"), PASSWORD) is None
    assert signed_in.get("/cases").status_code == 302  # the session has ended
    disabled = post(
        world.client(), "/signin", {"username": username("resident2"), "password": PASSWORD}
    )
    unknown = post(world.client(), "/signin", {"username": "nobody-here", "password": PASSWORD})
    assert disabled.status_code == unknown.status_code == 401
    assert text_of(disabled) == text_of(unknown).replace("nobody-here", username("resident2"))
    store.set_disabled(account.id, False)
    assert store.authenticate(username("resident2"), PASSWORD) is not None


def test_unknown_accounts_are_named_in_the_error(world: World) -> None:
    with pytest.raises(NotFoundError) as err:
        world.services.accounts.set_password("no-such-user", "a-good-pass-1")
    assert "no-such-user" in err.value.message("zh")
    with pytest.raises(NotFoundError):
        world.services.accounts.set_disabled(99_999, True)


def test_finding_accounts_treats_wildcards_as_text(world: World) -> None:
    store = world.services.accounts
    store.create("a_b.c", "a-good-pass-1", "P0031", "甲", [Role.RESIDENT], world.estate)
    store.create("axb.c", "a-good-pass-1", "P0032", "乙", [Role.RESIDENT], world.estate)
    found, total = store.accounts(world.estate, "a_b")
    assert [a.username for a in found] == ["a_b.c"] and total == 1
    assert store.accounts(world.estate, "%")[1] == 0
    everyone, count = store.accounts(world.estate, offset=2, limit=3)
    assert len(everyone) == 3 and count == len(store.accounts(world.estate)[0])


# --- the account page ---------------------------------------------------------------------------


def _issued_password(response: Any) -> str:
    match = re.search(r'<span class="secret">([a-z0-9-]+)</span>', response.text)
    assert match, response.text
    return match.group(1)


NEW = {
    "username": "wang.fang",
    "display_name": "王芳",
    "person_id": "P0021",
    "roles": ["resident"],
}


def test_a_committee_opens_an_account_and_the_person_signs_in_with_the_password_shown_once(
    world: World,
) -> None:
    rc = world.client("rc")
    page = rc.get("/manage/accounts")
    assert page.status_code == 200 and "web-resident" in page.text
    assert "web-party" not in page.text and "web-street" not in page.text  # not theirs to manage
    assert 'value="operator"' not in page.text and 'value="street"' not in page.text
    r = post(rc, "/manage/accounts", NEW)
    assert r.status_code == 200 and "账号已创建" in r.text and "只显示这一次" in r.text
    password = _issued_password(r)
    created = world.services.accounts.find("wang.fang")
    assert created is not None and created.estate_id == world.estate
    assert created.roles == {Role.RESIDENT} and created.person_id == "P0021"
    newcomer = world.client()
    signin = post(newcomer, "/signin", {"username": "wang.fang", "password": password})
    assert signin.status_code == 302
    assert "wang.fang" in rc.get("/manage/accounts?q=wang").text


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (
            {},
            [
                "用户名：必填，不能为空",
                "姓名：必填，不能为空",
                "人员编号：必填，不能为空",
                "身份：至少选择一项",
            ],
        ),
        ({**NEW, "username": "Bad Name!"}, ["用户名：须为3至64位小写字母"]),
        ({**NEW, "display_name": "名" * 101}, ["姓名：不能超过100个字"]),
        ({**NEW, "person_id": "P" * 65}, ["人员编号：不能超过64个字"]),
        ({**NEW, "roles": ["mayor"]}, ["身份：须为以下之一"]),
        ({**NEW, "roles": ["operator"]}, ["身份无效：您不能授予平台管理员"]),
        ({**NEW, "roles": ["owners-committee"]}, ["身份无效：您不能授予业主委员会"]),
        ({**NEW, "estate": "not-a-uuid"}, ["小区：须为有效的编号（UUID）"]),
        ({**NEW, "username": "web-oc"}, ["用户名无效：已被使用，请换一个"]),
    ],
)
def test_bad_input_on_every_field_is_named_and_nothing_is_stored(
    world: World, form: dict[str, Any], errors: list[str]
) -> None:
    before = world.web_rows()
    r = post(world.client("rc"), "/manage/accounts", form)
    # a role beyond the manager's powers is forbidden (the form itself is well made)
    assert r.status_code == (403 if "您不能授予" in errors[0] else 422)
    shown = field_errors(r)
    for words in errors:
        assert any(words in e for e in shown), (words, shown)
    assert world.web_rows() == before


def test_bad_input_in_english(world: World) -> None:
    client = world.client("rc")
    client.set_cookie("lang", "en")
    r = post(client, "/manage/accounts", {**NEW, "username": "", "roles": ["operator"]})
    assert r.status_code == 422 and "User name: is required and must not be empty" in text_of(r)
    r = post(client, "/manage/accounts", {**NEW, "roles": ["operator"]})
    assert "Invalid roles: you may not grant platform operator" in text_of(r)


def test_a_committee_of_one_estate_cannot_reach_another_estates_accounts(world: World) -> None:
    other = world.consult.create_estate("OTHER3", "别的小区", "C01", OPERATOR)
    stranger = world.services.accounts.create(
        "far.away", "a-good-pass-1", "P0001", "远方", [Role.RESIDENT], other
    )
    rc = world.client("rc")
    before = world.web_rows()
    r = post(rc, "/manage/accounts", {**NEW, "estate": str(other)})
    assert r.status_code == 403 and any("只能为本小区" in e for e in field_errors(r))
    assert world.web_rows() == before
    # Out of scope and not there at all look the same: no account enumeration.
    for target in (stranger.id, world.accounts["party"].id, world.accounts["street"].id, 99_999):
        for action in ("password", "disable", "enable"):
            r = post(rc, f"/manage/accounts/{target}/{action}")
            assert r.status_code == 404 and "找不到您要的内容" in r.text, (target, action)
    assert world.services.accounts.authenticate("far.away", "a-good-pass-1") is not None
    assert "far.away" not in rc.get("/manage/accounts?q=far").text


def test_resetting_a_password_ends_the_old_one_and_its_sessions(world: World) -> None:
    victim = world.client("resident")
    assert victim.get("/cases").status_code == 200
    r = post(world.client("oc"), f"/manage/accounts/{world.accounts['resident'].id}/password")
    assert r.status_code == 200 and "密码已重置" in r.text
    temporary = _issued_password(r)
    assert victim.get("/cases").status_code == 302
    store = world.services.accounts
    assert store.authenticate(username("resident"), PASSWORD) is None
    assert store.authenticate(username("resident"), temporary) is not None


def test_disabling_and_enabling_from_the_page(world: World) -> None:
    party = world.client("party")
    target = world.accounts["teller_b"].id
    r = post(party, f"/manage/accounts/{target}/disable?q=teller")
    assert r.status_code == 302 and r.headers["Location"].endswith("/manage/accounts?q=teller")
    assert "已停用" in text_of(party.get("/manage/accounts?q=teller"))
    assert world.services.accounts.authenticate(username("teller_b"), PASSWORD) is None
    assert post(party, f"/manage/accounts/{target}/enable").status_code == 302
    assert world.services.accounts.authenticate(username("teller_b"), PASSWORD) is not None


def test_no_one_resets_or_disables_themselves_here(world: World) -> None:
    me = world.accounts["rc"].id
    rc = world.client("rc")
    assert "这是您的账号" in rc.get("/manage/accounts?q=web-rc").text
    for action in ("password", "disable"):
        r = post(rc, f"/manage/accounts/{me}/{action}")
        assert r.status_code == 409 and "修改密码" in r.text
    assert rc.get("/manage/accounts").status_code == 200  # still signed in


def test_the_account_page_needs_a_committee_and_the_csrf_token(world: World) -> None:
    for persona in ("resident", "teller_a", "pm", "street"):
        assert world.client(persona).get("/manage/accounts").status_code == 403
    assert world.client().get("/manage/accounts").status_code == 302
    before = world.web_rows()
    r = world.client("rc").post("/manage/accounts", data=NEW)
    assert r.status_code == 400 and "安全校验码" in r.text
    assert world.web_rows() == before


def _operator(world: World) -> FlaskClient:
    world.accounts["operator"] = world.services.accounts.create(
        "web-operator", "operator-pass-1", "op-1", "平台管理员", [Role.OPERATOR], None
    )
    return world.client("operator")


def test_an_operator_manages_every_estate_and_opens_street_accounts(world: World) -> None:
    op = _operator(world)
    page = op.get("/manage/accounts")
    assert "web-street" in page.text and "web-party" in page.text
    assert "web-street" not in op.get(f"/manage/accounts?estate={world.estate}").text
    r = post(op, "/manage/accounts", {**NEW, "username": "zhao.jie", "roles": ["street"]})
    assert r.status_code == 200
    street = world.services.accounts.find("zhao.jie")
    assert street is not None and street.estate_id is None
    r = post(op, "/manage/accounts", {**NEW, "username": "qian.li"})
    assert r.status_code == 422 and any("须属于一个小区" in e for e in field_errors(r))
    r = post(op, "/manage/accounts", {**NEW, "username": "qian.li", "estate": str(world.estate)})
    assert r.status_code == 200
    assert post(op, f"/manage/accounts/{world.accounts['party'].id}/disable").status_code == 302
    bad = op.get("/manage/accounts?estate=nonsense")
    assert bad.status_code == 422 and "小区" in text_of(bad)


# --- the account API ----------------------------------------------------------------------------


def test_accounts_through_the_api(world: World) -> None:
    oc = world.client("oc")
    listing = api(oc, "GET", "/api/v1/accounts?per_page=5")
    assert listing.status_code == 200 and listing.json["per_page"] == 5
    names = [a["username"] for a in api(oc, "GET", "/api/v1/accounts").json["items"]]
    assert "web-resident" in names and "web-street" not in names and "web-rc" not in names
    before = world.web_rows()
    r = api(oc, "POST", "/api/v1/accounts", {**NEW, "roles": [7]})
    assert r.status_code == 422 and "roles" in r.json["error"]["fields"]
    r = api(oc, "POST", "/api/v1/accounts", {**NEW, "password": "chosen-by-me"})
    assert r.status_code == 422 and "password" in r.json["error"]["fields"]  # never chosen here
    assert world.web_rows() == before
    r = api(oc, "POST", "/api/v1/accounts", NEW)
    assert r.status_code == 201 and r.json["account"]["roles"] == ["resident"]
    created = r.json["account"]["id"]
    assert world.services.accounts.authenticate("wang.fang", r.json["password"]) is not None
    r = api(oc, "POST", f"/api/v1/accounts/{created}/password")
    assert r.status_code == 200 and r.json["password"] != ""
    r = api(oc, "POST", f"/api/v1/accounts/{created}/disable")
    assert r.status_code == 200 and r.json["disabled"] is True
    r = api(oc, "POST", f"/api/v1/accounts/{created}/enable")
    assert r.status_code == 200 and r.json["disabled"] is False
    r = api(oc, "POST", f"/api/v1/accounts/{world.accounts['street'].id}/disable")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = api(world.client("resident"), "GET", "/api/v1/accounts")
    assert r.status_code == 403


# --- one's own password -------------------------------------------------------------------------


def test_changing_ones_own_password(world: World) -> None:
    me = world.client("resident")
    other_device = world.client("resident")
    token = token_of(me, "/password")
    form = {"csrf_token": token, "current_password": "wrong-one", "password": "new-pass-123"}
    r = me.post("/password", data={**form, "confirm": "new-pass-123"})
    assert r.status_code == 403 and field_errors(r) == ["错误：当前密码：不正确"]
    r = me.post("/password", data={**form, "current_password": PASSWORD, "confirm": "new-pass-124"})
    assert r.status_code == 422 and field_errors(r) == ["错误：再次输入新密码：与新密码不一致"]
    r = me.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "password": "short",
            "confirm": "short",
        },
    )
    assert r.status_code == 422 and any("不能少于8个字" in e for e in field_errors(r))
    r = me.post("/password", data={"csrf_token": token})
    assert r.status_code == 422 and len(field_errors(r)) == 3
    assert world.services.accounts.authenticate(username("resident"), PASSWORD) is not None
    r = me.post(
        "/password",
        data={**form, "current_password": PASSWORD, "confirm": "new-pass-123"},
    )
    assert r.status_code == 302
    assert me.get("/cases").status_code == 200  # this session goes on
    assert other_device.get("/cases").status_code == 302  # the other one has ended
    assert world.services.accounts.authenticate(username("resident"), "new-pass-123") is not None


def test_guessing_the_current_password_is_rate_limited(world: World) -> None:
    me = world.client("resident2")
    api(me, "GET", "/api/v1/session")
    wrong = {"current_password": "guess-000", "password": "new-pass-123"}  # typed once
    statuses = [api(me, "POST", "/api/v1/session/password", wrong).status_code for _ in range(6)]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429
    right = {**wrong, "current_password": PASSWORD}
    assert api(me, "POST", "/api/v1/session/password", right).status_code == 429


# --- consult account ----------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "CONSULT_INSTANCE_PATH": str(tmp_path),
        "CONSULT_DATABASE_URL": "",
        "CONSULT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        "CONSULT_LANG": "zh",
    }
    from entrypoints.cli import main

    result = CliRunner().invoke(
        main,
        [
            *["estate", "create", "E1", "--name", "一期", "--community", "C1"],
            *["--community-name", "社区", "--street", "S1", "--street-name", "街道"],
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    return env


def _run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    from entrypoints.cli import main

    return CliRunner().invoke(main, list(args), env=env, input=input)


def _store(env: dict[str, str]) -> Any:
    from consult.config import Config
    from webapp.accounts import AccountStore
    from webapp.db import engine_for
    from webapp.tables import create_tables

    config = Config(f"sqlite:///{env['CONSULT_INSTANCE_PATH']}/consult.sqlite3", Path("."))
    engine = engine_for(config.database_url)
    create_tables(engine)
    return AccountStore(engine, "pbkdf2:sha256:1000")


def test_consult_account_creates_lists_and_manages_accounts(cli_env: dict[str, str]) -> None:
    r = _run(
        cli_env,
        *["account", "create", "zhang.wei", "--name", "张伟", "--person-id", "P0001"],
        *["--role", "resident", "--role", "teller", "--estate", "E1"],
        input="first-pass-1\nfirst-pass-1\n",
    )
    assert r.exit_code == 0, r.output
    assert "已创建账号 zhang.wei" in r.output and "first-pass-1" not in r.output
    store = _store(cli_env)
    account: Account | None = store.authenticate("zhang.wei", "first-pass-1")
    assert account is not None and account.roles == {Role.RESIDENT, Role.TELLER}
    r = _run(
        cli_env,
        *["account", "create", "zhao.audit", "--name", "赵", "--person-id", "S-1"],
        *["--role", "street", "--password-stdin"],
        input="street-pass-1\n",
    )
    assert r.exit_code == 0, r.output
    r = _run(cli_env, "--lang", "en", "account", "list")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split("\t")[0] == "user name" and lines[-1] == "2 accounts"
    assert "zhang.wei\t张伟\tP0001\tresident or owner, teller\tE1\tenabled" in lines
    assert "zhao.audit\t赵\tS-1\tstreet Party working committee\tall\tenabled" in lines
    r = _run(cli_env, "account", "password", "zhang.wei", "--password-stdin", input="next-pass-2\n")
    assert r.exit_code == 0 and "会话均已失效" in r.output
    assert store.authenticate("zhang.wei", "next-pass-2") is not None
    assert _run(cli_env, "account", "disable", "zhang.wei").exit_code == 0
    assert store.authenticate("zhang.wei", "next-pass-2") is None
    assert "已停用" in _run(cli_env, "account", "list", "--estate", "E1").output
    assert _run(cli_env, "account", "enable", "zhang.wei").exit_code == 0
    assert store.authenticate("zhang.wei", "next-pass-2") is not None
    store.engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["--estate", "NOPE"], "good-pass-1\n", "小区 NOPE 不存在"),
        ([], "good-pass-1\n", "须属于一个小区"),
        (["--estate", "E1"], "short\n", "8至200"),
        (["--estate", "E1", "--role", "mayor"], "good-pass-1\n", "mayor"),
    ],
)
def test_consult_account_refuses_bad_input_and_stores_nothing(
    cli_env: dict[str, str], args: list[str], stdin: str, words: str
) -> None:
    r = _run(
        cli_env,
        *["account", "create", "li.si", "--name", "李四", "--person-id", "P0002"],
        *["--role", "resident", "--password-stdin", *args],
        input=stdin,
    )
    assert r.exit_code == 2 and words in r.output, r.output
    assert "Traceback" not in r.output
    store = _store(cli_env)
    assert store.find("li.si") is None
    store.engine.dispose()


def test_consult_account_takes_no_password_on_the_command_line(cli_env: dict[str, str]) -> None:
    r = _run(
        cli_env,
        *["account", "create", "li.si", "--name", "李四", "--person-id", "P0002"],
        *["--role", "resident", "--estate", "E1", "--password", "on-the-line-1"],
    )
    assert r.exit_code == 2 and "No such option" in r.output
    r = _run(cli_env, "account", "password", "nobody", "--password-stdin", input="good-pass-1\n")
    assert r.exit_code == 2 and "账号不存在：nobody" in r.output
    # A taken name is refused before the password is asked for.
    _run(
        cli_env,
        *["account", "create", "li.si", "--name", "李四", "--person-id", "P0002"],
        *["--role", "resident", "--estate", "E1", "--password-stdin"],
        input="good-pass-1\n",
    )
    r = _run(
        cli_env,
        *["account", "create", "li.si", "--name", "李四", "--person-id", "P0002"],
        *["--role", "resident", "--estate", "E1"],
    )
    assert r.exit_code == 2 and "已被使用" in r.output and "新密码" not in r.output
