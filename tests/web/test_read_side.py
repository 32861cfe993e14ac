"""A view stalled on an event it cannot apply shows on every page, in the user's language."""

from __future__ import annotations

import time

from tests.conftest import owner
from tests.test_projections_text import ALLOW, refuse_cases
from tests.web.conftest import World


def test_a_stalled_view_shows_on_every_page(world: World) -> None:
    projector = world.consult.projector  # type: ignore[attr-defined]
    page = world.client("resident").get("/")
    assert page.status_code == 200 and 'data-read-side="stalled"' not in page.text

    before = projector.position()
    refuse_cases(projector.store, before)
    world.consult.submit_topic(world.estate, "加装电梯", "说明", "online", owner("P0001"))
    assert [f.name for f in projector.faults()] == ["cases"]

    runtime = world.web.extensions["consult_runtime"]
    started = time.monotonic()
    assert not runtime.wait(world.position(), timeout=5)  # no use waiting for a stalled view
    assert time.monotonic() - started < 1
    page = world.client("resident").get("/")
    assert 'data-read-side="stalled"' in page.text
    assert f"读取端在日志第 {before} 位处理失败" in page.text
    english = world.client()
    english.set_cookie("lang", "en")
    page = english.get("/signin")
    assert f"the read side failed at log position {before}" in page.text

    # Once the view moves on, the banner goes.
    refuse_cases(projector.store, before, ALLOW)
    projector.rebuild(["cases"])
    page = world.client("resident").get("/")
    assert 'data-read-side="stalled"' not in page.text
