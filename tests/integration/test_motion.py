"""Threshold motions (DOMAIN.md §4): presets, head dedupe, withdrawal, deadlines, frozen roll."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult.application import ConsultationApp
from consult.case import Stage
from consult.clock import FixedClock
from consult.errors import (
    AlreadySignedError,
    ConsultError,
    MotionClosedError,
    MotionWithdrawalForbiddenError,
    NotOnRollError,
    NotSignedError,
    SignatureWithdrawalForbiddenError,
    ValidationError,
)
from consult.motion import Motion, MotionState
from consult.roll import AreaSource, OwnerKind, Unit, UnitKind
from consult.rules import MotionBasis, MotionEffect, ThresholdRule
from entrypoints.bootstrap import build_app
from tests.conftest import OC, OPERATOR, PARTY, RC, owner
from tests.integration.test_case import assert_specific, event_names, make_estate, unit

# 40 heads, 800.00 m²: 5% is 2 heads or 40 m²; 20% is 8 heads and 160 m².
#   W owns one big unit; O1..O36 one unit each; X and Y co-own CO; X alone owns XS;
#   Z owns Z1 and Z2 (one owner set: one head of 20 m²).
MOTION_ROLL = [
    unit("BIG", "W", area="400.00"),
    *(unit(f"U{i}", f"O{i}", area="10.00") for i in range(1, 37)),
    unit("CO", "X", "Y", area="10.00"),
    unit("XS", "X", area="10.00"),
    unit("Z1", "Z", area="10.00", building="2"),
    unit("Z2", "Z", area="10.00", building="2"),
]


@pytest.fixture
def estate(app: ConsultationApp) -> UUID:
    return make_estate(app, MOTION_ROLL)


def signers(app: ConsultationApp, motion_id: UUID) -> set[str]:
    return set(app.motion(motion_id).signed)


def test_the_frozen_roll_gives_the_motion_its_denominators(
    app: ConsultationApp, estate: UUID
) -> None:
    opened = app.open_motion(estate, "公开账目", "请公开收支。", owner("O1"))
    motion_id, case_id = opened.motion_id, opened.case_id
    motion = app.motion(motion_id)
    assert (motion.total_heads, motion.total_area) == (40, Decimal("800.00"))
    assert motion.roll_version == app.roll_version(estate)
    assert motion.state == MotionState.OPEN and motion.case_id == case_id
    case = app.case(case_id)
    assert case.channel == "motion" and case.motion_id == motion_id
    assert case.stage == Stage.COLLECTING and not case.tabled_by_motion


def test_five_percent_is_reached_by_heads(app: ConsultationApp, estate: UUID) -> None:
    opened = app.open_motion(estate, "议题", "内容", owner("O1"))
    motion_id, case_id = opened.motion_id, opened.case_id
    first = app.sign_motion(motion_id, owner("O1"))
    assert not first.tabled and first.progress.heads_missing == 1
    second = app.sign_motion(motion_id, owner("O2"))
    assert second.tabled
    assert second.progress.heads.met and not second.progress.area.met  # 20 of 800 m²
    assert app.motion(motion_id).state == MotionState.TABLED
    assert app.case(case_id).tabled_by_motion


def test_five_percent_is_reached_by_area(
    app: ConsultationApp, estate: UUID, clock: FixedClock
) -> None:
    opened = app.open_motion(estate, "议题", "内容", owner("W"))
    motion_id, case_id = opened.motion_id, opened.case_id
    result = app.sign_motion(motion_id, owner("W"))
    assert result.tabled
    assert result.progress.area.met and not result.progress.heads.met  # 1 of 40 heads
    case = app.case(case_id)
    assert case.answer_due == clock.now() + timedelta(days=15)
    assert event_names(app, case_id) == ["Created", "Tabled"]
    with pytest.raises(MotionClosedError) as err:
        app.sign_motion(motion_id, owner("O1"))
    assert err.value.field == "motion"
    assert_specific(err.value, "threshold reached")


def test_twenty_percent_needs_heads_and_area(app: ConsultationApp, estate: UUID) -> None:
    by_heads = app.open_motion(
        estate, "临时会议", "提议召开临时业主大会。", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    results = [app.sign_motion(by_heads, owner(f"O{i}")) for i in range(1, 9)]
    last = results[-1].progress
    assert last.heads.met and not last.area.met  # 8 heads but 80 of 160 m²
    assert not any(r.tabled for r in results)
    assert app.sign_motion(by_heads, owner("W")).tabled

    by_area = app.open_motion(
        estate, "临时会议", "再提议。", owner("W"), preset="extraordinary-20pct"
    ).motion_id
    only_area = app.sign_motion(by_area, owner("W"))
    assert only_area.progress.area.met and not only_area.progress.heads.met
    assert not only_area.tabled
    assert app.motion(by_area).state == MotionState.OPEN


def test_founding_motion_signatures_cannot_be_withdrawn(app: ConsultationApp, estate: UUID) -> None:
    motion_id = app.open_motion(
        estate, "成立业主大会", "申请成立业主大会。", owner("O1"), preset="founding-5pct"
    ).motion_id
    rule = app.motion(motion_id).rule
    assert rule.effect == MotionEffect.FOUND_ASSEMBLY and not rule.withdrawable
    app.sign_motion(motion_id, owner("O1"))
    with pytest.raises(SignatureWithdrawalForbiddenError) as err:
        app.withdraw_signature(motion_id, owner("O1"))
    assert err.value.field == "motion"
    assert_specific(err.value, "withdrawn")
    assert signers(app, motion_id) == {"H:O1"}


def test_signatures_count_once_per_head(app: ConsultationApp, estate: UUID) -> None:
    motion_id = app.open_motion(
        estate, "议题", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id

    # Z owns two units with the same owner set: one head, with both units' area.
    z = app.sign_motion(motion_id, owner("Z"))
    assert z.head_ids == ("H:Z",)
    assert app.motion(motion_id).signed["H:Z"]["area"] == "20.00"

    # X co-owns CO with Y and owns XS alone: two heads, both signed by X at once.
    x = app.sign_motion(motion_id, owner("X"))
    assert set(x.head_ids) == {"H:X", "H:X;Y"}

    # Y, the other co-owner of CO, cannot sign that head again.
    with pytest.raises(AlreadySignedError) as err:
        app.sign_motion(motion_id, owner("Y"))
    assert err.value.field == "head_id"
    assert_specific(err.value, "already co-signed")
    with pytest.raises(AlreadySignedError):
        app.sign_motion(motion_id, owner("Z"))

    motion = app.motion(motion_id)
    progress = motion.progress()
    assert set(motion.signed) == {"H:Z", "H:X", "H:X;Y"}
    assert progress.heads.numerator == 3 and progress.area.numerator == 40
    assert motion.signed_area == Decimal("40.00")
    assert event_names(app, motion_id).count("Signed") == 3


def test_a_signer_signs_only_for_their_own_heads(app: ConsultationApp, estate: UUID) -> None:
    motion_id = app.open_motion(
        estate, "议题", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    with pytest.raises(NotOnRollError) as err:
        app.sign_motion(motion_id, owner("O1"), head_id="H:O2")
    assert err.value.field == "head_id"
    with pytest.raises(NotOnRollError) as err:
        app.sign_motion(motion_id, owner("stranger"))
    assert err.value.field == "actor"
    assert_specific(err.value, "您不在", "You are not")  # "you", never an internal id
    one = app.sign_motion(motion_id, owner("X"), head_id="H:X;Y")
    assert one.head_ids == ("H:X;Y",)
    assert signers(app, motion_id) == {"H:X;Y"}


def test_withdrawal_where_the_rule_allows_it(app: ConsultationApp, estate: UUID) -> None:
    motion_id = app.open_motion(
        estate, "议题", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    app.sign_motion(motion_id, owner("X"))
    app.sign_motion(motion_id, owner("O1"))
    withdrawn = app.withdraw_signature(motion_id, owner("X"), head_id="H:X")
    assert withdrawn.head_ids == ("H:X",)
    motion = app.motion(motion_id)
    assert set(motion.signed) == {"H:X;Y", "H:O1"} and motion.signed_area == Decimal("20.00")

    # Y may withdraw the co-owned head that X signed.
    app.withdraw_signature(motion_id, owner("Y"))
    with pytest.raises(NotSignedError) as err:
        app.withdraw_signature(motion_id, owner("Y"))
    assert err.value.field == "head_id"
    with pytest.raises(NotSignedError):
        app.withdraw_signature(motion_id, owner("O2"))

    # A withdrawn head may sign again.
    app.sign_motion(motion_id, owner("Y"))
    assert signers(app, motion_id) == {"H:X;Y", "H:O1"}
    assert event_names(app, motion_id).count("SignatureWithdrawn") == 2


def test_the_window_closes_on_the_clock(
    app: ConsultationApp, estate: UUID, clock: FixedClock
) -> None:
    motion_id = app.open_motion(
        estate, "议题", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    app.sign_motion(motion_id, owner("O1"))
    closes_at = app.motion(motion_id).closes_at
    assert closes_at == clock.now() + timedelta(days=30)
    clock.set(closes_at - timedelta(seconds=1))
    app.sign_motion(motion_id, owner("O2"))
    clock.set(closes_at)
    for attempt in (
        lambda: app.sign_motion(motion_id, owner("O3")),
        lambda: app.withdraw_signature(motion_id, owner("O1")),
    ):
        with pytest.raises(MotionClosedError) as err:
            attempt()
        assert err.value.params["state_en"] == "lapsed without reaching the threshold"
    assert signers(app, motion_id) == {"H:O1", "H:O2"}


def test_process_deadlines_lapses_expired_motions_only(
    app: ConsultationApp, estate: UUID, clock: FixedClock
) -> None:
    expired = app.open_motion(
        estate, "议题一", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    app.sign_motion(expired, owner("O1"))
    tabled = app.open_motion(estate, "议题二", "内容", owner("W")).motion_id
    app.sign_motion(tabled, owner("W"))
    clock.advance(days=10)
    running = app.open_motion(
        estate, "议题三", "内容", owner("O2"), preset="extraordinary-20pct"
    ).motion_id

    clock.advance(days=19, hours=23)
    assert app.process_deadlines()["lapsed"] == []
    clock.advance(hours=1)  # the first motion's 30 days are over
    done = app.process_deadlines()
    assert done["lapsed"] == [expired]
    assert app.motion(expired).state == MotionState.LAPSED
    assert app.motion(tabled).state == MotionState.TABLED
    assert app.motion(running).state == MotionState.OPEN
    assert app.process_deadlines()["lapsed"] == []  # nothing twice
    assert event_names(app, expired).count("Lapsed") == 1
    lapsed_event = list(app.events.get(expired))[-1]  # type: ignore[attr-defined]
    assert lapsed_event.actor == "system" and lapsed_event.reason


def test_process_deadlines_escalates_an_unanswered_tabled_topic(
    app: ConsultationApp, estate: UUID, clock: FixedClock
) -> None:
    unanswered = app.open_motion(estate, "议题一", "内容", owner("W")).case_id
    answered = app.open_motion(estate, "议题二", "内容", owner("W")).case_id
    referred = app.open_motion(estate, "议题三", "内容", owner("W")).case_id
    for case_id in (unanswered, answered, referred):
        motion_id = app.case(case_id).motion_id
        assert motion_id is not None
        assert app.sign_motion(motion_id, owner("W")).tabled  # W's area alone is 5 %
    due = app.case(unanswered).answer_due
    assert due == clock.now() + timedelta(days=15)
    app.confirm_topic(answered, "owners-assembly", ["业主"], PARTY, "受理")
    app.refer_topic(referred, "street", RC, "转街道")

    clock.set(due)
    assert app.process_deadlines()["escalated"] == []  # exactly on time is still in time
    clock.advance(seconds=1)
    assert app.process_deadlines()["escalated"] == [unanswered]
    case = app.case(unanswered)
    assert case.escalated and case.stage == Stage.COLLECTING
    assert app.process_deadlines()["escalated"] == []
    assert event_names(app, unanswered).count("EscalatedToStreet") == 1
    assert "EscalatedToStreet" not in event_names(app, answered)
    assert "EscalatedToStreet" not in event_names(app, referred)

    # Escalated, it still must be answered; confirming it answers it.
    app.confirm_topic(unanswered, "owners-assembly", ["业主"], PARTY, "受理")
    assert app.case(unanswered).answer_due is None


def test_twenty_percent_motion_waits_its_own_answer_period(
    app: ConsultationApp, estate: UUID, clock: FixedClock
) -> None:
    opened = app.open_motion(estate, "临时会议", "内容", owner("W"), preset="extraordinary-20pct")
    motion_id, case_id = opened.motion_id, opened.case_id
    for who in ("W", *(f"O{i}" for i in range(1, 8))):
        result = app.sign_motion(motion_id, owner(who))
    assert result.tabled
    assert app.motion(motion_id).rule.effect == MotionEffect.CONVENE_EXTRAORDINARY
    clock.advance(days=29)
    assert app.process_deadlines()["escalated"] == []
    clock.advance(days=1, seconds=1)
    assert app.process_deadlines()["escalated"] == [case_id]


def test_a_roll_change_after_opening_does_not_move_the_denominator(
    app: ConsultationApp, estate: UUID
) -> None:
    motion_id = app.open_motion(
        estate, "议题", "内容", owner("O1"), preset="extraordinary-20pct"
    ).motion_id
    opened_at = app.roll_version(estate)
    new_unit = Unit(
        "NEW", "3", "1", "301", UnitKind.RESIDENTIAL, Decimal("900.00"), AreaSource.REGISTER,
        ("N",), OwnerKind.PERSON,
    )  # fmt: skip
    app.add_unit(estate, new_unit, "产权证", OC)
    app.change_owner(estate, "U1", ["Q"], "person", "过户登记", OC)
    assert app.roll_version(estate) == opened_at + 2

    motion = app.motion(motion_id)
    assert motion.roll_version == opened_at
    for who in ("N", "Q"):
        with pytest.raises(NotOnRollError) as err:
            app.sign_motion(motion_id, owner(who))
        assert err.value.params["version"] == str(opened_at)
    signed = app.sign_motion(motion_id, owner("O1"))  # O1 still owns U1 on the frozen roll
    assert signed.progress.heads.denominator == 40
    assert signed.progress.area.denominator == 800

    later = app.open_motion(
        estate, "议题", "内容", owner("N"), preset="extraordinary-20pct"
    ).motion_id
    assert (app.motion(later).total_heads, app.motion(later).total_area) == (41, Decimal("1700.00"))


def test_opening_a_motion(app: ConsultationApp, estate: UUID) -> None:
    with pytest.raises(NotOnRollError):
        app.open_motion(estate, "议题", "内容", owner("stranger"))
    with pytest.raises(ValidationError) as err:
        app.open_motion(estate, "议题", "内容", owner("O1"), preset="motion-10pct")
    assert err.value.field == "preset"
    with pytest.raises(ValidationError) as err:
        app.open_motion(estate, " ", "内容", owner("O1"))
    assert err.value.field == "title"
    opened = app.open_motion(estate, "平台发起", "内容", OPERATOR)
    assert app.motion(opened.motion_id).state == MotionState.OPEN
    assert app.case(opened.case_id).motion_id == opened.motion_id
    # The position is that of the last event stored: the read side waits for it.
    assert opened.position == app.recorder.max_notification_id()
    stored = app.recorder.select_notifications(opened.position - 1, 2)
    assert {n.originator_id for n in stored} == {opened.motion_id, opened.case_id}


# --- property: signatures equal an independent count ------------------------------------------


OWNERS = ["A", "B", "C", "D", "E", "F"]


@st.composite
def rolls_and_actions(
    draw: st.DrawFn,
) -> tuple[list[tuple[tuple[str, ...], str]], list[tuple[str, str]]]:
    n_units = draw(st.integers(min_value=1, max_value=7))
    units = []
    for _ in range(n_units):
        owners = draw(st.lists(st.sampled_from(OWNERS), min_size=1, max_size=3, unique=True))
        area = draw(st.integers(min_value=1, max_value=20000))
        units.append((tuple(owners), f"{area // 100}.{area % 100:02d}"))
    people = sorted({o for owners, _ in units for o in owners} | {"stranger"})
    actions = draw(
        st.lists(
            st.tuples(st.sampled_from(["sign", "withdraw"]), st.sampled_from(people)),
            max_size=25,
        )
    )
    return units, actions


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=rolls_and_actions())
def test_signed_heads_and_area_equal_an_independent_computation(
    case: tuple[list[tuple[tuple[str, ...], str]], list[tuple[str, str]]],
) -> None:
    units, actions = case
    # The independent model: identical owner sets are one head (DOMAIN.md §3 default).
    head_area: dict[frozenset[str], Decimal] = defaultdict(Decimal)
    for owners, area in units:
        head_area[frozenset(owners)] += Decimal(area)
    heads_of: dict[str, list[frozenset[str]]] = defaultdict(list)
    for head in head_area:
        for person in head:
            heads_of[person].append(head)

    app = build_app("memory://", clock=FixedClock())
    rows = [unit(f"U{i}", *owners, area=area) for i, (owners, area) in enumerate(units)]
    estate = make_estate(app, rows, committee=None)
    everyone_rule = ThresholdRule(
        key="all",
        name_zh="全体",
        name_en="everyone",
        source_zh="测试",
        source_en="test",
        pct=Fraction(1),
        basis=MotionBasis.BOTH,
        window_days=30,
        withdrawable=True,
        effect=MotionEffect.TABLE_TOPIC,
        answer_days=15,
    )
    motion_id = app.open_motion(estate, "议题", "内容", OPERATOR, rule=everyone_rule).motion_id

    signed: set[frozenset[str]] = set()
    tabled = False
    for action, person in actions:
        mine = heads_of.get(person, [])
        try:
            if action == "sign":
                app.sign_motion(motion_id, owner(person))
            else:
                app.withdraw_signature(motion_id, owner(person))
        except ConsultError as e:
            if not mine:
                expected: type[ConsultError] = NotOnRollError
            elif action == "sign":
                expected = MotionClosedError if tabled else AlreadySignedError
            else:
                expected = MotionClosedError if tabled and set(mine) & signed else NotSignedError
            assert type(e) is expected, (action, person, e)
            continue
        assert not tabled and mine
        if action == "sign":
            new = [h for h in mine if h not in signed]
            assert new, "a sign with nothing new to sign must be refused"
            signed.update(new)
            tabled = len(signed) == len(head_area)
        else:
            assert any(h in signed for h in mine)
            signed.difference_update(mine)

    motion = app.motion(motion_id)
    assert set(motion.signed) == {"H:" + ";".join(sorted(h)) for h in signed}
    assert motion.signed_area == sum((head_area[h] for h in signed), Decimal(0))
    assert motion.state == (MotionState.TABLED if tabled else MotionState.OPEN)
    assert motion.total_heads == len(head_area)
    assert isinstance(app.motion(motion_id), Motion)


def test_withdrawing_the_topic_ends_the_signing_of_its_motion(
    app: ConsultationApp, estate: UUID
) -> None:
    opened = app.open_motion(estate, "议题", "内容", owner("O1"))
    app.sign_motion(opened.motion_id, owner("O1"))
    app.withdraw(opened.case_id, owner("O1"), "物业已经答复。")
    assert app.case(opened.case_id).stage == Stage.WITHDRAWN
    assert app.motion(opened.motion_id).state == MotionState.WITHDRAWN
    # the signature that would have reached 5 % cannot table a withdrawn topic
    with pytest.raises(MotionClosedError) as closed:
        app.sign_motion(opened.motion_id, owner("O2"))
    assert_specific(closed.value, "signing ended")
    assert signers(app, opened.motion_id) == {"H:O1"}
    assert event_names(app, opened.motion_id)[-1] == "Withdrawn"


def test_a_tabled_motion_may_not_be_withdrawn(app: ConsultationApp, estate: UUID) -> None:
    opened = app.open_motion(estate, "议题", "内容", owner("O1"))
    app.sign_motion(opened.motion_id, owner("O1"))
    app.sign_motion(opened.motion_id, owner("O2"))  # tabled at 5 % of heads
    with pytest.raises(MotionWithdrawalForbiddenError) as err:
        app.withdraw(opened.case_id, owner("O1"), "不想办了。")
    assert_specific(err.value, "may not be withdrawn")
    assert app.case(opened.case_id).stage == Stage.COLLECTING
    assert app.motion(opened.motion_id).state == MotionState.TABLED
