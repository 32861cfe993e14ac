"""A vote's result from aggregated counters instead of individual ballots.

:func:`consult.rules.tally` counts ballot by ballot; the tally view keeps counters (heads and area
per choice, in total and per building) so a query costs the same for 200 or 20,000 owners. This
module turns those counters into the counts :func:`consult.rules.result_from_counts` takes, the
one implementation of the rules that ``tally`` uses too, so both give the very same
:class:`~consult.rules.VoteResult` (``tests/test_projections_counting.py`` proves it on random
rolls and ballots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import orjson

from consult.rules import (
    NOT_VOTED,
    Choice,
    Count,
    CountingOptions,
    RuleSet,
    VoteResult,
    result_from_counts,
)
from projections.db import area

#: The order of the counters: heads and area for each choice.
CHOICE_ORDER: tuple[Choice, ...] = (Choice.YES, Choice.NO, Choice.ABSTAIN, Choice.INVALID)


@dataclass(frozen=True, slots=True)
class Counters:
    """One group of electors (a whole vote or one building): its size, and for each choice of
    ``CHOICE_ORDER`` the heads and the area (integer hundredths of m²) that cast it."""

    total_heads: int
    total_area: int
    cast: tuple[int, ...] = (0,) * 8  # yes heads, yes area, no heads, no area, ...

    @classmethod
    def of(
        cls, total_heads: int, total_area: int, by_choice: Mapping[Choice, tuple[int, int]]
    ) -> Counters:
        return cls(
            total_heads,
            total_area,
            tuple(n for c in CHOICE_ORDER for n in by_choice.get(c, (0, 0))),
        )


def _count(heads: int, area: Decimal | None) -> Count:
    """A Count without the frozen dataclass's slow __init__ (as ``consult.roll`` makes heads)."""
    count = object.__new__(Count)
    count.__dict__.update(heads=heads, area=area)
    return count


def _counts(uses_area: bool, group: Counters) -> tuple[dict[Choice, Count], Count, Count]:
    cast = group.cast
    by_choice: dict[Choice, Count] = {}
    voted_heads = voted_area = 0
    for i, choice in enumerate(CHOICE_ORDER):
        heads, hundredths = cast[2 * i], cast[2 * i + 1]
        voted_heads += heads
        voted_area += hundredths
        by_choice[choice] = _count(heads, area(hundredths) if uses_area else None)
    not_voted = group.total_area - voted_area
    return (
        by_choice,
        _count(group.total_heads - voted_heads, area(not_voted) if uses_area else None),
        _count(group.total_heads, area(group.total_area) if uses_area else None),
    )


ByBuilding = dict[str, dict[Choice | str, Count]]


def building_counts(uses_area: bool, buildings: Mapping[str, Counters]) -> ByBuilding:
    """Each building's counts by choice and not voted, as ``tally`` gives them."""
    result: ByBuilding = {}
    for building, group in sorted(buildings.items()):
        counts, not_voted, _ = _counts(uses_area, group)
        row: dict[Choice | str, Count] = {c: counts[c] for c in CHOICE_ORDER}
        row[NOT_VOTED] = not_voted
        result[building] = row
    return result


@lru_cache(maxsize=256)
def _from_json(uses_area: bool, text: str) -> ByBuilding:
    groups = {b: Counters(v[0], v[1], tuple(v[2:])) for b, v in orjson.loads(text).items()}
    return building_counts(uses_area, groups)


def building_counts_from_json(uses_area: bool, text: str) -> ByBuilding:
    """``building_counts`` of the view's per-building JSON; memoised by the text, which changes
    whenever a count does (each call gets its own dicts; the counts are immutable)."""
    return {building: dict(row) for building, row in _from_json(uses_area, text).items()}


def result_from_counters(
    rs: RuleSet,
    options: CountingOptions,
    total: Counters,
    by_building: ByBuilding,
    households: tuple[int, int] | None = None,
) -> VoteResult:
    """The result :func:`consult.rules.tally` gives for the ballots these counters summarise
    (``by_building`` from :func:`building_counts`).

    ``households`` is (households with a participating member, all households), needed only by
    rule sets with a household quorum (villagers' meetings).
    """
    by_choice, not_voted, whole = _counts(rs.uses_area, total)
    return result_from_counts(
        rs,
        by_choice,
        not_voted,
        whole,
        options,
        by_building=by_building,
        households=households,
    )
