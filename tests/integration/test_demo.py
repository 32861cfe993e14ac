"""`consult demo` (the README's first command): a case in every stage, accounts that sign in."""

from __future__ import annotations

from pathlib import Path

from consult.case import Stage
from consult.config import Config
from entrypoints.bootstrap import build_app, build_demo


def test_the_demo_builds_a_case_in_every_stage_and_accounts_that_sign_in(
    store_url: str, tmp_path: Path
) -> None:
    config = Config(store_url, tmp_path)
    app = build_app(store_url)
    summary = build_demo(config, app=app)

    stages = {app.case(case_id).stage for case_id in summary.cases.values()}
    # every stage of the main line and the side exits a newcomer meets (not referral or annulment)
    expected = set(Stage) - {Stage.REFERRED, Stage.ANNULLED}
    assert expected <= stages, f"no demo case in {expected - stages}"
    lines = "\n".join(summary.lines("zh"))
    assert "演示数据已创建" in lines and "登录账号" in lines

    from webapp.accounts import AccountStore
    from webapp.db import engine_for

    engine = engine_for(config.database_url)
    store = AccountStore(engine)
    assert summary.credentials, "the demo prints sign-in accounts"
    for c in summary.credentials:
        assert store.authenticate(c["username"], c["password"]) is not None, c["username"]
    engine.dispose()
    app.close()
