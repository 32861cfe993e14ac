"""Field errors from one message table (consult.validation), and the application's adapters:
the electorate cache no longer freezes the process's objects, the event log answers the
close-race question by name."""

from __future__ import annotations

import gc

import pytest

from consult.actors import Role
from consult.application import ConsultationApp
from consult.bodies import CouncilKind
from consult.clock import FixedClock
from consult.errors import ValidationError
from consult.roll import AreaSource, HeadRules, OwnerKind, Unit
from consult.validation import MESSAGES, either, invalid, one_of, parse_enum
from consult.vote import Vote
from tests.conftest import OC, OPERATOR, RC, close_at_end, open_owners_vote, owner, setup_estate
from webapp.account_rules import NewAccount, check_password, parse_roles


def shown(err: ValidationError) -> tuple[str, str]:
    return err.message("zh"), err.message("en")


@pytest.mark.parametrize(
    ("cls", "label", "zh", "en"),
    [
        (
            OwnerKind,
            "owner_kind",
            "业主类型无效：须为 person、company 或 developer",
            "Invalid owner kind: must be person, company or developer",
        ),
        (
            AreaSource,
            "area_source",
            "面积来源无效：须为 register、survey 或 contract",
            "Invalid area source: must be register, survey or contract",
        ),
        (
            CouncilKind,
            "council_kind",
            "议事会类型无效：须为 four-in-one 或 six-party",
            "Invalid council kind: must be four-in-one or six-party",
        ),
    ],
)
def test_an_enum_is_parsed_once_with_the_allowed_values_listed(
    cls: type, label: str, zh: str, en: str
) -> None:
    first = next(iter(cls))
    assert parse_enum(cls, first.value, "f", label) == first
    with pytest.raises(ValidationError) as err:
        parse_enum(cls, "nonsense", "f", label)
    assert err.value.field == "f"
    assert shown(err.value) == (zh, en)


def test_a_choice_among_strings_lists_them() -> None:
    assert one_of("b", ["a", "b"], "route", "route") == "b"
    with pytest.raises(ValidationError) as err:
        one_of("c", ["a", "b"], "route", "route")
    assert shown(err.value) == (
        "议事途径无效：须为 a, b 之一",
        "Invalid route: must be one of a, b",
    )


def test_a_parameter_may_differ_by_language() -> None:
    err = invalid("party", "party", "not_a_party", party="x", council=("四位一体", "four-in-one"))
    assert shown(err) == (
        "参会方无效：x 不是四位一体的组成方",
        "Invalid party: x is not a party of the four-in-one",
    )
    assert either(["a"]) == ("a", "a")


def test_every_message_has_both_languages_with_the_same_parameters() -> None:
    import string

    for key, (zh, en) in MESSAGES.items():
        assert zh and en, key
        names = [{f for _, f, _, _ in string.Formatter().parse(t) if f} for t in (zh, en)]
        assert names[0] == names[1], key


def test_the_service_messages_users_see_are_unchanged(app: ConsultationApp) -> None:
    estate = setup_estate(app)
    with pytest.raises(ValidationError) as err:
        app.elect_owners_committee(estate, ["a", "b"], "2029-01-01", RC)
    assert shown(err.value) == (
        "委员无效：业主委员会至少3人",
        "Invalid members: an owners' committee has at least 3 members",
    )
    with pytest.raises(ValidationError) as err:
        app.create_estate("DEMO", "again", "C01", OPERATOR)
    assert shown(err.value) == (
        "小区编号无效：DEMO 已存在",
        "Invalid estate code: DEMO already exists",
    )
    with pytest.raises(ValidationError) as err:
        app.change_owner(estate, "1-1-101", ["x", "x"], "person", "doc", RC)
    assert shown(err.value) == ("业主无效：有重复", "Invalid owners: contains duplicates")


