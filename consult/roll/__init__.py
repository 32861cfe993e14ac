"""The owners' roll (业主名册): import it, validate every row, and count heads (业主人数).

A roll lists exclusive units (专有部分) with their area and owners. Votes under 民法典 Art. 278
count both area and heads; JI Arts. 8–9 say how: area always in full, all of the developer's units
together one head, one buyer of several units one head. Whether other overlaps merge
(`HeadMergePolicy`) and whether parking spaces vote are the estate's settings (`HeadRules`).

Areas are exact decimals throughout; no float is ever involved.

The package's modules: `units` (the values and their checks), `parsing` (CSV import and row
validation) and `heads` (head counting and summaries). Everything other modules use is
importable from ``consult.roll`` itself.
"""

from __future__ import annotations

from consult.roll.heads import compute_heads, owner_index, summarize
from consult.roll.parsing import parse_roll, read_roll_file
from consult.roll.units import (
    AreaSource,
    Head,
    HeadMergePolicy,
    HeadRules,
    OwnerKind,
    RollSummary,
    Unit,
    UnitKind,
)

__all__ = [
    "AreaSource",
    "Head",
    "HeadMergePolicy",
    "HeadRules",
    "OwnerKind",
    "RollSummary",
    "Unit",
    "UnitKind",
    "compute_heads",
    "owner_index",
    "parse_roll",
    "read_roll_file",
    "summarize",
]
