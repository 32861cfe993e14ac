"""A whole consultation, told as a story: a 5% motion becomes an owners' decision and is carried out."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from consult.application import ConsultationApp
from consult.case import Stage
from consult.clock import FixedClock
from consult.errors import (
    MotionRejectionForbiddenError,
    NoticePeriodError,
    PermissionDeniedError,
    ValidationError,
)
from consult.motion import MotionState
from tests.conftest import OC, PARTY, RC, STREET, TELLER_A, TELLER_B, owner, setup_estate


def test_five_percent_motion_to_evaluated_decision(app: ConsultationApp, clock: FixedClock) -> None:
    # The demo estate has 240 units; 212 voting heads once parking is left out.
    estate = setup_estate(app)
    electorate = app.owners_electorate(estate)
    assert electorate.total_heads == 212
    heads = [h for h in electorate.heads.values() if not h.is_developer]

    # The estate has an owners' committee, a property company and a six-party council.
    app.elect_owners_committee(estate, ["oc-1", "oc-2", "oc-3"], "2029-01-01", RC)
    app.appoint_property_company(estate, "示范物业", ["pm-staff-1"], OC)
    council = app.create_council(estate, "six-party", PARTY)
    for party, holder in [
        ("party-organisation", "party-1"),
        ("residents-committee", "rc-1"),
        ("owners-committee", "oc-1"),
        ("property-company", "pm-1"),
        ("supervisory-committee", "sup-1"),
        ("residents-representatives", "rep-1"),
    ]:
        app.assign_seats(council, party, [holder], PARTY)

    # An owner opens a 5% motion to turn a lawn into parking (a change of use of common parts).
    proposer = owner(heads[0].owners[0])
    opened = app.open_motion(estate, "草坪改停车位", "将3号楼北侧草坪改建为停车位。", proposer)
    motion_id, case_id = opened.motion_id, opened.case_id

    # Owners co-sign one by one until 5% of heads (11 of 212) is reached; it tables itself.
    results = [app.sign_motion(motion_id, owner(h.owners[0])) for h in heads[:11]]
    assert [r.tabled for r in results] == [False] * 10 + [True]
    assert app.motion(motion_id).state == MotionState.TABLED
    case = app.case(case_id)
    assert case.tabled_by_motion and case.answer_due == clock.now() + timedelta(days=15)

    # A tabled motion may not be rejected: it must be answered.
    with pytest.raises(MotionRejectionForbiddenError):
        app.reject_topic(case_id, PARTY, "不同意")

    # The Party organisation and residents' committee confirm it for the owners' assembly.
    app.confirm_topic(case_id, "owners-assembly", ["业主", "物业"], PARTY, "符合规定")

    # The owners' committee publishes the notice: 15 days before the meeting.
    meeting = clock.now() + timedelta(days=15)
    app.publish_notice(
        case_id,
        "拟将草坪改建为停车位，请业主参与表决。",
        "小区会所",
        "现场及网上",
        meeting,
        [{"item_id": "1", "title": "草坪改建停车位", "matter": 8}],
        OC,
    )
    with pytest.raises(NoticePeriodError):
        app.open_vote(case_id, "1", clock.now() + timedelta(days=20), OC)

    # Fifteen days later the six-party council deliberates and agrees.
    clock.advance(days=15)
    positions = {
        p: {"position": "agree", "text": ""}
        for p in [
            "party-organisation",
            "residents-committee",
            "owners-committee",
            "property-company",
            "supervisory-committee",
            "residents-representatives",
        ]
    }
    positions["property-company"] = {"position": "agree", "text": "同意，需要施工配合"}
    app.record_session(
        case_id,
        "council",
        clock.now(),
        ["party-1", "rc-1", "oc-1", "pm-1", "sup-1", "rep-1"],
        [{"speaker": "oc-1", "party": "owners-committee", "text": "停车难是业主最关心的问题。"}],
        positions,
        ["一位业主担心绿化减少"],
        OC,
        council=council,
    )
    case = app.case(case_id)
    assert case.stage == Stage.DELIBERATION and case.sessions[0]["consensus"] is True
    app.form_opinion(case_id, "六方一致同意提交业主大会表决。", OC)

    # The vote under Civil Code Art. 278 (special matter: 3/4) opens for two weeks.
    vote_id = app.open_vote(
        case_id, "1", clock.now() + timedelta(days=14), OC, tellers=["teller-a", "teller-b"]
    ).id
    voters = heads[:170]
    for h in voters[:150]:
        app.cast_ballot(vote_id, "yes", owner(h.owners[0]))
    for h in voters[150:160]:
        app.cast_ballot(vote_id, "no", owner(h.owners[0]))
    # A written proxy votes for one owner; a paper ballot is entered twice by two tellers.
    app.register_proxy(vote_id, voters[160].head_id, "neighbour-9", "WT-001", OC)
    app.cast_ballot(vote_id, "yes", owner("neighbour-9"))
    app.enter_paper_ballot(vote_id, voters[161].head_id, "yes", "P-0001", TELLER_A)
    receipt = app.confirm_paper_ballot(vote_id, voters[161].head_id, "yes", TELLER_B)
    assert receipt is not None and receipt.channel == "paper"
    for h in voters[162:]:
        app.cast_ballot(vote_id, "abstain", owner(h.owners[0]))

    clock.set(app.vote(vote_id).closes_at)  # the vote closes at its published end
    result = app.close_vote(vote_id, OC).result
    raw = result.raw
    assert raw.participating.heads == 170 and raw.quorum_met
    # 152 yes of 170 participating heads is more than 3/4: the special matter passes.
    yes = raw.by_choice[next(c for c in raw.by_choice if c.value == "yes")]
    assert yes.heads == 152
    assert Fraction(yes.heads, raw.participating.heads) >= Fraction(3, 4)
    assert result.passed
    assert app.case(case_id).votes[vote_id.hex]["passed"] is True

    # Result notice, implementation, feedback to dissenters.
    app.publish_result(case_id, "表决通过：同意改建。", OC)
    app.assign_implementation(
        case_id, "pm-1", "三个月内完成施工。", clock.now() + timedelta(days=90), OC
    )
    app.report_progress(case_id, 50, "已完成一半。", owner("pm-1"))
    app.report_progress(case_id, 100, "施工完成。", owner("pm-1"))
    app.give_feedback(
        case_id, "已完工。", [{"to": "反对的业主", "text": "补种绿化200平方米。"}], OC
    )

    # Residents rate it; 3 of 4 satisfied is at least 2/3, so the case can be archived.
    app.open_evaluation(case_id, clock.now() + timedelta(days=10), OC)
    for i, rating in enumerate(["satisfied", "satisfied", "basically-satisfied", "dissatisfied"]):
        app.rate(case_id, rating, True, i < 2, owner(heads[i].owners[0]))
    outcome = app.close_evaluation(case_id, OC)
    assert outcome.rates.satisfaction == Fraction(3, 4) and not outcome.reopened
    app.archive(case_id, OC)
    assert app.case(case_id).stage == Stage.ARCHIVED

    # Every step is an event with an actor and a time; the street can read it all.
    events = list(app.events.get(case_id))
    assert all(e.actor for e in events)  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events][:3] == ["Created", "Tabled", "Confirmed"]

    # The street may still revoke an unlawful decision (物业管理条例 Art. 19), but only with an order.
    with pytest.raises(ValidationError) as err:
        app.revoke(case_id, "", STREET, "违反规划")
    assert err.value.field == "order_ref"
    with pytest.raises(PermissionDeniedError):
        app.revoke(case_id, "街责〔2026〕1号", OC, "违反规划")
    app.revoke(case_id, "街责〔2026〕1号", STREET, "违反规划")
    assert app.case(case_id).stage == Stage.REVOKED
