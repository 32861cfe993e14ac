"""Who may write what, beyond the access matrix: the street auditor never writes, and support,
topics and statements come only from people of the estate (its owners' roll or its community's
residents' register) or, for statements, from the parties of the deliberation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from consult.actors import Actor, Role
from consult.bodies import JurisdictionKind, jurisdiction_id
from consult.errors import NotAMemberError, PermissionDeniedError
from consult.registers import Household
from tests.web.conftest import World, api, post

NOT_A_MEMBER = "您不在本小区的业主名册或居民名册上，不能附议。"


def _refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == code and error["message"]
    return dict(error)


def test_the_street_auditor_writes_nothing_through_the_api_or_the_pages(world: World) -> None:
    collecting = world.topic()
    deliberating = world.deliberating()
    street = world.client("street")
    before = world.position()
    _refused(api(street, "POST", f"/api/v1/cases/{collecting}/support"), 403, "forbidden")
    _refused(
        api(street, "POST", f"/api/v1/cases/{deliberating}/statements", {"text": "街道意见"}),
        403,
        "forbidden",
    )
    _refused(
        api(
            street,
            "POST",
            "/api/v1/cases",
            {"title": "街道议题", "description": "说明", "estate": str(world.estate)},
        ),
        403,
        "forbidden",
    )
    page = post(street, f"/cases/{collecting}/support")
    assert page.status_code == 403 and "您没有权限" in page.text
    assert world.position() == before
    assert world.consult.case(collecting).supporters == []
    # and in the domain, whatever the web lets through
    street_actor = world.actor("street")
    with pytest.raises(PermissionDeniedError):
        world.consult.support_topic(collecting, street_actor)
    with pytest.raises(PermissionDeniedError):
        world.consult.speak(deliberating, "街道意见", street_actor)
    with pytest.raises(PermissionDeniedError):
        world.consult.submit_topic(world.estate, "街道议题", "说明", "online", street_actor)


@pytest.mark.parametrize("persona", ["oc", "rc", "party", "teller_a", "pm"])
def test_staff_who_are_not_residents_are_not_counted_as_supporters(
    world: World, persona: str
) -> None:
    collecting = world.topic()
    _refused(
        api(world.client(persona), "POST", f"/api/v1/cases/{collecting}/support"), 403, "forbidden"
    )
    # the same person with a resident's role, but on neither the roll nor the register
    person = world.accounts[persona].person_id
    with pytest.raises(NotAMemberError):
        world.consult.support_topic(collecting, Actor.of(person, Role.RESIDENT))
    assert world.consult.case(collecting).supporters == []


def test_a_resident_not_on_the_roll_or_register_is_refused_in_both_languages(world: World) -> None:
    collecting = world.topic()
    deliberating = world.deliberating()
    outsider = world.client("outsider")
    before = world.position()
    error = _refused(
        api(outsider, "POST", f"/api/v1/cases/{collecting}/support"), 403, "not_a_member"
    )
    assert error["message"] == NOT_A_MEMBER
    assert error["messages"]["en"] == (
        "You are on neither this estate's owners' roll nor its residents' register: "
        "you may not support a topic."
    )
    assert error["fields"] == {"actor": [NOT_A_MEMBER]}
    outsider.set_cookie("lang", "en")
    error = _refused(
        api(outsider, "POST", f"/api/v1/cases/{deliberating}/statements", {"text": "我想发言"}),
        403,
        "not_a_member",
    )
    assert error["message"].startswith("You are on neither this estate's owners' roll")
    error = _refused(
        api(outsider, "POST", "/api/v1/cases", {"title": "议题", "description": "说明"}),
        403,
        "not_a_member",
    )
    assert error["message"].endswith("you may not submit a topic.")
    page = post(world.client("outsider"), f"/cases/{collecting}/support")
    assert page.status_code == 403 and NOT_A_MEMBER in page.text
    assert world.position() == before


def test_an_owner_and_an_adult_on_the_residents_register_support_and_speak(world: World) -> None:
    community = jurisdiction_id(JurisdictionKind.COMMUNITY, "C01")
    world.consult.record_household(
        community, Household("H-101", "1号楼101", ("R0001",)), world.actor("rc")
    )
    registered = world.services.accounts.create(
        "web-registered", "correct-horse-1", "R0001", "登记居民", ["resident"], world.estate
    )
    world.accounts["registered"] = registered
    collecting = world.topic()
    deliberating = world.deliberating()
    for persona in ("resident", "registered", "oc_owner"):
        client = world.client(persona)
        response = api(client, "POST", f"/api/v1/cases/{collecting}/support")
        assert response.status_code == 201, response.json
        response = api(client, "POST", f"/api/v1/cases/{deliberating}/statements", {"text": "赞成"})
        assert response.status_code == 201, response.json
    response = api(
        world.client("registered"),
        "POST",
        "/api/v1/cases",
        {"title": "议题", "description": "说明"},
    )
    assert response.status_code == 201, response.json
    assert world.consult.case(collecting).supporters == ["P0001", "R0001", "P0003"]


@pytest.mark.parametrize("persona", ["oc", "rc", "party", "pm"])
def test_the_parties_of_a_deliberation_state_their_position(world: World, persona: str) -> None:
    deliberating = world.deliberating()
    response = api(
        world.client(persona),
        "POST",
        f"/api/v1/cases/{deliberating}/statements",
        {"text": "本方意见"},
    )
    assert response.status_code == 201, response.json
    assert world.consult.case(deliberating).statements[-1]["speaker"] == (
        world.accounts[persona].person_id
    )


def test_a_teller_neither_speaks_nor_submits(world: World) -> None:
    deliberating = world.deliberating()
    teller = world.client("teller_a")
    before = world.position()
    _refused(
        api(teller, "POST", f"/api/v1/cases/{deliberating}/statements", {"text": "意见"}),
        403,
        "forbidden",
    )
    _refused(
        api(teller, "POST", "/api/v1/cases", {"title": "议题", "description": "说明"}),
        403,
        "forbidden",
    )
    assert world.position() == before


def test_committees_still_collect_topics_heard_elsewhere(world: World) -> None:
    response = api(
        world.client("rc"),
        "POST",
        "/api/v1/topics",
        {"title": "路灯维修", "description": "居民来访反映。", "channel": "interview"},
    )
    assert response.status_code == 201, response.json
    case = world.consult.case(UUID(response.json["id"]))
    assert case.submitted_by == "rc-1" and case.channel == "interview"
