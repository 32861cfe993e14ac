"""Votes: ballots, changes, proxies, paper ballots, extension, deadlines and every rule set."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.bodies import JurisdictionKind, jurisdiction_id
from consult.clock import FixedClock
from consult.errors import (
    AlreadyVotedError,
    EarlyCloseError,
    ExtensionError,
    NotOnRollError,
    PaperBallotError,
    PermissionDeniedError,
    ProxyError,
    SettingError,
    ValidationError,
    VoteNotOpenError,
)
from consult.registers import Household
from consult.roll import AreaSource, OwnerKind, Unit, UnitKind
from consult.rules import Choice, RuleSetId, SilentMajorityStatus
from consult.vote import Ballot, PaperState, VoteState, ballot_id, paper_entry_id
from tests.conftest import OC, RC, TELLER_A, TELLER_B, close_at_end, owner
from tests.integration.test_case import (
    World,
    agenda_item,
    assert_specific,
    convener,
    make_world,
    plain_units,
    unit,
)

TELLER_C = Actor.of("teller-c", Role.TELLER)


def created_ballots(app: ConsultationApp, vote_id: UUID, elector: str) -> int:
    topic = get_topic(Ballot.Created)
    return sum(
        1 for e in app.recorder.select_events(ballot_id(vote_id, elector)) if e.topic == topic
    )


def counted(app: ConsultationApp, vote_id: UUID) -> dict[str, Choice]:
    vote = app.vote(vote_id)
    until = vote.result["close_position"] if vote.result else None
    return app.ballots(vote, until)


@pytest.fixture
def world(app: ConsultationApp, clock: FixedClock) -> World:
    return make_world(app, clock)


def vote_on(
    w: World, route: str = "owners-assembly", items: list[dict] | None = None, by: str = "O1"
) -> UUID:
    """A case on `route` submitted by owner `by`, its notice elapsed, a vote open on item 1 for
    7 days."""
    cid = w.confirm(w.submit(by), route)
    w.publish(cid, items)
    w.deliberate(cid, opinion=False)
    return w.open_vote(cid, "1")


# --- one ballot per head -----------------------------------------------------------------------


def test_co_owners_share_one_ballot(app: ConsultationApp, clock: FixedClock) -> None:
    rows = [unit("U1", "X", "Y"), unit("U7", "X"), *plain_units(6)[1:]]
    w = make_world(app, clock, rows)
    vote_id = vote_on(w, by="X")
    first = app.cast_ballot(vote_id, "yes", owner("Y"))
    assert (first.elector_id, first.channel, first.changed) == ("H:X;Y", "online", False)
    # X owns two heads (H:X and H:X;Y): X must say which one.
    with pytest.raises(ValidationError) as err:
        app.cast_ballot(vote_id, "no", owner("X"))
    assert err.value.field == "elector_id"
    second = app.cast_ballot(vote_id, "no", owner("X"), elector_id="H:X;Y")
    assert second.changed and second.ballot_id == first.ballot_id
    assert second.receipt != first.receipt
    app.cast_ballot(vote_id, "yes", owner("X"), elector_id="H:X")
    assert created_ballots(app, vote_id, "H:X;Y") == 1
    assert counted(app, vote_id) == {"H:X;Y": Choice.NO, "H:X": Choice.YES}
    raw = app.tally(vote_id).raw
    assert raw.participating.heads == 2 and raw.participating.area == Decimal("200.00")
    with pytest.raises(NotOnRollError):
        app.cast_ballot(vote_id, "yes", owner("X"), elector_id="H:O2")


def test_a_ballot_may_be_changed_once(world: World) -> None:
    vote_id = vote_on(world)
    world.app.cast_ballot(vote_id, "yes", owner("O1"))
    changed = world.app.cast_ballot(vote_id, "abstain", owner("O1"))
    assert changed.changed and changed.choice == Choice.ABSTAIN
    with pytest.raises(AlreadyVotedError) as err:
        world.app.cast_ballot(vote_id, "no", owner("O1"))
    assert err.value.field == "choice"
    assert_specific(err.value, "already changed once")
    assert counted(world.app, vote_id) == {"H:O1": Choice.ABSTAIN}


def test_the_estate_may_forbid_changes(world: World) -> None:
    world.app.change_settings(world.estate, {"vote_change_allowed": False}, OC)
    vote_id = vote_on(world)
    world.app.cast_ballot(vote_id, "yes", owner("O1"))
    with pytest.raises(AlreadyVotedError) as err:
        world.app.cast_ballot(vote_id, "no", owner("O1"))
    assert_specific(err.value, "does not allow changes")
    assert counted(world.app, vote_id) == {"H:O1": Choice.YES}


@pytest.mark.parametrize("choice", ["invalid", "maybe", ""])
def test_an_online_ballot_is_yes_no_or_abstain(world: World, choice: str) -> None:
    vote_id = vote_on(world)
    with pytest.raises(ValidationError) as err:
        world.app.cast_ballot(vote_id, choice, owner("O1"))
    assert err.value.field == "choice"
    assert created_ballots(world.app, vote_id, "H:O1") == 0


def test_voting_code_channel(world: World) -> None:
    vote_id = vote_on(world)
    receipt = world.app.cast_ballot(
        vote_id, "yes", owner("kiosk"), elector_id="H:O3", via_code=True
    )
    assert receipt.channel == "code" and receipt.elector_id == "H:O3"
    with pytest.raises(NotOnRollError) as err:
        world.app.cast_ballot(vote_id, "yes", owner("kiosk"), elector_id="H:nobody", via_code=True)
    assert err.value.field == "code"


def test_someone_not_on_the_roll_cannot_vote(world: World) -> None:
    vote_id = vote_on(world)
    with pytest.raises(NotOnRollError) as err:
        world.app.cast_ballot(vote_id, "yes", owner("stranger"))
    assert err.value.field == "elector_id"
    assert_specific(err.value, "您不在", "You are not", "version 1")  # "you", never an id


def test_a_vote_counts_against_the_roll_frozen_when_it_opened(world: World) -> None:
    app = world.app
    vote_id = vote_on(world)
    frozen = app.vote(vote_id).electorate["version"]
    assert frozen == app.roll_version(world.estate)
    new_unit = Unit(
        "U9", "9", "1", "901", UnitKind.RESIDENTIAL, Decimal("500.00"), AreaSource.REGISTER,
        ("N",), OwnerKind.PERSON,
    )  # fmt: skip
    app.add_unit(world.estate, new_unit, "产权证", OC)
    app.change_owner(world.estate, "U1", ["Q"], "person", "过户登记", OC)
    for newcomer in ("N", "Q"):
        with pytest.raises(NotOnRollError) as err:
            app.cast_ballot(vote_id, "yes", owner(newcomer))
        assert err.value.params["version"] == str(frozen)
    app.cast_ballot(vote_id, "yes", owner("O1"))  # the owner on the frozen roll
    raw = app.tally(vote_id).raw
    assert (raw.total.heads, raw.total.area) == (6, Decimal("600.00"))
    assert app.owners_electorate(world.estate).total_heads == 7


# --- proxies -----------------------------------------------------------------------------------


def test_proxy_holder_casts_for_the_principal(world: World) -> None:
    app = world.app
    vote_id = vote_on(world)
    app.register_proxy(vote_id, "H:O1", "neighbour", "WT-001", OC)
    receipt = app.cast_ballot(vote_id, "no", owner("neighbour"))
    assert (receipt.elector_id, receipt.channel) == ("H:O1", "proxy")
    assert counted(app, vote_id) == {"H:O1": Choice.NO}
    assert app.vote(vote_id).proxies["H:O1"] == {"holder": "neighbour", "document": "WT-001"}


def test_the_owner_s_own_vote_prevails_over_the_proxy_s(world: World) -> None:
    app = world.app
    app.change_settings(world.estate, {"vote_change_allowed": False}, OC)
    vote_id = vote_on(world)
    app.register_proxy(vote_id, "H:O1", "neighbour", "WT-001", OC)
    app.register_proxy(vote_id, "H:O2", "neighbour", "WT-002", OC)
    # O1 voted in person first: the proxy cannot overwrite it.
    app.cast_ballot(vote_id, "yes", owner("O1"))
    with pytest.raises(AlreadyVotedError) as err:
        app.cast_ballot(vote_id, "no", owner("neighbour"), elector_id="H:O1")
    assert_specific(err.value, "voted in person")
    # The proxy voted first for O2: O2's own vote replaces it, although changes are off.
    app.cast_ballot(vote_id, "no", owner("neighbour"), elector_id="H:O2")
    receipt = app.cast_ballot(vote_id, "yes", owner("O2"))
    assert receipt.changed and receipt.channel == "online"
    assert counted(app, vote_id) == {"H:O1": Choice.YES, "H:O2": Choice.YES}
    with pytest.raises(AlreadyVotedError):  # and the owner's own vote is final here
        app.cast_ballot(vote_id, "no", owner("O2"))


def test_proxy_cap_per_holder_is_the_estate_setting(world: World) -> None:
    world.app.change_settings(world.estate, {"proxy_cap": 2}, OC)
    vote_id = vote_on(world)
    world.app.register_proxy(vote_id, "H:O1", "neighbour", "WT-1", OC)
    world.app.register_proxy(vote_id, "H:O2", "neighbour", "WT-2", OC)
    with pytest.raises(ProxyError) as err:
        world.app.register_proxy(vote_id, "H:O3", "neighbour", "WT-3", OC)
    assert err.value.field == "holder"
    assert_specific(err.value, "at most 2")
    world.app.register_proxy(vote_id, "H:O3", "another", "WT-3", OC)
    # Holding two proxies, the holder names the principal for each ballot.
    with pytest.raises(ValidationError):
        world.app.cast_ballot(vote_id, "yes", owner("neighbour"))
    world.app.cast_ballot(vote_id, "yes", owner("neighbour"), elector_id="H:O2")
    assert counted(world.app, vote_id) == {"H:O2": Choice.YES}


def test_the_default_cap_is_three(world: World) -> None:
    vote_id = vote_on(world)
    for i in range(1, 4):
        world.app.register_proxy(vote_id, f"H:O{i}", "neighbour", f"WT-{i}", OC)
    with pytest.raises(ProxyError):
        world.app.register_proxy(vote_id, "H:O4", "neighbour", "WT-4", OC)


def test_property_company_staff_may_not_hold_proxies(world: World) -> None:
    app = world.app
    app.appoint_property_company(world.estate, "示范物业", ["pm-staff"], OC)
    vote_id = vote_on(world)
    with pytest.raises(ProxyError) as err:
        app.register_proxy(vote_id, "H:O1", "pm-staff", "WT-1", OC)
    assert_specific(err.value, "property-company staff")
    app.change_settings(world.estate, {"property_staff_may_not_be_proxies": False}, OC)
    relaxed = vote_on(world)
    app.register_proxy(relaxed, "H:O1", "pm-staff", "WT-1", OC)
    assert app.cast_ballot(relaxed, "yes", owner("pm-staff")).channel == "proxy"


def test_proxy_needs_a_document_a_principal_and_someone_else(world: World) -> None:
    app = world.app
    vote_id = vote_on(world)
    for principal, holder, document, field in [
        ("H:O1", "neighbour", "  ", "document"),
        ("H:O1", "O1", "WT-1", "holder"),
        ("H:O1", " ", "WT-1", "holder"),
    ]:
        with pytest.raises(ProxyError) as err:
            app.register_proxy(vote_id, principal, holder, document, OC)
        assert err.value.field == field
    with pytest.raises(NotOnRollError) as nerr:
        app.register_proxy(vote_id, "H:nobody", "neighbour", "WT-1", OC)
    assert nerr.value.field == "principal"
    app.register_proxy(vote_id, "H:O1", "neighbour", "WT-1", OC)
    with pytest.raises(ProxyError) as err:
        app.register_proxy(vote_id, "H:O1", "other", "WT-2", OC)
    assert err.value.field == "principal"


def test_owners_committee_votes_allow_no_proxies(world: World) -> None:
    vote_id = vote_on(world, "owners-committee")
    with pytest.raises(ProxyError) as err:
        world.app.register_proxy(vote_id, "oc-1", "neighbour", "WT-1", OC)
    assert_specific(err.value, "allows no proxies")
    assert not world.app.vote(vote_id).proxies


# --- paper ballots ------------------------------------------------------------------------------


@pytest.fixture
def paper_vote(world: World) -> UUID:
    cid = world.deliberating()
    return world.app.open_vote(
        cid, "1", world.clock.now() + timedelta(days=7), OC, tellers=["teller-a", "teller-b"]
    ).id


def test_paper_ballot_double_entry(world: World, paper_vote: UUID) -> None:
    app = world.app
    app.enter_paper_ballot(paper_vote, "H:O1", "yes", "P-0001", TELLER_A)
    assert counted(app, paper_vote) == {}  # not counted until a second teller confirms
    with pytest.raises(PaperBallotError) as err:
        app.confirm_paper_ballot(paper_vote, "H:O1", "yes", TELLER_A)
    assert err.value.field == "teller"
    assert_specific(err.value, "different teller")

    # The second entry differs: disputed, nothing counted, re-enter from the sheet.
    assert app.confirm_paper_ballot(paper_vote, "H:O1", "no", TELLER_B) is None
    entry = app.repository.get(paper_entry_id(paper_vote, "H:O1"))
    assert entry.state == PaperState.DISPUTED
    assert created_ballots(app, paper_vote, "H:O1") == 0
    with pytest.raises(PaperBallotError):
        app.confirm_paper_ballot(paper_vote, "H:O1", "yes", TELLER_A)

    app.enter_paper_ballot(paper_vote, "H:O1", "yes", "P-0001", TELLER_B)
    receipt = app.confirm_paper_ballot(paper_vote, "H:O1", "yes", TELLER_A)
    assert receipt is not None and receipt.channel == "paper" and receipt.choice == Choice.YES
    assert counted(app, paper_vote) == {"H:O1": Choice.YES}
    assert app.repository.get(paper_entry_id(paper_vote, "H:O1")).state == PaperState.CONFIRMED

    # Once confirmed it is neither re-entered nor changed online.
    with pytest.raises(PaperBallotError):
        app.enter_paper_ballot(paper_vote, "H:O1", "no", "P-0001", TELLER_A)
    with pytest.raises(AlreadyVotedError) as aerr:
        app.cast_ballot(paper_vote, "no", owner("O1"))
    assert_specific(aerr.value, "paper ballot")
    assert counted(app, paper_vote) == {"H:O1": Choice.YES}


def test_a_paper_ballot_duplicating_an_online_one_is_not_counted(
    world: World, paper_vote: UUID
) -> None:
    app = world.app
    app.cast_ballot(paper_vote, "no", owner("O2"))
    app.enter_paper_ballot(paper_vote, "H:O2", "yes", "P-0002", TELLER_A)
    with pytest.raises(AlreadyVotedError) as err:
        app.confirm_paper_ballot(paper_vote, "H:O2", "yes", TELLER_B)
    assert err.value.field == "elector_id"
    entry = app.repository.get(paper_entry_id(paper_vote, "H:O2"))
    assert entry.state == PaperState.DUPLICATE
    assert [type(e).__name__ for e in app.events.get(entry.id)][-1] == "MarkedDuplicate"  # type: ignore[attr-defined]
    assert counted(app, paper_vote) == {"H:O2": Choice.NO}
    assert created_ballots(app, paper_vote, "H:O2") == 1


def test_only_appointed_tellers_enter_paper_ballots(world: World, paper_vote: UUID) -> None:
    with pytest.raises(PaperBallotError) as err:
        world.app.enter_paper_ballot(paper_vote, "H:O3", "yes", "P-3", TELLER_C)
    assert err.value.field == "teller"
    with pytest.raises(PermissionDeniedError):
        world.app.enter_paper_ballot(paper_vote, "H:O3", "yes", "P-3", OC)
    with pytest.raises(NotOnRollError):
        world.app.enter_paper_ballot(paper_vote, "H:nobody", "yes", "P-3", TELLER_A)
    with pytest.raises(ValidationError) as verr:
        world.app.enter_paper_ballot(paper_vote, "H:O3", "yes", " ", TELLER_A)
    assert verr.value.field == "sheet_no"


# --- deadlines, extension, close ----------------------------------------------------------------


def test_cast_after_the_deadline_or_the_close_is_refused(world: World) -> None:
    app, clock = world.app, world.clock
    vote_id = vote_on(world)
    closes_at = app.vote(vote_id).closes_at
    clock.set(closes_at - timedelta(seconds=1))
    app.cast_ballot(vote_id, "yes", owner("O1"))
    clock.set(closes_at)
    with pytest.raises(VoteNotOpenError) as err:
        app.cast_ballot(vote_id, "yes", owner("O2"))
    assert err.value.params["state_en"] == "past its deadline"
    app.close_vote(vote_id, OC)
    for attempt in (
        lambda: app.cast_ballot(vote_id, "yes", owner("O3")),
        lambda: app.enter_paper_ballot(vote_id, "H:O3", "yes", "P-3", TELLER_A),
        lambda: app.register_proxy(vote_id, "H:O3", "neighbour", "WT-3", OC),
        lambda: app.close_vote(vote_id, OC),
    ):
        with pytest.raises(VoteNotOpenError) as err:
            attempt()
        assert err.value.params["state_en"] == "closed"
    assert counted(app, vote_id) == {"H:O1": Choice.YES}


def test_an_early_close_is_refused_until_every_elector_has_voted(world: World) -> None:
    app, clock = world.app, world.clock
    vote_id = vote_on(world)
    electors = [e.elector_id for e in app.electorate(app.vote(vote_id)).electors]
    assert electors == [f"H:O{i}" for i in range(1, 7)]
    app.cast_ballot(vote_id, "yes", owner("O1"))
    clock.advance(days=1)  # six days before the published end
    with pytest.raises(EarlyCloseError) as err:
        app.close_vote(vote_id, OC, "提前结束")
    assert err.value.field == "closes_at"
    assert_specific(err.value, "5个表决单位", "5 of its owners", "cannot be closed early")
    assert "T" not in err.value.message("en").split("closes at ")[1][:16]  # no ISO stamp
    assert app.vote(vote_id).state == VoteState.OPEN  # nothing stored
    for i in range(2, 7):
        app.cast_ballot(vote_id, "no", owner(f"O{i}"))
    closed = app.close_vote(vote_id, OC, "全部业主已投票")  # nobody is left to shut out
    assert app.vote(vote_id).state == VoteState.CLOSED
    assert closed.result.raw.by_choice[Choice.YES].heads == 1


def test_extension_once_when_turnout_is_short_within_the_limit(world: World) -> None:
    app, clock = world.app, world.clock
    app.change_settings(world.estate, {"max_extension_days": 10}, OC)
    vote_id = vote_on(world)
    original = app.vote(vote_id).closes_at
    with pytest.raises(ValidationError) as verr:
        app.extend_vote(vote_id, original + timedelta(days=5), OC, " ")
    assert verr.value.field == "reason"
    with pytest.raises(ExtensionError) as err:
        app.extend_vote(vote_id, original + timedelta(days=10, seconds=1), OC, "参与不足")
    assert_specific(err.value, "at most 10 days")
    with pytest.raises(ExtensionError):
        app.extend_vote(vote_id, original, OC, "参与不足")
    app.extend_vote(vote_id, original + timedelta(days=10), OC, "参与不足")
    vote = app.vote(vote_id)
    assert vote.extended and vote.closes_at == original + timedelta(days=10)
    with pytest.raises(ExtensionError) as err:
        app.extend_vote(vote_id, original + timedelta(days=10), OC, "再延")
    assert_specific(err.value, "only once")
    # A ballot after the original deadline but within the extension counts.
    clock.set(original + timedelta(days=1))
    app.cast_ballot(vote_id, "yes", owner("O1"))
    assert counted(app, vote_id) == {"H:O1": Choice.YES}


def test_no_extension_once_the_quorum_is_met(world: World) -> None:
    vote_id = vote_on(world)
    for i in range(1, 5):  # 4 of 6 heads and area: 2/3
        world.app.cast_ballot(vote_id, "no", owner(f"O{i}"))
    assert world.app.tally(vote_id).raw.quorum_met
    with pytest.raises(ExtensionError) as err:
        world.app.extend_vote(
            vote_id, world.app.vote(vote_id).closes_at + timedelta(days=3), OC, "参与不足"
        )
    assert_specific(err.value, "meets the quorum")
    assert not world.app.vote(vote_id).extended


def test_tally_equals_the_recorded_result(world: World) -> None:
    app = world.app
    vote_id = vote_on(world)
    for i, choice in enumerate(["yes", "yes", "yes", "no", "abstain"], start=1):
        app.cast_ballot(vote_id, choice, owner(f"O{i}"))
    before = app.tally(vote_id)
    result = close_at_end(app, vote_id, OC, "期限届满").result
    assert result.passed and result.to_dict() == before.to_dict()
    assert app.tally(vote_id).to_dict() == result.to_dict()
    stored = app.vote(vote_id).result
    assert stored is not None and stored["passed"] is True
    assert {k: v for k, v in stored.items() if k != "close_position"} == result.to_dict()
    assert app.record_result(vote_id).to_dict() == result.to_dict()  # idempotent
    assert [type(e).__name__ for e in app.events.get(vote_id)].count("ResultRecorded") == 1  # type: ignore[attr-defined]
    case = app.case(app.vote(vote_id).case_id)
    assert case.votes[vote_id.hex] == {"item_id": "1", "closed": True, "passed": True}


def test_closing_gives_the_log_position_of_the_recorded_result(world: World) -> None:
    app = world.app
    vote_id = vote_on(world)
    app.cast_ballot(vote_id, "yes", owner("O1"))
    closed = close_at_end(app, vote_id, OC)
    assert closed.vote_id == vote_id and closed.position == app.recorder.max_notification_id()
    (last,) = app.recorder.select_notifications(closed.position, 1)
    case_id = app.vote(vote_id).case_id
    assert last.originator_id in (vote_id, case_id)
    assert last.topic.endswith(("Vote.ResultRecorded", "Case.VoteConcluded"))


def test_record_result_refuses_an_open_vote(world: World) -> None:
    vote_id = vote_on(world)
    with pytest.raises(VoteNotOpenError):
        world.app.record_result(vote_id)


def test_open_vote_needs_a_future_deadline(world: World) -> None:
    cid = world.deliberating()
    with pytest.raises(ValidationError) as err:
        world.app.open_vote(cid, "1", world.clock.now(), OC)
    assert err.value.field == "closes_at"


# --- counting options and rule sets ---------------------------------------------------------------


def test_silent_majority_needs_an_adopted_covenant_with_the_clause(world: World) -> None:
    app = world.app
    item = {**agenda_item("owners-assembly"), "silent_majority": True}
    for extra, field in [
        ({}, "covenant_ref"),
        ({"covenant_ref": "GY-1"}, "agenda[0].covenant_ref"),
    ]:
        cid = world.confirm(world.submit())
        with pytest.raises(SettingError) as err:
            world.publish(cid, [{**item, **extra}])
        assert err.value.field == field
        assert_specific(err.value, "covenant")
    app.adopt_covenant(world.estate, "GY-0", "旧规约", False, OC)
    cid = world.confirm(world.submit())
    with pytest.raises(SettingError):
        world.publish(cid, [{**item, "covenant_ref": "GY-0"}])
    app.adopt_covenant(world.estate, "GY-1", "管理规约（2026）", True, OC)
    world.publish(cid, [{**item, "covenant_ref": "GY-1"}])
    world.deliberate(cid, opinion=False)
    vote_id = world.open_vote(cid)
    for i, choice in enumerate(["yes", "yes", "no", "abstain"], start=1):
        app.cast_ballot(vote_id, choice, owner(f"O{i}"))
    result = close_at_end(app, vote_id, OC).result
    # Raw: 2 yes of 4 participating is not more than half; the 2 non-voters join the yes side.
    assert not result.raw.passed
    assert result.silent_majority == SilentMajorityStatus.APPLIED
    assert result.deemed is not None and result.deemed.passed and result.passed
    assert result.options.covenant_ref == "GY-1"


def test_silent_majority_is_refused_for_a_residents_meeting(world: World) -> None:
    community = world.app.estate(world.estate).community_id
    world.app.record_household(community, Household("H1", "1-101", ("a1",)), RC)
    world.app.adopt_covenant(world.estate, "GY-1", "规约", True, OC)
    cid = world.confirm(world.submit(), "residents-meeting")
    item = {**agenda_item("residents-meeting"), "silent_majority": True, "covenant_ref": "GY-1"}
    with pytest.raises(SettingError) as err:
        world.publish(cid, [item])
    assert err.value.field == "silent_majority"


def test_abstain_and_invalid_settings_show_in_the_result(world: World) -> None:
    app = world.app
    app.change_settings(
        world.estate, {"abstain_participates": False, "invalid_participates": True}, OC
    )
    cid = world.deliberating()
    vote_id = app.open_vote(cid, "1", world.clock.now() + timedelta(days=7), OC).id
    app.cast_ballot(vote_id, "yes", owner("O1"))
    app.cast_ballot(vote_id, "abstain", owner("O2"))
    app.enter_paper_ballot(vote_id, "H:O3", "invalid", "P-3", TELLER_A)
    app.confirm_paper_ballot(vote_id, "H:O3", "invalid", TELLER_B)
    result = close_at_end(app, vote_id, OC).result
    assert not result.options.abstain_participates and result.options.invalid_participates
    raw = result.raw
    assert raw.by_choice[Choice.ABSTAIN].heads == 1 and raw.by_choice[Choice.INVALID].heads == 1
    assert raw.participating.heads == 2  # yes and invalid; the abstention does not participate
    described = " ".join(result.options.describe("en"))
    assert "Abstentions do not count as participating" in described
    assert "Invalid ballots count as participating" in described


def test_default_options_abstain_participates_invalid_does_not(world: World) -> None:
    vote_id = vote_on(world)
    world.app.cast_ballot(vote_id, "abstain", owner("O1"))
    result = close_at_end(world.app, vote_id, OC).result
    assert result.options.abstain_participates and not result.options.invalid_participates
    assert result.raw.participating.heads == 1


@pytest.fixture
def register(world: World) -> UUID:
    community = world.app.estate(world.estate).community_id
    assert community == jurisdiction_id(JurisdictionKind.COMMUNITY, "C01")
    for household, adults in [
        ("H1", ("a1", "a2", "a3")),
        ("H2", ("b1",)),
        ("H3", ("c1",)),
        ("H4", ("d1",)),
    ]:
        world.app.record_household(community, Household(household, "地址", adults), RC)
    return community


def test_residents_meeting_by_adults_or_by_households(world: World, register: UUID) -> None:
    app = world.app
    cid = world.confirm(world.submit(), "residents-meeting")
    world.publish(
        cid,
        [
            {"item_id": "1", "title": "按成年人", "basis": "adults"},
            {"item_id": "2", "title": "按户", "basis": "households"},
        ],
    )
    world.deliberate(cid, opinion=False)
    by_adults = world.open_vote(cid, "1")
    by_households = world.open_vote(cid, "2")
    for adult in ("a1", "a2", "a3"):
        app.cast_ballot(by_adults, "yes", owner(adult))
    app.cast_ballot(by_households, "yes", owner("a1"))
    changed = app.cast_ballot(by_households, "no", owner("a2"))  # same household: one ballot
    assert changed.changed and changed.elector_id == "H1"
    app.cast_ballot(by_households, "yes", owner("b1"))
    app.cast_ballot(by_households, "yes", owner("c1"))

    adults = close_at_end(app, by_adults, RC).result
    households = close_at_end(app, by_households, RC).result
    assert adults.rule_set.id == RuleSetId.RESIDENTS_MEETING
    # 3 of 6 adults is not more than half: no quorum.
    assert (adults.raw.total.heads, adults.raw.participating.heads) == (6, 3)
    assert not adults.raw.quorum_met and not adults.passed
    # 3 of 4 households attend; 2 of the 3 say yes.
    assert (households.raw.total.heads, households.raw.participating.heads) == (4, 3)
    assert households.raw.by_choice[Choice.YES].heads == 2 and households.passed


def test_villagers_meeting_quorum_by_households(world: World, register: UUID) -> None:
    app = world.app
    cid = world.confirm(world.submit(), "villagers-meeting")
    world.publish(cid, [agenda_item("villagers-meeting")])
    world.deliberate(cid, opinion=False)
    vote_id = world.open_vote(cid)
    for adult in ("b1", "c1", "d1"):  # 3 of 6 adults, but 3 of 4 households (≥ 2/3)
        app.cast_ballot(vote_id, "yes", owner(adult))
    result = close_at_end(app, vote_id, RC).result
    assert result.rule_set.id == RuleSetId.VILLAGERS_MEETING
    checks = {c.key: c.met for c in result.raw.quorum}
    assert checks == {"quorum.heads": False, "quorum.households": True}
    assert result.raw.quorum_met and result.passed


def test_owners_committee_needs_more_than_half_of_all_members(world: World) -> None:
    app = world.app
    app.elect_owners_committee(world.estate, ["m1", "m2", "m3", "m4", "m5"], "2030-12-31", RC)
    cid = world.confirm(world.submit(), "owners-committee")
    world.publish(cid)
    world.deliberate(cid, opinion=False)
    majority_of_voters = world.open_vote(cid, "1")
    for member, choice in [("m1", "yes"), ("m2", "yes"), ("m3", "no")]:
        app.cast_ballot(majority_of_voters, choice, owner(member))
    with pytest.raises(NotOnRollError):
        app.cast_ballot(majority_of_voters, "yes", owner("O1"))
    three_of_five = world.open_vote(cid, "2")
    for member in ("m1", "m2", "m4"):
        app.cast_ballot(three_of_five, "yes", owner(member))
    first = close_at_end(app, majority_of_voters, OC).result
    second = close_at_end(app, three_of_five, OC).result
    assert first.rule_set.id == RuleSetId.OWNERS_COMMITTEE and not first.rule_set.proxies_allowed
    assert first.raw.quorum_met and not first.passed  # 2 yes of 5 members
    assert second.passed  # 3 yes of 5 members


def test_council_consensus_is_cast_by_seat_holders_only(world: World) -> None:
    app = world.app
    cid = world.confirm(world.submit(), "consultation")
    world.publish(cid)
    world.deliberate(cid, opinion=False)
    agreed = world.open_vote(cid, "1")
    with pytest.raises(NotOnRollError):
        app.cast_ballot(agreed, "yes", owner("O1"))
    for holder in ("party-1", "rc-1", "oc-1", "pm-1"):
        assert app.cast_ballot(agreed, "yes", owner(holder)).elector_id in (
            "party-organisation", "residents-committee", "owners-committee", "property-company",
        )  # fmt: skip
    split = world.open_vote(cid, "2")
    for holder, choice in [("party-1", "yes"), ("rc-1", "yes"), ("oc-1", "yes"), ("pm-1", "no")]:
        app.cast_ballot(split, choice, owner(holder))
    consensus = close_at_end(app, agreed, convener("consultation")).result
    no_consensus = close_at_end(app, split, RC).result
    assert consensus.rule_set.id == RuleSetId.COUNCIL_CONSENSUS
    assert not consensus.rule_set.binding
    assert consensus.passed and not no_consensus.passed


def test_a_council_vote_waits_for_every_party(world: World) -> None:
    cid = world.confirm(world.submit(), "consultation")
    world.publish(cid)
    world.deliberate(cid, opinion=False)
    vote_id = world.open_vote(cid)
    for holder in ("party-1", "rc-1", "oc-1"):
        world.app.cast_ballot(vote_id, "yes", owner(holder))
    assert not close_at_end(
        world.app, vote_id, RC
    ).result.passed  # the property company never voted


def test_every_ballot_event_names_its_voter(world: World) -> None:
    vote_id = vote_on(world)
    world.app.cast_ballot(vote_id, "yes", owner("O1"))
    world.app.cast_ballot(vote_id, "no", owner("O1"))
    events = list(world.app.events.get(ballot_id(vote_id, "H:O1")))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events] == ["Created", "Changed"]
    assert [e.actor for e in events] == ["O1", "O1"]
    assert isinstance(world.app.repository.get(ballot_id(vote_id, "H:O1")), Ballot)


def test_a_ballot_made_as_its_event_is_the_ballot_start_makes() -> None:
    """The group committer saves ``Ballot.created`` (no aggregate): the same event, field for
    field, as ``Ballot.start`` records, and it replays to the same ballot."""
    from datetime import UTC, datetime
    from uuid import uuid4

    vote_id, at = uuid4(), datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    bid = ballot_id(vote_id, "H:1-2-301")
    started = Ballot.start(
        bid,
        at,
        "P-7",
        "",
        vote_id=vote_id,
        elector_id="H:1-2-301",
        choice="no",
        channel="proxy",
        receipt="0123456789ABCDEF",
    )
    (recorded,) = started.collect_events()
    made = Ballot.created(
        bid, at, "P-7", vote_id, "H:1-2-301", Choice.NO, "proxy", "0123456789ABCDEF"
    )
    assert type(made) is type(recorded) and vars(made) == vars(recorded)
    replayed = made.mutate(None)
    assert isinstance(replayed, Ballot)
    assert vars(replayed) == vars(started)
