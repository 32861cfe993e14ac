"""The tally view's counters give exactly the result `consult.rules.tally` gives ballot by ballot."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consult.errors import SettingError
from consult.rules import RULE_SETS, Choice, CountingOptions, Elector, RuleSet, tally
from projections.counting import (
    Counters,
    building_counts,
    building_counts_from_json,
    result_from_counters,
)
from projections.db import hundredths
from projections.views.tallies import dump_buildings

BUILDINGS = ("1", "2", "3", "S")


@st.composite
def votes(draw: st.DrawFn) -> tuple[RuleSet, CountingOptions, list[Elector], dict[str, Choice]]:
    rs = draw(st.sampled_from(list(RULE_SETS.values())))
    needs_household = rs.household_quorum_threshold is not None
    n = draw(st.integers(1, 25))
    electors = []
    for i in range(n):
        cents = draw(st.integers(1, 30000)) if rs.uses_area or draw(st.booleans()) else None
        electors.append(
            Elector(
                f"e{i}",
                area=None if cents is None else Decimal(cents).scaleb(-2),
                building=draw(st.sampled_from(BUILDINGS)),
                household=f"h{draw(st.integers(0, 6))}"
                if needs_household or draw(st.booleans())
                else None,
            )
        )
    silent = rs.silent_majority_allowed and draw(st.booleans())
    options = CountingOptions(
        abstain_participates=draw(st.booleans()),
        invalid_participates=draw(st.booleans()),
        silent_majority=silent,
        covenant_ref="管理规约 v1" if silent else None,
        zhejiang_floor=silent and draw(st.booleans()),
    )
    ballots = {
        e.elector_id: draw(st.sampled_from(list(Choice)))
        for e in electors
        if draw(st.integers(0, 3)) > 0  # most electors vote
    }
    return rs, options, electors, ballots


def counters_of(
    electors: list[Elector], ballots: dict[str, Choice]
) -> tuple[Counters, dict[str, Counters]]:
    """What the view's counters hold after these ballots (the sums the projector maintains)."""

    def group(members: list[Elector]) -> Counters:
        by_choice = {
            c: (
                sum(1 for e in members if ballots.get(e.elector_id) == c),
                sum(
                    hundredths(e.area or Decimal(0))
                    for e in members
                    if ballots.get(e.elector_id) == c
                ),
            )
            for c in Choice
        }
        return Counters.of(
            len(members), sum(hundredths(e.area or Decimal(0)) for e in members), by_choice
        )

    buildings = {
        b: group([e for e in electors if e.building == b]) for b in {e.building for e in electors}
    }
    return group(electors), buildings


def households_of(
    electors: list[Elector], ballots: dict[str, Choice], options: CountingOptions
) -> tuple[int, int]:
    participating = {Choice.YES, Choice.NO}
    if options.abstain_participates:
        participating.add(Choice.ABSTAIN)
    if options.invalid_participates:
        participating.add(Choice.INVALID)
    all_households = {e.household for e in electors if e.household is not None}
    voted = {
        e.household
        for e in electors
        if e.household is not None and ballots.get(e.elector_id) in participating
    }
    return len(voted), len(all_households)


@settings(max_examples=300, deadline=None)
@given(votes())
def test_result_from_counters_equals_tally(
    vote: tuple[RuleSet, CountingOptions, list[Elector], dict[str, Choice]],
) -> None:
    rs, options, electors, ballots = vote
    total, buildings = counters_of(electors, ballots)
    expected = tally(rs, electors, ballots, options)
    got = result_from_counters(
        rs,
        options,
        total,
        building_counts(rs.uses_area, buildings),
        households_of(electors, ballots, options),
    )
    assert got == expected
    # the view keeps the buildings as JSON; read back, they give the same counts
    text = dump_buildings({b: [g.total_heads, g.total_area, *g.cast] for b, g in buildings.items()})
    assert building_counts_from_json(rs.uses_area, text) == expected.by_building
    assert got.passed == expected.passed and got.silent_majority == expected.silent_majority


def test_villagers_meeting_needs_household_counts() -> None:
    rs = RULE_SETS[
        next(k for k, v in RULE_SETS.items() if v.household_quorum_threshold is not None)
    ]
    with pytest.raises(SettingError) as raised:
        result_from_counters(rs, CountingOptions(), Counters(1, 0), {}, None)
    assert raised.value.field == "households"
