"""The tally view's tables: counters per vote (and per building), ballot events, households.

The counters are heads and area (hundredths of m²) per choice, in ``COUNTERS`` order; the
per-building counters are one JSON column written by `dump_buildings`, the same way every time.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from projections.counting import CHOICE_ORDER
from projections.db import ViewString, ViewText, metadata

COUNTERS = tuple(f"{c.value}_{k}" for c in CHOICE_ORDER for k in ("heads", "area"))


def _counter_columns() -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in COUNTERS]


view_vote = sa.Table(
    "view_vote",
    metadata,
    sa.Column("vote_id", ViewString(32), primary_key=True),
    sa.Column("case_id", ViewString(32), nullable=False, index=True),
    sa.Column("estate_id", ViewString(32), nullable=False, index=True),
    sa.Column("item_id", ViewText, nullable=False),
    sa.Column("title", ViewText, nullable=False),
    sa.Column("rule_set_id", ViewString(64), nullable=False),
    sa.Column("rule_version", ViewString(64), nullable=False),
    sa.Column("options", ViewText, nullable=False),  # CountingOptions.to_dict() as JSON
    sa.Column("electorate", ViewText, nullable=False),  # the frozen electorate's reference, JSON
    sa.Column("opened_at", sa.BigInteger, nullable=False),
    sa.Column("opened_by", ViewText, nullable=False),
    # Where in the log the vote opened (its Vote.Created event): its short key in
    # view_ballot_event, whose rows it makes smaller and quicker to write than a 32-digit id.
    sa.Column("opened_position", sa.BigInteger, nullable=False, unique=True),
    sa.Column("closes_at", sa.BigInteger, nullable=False),
    sa.Column("extended", sa.Boolean, nullable=False),
    sa.Column("state", ViewString(16), nullable=False),
    sa.Column("closed_at", sa.BigInteger),
    sa.Column("close_position", sa.BigInteger),
    sa.Column("result_passed", sa.Boolean),  # as recorded on the vote (Vote.ResultRecorded)
    sa.Column("total_heads", sa.BigInteger, nullable=False),
    sa.Column("total_area", sa.BigInteger, nullable=False),
    sa.Column("total_households", sa.BigInteger, nullable=False),
    sa.Column("households_participating", sa.BigInteger, nullable=False, default=0),
    sa.Column("proxies", sa.BigInteger, nullable=False, default=0),
    sa.Column("late_ballots", sa.BigInteger, nullable=False, default=0),
    *_counter_columns(),
    # Per building, as JSON: {"building": [heads, area, yes heads, yes area, no heads, ...]} in
    # COUNTERS order. One row per vote: a tally reads the same one row for 6 or 60 buildings.
    sa.Column("buildings", ViewText, nullable=False),
)

#: Every ballot event (a ballot is created, and may be changed once); the counted choice of a
#: ballot is that of its latest counted event. The vote is its ``view_vote.opened_position``.
view_ballot_event = sa.Table(
    "view_ballot_event",
    metadata,
    sa.Column("vote_position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("elector_id", ViewText, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("choice", ViewString(16), nullable=False),
    sa.Column("channel", ViewString(16), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("counted", sa.Boolean, nullable=False),
    # Clustered by vote and elector (no rowid on SQLite): one B-tree, and a vote's ballots sit
    # together, so a rebuild writes to a small part of it at a time.
    sqlite_with_rowid=False,
)
BALLOT_COLUMNS = (
    "vote_position",
    "elector_id",
    "version",
    "position",
    "choice",
    "channel",
    "at",
    "counted",
)

#: Villagers' meetings: participating members per household (quorum on households).
view_vote_household = sa.Table(
    "view_vote_household",
    metadata,
    sa.Column("vote_id", ViewString(32), primary_key=True),
    sa.Column("household", ViewText, primary_key=True),
    sa.Column("participating", sa.BigInteger, nullable=False),
)


def dump_buildings(buildings: dict[str, list[int]]) -> str:
    """The per-building JSON, always written the same way (rebuild == incremental, to the byte)."""
    return orjson.dumps(buildings, option=orjson.OPT_SORT_KEYS).decode()
