"""Text the event store accepted is storable in every view, on every backend: a NUL byte (which a
PostgreSQL text column refuses) in a title does not stop the projector, and a later event of
another estate still reaches the views."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consult.case import Case
from consult.clock import FixedClock
from consult.config import build_app
from projections import Projector, Queries, open_store
from projections.db import storable
from tests.conftest import OPERATOR, RC, owner
from tests.test_projections_support import synthetic_roll

pytestmark = pytest.mark.backends("memory", "sqlite", "postgres")

NUL_TITLE = "nul a\u0000b"


def test_storable_text_replaces_only_what_a_database_refuses() -> None:
    assert storable("议题 a\tb\nc") == "议题 a\tb\nc"
    assert storable(NUL_TITLE) == "nul a\u2400b"
    assert storable("x\ud800y") == "x\ufffdy"


def test_a_nul_in_a_title_does_not_stop_the_views(store_url: str) -> None:
    clock = FixedClock()
    app = build_app(store_url, clock=clock)
    store = open_store(store_url)
    try:
        app.create_street("S01", "示范街道", OPERATOR)
        app.create_community("C01", "示范社区", "S01", OPERATOR)
        first = app.create_estate("EA", "甲小区", "C01", OPERATOR)
        second = app.create_estate("EB", "乙小区", "C01", OPERATOR)
        app.import_roll(first, synthetic_roll(8), RC, source_name="a.csv")
        # Stored through the application, not through the web's (or a command's) checks.
        bad = Case.start(
            uuid4(),
            clock.now(),
            "P0000",
            "",
            estate_id=first,
            title=NUL_TITLE,
            description="d\u0000e",
            channel="online",
            submitted_by="P0000",
            motion_id=None,
        )
        app.save(bad)
        later = app.submit_topic(second, "乙小区的议题", "说明", "online", owner("P0003")).id
        projector = Projector(app, store)
        reached = projector.catch_up()
        head = app.recorder.max_notification_id()
        assert reached == head and projector.position() == head
        queries = Queries(store, app)
        assert queries.case(later).title == "乙小区的议题"
        assert queries.case(bad.id).title == "nul a\u2400b"
        # A rebuild from zero gives the same.
        assert projector.rebuild() == head
        assert queries.case(bad.id).title == "nul a\u2400b"
    finally:
        store.dispose()
        app.close()
