"""Shared helpers of the projection tests (no tests here)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from consult.application import ConsultationApp
from consult.clock import FixedClock
from projections.db import ViewStore, metadata
from tests.conftest import OC, OPERATOR, PARTY, RC, owner

HEADER = "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind"


def synthetic_roll(units: int, seed: int = 7) -> str:
    """A small roll over three buildings and a shop row, with co-owned units and one person
    owning two units (one head), so heads, areas and buildings all vary."""
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(units):
        building = "S" if i % 10 == 9 else str(1 + i % 3)
        kind = "commercial" if building == "S" else "residential"
        area = f"{rng.randint(3000, 15000) // 100}.{rng.randint(0, 99):02d}"
        people = f"P{i:04d}" if i % 4 else f"P{i:04d};Q{i:04d}"
        if i == 1:
            people = "P0002"  # P0002 owns units 1 and 2: one head
        lines.append(f"U{i:04d},{building},1,{i:04d},{kind},{area},register,{people},person")
    return "\n".join(lines) + "\n"


def setup_place(app: ConsultationApp, roll: str, code: str = "EST") -> UUID:
    app.create_street("S01", "示范街道", OPERATOR)
    app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate(code, "示范小区", "C01", OPERATOR)
    app.import_roll(estate, roll, RC, source_name="roll.csv")
    return estate


def open_owners_vote(
    app: ConsultationApp,
    clock: FixedClock,
    estate: UUID,
    matter: int = 4,
    silent_majority: bool = False,
    items: int = 1,
    deliberate: Callable[[UUID], object] | None = None,
) -> tuple[UUID, list[UUID]]:
    """A topic confirmed for the owners' assembly, noticed, deliberated (``deliberate(case)``)
    and put to the vote: (case, votes)."""
    first = owner(next(iter(app.owners_electorate(estate).heads.values())).owners[0])
    case = app.submit_topic(estate, "更换电梯", "更换2号楼电梯。", "online", first).id
    app.confirm_topic(case, "owners-assembly", ["业主"], PARTY)
    agenda: list[dict[str, Any]] = []
    for i in range(items):
        item: dict[str, Any] = {"item_id": str(i + 1), "title": f"事项{i + 1}", "matter": matter}
        if silent_majority:
            item.update(silent_majority=True, covenant_ref="GY-1")
        agenda.append(item)
    if silent_majority:
        app.adopt_covenant(estate, "GY-1", "管理规约", True, OC)
    app.publish_notice(
        case, "请参与表决。", "会所", "网上", clock.now() + timedelta(days=15), agenda, OC
    )
    clock.advance(days=15)
    if deliberate is not None:
        deliberate(case)
    votes = [
        app.open_vote(case, str(i + 1), clock.now() + timedelta(days=14), OC).id
        for i in range(items)
    ]
    return case, votes


def view_rows(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, sorted (positions of the tracking table excluded)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in metadata.sorted_tables:
            if table.name == "view_tracking":
                continue
            rows = conn.execute(sa.select(table)).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return result
