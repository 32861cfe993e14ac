"""The web application keeps everything in the one store ``CONSULT_DATABASE_URL`` names: the
events, the read side's views and its own tables (accounts, voting codes)."""

from __future__ import annotations

import sqlalchemy as sa

from consult.config import backend_of, sqlite_path
from tests.web.conftest import PERSONAS, World


def test_events_views_and_web_tables_are_in_the_one_store(world: World, store_url: str) -> None:
    _case, vote = world.voting()
    world.client("resident").get(f"/votes/{vote}")  # a page read from the views
    if backend_of(store_url) == "sqlite":
        engine = sa.create_engine(f"sqlite:///{sqlite_path(store_url)}")
        events = "stored_events"
    else:
        from projections.db import postgres_engine_url

        engine = sa.create_engine(postgres_engine_url(store_url))
        events = "consult_events"
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {events, "view_tracking", "view_vote", "web_accounts"} <= tables
            count = conn.execute(sa.text(f"SELECT count(*) FROM {events}")).scalar_one()
            assert count == world.position() > 0
            accounts = conn.execute(sa.text("SELECT count(*) FROM web_accounts")).scalar_one()
            assert accounts == len(PERSONAS)
            applied = conn.execute(sa.text("SELECT min(position) FROM view_tracking")).scalar_one()
            assert applied == world.position()
    finally:
        engine.dispose()
