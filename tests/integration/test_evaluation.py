"""Evaluation of an implemented outcome (DOMAIN.md §7): rates, reopening, a second round."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from consult.application import ConsultationApp
from consult.case import Stage
from consult.clock import FixedClock
from consult.errors import IllegalTransitionError, SettingError, ValidationError, VoteNotOpenError
from consult.evaluation import Evaluation
from consult.settings import EstateSettings
from tests.conftest import OC, owner
from tests.integration.test_case import World, assert_specific, make_world, plain_units, unit


@pytest.fixture
def world(app: ConsultationApp, clock: FixedClock) -> World:
    return make_world(app, clock)


def rate_all(w: World, case_id: object, ratings: list[tuple[str, bool, bool]]) -> None:
    for i, (rating, aware, took_part) in enumerate(ratings, start=1):
        w.app.rate(case_id, rating, aware, took_part, owner(f"O{i}"))  # type: ignore[arg-type]


def test_rates_are_exact_fractions_of_the_respondents(world: World) -> None:
    cid = world.evaluating()
    rate_all(
        world,
        cid,
        [
            ("satisfied", True, True),
            ("basically-satisfied", True, False),
            ("dissatisfied", False, False),
            ("satisfied", True, True),
        ],
    )
    ev = world.app.evaluation(cid)
    assert isinstance(ev, Evaluation) and ev.round_no == 1
    rates = ev.rates()
    assert (rates.eligible, rates.respondents) == (6, 4)  # eligible: the estate's owners
    assert rates.response == Fraction(4, 6)
    assert rates.awareness == Fraction(3, 4)
    assert rates.participation == Fraction(2, 4)
    assert rates.satisfaction == Fraction(3, 4)  # satisfied + basically satisfied
    assert rates.counts == {"satisfied": 2, "basically-satisfied": 1, "dissatisfied": 1}
    outcome = world.app.close_evaluation(cid, OC)
    assert outcome.rates == rates and outcome.threshold == "2/3" and not outcome.reopened
    published = world.app.case(cid).evaluation_outcome
    assert published is not None
    assert published["satisfaction"] == "3/4" and published["threshold"] == "2/3"


def test_each_person_rates_once_while_the_evaluation_is_open(world: World) -> None:
    app, clock = world.app, world.clock
    cid = world.fed_back()
    with pytest.raises(IllegalTransitionError) as err:
        app.rate(cid, "satisfied", True, True, owner("O1"))
    assert_specific(err.value, "be rated")
    with pytest.raises(ValidationError) as verr:
        app.open_evaluation(cid, clock.now(), OC)
    assert verr.value.field == "closes_at"
    app.open_evaluation(cid, clock.now() + timedelta(days=7), OC)
    with pytest.raises(ValidationError) as verr:
        app.rate(cid, "great", True, True, owner("O1"))
    assert verr.value.field == "rating"
    app.rate(cid, "satisfied", True, True, owner("O1"))
    with pytest.raises(ValidationError) as verr:
        app.rate(cid, "dissatisfied", True, True, owner("O1"))
    assert_specific(verr.value, "already rated")
    clock.advance(days=7)
    with pytest.raises(VoteNotOpenError) as closed:
        app.rate(cid, "satisfied", True, True, owner("O2"))
    assert closed.value.field == "rating"
    assert world.app.evaluation(cid).rates().respondents == 1


def test_exactly_the_threshold_is_not_below_it(world: World) -> None:
    cid = world.evaluated(["satisfied", "basically-satisfied", "dissatisfied"])  # 2/3
    case = world.app.case(cid)
    assert case.stage == Stage.EVALUATION and not case.evaluation_open
    world.app.archive(cid, OC)
    assert world.app.case(cid).stage == Stage.ARCHIVED


def test_below_the_threshold_reopens_for_rectification_then_a_second_round(
    world: World,
) -> None:
    app, clock = world.app, world.clock
    app.change_settings(world.estate, {"evaluation_min_responses": 3}, OC)
    cid = world.evaluating()
    rate_all(
        world,
        cid,
        [("satisfied", True, True), ("dissatisfied", True, True), ("dissatisfied", True, False)],
    )
    outcome = app.close_evaluation(cid, OC)
    assert outcome.reopened and outcome.rates.satisfaction == Fraction(1, 3)
    assert outcome.conclusive and outcome.min_responses == 3
    case = app.case(cid)
    assert case.stage == Stage.RECTIFICATION and case.evaluation_rounds == 1
    with pytest.raises(IllegalTransitionError):
        app.archive(cid, OC)
    with pytest.raises(IllegalTransitionError):
        app.close_evaluation(cid, OC)

    # Rectify: a new plan, progress, feedback; then residents rate again.
    app.assign_implementation(cid, "pm-2", "返工整改。", clock.now() + timedelta(days=30), OC)
    assert app.case(cid).stage == Stage.RECTIFICATION
    app.report_progress(cid, 100, "整改完成。", owner("pm-2"))
    app.give_feedback(cid, "已整改。", [{"to": "不满意的业主", "text": "已返工。"}], OC)
    app.open_evaluation(cid, clock.now() + timedelta(days=7), OC)
    assert app.case(cid).evaluation_rounds == 2
    rate_all(
        world,
        cid,
        [("satisfied", True, True), ("satisfied", True, True), ("basically-satisfied", True, True)],
    )
    second = app.close_evaluation(cid, OC)
    assert not second.reopened and second.rates.satisfaction == 1
    assert app.evaluation(cid, 1).rates().satisfaction == Fraction(1, 3)  # round 1 is kept
    assert app.evaluation(cid).round_no == 2
    app.archive(cid, OC)
    assert app.case(cid).stage == Stage.ARCHIVED


def test_the_estate_sets_the_satisfaction_threshold(world: World) -> None:
    world.app.change_settings(
        world.estate, {"satisfaction_threshold": "3/4", "evaluation_min_responses": 3}, OC
    )
    cid = world.evaluating()
    rate_all(
        world,
        cid,
        [("satisfied", True, True), ("satisfied", True, True), ("dissatisfied", True, True)],
    )
    outcome = world.app.close_evaluation(cid, OC)
    assert outcome.threshold == "3/4" and outcome.reopened  # 2/3 is below 3/4


def test_a_rate_from_too_few_responses_decides_nothing(world: World) -> None:
    """One unhappy answer of six eligible (the minimum is 30, or everyone when fewer are eligible):
    the rate is published with its count and base, marked not conclusive, and the case is not
    reopened."""
    cid = world.evaluating()
    assert EstateSettings().evaluation_min_responses == 30
    rate_all(world, cid, [("dissatisfied", True, True)])
    outcome = world.app.close_evaluation(cid, OC)
    assert outcome.rates.satisfaction == 0 and (
        outcome.rates.respondents,
        outcome.rates.eligible,
    ) == (1, 6)
    assert not outcome.conclusive and not outcome.reopened and outcome.min_responses == 30
    published = world.app.case(cid).evaluation_outcome
    assert published is not None
    assert (published["respondents"], published["eligible"]) == (1, 6)
    assert published["min_responses"] == 30 and published["conclusive"] is False
    assert world.app.case(cid).stage == Stage.EVALUATION  # decided nothing: archive or rate again


def test_every_eligible_head_answering_is_conclusive_below_the_minimum(world: World) -> None:
    cid = world.evaluating()
    rate_all(world, cid, [("dissatisfied", True, True)] * 4 + [("satisfied", True, True)] * 2)
    outcome = world.app.close_evaluation(cid, OC)
    assert outcome.conclusive and outcome.reopened  # 6 of 6 answered; 1/3 < 2/3


def test_the_minimum_number_of_responses_is_a_checked_setting(world: World) -> None:
    for bad in (0, -1, "30", True, 100_001):
        with pytest.raises(SettingError) as err:
            world.app.change_settings(world.estate, {"evaluation_min_responses": bad}, OC)
        assert err.value.field == "evaluation_min_responses"
        assert_specific(err.value)


def test_an_evaluation_nobody_answered_publishes_no_rate(world: World) -> None:
    cid = world.evaluating()
    outcome = world.app.close_evaluation(cid, OC)
    assert outcome.rates.respondents == 0 and outcome.rates.satisfaction is None
    assert not outcome.reopened
    assert world.app.case(cid).evaluation_outcome["satisfaction"] is None  # type: ignore[index]


def test_closing_the_evaluation_closes_the_round(world: World) -> None:
    cid = world.evaluating()
    world.app.rate(cid, "satisfied", True, True, owner("O1"))
    world.app.close_evaluation(cid, OC)
    ev = world.app.evaluation(cid)
    assert ev.closed
    with pytest.raises(IllegalTransitionError):
        world.app.rate(cid, "satisfied", True, True, owner("O2"))
    assert [type(e).__name__ for e in world.app.events.get(ev.id)] == [  # type: ignore[attr-defined]
        "Created",
        "Rated",
        "Closed",
    ]


def test_only_owners_on_the_roll_rate_so_the_response_rate_never_exceeds_one(
    app: ConsultationApp, clock: FixedClock
) -> None:
    # U1 is co-owned by O1 and C1 (one head); O3 owns U3 and U7 (one buyer of two units: one head).
    rows = [unit("U1", "O1", "C1"), *plain_units(6)[1:], unit("U7", "O3")]
    w = make_world(app, clock, rows)
    cid = w.evaluating()
    assert w.app.evaluation(cid).eligible == 6
    with pytest.raises(ValidationError) as outsider:
        w.app.rate(cid, "satisfied", True, True, owner("TENANT-9"))
    assert_specific(outsider.value, "not on this estate's owners' roll")
    w.app.rate(cid, "satisfied", True, True, owner("O1"))
    with pytest.raises(ValidationError) as co_owner:
        w.app.rate(cid, "dissatisfied", True, True, owner("C1"))  # the head has answered
    assert_specific(co_owner.value, "co-owner")
    w.app.rate(cid, "dissatisfied", False, False, owner("O3"))
    rates = w.app.evaluation(cid).rates()
    assert (rates.eligible, rates.respondents, rates.response) == (6, 2, Fraction(1, 3))
    assert rates.counts == {"satisfied": 1, "basically-satisfied": 0, "dissatisfied": 1}
    assert w.app.evaluation(cid).has_rated("O1") and not w.app.evaluation(cid).has_rated("C1")
