"""Streets, communities, estates, councils, settings, the owners' roll versions, the register."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from consult.application import ConsultationApp
from consult.bodies import COUNCIL_PARTIES, CouncilKind, JurisdictionKind, jurisdiction_id
from consult.clock import FixedClock
from consult.errors import (
    IllegalTransitionError,
    NotFoundError,
    SettingError,
    ValidationError,
)
from consult.registers import Household
from consult.roll import AreaSource, HeadMergePolicy, HeadRules, OwnerKind, Unit, UnitKind
from consult.settings import EstateSettings
from tests.conftest import OC, OPERATOR, PARTY, RC, STREET, owner
from tests.integration.test_case import (
    World,
    assert_specific,
    event_names,
    make_estate,
    make_world,
    plain_units,
    unit,
)


@pytest.fixture
def world(app: ConsultationApp, clock: FixedClock) -> World:
    return make_world(app, clock)


# --- streets, communities, estates ---------------------------------------------------------------


def test_jurisdictions_and_estates_are_unique_by_code(app: ConsultationApp) -> None:
    app.create_street("S01", "示范街道", OPERATOR)
    community = app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate("E1", "示范小区", "C01", OPERATOR)
    assert app.estate(estate).community_id == community
    assert app.estate(estate).street_id == jurisdiction_id(JurisdictionKind.STREET, "S01")
    for again in (
        lambda: app.create_street("S01", "另一街道", OPERATOR),
        lambda: app.create_community("C01", "另一社区", "S01", OPERATOR),
        lambda: app.create_estate("E1", "另一小区", "C01", OPERATOR),
    ):
        with pytest.raises(ValidationError) as err:
            again()
        assert err.value.field == "code"
        assert_specific(err.value, "already exists")


@pytest.mark.parametrize("code", ["", "  ", "a b", "a/b", "a\\b", "x" * 65])
def test_codes_are_short_and_plain(app: ConsultationApp, code: str) -> None:
    with pytest.raises(ValidationError) as err:
        app.create_street(code, "街道", OPERATOR)
    assert err.value.field == "code"


def test_parents_must_exist(app: ConsultationApp) -> None:
    with pytest.raises(NotFoundError) as err:
        app.create_community("C01", "社区", "S99", OPERATOR)
    assert_specific(err.value, "street")
    app.create_street("S01", "街道", OPERATOR)
    with pytest.raises(NotFoundError):
        app.create_estate("E1", "小区", "C99", OPERATOR)
    with pytest.raises(ValidationError) as verr:
        app.create_estate("E1", " ", "C99", OPERATOR)
    assert verr.value.field == "name"


# --- the owners' committee and the acting arrangement ---------------------------------------------


def test_an_owners_committee_has_three_distinct_members(world: World) -> None:
    for members, reason in [
        (["m1", "m2"], "at least 3"),
        (["m1", "m1", "m2"], "duplicates"),
        (["", " "], "must not be empty"),
    ]:
        with pytest.raises(ValidationError) as err:
            world.app.elect_owners_committee(world.estate, members, "2030-01-01", RC)
        assert err.value.field == "members"
        assert_specific(err.value, reason)
    world.app.elect_owners_committee(world.estate, ["m1", " m2 ", "m3"], "2030-01-01", STREET)
    estate = world.app.estate(world.estate)
    assert estate.owners_committee == ["m1", "m2", "m3"]
    assert estate.committee_term_ends == "2030-01-01"


def test_acting_arrangement_is_announced_with_its_legal_basis(
    app: ConsultationApp, clock: FixedClock
) -> None:
    estate = make_estate(app, plain_units(3), committee=None)
    for basis, months, field in [
        (" ", 3, "legal_basis"),
        ("条例", 0, "election_months"),
        ("条例", 25, "election_months"),
    ]:
        with pytest.raises(ValidationError) as err:
            app.announce_acting(estate, basis, months, RC)
        assert err.value.field == field
    app.announce_acting(estate, "《湖州市物业管理条例》第九条", 3, RC)
    acting = app.estate(estate).acting
    assert acting is not None
    assert acting["legal_basis"] == "《湖州市物业管理条例》第九条"
    assert acting["residents_committee"] == RC.person_id
    assert acting["election_due"] == (clock.now() + timedelta(days=90)).date().isoformat()
    assert acting["since"] == clock.now().isoformat()
    with pytest.raises(IllegalTransitionError) as again:
        app.announce_acting(estate, "条例", 3, RC)
    assert again.value.field == "estate"
    assert_specific(again.value, "already acting")


def test_no_acting_arrangement_where_an_owners_committee_exists(world: World) -> None:
    with pytest.raises(IllegalTransitionError) as err:
        world.app.announce_acting(world.estate, "条例", 3, RC)
    assert err.value.field == "estate"
    assert_specific(err.value, "an owners' committee exists")
    assert world.app.estate(world.estate).acting is None


def test_election_ends_the_acting_arrangement_automatically(
    app: ConsultationApp, clock: FixedClock
) -> None:
    estate = make_estate(app, plain_units(3), committee=None)
    app.announce_acting(estate, "条例", 3, RC)
    clock.advance(days=40)
    app.elect_owners_committee(estate, ["O1", "O2", "O3"], "2030-01-01", RC)
    events = list(app.events.get(estate))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events] == [
        "Created",
        "ActingArrangementAnnounced",
        "OwnersCommitteeElected",
        "ActingArrangementEnded",
    ]
    assert events[-1].timestamp == events[-2].timestamp == clock.now()
    assert events[-1].actor == "system" and "acting arrangement ends" in events[-1].reason
    assert app.estate(estate).acting is None
    with pytest.raises(IllegalTransitionError):
        app.announce_acting(estate, "条例", 3, RC)


# --- property company, covenants, settings ---------------------------------------------------------


def test_property_company_and_its_staff(world: World) -> None:
    with pytest.raises(ValidationError) as err:
        world.app.appoint_property_company(world.estate, " ", ["s1"], OC)
    assert err.value.field == "company"
    world.app.appoint_property_company(world.estate, "示范物业", ["s1", "s2"], OC)
    estate = world.app.estate(world.estate)
    assert (estate.property_company, estate.property_staff) == ("示范物业", ["s1", "s2"])


def test_covenants_are_recorded_once_per_version(world: World) -> None:
    world.app.adopt_covenant(world.estate, "GY-2026", "管理规约（2026年版）", True, OC)
    with pytest.raises(ValidationError) as err:
        world.app.adopt_covenant(world.estate, "GY-2026", "重复", False, OC)
    assert err.value.field == "ref"
    assert world.app.estate(world.estate).covenant("GY-2026") == {
        "ref": "GY-2026",
        "title": "管理规约（2026年版）",
        "silent_majority_clause": True,
    }
    assert world.app.estate(world.estate).covenant("GY-1999") is None


def test_settings_default_to_the_domain_defaults(world: World) -> None:
    s = world.app.estate(world.estate).settings
    assert s == EstateSettings()
    assert (s.abstain_participates, s.invalid_participates) == (True, False)
    assert (s.vote_change_allowed, s.proxy_cap, s.property_staff_may_not_be_proxies) == (
        True,
        3,
        True,
    )
    assert (s.max_extension_days, s.satisfaction_threshold) == (90, Fraction(2, 3))
    assert s.notice_period("owners-assembly") == 15


def test_settings_changes_are_stored_and_read_back(world: World) -> None:
    world.app.change_settings(
        world.estate,
        {"satisfaction_threshold": "3/4", "proxy_cap": 1, "notice_days": {"villagers-meeting": 12}},
        OC,
    )
    world.app.change_settings(world.estate, {"zhejiang_floor": True}, RC)
    s = world.app.estate(world.estate).settings
    assert s.satisfaction_threshold == Fraction(3, 4) and s.proxy_cap == 1 and s.zhejiang_floor
    assert s.notice_period("villagers-meeting") == 12
    assert event_names(world.app, world.estate).count("SettingsChanged") == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"proxy_cap": "3"}, "proxy_cap"),
        ({"proxy_cap": True}, "proxy_cap"),
        ({"proxy_cap": -1}, "proxy_cap"),
        ({"max_extension_days": 0}, "max_extension_days"),
        ({"max_extension_days": 400}, "max_extension_days"),
        ({"abstain_participates": "yes"}, "abstain_participates"),
        ({"vote_change_allowed": 1}, "vote_change_allowed"),
        ({"satisfaction_threshold": "two thirds"}, "satisfaction_threshold"),
        ({"satisfaction_threshold": "4/3"}, "satisfaction_threshold"),
        ({"satisfaction_threshold": "1/0"}, "satisfaction_threshold"),
        ({"acting_mode": "must"}, "acting_mode"),
        ({"notice_days": {"owners-assembly": 14}}, "notice_days"),
        ({"notice_days": {"town-hall": 5}}, "notice_days"),
        ({"notice_days": {"consultation": -1}}, "notice_days"),
        ({"notice_days": {"consultation": "5"}}, "notice_days"),
        ({"notice_days": {"owners-assembly": "20"}}, "notice_days"),
        ({"notice_days": {"consultation": 2.5}}, "notice_days"),
        ({"notice_days": "15"}, "notice_days"),
    ],
)
def test_bad_settings_are_refused_clearly(
    world: World, changes: dict[str, Any], field: str
) -> None:
    before = world.app.estate(world.estate).version
    with pytest.raises(SettingError) as err:
        world.app.change_settings(world.estate, changes, OC)
    assert err.value.field == field
    assert_specific(err.value)
    assert world.app.estate(world.estate).version == before


# --- councils ------------------------------------------------------------------------------------


def test_councils_have_their_kind_of_parties(world: World) -> None:
    app = world.app
    six = app.create_council(world.estate, "six-party", RC)
    assert list(app.council(six).seats) == [p.value for p in COUNCIL_PARTIES[CouncilKind.SIX_PARTY]]
    with pytest.raises(ValidationError) as err:
        app.create_council(world.estate, "six-party", PARTY)
    assert err.value.field == "code"  # one council of each kind per estate
    with pytest.raises(ValidationError) as err:
        app.create_council(world.estate, "three-party", PARTY)
    assert err.value.field == "kind"
    with pytest.raises(ValidationError) as err:
        app.assign_seats(world.council, "supervisory-committee", ["sup-1"], PARTY)
    assert err.value.field == "party"
    assert_specific(err.value, "four-in-one")
    with pytest.raises(ValidationError) as err:
        app.assign_seats(world.council, "property-company", [], PARTY)
    assert err.value.field == "holders"
    app.assign_seats(six, "supervisory-committee", ["sup-1", "sup-2"], PARTY)
    council = app.council(six)
    assert council.seats["supervisory-committee"] == ["sup-1", "sup-2"]
    assert council.party_of("sup-2") is not None and council.party_of("nobody") is None


def _council_session(w: World, positions: dict[str, dict[str, str]]) -> dict[str, Any]:
    cid = w.noticed("consultation")
    w.clock.advance(days=5)
    w.app.record_session(
        cid, "council", w.clock.now(), ["party-1", "rc-1"],
        [{"speaker": "rc-1", "party": "residents-committee", "text": "请各方发言。"}],
        positions, ["一位居民担心噪音"], RC, council=w.council, summary="联席会议",
    )  # fmt: skip
    session: dict[str, Any] = w.app.case(cid).sessions[-1]
    return session


def test_a_council_session_records_every_party_and_its_consensus(world: World) -> None:
    agree = {p: {"position": "agree", "text": ""} for p in COUNCIL_PARTIES[CouncilKind.FOUR_IN_ONE]}
    session = _council_session(world, agree)
    assert session["consensus"] is True and session["dissent"] == ["一位居民担心噪音"]
    assert session["parties"] == [p.value for p in COUNCIL_PARTIES[CouncilKind.FOUR_IN_ONE]]
    reserved = {**agree, "property-company": {"position": "reserve", "text": "需要预算"}}
    assert _council_session(world, reserved)["consensus"] is False


@pytest.mark.parametrize(
    ("positions", "field"),
    [
        ({"party-organisation": {"position": "agree"}}, "positions"),
        (
            {
                **{
                    p.value: {"position": "agree"} for p in COUNCIL_PARTIES[CouncilKind.FOUR_IN_ONE]
                },
                "supervisory-committee": {"position": "agree"},
            },
            "party",
        ),
        (
            {p.value: {"position": "maybe"} for p in COUNCIL_PARTIES[CouncilKind.FOUR_IN_ONE]},
            "positions.party-organisation",
        ),
    ],
)
def test_a_council_session_needs_each_partys_valid_position(
    world: World, positions: dict[str, dict[str, str]], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        _council_session(world, positions)
    assert err.value.field == field


def test_a_session_needs_a_known_kind_and_complete_statements(world: World) -> None:
    cid = world.noticed("consultation")
    world.clock.advance(days=5)
    with pytest.raises(ValidationError) as err:
        world.app.record_session(cid, "party", world.clock.now(), [], [], {}, [], RC)
    assert err.value.field == "kind"
    with pytest.raises(ValidationError) as err:
        world.app.record_session(
            cid, "hearing", world.clock.now(), [], [{"speaker": "rc-1", "text": " "}], {}, [], RC
        )
    assert err.value.field == "statements[0]"


# --- the owners' roll: every change is a new version ---------------------------------------------


def _unit(unit_id: str, owner_id: str, area: str = "80.00", kind: str = "residential") -> Unit:
    return Unit(
        unit_id, "9", "1", unit_id, UnitKind(kind), Decimal(area), AreaSource.REGISTER,
        (owner_id,), OwnerKind.PERSON,
    )  # fmt: skip


def test_each_roll_change_is_a_new_version_and_old_versions_stay_readable(
    app: ConsultationApp, clock: FixedClock
) -> None:
    estate = make_estate(
        app, [*plain_units(3), unit("P1", "O1", area="12.00", kind="parking")], committee=None
    )
    v1, t1 = app.roll_version(estate), clock.now()
    assert v1 == 1

    clock.advance(days=1)
    app.add_unit(estate, _unit("U9", "N"), "不动产权证 001", OC)
    clock.advance(days=1)
    app.change_owner(estate, "U1", ["Q", "R"], "person", "过户登记 002", RC)
    clock.advance(days=1)
    app.correct_area(estate, "U2", Decimal("95.50"), "survey", "测绘报告 003", OC)
    clock.advance(days=1)
    app.set_head_rules(estate, HeadRules(parking_votes=True), "业主大会决定车位参与表决", OC)
    assert app.roll_version(estate) == v1 + 4

    history = [app.roll(estate, version=v) for v in range(1, 6)]
    assert ["U9" in r.units for r in history] == [False, True, True, True, True]
    assert [r.units["U1"].owners for r in history] == [("O1",)] * 2 + [("Q", "R")] * 3
    assert [r.units["U2"].area for r in history] == [Decimal("100.00")] * 3 + [Decimal("95.50")] * 2
    assert history[3].units["U2"].area_source == AreaSource.SURVEY
    assert [r.head_rules.parking_votes for r in history] == [False] * 4 + [True]
    assert app.roll(estate).version == 5

    # Heads follow the version: O1 sold U1 but keeps P1, which votes only in the last one.
    heads = [app.owners_electorate(estate, v).total_heads for v in range(1, 6)]
    assert heads == [3, 4, 4, 4, 5]
    areas = [app.owners_electorate(estate, v).total_area for v in range(1, 6)]
    assert areas == [Decimal(a) for a in ("300.00", "380.00", "380.00", "375.50", "387.50")]

    assert app.roll_at(estate, t1).version == 1
    assert app.roll_at(estate, t1 + timedelta(days=2, hours=1)).version == 3
    assert app.roll_at(estate, clock.now() + timedelta(days=1)).version == 5
    with pytest.raises(NotFoundError) as err:
        app.roll_at(estate, t1 - timedelta(seconds=1))
    assert err.value.field == "at"

    events = list(app.events.get(app.roll(estate).id))  # type: ignore[attr-defined]
    assert [e.reason for e in events[1:]] == [
        "不动产权证 001",
        "过户登记 002",
        "测绘报告 003",
        "业主大会决定车位参与表决",
    ]
    assert [e.actor for e in events[1:]] == ["oc-1", "rc-1", "oc-1", "oc-1"]


def test_reimporting_the_roll_is_a_new_version(app: ConsultationApp) -> None:
    estate = make_estate(app, plain_units(3), committee=None)
    summary, _ = app.import_roll(estate, "\n".join([
        "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind",
        *plain_units(5),
    ]) + "\n", OC)  # fmt: skip
    assert summary.heads == 5
    assert app.roll_version(estate) == 2
    assert len(app.roll(estate, version=1).units) == 3 and len(app.roll(estate).units) == 5


def test_roll_changes_are_validated(app: ConsultationApp) -> None:
    estate = make_estate(app, plain_units(3), committee=None)
    for change, error, field in [
        (lambda: app.add_unit(estate, _unit("U1", "N"), "证", OC), ValidationError, "unit_id"),
        (lambda: app.add_unit(estate, _unit("U9", "N"), " ", OC), ValidationError, "document"),
        (lambda: app.change_owner(estate, "U99", ["N"], "person", "证", OC), NotFoundError, "unit_id"),
        (lambda: app.change_owner(estate, "U1", ["N"], "alien", "证", OC), ValidationError, "owner_kind"),
        (lambda: app.change_owner(estate, "U1", [], "person", "证", OC), ValidationError, "owners"),
        (lambda: app.correct_area(estate, "U1", Decimal("0"), "survey", "证", OC), ValidationError, "area"),
        (lambda: app.correct_area(estate, "U1", Decimal("9.999"), "survey", "证", OC), ValidationError, "area"),
        (lambda: app.correct_area(estate, "U1", 99.5, "survey", "证", OC), ValidationError, "area"),  # type: ignore[arg-type]
        (lambda: app.correct_area(estate, "U1", Decimal("99"), "guess", "证", OC), ValidationError, "area_source"),
        (lambda: app.correct_area(estate, "U99", Decimal("99"), "survey", "证", OC), NotFoundError, "unit_id"),
        (lambda: app.set_head_rules(estate, HeadRules(), " ", OC), ValidationError, "reason"),
    ]:  # fmt: skip
        with pytest.raises(error) as err:
            change()
        assert err.value.field == field
    assert app.roll_version(estate) == 1


def test_head_rules_merge_overlapping_owners_when_the_estate_says_so(app: ConsultationApp) -> None:
    estate = make_estate(
        app, [unit("U1", "X", "Y"), unit("U2", "X"), unit("U3", "Z")], committee=None
    )
    assert app.owners_electorate(estate).total_heads == 3
    app.set_head_rules(estate, HeadRules(merge=HeadMergePolicy.OVERLAPPING), "业主大会决议", OC)
    merged = app.owners_electorate(estate)
    assert merged.total_heads == 2 and merged.electors_of("Y") == merged.electors_of("X")
    assert app.owners_electorate(estate, 1).total_heads == 3


def test_an_estate_without_a_roll_has_no_electorate(app: ConsultationApp) -> None:
    app.create_street("S01", "街道", OPERATOR)
    app.create_community("C01", "社区", "S01", OPERATOR)
    estate = app.create_estate("E1", "小区", "C01", OPERATOR)
    with pytest.raises(NotFoundError) as err:
        app.roll_version(estate)
    assert_specific(err.value, "roll")
    with pytest.raises(NotFoundError):
        app.open_motion(estate, "议题", "内容", owner("O1"))


# --- the residents' register --------------------------------------------------------------------


def test_residents_register_counts_adults_and_households(world: World) -> None:
    app = world.app
    community = app.estate(world.estate).community_id
    with pytest.raises(NotFoundError):
        app.register_electorate(community, "adults")
    for household, why in [
        (Household(" ", "地址", ("a1",)), "id"),
        (Household("H1", "地址", ()), "adult"),
    ]:
        with pytest.raises(ValidationError) as err:
            app.record_household(community, household, RC)
        assert err.value.field == "household"
        assert_specific(err.value, why)
    with pytest.raises(NotFoundError):
        app.record_household(world.estate, Household("H1", "地址", ("a1",)), RC)
    app.record_household(community, Household("H1", "1-101", ("a1", "a2")), RC)
    app.record_household(community, Household("H2", "1-102", ("b1",)), RC)
    adults = app.register_electorate(community, "adults")
    households = app.register_electorate(community, "households")
    assert (adults.total_heads, households.total_heads) == (3, 2)
    assert households.electors_of("a2") == ("H1",) and adults.electors_of("a2") == ("a2",)
    # A household recorded again replaces the old entry (a new version of the register).
    app.record_household(community, Household("H1", "1-101", ("a1",)), RC)
    assert app.register_electorate(community, "adults").total_heads == 2
    assert (
        adults.ref["version"] == 3
        and app.register_electorate(community, "adults").ref["version"] == 4
    )
