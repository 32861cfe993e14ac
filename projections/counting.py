"""A vote's result from aggregated counters instead of individual ballots.

:func:`consult.rules.tally` counts ballot by ballot; the tally view keeps counters (heads and area
per choice, in total and per building) so a query costs the same for 200 or 20,000 owners. This
module turns those counters into the very same :class:`~consult.rules.VoteResult`, reusing the
rules module's own threshold checks (``tests/test_projections_counting.py`` proves it equal to
``tally`` on random rolls and ballots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from consult.rules import (
    NOT_VOTED,
    Choice,
    Count,
    CountingOptions,
    RuleSet,
    SilentMajorityStatus,
    Tally,
    VoteResult,
    _deem,
    _majority_side,
    _participating_choices,
    _pass_checks,
    _quorum_checks,
    _sum,
)
from projections.db import area


@dataclass(frozen=True)
class Counters:
    """One group of electors (a whole vote or one building): its size, and heads and area
    (integer hundredths of m²) per choice cast."""

    total_heads: int
    total_area: int
    by_choice: Mapping[Choice, tuple[int, int]] = field(default_factory=dict)

    def heads(self, choice: Choice) -> int:
        return self.by_choice.get(choice, (0, 0))[0]

    def area(self, choice: Choice) -> int:
        return self.by_choice.get(choice, (0, 0))[1]


def _counts(rs: RuleSet, group: Counters) -> tuple[dict[Choice, Count], Count, Count]:
    def count(heads: int, hundredths: int) -> Count:
        return Count(heads, area(hundredths) if rs.uses_area else None)

    by_choice = {c: count(group.heads(c), group.area(c)) for c in Choice}
    voted_heads = sum(group.heads(c) for c in Choice)
    voted_area = sum(group.area(c) for c in Choice)
    not_voted = count(group.total_heads - voted_heads, group.total_area - voted_area)
    return by_choice, not_voted, count(group.total_heads, group.total_area)


def result_from_counters(
    rs: RuleSet,
    options: CountingOptions,
    total: Counters,
    buildings: Mapping[str, Counters],
    households: tuple[int, int] | None = None,
) -> VoteResult:
    """The result :func:`consult.rules.tally` gives for the ballots these counters summarise.

    ``households`` is (households with a participating member, all households), needed only by
    rule sets with a household quorum (villagers' meetings).
    """
    options.validate(rs)
    uses_area = rs.uses_area
    by_choice, not_voted, whole = _counts(rs, total)
    participating = _sum([by_choice[c] for c in _participating_choices(options)], uses_area)
    household_counts = households if rs.household_quorum_threshold is not None else None
    if rs.household_quorum_threshold is not None and household_counts is None:
        raise ValueError(f"{rs.id} needs the household counts")
    quorum, quorum_met = _quorum_checks(rs, participating, whole, household_counts)
    passing = _pass_checks(rs, by_choice[Choice.YES], participating, whole)
    raw = Tally(
        by_choice=by_choice,
        not_voted=not_voted,
        total=whole,
        participating=participating,
        quorum=quorum,
        quorum_met=quorum_met,
        passing=passing,
        passed=quorum_met and all(c.met for c in passing),
    )
    deemed: Tally | None = None
    status = SilentMajorityStatus.OFF
    side: Choice | None = None
    if options.silent_majority:
        if not raw.quorum_met:
            deemed, status = raw, SilentMajorityStatus.NO_QUORUM
        else:
            side = _majority_side(by_choice[Choice.YES], by_choice[Choice.NO])
            if side is None:
                deemed, status = raw, SilentMajorityStatus.NO_MAJORITY
            else:
                deemed = _deem(rs, raw, side, options)
                status = SilentMajorityStatus.APPLIED
    by_building: dict[str, dict[Choice | str, Count]] = {}
    for building, group in sorted(buildings.items()):
        counts, building_not_voted, _ = _counts(rs, group)
        row: dict[Choice | str, Count] = {c: counts[c] for c in Choice}
        row[NOT_VOTED] = building_not_voted
        by_building[building] = row
    return VoteResult(
        rule_set=rs,
        options=options,
        raw=raw,
        deemed=deemed,
        passed=deemed.passed if deemed is not None else raw.passed,
        by_building=by_building,
        silent_majority=status,
        deemed_side=side,
    )
