"""A view stalled on an event it cannot apply shows on every page, in the user's language."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import webapp
from consult.case import Case
from consult.errors import NotFoundError
from tests.conftest import owner
from tests.integration.test_projections_text import ALLOW, refuse_cases
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


def test_the_web_reads_only_through_the_read_api() -> None:
    """No module of the web opens the event store: no recorder, mapper, private loader or
    eventsourcing import (the custom HTTP layer, due to go, is left out)."""
    root = Path(webapp.__file__).parent
    leaving = {"fastpath.py", "worker.py"}
    found = [
        f"{path.relative_to(root)}: {needle}"
        for path in sorted(root.rglob("*.py"))
        if path.name not in leaving
        for needle in (
            "recorder",
            ".mapper",
            "._get(",
            "import eventsourcing",
            "from eventsourcing",
        )
        if needle in path.read_text(encoding="utf-8")
    ]
    assert found == []


def test_the_application_answers_the_reads_of_the_store(world: World) -> None:
    app = world.consult
    case_id = world.consult.submit_topic(
        world.estate, "加装电梯", "说明", "online", owner("P0001")
    ).id
    assert app.log_position() == world.position() > 0
    events = app.events_of(case_id)
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert [e.originator_version for e in app.events_of(case_id, up_to=1)] == [1]
    assert case_id in list(app.created_ids(Case.Created))
    assert app.find(Case, case_id, "协商事项", "case").id == case_id
    with pytest.raises(NotFoundError):
        app.find(Case, world.estate, "协商事项", "case")  # an estate is not a case