def test_making_an_electorate_leaves_the_collector_alone(app: ConsultationApp) -> None:
    """The electorate cache once moved every object of the process out of the cyclic collector's
    view (``gc.freeze``) after each electorate it made: process-wide state from a use case."""
    gc.unfreeze()
    estate = setup_estate(app)
    app.owners_electorate(estate)
    assert gc.get_freeze_count() == 0


def test_the_event_log_names_where_a_vote_was_closed(
    app: ConsultationApp, clock: FixedClock
) -> None:
    vote_id, heads = open_owners_vote(app, clock)
    assert app.eventlog.position_of(Vote.Closed, vote_id) is None
    before = app.cast_ballot(vote_id, "yes", owner(heads[0].owners[0])).position
    closed = close_at_end(app, vote_id, OC)
    at = app.eventlog.position_of(Vote.Closed, vote_id)
    assert at is not None and before < at <= closed.position
    assert app.eventlog.position_of(Vote.Closed, vote_id, start=at + 1) is None


def test_a_roll_value_names_its_field_in_words() -> None:
    """The roll's refusals take their labels from the table: none shows an internal key."""
    with pytest.raises(ValidationError) as err:
        HeadRules.from_dict({"parking_votes": "x"})
    assert shown(err.value) == (
        "车位是否参与表决无效：应为 true 或 false，而不是“x”",
        "Invalid parking votes: must be true or false, not 'x'",
    )
    with pytest.raises(ValidationError) as err:
        HeadRules.from_dict({"merge": "x"})
    assert shown(err.value) == (
        "业主人数合并规则无效：“x”不是可选值（可选：identical, overlapping）",
        "Invalid head merge rule: 'x' is not one of: identical, overlapping",
    )
    unit = {
        "unit_id": "1-1-101",
        "building": "1",
        "entrance": "1",
        "room": "101",
        "kind": "residential",
        "area": "88.91",
        "area_source": "register",
        "owners": ["p1"],
        "owner_kind": "tenant",
    }
    with pytest.raises(ValidationError) as err:
        Unit.from_dict(unit)
    assert err.value.field == "owner_kind"
    assert shown(err.value) == (
        "业主类型无效：“tenant”不是可选值（可选：person, company, developer）",
        "Invalid owner kind: 'tenant' is not one of: person, company, developer",
    )
    assert Unit.from_dict({**unit, "owner_kind": "person"}).owner_kind == OwnerKind.PERSON


def test_the_account_messages_users_see_are_unchanged() -> None:
    with pytest.raises(ValidationError) as err:
        parse_roles(["resident", "king"])
    assert err.value.field == "roles"
    roles = [r.value for r in Role]
    assert shown(err.value) == (
        f"身份无效：没有“king”这种身份；可选：{'、'.join(roles)}",
        f"Invalid roles: there is no role 'king'; choose from {', '.join(roles)}",
    )
    with pytest.raises(ValidationError) as err:
        parse_roles([])
    assert shown(err.value) == (
        "身份无效：至少选择一种身份",
        "Invalid roles: choose at least one role",
    )
    with pytest.raises(ValidationError) as err:
        check_password("short")
    assert shown(err.value) == (
        "密码无效：须为8至200个字符",
        "Invalid password: use 8 to 200 characters",
    )
    with pytest.raises(ValidationError) as err:
        NewAccount.checked("ok-name", "p" * 65, "", ["resident"], None)
    assert shown(err.value) == (
        "人员编号无效：不能为空，且不能超过64个字",
        "Invalid person id: must not be empty or longer than 64 characters",
    )


def test_no_field_error_is_written_by_hand() -> None:
    """Every field error of the product is built from the message table (consult.validation)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    by_hand = re.compile(r"\bValidationError\(\s*(field=|\*\*)")
    found = [
        f"{path.relative_to(root)}"
        for package in ("consult", "entrypoints", "webapp")
        for path in sorted((root / package).rglob("*.py"))
        if path.name != "validation.py" and by_hand.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
