"""Property: for random event sequences, updating incrementally (at random moments, in random
section sizes) gives exactly the rows a rebuild from zero gives, and the tallies the rules give."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult.clock import FixedClock
from consult.errors import ConsultError
from consult.vote import Ballot, VoteState, ballot_id
from entrypoints.bootstrap import build_app
from projections import Projector, Queries, open_store
from projections.views import default_views
from projections.views.tallies import TalliesView
from tests.conftest import OC, close_at_end, owner
from tests.integration.test_projections_support import (
    open_owners_vote,
    setup_place,
    synthetic_roll,
    view_rows,
)

HEADS = 11  # synthetic_roll(12) has 11 heads
CHOICES = ("yes", "no", "abstain")

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("cast"), st.integers(0, 1), st.integers(0, HEADS - 1), st.sampled_from(CHOICES)
        ),
        st.tuples(st.just("close"), st.integers(0, 1)),
        st.tuples(
            st.just("late"), st.integers(0, 1), st.integers(0, HEADS - 1), st.sampled_from(CHOICES)
        ),
        st.tuples(st.just("sign"), st.integers(0, HEADS - 1)),
        st.tuples(st.just("withdraw"), st.integers(0, HEADS - 1)),
        st.tuples(st.just("catch_up")),
    ),
    max_size=40,
)


def run(url: str, ops: list[tuple[object, ...]], section: int, rebuild_section: int) -> None:
    clock = FixedClock()
    app = build_app(url, clock=clock)
    store = open_store(url)
    try:
        projector = Projector(app, store, section_size=section)
        estate = setup_place(app, synthetic_roll(12))
        heads = [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]
        _, votes = open_owners_vote(app, clock, estate, items=2)
        motion = app.open_motion(estate, "动议", "说明", owner(heads[0].owners[0])).motion_id
        for op in ops:
            kind = op[0]
            try:
                if kind == "cast":
                    _, v, h, choice = op
                    app.cast_ballot(votes[int(v)], str(choice), owner(heads[int(h)].owners[0]))
                elif kind == "close":
                    close_at_end(app, votes[int(op[1])], OC)
                elif kind == "late":  # a ballot that raced the close is stored after it
                    _, v, h, choice = op
                    vote = app.vote(votes[int(v)])
                    head = heads[int(h)]
                    if vote.state == VoteState.CLOSED and not app.exists(
                        ballot_id(vote.id, head.head_id)
                    ):
                        app.save(
                            Ballot.start(
                                ballot_id(vote.id, head.head_id),
                                clock.now(),
                                head.owners[0],
                                "",
                                vote_id=vote.id,
                                elector_id=head.head_id,
                                choice=choice,
                                channel="online",
                                receipt="LATE",
                            )
                        )
                elif kind == "sign":
                    app.sign_motion(motion, owner(heads[int(op[1])].owners[0]))
                elif kind == "withdraw":
                    app.withdraw_signature(motion, owner(heads[int(op[1])].owners[0]))
                else:
                    projector.catch_up()
            except ConsultError:
                pass  # refused commands store nothing
            clock.advance(minutes=7)
        projector.catch_up()
        incremental = view_rows(store)
        queries = Queries(store, app)
        for vote_id in votes:
            assert queries.vote_tally(vote_id).result == app.tally(vote_id)
        assert queries.motion_progress(motion).progress == app.motion(motion).progress()
        # The rebuild reads every changed ballot's past from the event store (no recent ballots).
        views = default_views(app, store)
        for view in views:
            if isinstance(view, TalliesView):
                view.recent_size = 0
        Projector(app, store, views=views, section_size=rebuild_section).rebuild()
        assert view_rows(store) == incremental
    finally:
        store.dispose()
        app.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(1, 7), st.integers(1, 50))
def test_incremental_equals_rebuild_in_memory(
    ops: list[tuple[object, ...]], section: int, rebuild_section: int
) -> None:
    run("memory://", ops, section, rebuild_section)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(1, 7), st.integers(1, 50))
def test_incremental_equals_rebuild_on_a_database(
    empty_store: Callable[[], str],
    ops: list[tuple[object, ...]],
    section: int,
    rebuild_section: int,
) -> None:
    run(empty_store(), ops, section, rebuild_section)
