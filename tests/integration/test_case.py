"""The case lifecycle (DOMAIN.md §2): transitions, roles, notice periods, agenda, side exits.

The helpers at the top build small estates and drive cases through their stages; the other domain
test modules reuse them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property, partial
from typing import Any
from uuid import UUID, uuid4

import pytest

from consult.actors import Actor
from consult.application import ConsultationApp
from consult.case import STAGE_NAMES, Case, Stage
from consult.clock import FixedClock
from consult.errors import (
    ConsultError,
    IllegalTransitionError,
    MotionRejectionForbiddenError,
    MotionWithdrawalForbiddenError,
    NoticePeriodError,
    PermissionDeniedError,
    SettingError,
    ValidationError,
)
from consult.registers import Household
from consult.roll import AreaSource, HeadRules, OwnerKind, Unit, UnitKind
from consult.rules import RuleSetId
from consult.settings import NOTICE_ROUTES
from entrypoints.bootstrap import build_app
from tests.conftest import OC, OPERATOR, PARTY, RC, STREET, TELLER_A, close_at_end, owner

HEADER = "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind"
OWNER_ROUTES = ("owners-assembly", "owners-assembly-extraordinary", "owners-committee")
COMMITTEE = ("oc-1", "oc-2", "oc-3")
COUNCIL_SEATS = {
    "party-organisation": ["party-1"],
    "residents-committee": ["rc-1"],
    "owners-committee": ["oc-1"],
    "property-company": ["pm-1"],
}

# --- helpers shared by the domain test modules ------------------------------------------------


def unit(
    unit_id: str,
    *owners: str,
    area: str = "100.00",
    building: str = "1",
    kind: str = "residential",
    owner_kind: str = "person",
) -> str:
    """One roll row (the CSV format of docs/roll-format.md)."""
    return ",".join(
        (unit_id, building, "1", unit_id, kind, area, "register", ";".join(owners), owner_kind)
    )


def plain_units(n: int, area: str = "100.00") -> list[str]:
    """Units U1..Un, each solely owned by O1..On."""
    return [unit(f"U{i}", f"O{i}", area=area) for i in range(1, n + 1)]


def roll_csv(rows: Sequence[str]) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def make_estate(
    app: ConsultationApp,
    rows: Sequence[str],
    code: str = "E1",
    committee: Sequence[str] | None = COMMITTEE,
) -> UUID:
    """An estate in community C01 of street S01 with this roll (and an owners' committee)."""
    # A second estate in the same app finds the street and community already there.
    with contextlib.suppress(ValidationError):
        app.create_street("S01", "示范街道", OPERATOR)
    with contextlib.suppress(ValidationError):
        app.create_community("C01", "示范社区", "S01", OPERATOR)
    estate = app.create_estate(code, f"小区{code}", "C01", OPERATOR)
    app.import_roll(estate, roll_csv(rows), RC, source_name=f"{code}.csv")
    if committee:
        app.elect_owners_committee(estate, list(committee), "2029-12-31", RC)
    return estate


def make_council(app: ConsultationApp, estate: UUID) -> UUID:
    council = app.create_council(estate, "four-in-one", PARTY)
    for party, holders in COUNCIL_SEATS.items():
        app.assign_seats(council, party, holders, PARTY)
    return council


def convener(route: str) -> Actor:
    return OC if route in OWNER_ROUTES else RC


def agenda_item(route: str, item_id: str = "1", council: UUID | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"item_id": item_id, "title": f"事项{item_id}"}
    if route.startswith("owners-assembly"):
        item["matter"] = 9
    elif route == "representatives-meeting":
        item["members"] = ["rep-1", "rep-2", "rep-3"]
    elif route == "consultation":
        item["council_id"] = str(council)
    return item


@dataclass
class World:
    """An application, its clock and one estate (with a council) to run cases in."""

    app: ConsultationApp
    clock: FixedClock
    estate: UUID
    council: UUID

    def submit(self, who: str = "O1") -> UUID:
        return self.app.submit_topic(
            self.estate, "加装电梯", "2号楼加装电梯。", "online", owner(who)
        ).id

    def confirm(self, case_id: UUID, route: str = "owners-assembly") -> UUID:
        self.app.confirm_topic(case_id, route, ["全体业主"], PARTY, "属于议事范围")
        return case_id

    def notice_days(self, route: str) -> int:
        return self.app.estate(self.estate).settings.notice_period(route)

    def publish(
        self,
        case_id: UUID,
        items: Sequence[dict[str, Any]] | None = None,
        meeting_in: int | None = None,
    ) -> UUID:
        route = self.app.case(case_id).route
        assert route is not None
        if items is None:
            items = [agenda_item(route, "1", self.council), agenda_item(route, "2", self.council)]
        days = self.notice_days(route) if meeting_in is None else meeting_in
        self.app.publish_notice(
            case_id,
            "公示内容",
            "小区会所",
            "现场会议",
            self.clock.now() + timedelta(days=days),
            list(items),
            convener(route),
        )
        return case_id

    def noticed(self, route: str = "owners-assembly", **kw: Any) -> UUID:
        return self.publish(self.confirm(self.submit(), route), **kw)

    def deliberate(self, case_id: UUID, opinion: bool = True) -> UUID:
        case = self.app.case(case_id)
        assert case.earliest_start is not None and case.route is not None
        if self.clock.now() < case.earliest_start:
            self.clock.set(case.earliest_start)
        self.app.speak(case_id, "我赞成。", owner("O2"))
        if opinion:
            self.app.form_opinion(case_id, "提交表决。", convener(case.route))
        return case_id

    def deliberating(self, route: str = "owners-assembly", opinion: bool = True) -> UUID:
        return self.deliberate(self.noticed(route), opinion)

    def open_vote(self, case_id: UUID, item_id: str = "1", days: int = 7) -> UUID:
        route = self.app.case(case_id).route
        assert route is not None
        return self.app.open_vote(
            case_id, item_id, self.clock.now() + timedelta(days=days), convener(route)
        ).id

    def decide(self, case_id: UUID, choice: str = "yes", item_id: str = "1") -> UUID:
        """Open a vote on the item, every owner O1..O6 casts `choice`, close it."""
        vote_id = self.open_vote(case_id, item_id)
        for i in range(1, 7):
            self.app.cast_ballot(vote_id, choice, owner(f"O{i}"))
        route = self.app.case(case_id).route
        assert route is not None
        self.app.close_vote(vote_id, convener(route))
        return vote_id

    def result(self, choice: str = "yes") -> UUID:
        cid = self.deliberating()
        self.decide(cid, choice)
        self.app.publish_result(cid, "表决结果公示。", OC)
        return cid

    def implementing(self) -> UUID:
        cid = self.result()
        self.app.assign_implementation(
            cid, "pm-1", "三个月内完成。", self.clock.now() + timedelta(days=90), OC
        )
        return cid

    def fed_back(self) -> UUID:
        cid = self.implementing()
        self.app.report_progress(cid, 100, "已完工。", owner("pm-1"))
        self.app.give_feedback(cid, "已完工。", [{"to": "反对者", "text": "已说明。"}], OC)
        return cid

    def evaluating(self, days: int = 365) -> UUID:
        cid = self.fed_back()
        self.app.open_evaluation(cid, self.clock.now() + timedelta(days=days), OC)
        return cid

    def evaluated(self, ratings: Sequence[str]) -> UUID:
        cid = self.evaluating()
        for i, rating in enumerate(ratings, start=1):
            self.app.rate(cid, rating, True, True, owner(f"O{i}"))
        self.app.close_evaluation(cid, OC)
        return cid


def make_world(app: ConsultationApp, clock: FixedClock, rows: Sequence[str] | None = None) -> World:
    estate = make_estate(app, plain_units(6) if rows is None else rows)
    return World(app, clock, estate, make_council(app, estate))


def event_names(app: ConsultationApp, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.events.get(aggregate_id)]  # type: ignore[attr-defined]


def assert_specific(err: ConsultError, *fragments: str) -> None:
    """Both messages are filled in (no template left) and name what went wrong."""
    zh, en = err.message("zh"), err.message("en")
    assert zh != en
    for text in (zh, en):
        assert "{" not in text and "}" not in text
    for fragment in fragments:
        assert fragment in zh or fragment in en, (fragment, zh, en)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def world(app: ConsultationApp, clock: FixedClock) -> World:
    return make_world(app, clock)


# --- every stage against every transition -----------------------------------------------------


def _build_stages(w: World) -> dict[str, UUID]:
    s: dict[str, UUID] = {}
    s["collecting"] = w.submit()
    s["confirmed"] = w.confirm(w.submit())
    s["notice"] = w.noticed()
    s["deliberation"] = w.deliberating()
    s["deliberation-consultation"] = w.deliberating("consultation")
    s["deliberation-consultation-no-opinion"] = w.deliberating("consultation", opinion=False)
    s["voting-open"] = w.deliberating()
    w.open_vote(s["voting-open"])
    s["voting-closed"] = w.deliberating()
    w.decide(s["voting-closed"])
    s["result-passed"] = w.result("yes")
    s["result-failed"] = w.result("no")
    s["result-consultation"] = w.deliberating("consultation")
    w.app.publish_result(s["result-consultation"], "协商意见公示。", RC)
    s["implementation"] = w.implementing()
    s["feedback"] = w.fed_back()
    s["evaluation-open"] = w.evaluating()
    s["evaluation-closed"] = w.evaluated(["satisfied", "satisfied", "dissatisfied"])
    # every one of the six heads answers: enough to decide (1/6 < 2/3 reopens)
    s["rectification"] = w.evaluated(["satisfied"] + ["dissatisfied"] * 5)
    s["archived"] = w.evaluated(["satisfied"])
    w.app.archive(s["archived"], OC)
    s["withdrawn"] = w.submit()
    w.app.withdraw(s["withdrawn"], RC, "问题已解决")
    s["rejected"] = w.submit()
    w.app.reject_topic(s["rejected"], PARTY, "不属于协商范围")
    s["referred"] = w.submit()
    w.app.refer_topic(s["referred"], "street", PARTY, "需街道协调")
    s["revoked"] = w.result()
    w.app.revoke(s["revoked"], "街责〔2026〕1号", STREET, "违反规划")
    s["annulled"] = w.result()
    w.app.annul(s["annulled"], "某区人民法院", "（2026）民初1号", STREET, "程序违法")
    w.clock.advance(days=20)  # every notice period has elapsed
    return s


STAGE_OF = {
    "collecting": Stage.COLLECTING,
    "confirmed": Stage.CONFIRMED,
    "notice": Stage.NOTICE,
    "deliberation": Stage.DELIBERATION,
    "deliberation-consultation": Stage.DELIBERATION,
    "deliberation-consultation-no-opinion": Stage.DELIBERATION,
    "voting-open": Stage.VOTING,
    "voting-closed": Stage.VOTING,
    "result-passed": Stage.RESULT,
    "result-failed": Stage.RESULT,
    "result-consultation": Stage.RESULT,
    "implementation": Stage.IMPLEMENTATION,
    "feedback": Stage.FEEDBACK,
    "evaluation-open": Stage.EVALUATION,
    "evaluation-closed": Stage.EVALUATION,
    "rectification": Stage.RECTIFICATION,
    "archived": Stage.ARCHIVED,
    "withdrawn": Stage.WITHDRAWN,
    "rejected": Stage.REJECTED,
    "referred": Stage.REFERRED,
    "revoked": Stage.REVOKED,
    "annulled": Stage.ANNULLED,
}

LIVE_BEFORE_VOTE = {
    "collecting",
    "confirmed",
    "notice",
    "deliberation",
    "deliberation-consultation",
    "deliberation-consultation-no-opinion",
}
DELIBERATING = {"deliberation", "deliberation-consultation", "deliberation-consultation-no-opinion"}
DECIDED = {
    "result-passed",
    "result-failed",
    "result-consultation",
    "implementation",
    "feedback",
    "evaluation-open",
    "evaluation-closed",
    "rectification",
    "archived",
}
CLOSED_EXITS = {"withdrawn", "rejected", "referred", "revoked", "annulled"}

Command = Callable[[Case, datetime], None]

#: Each command on the Case aggregate, with valid arguments, and the stage it leads to.
COMMANDS: dict[str, tuple[Command, set[str], Stage | None]] = {
    "support": (lambda c, at: c.support("O5", at), {"collecting"}, None),
    "table": (lambda c, at: c.table(15, at, "system", "达到门槛"), {"collecting"}, None),
    "confirm": (
        lambda c, at: c.confirm("owners-assembly", ["业主"], at, "party-1", ""),
        {"collecting"},
        Stage.CONFIRMED,
    ),
    "reject": (
        lambda c, at: c.reject(at, "party-1", "不予立项的理由"),
        {"collecting"},
        Stage.REJECTED,
    ),
    "refer": (
        lambda c, at: c.refer("street", at, "party-1", "转街道"),
        {"collecting"},
        Stage.REFERRED,
    ),
    "publish_notice": (
        lambda c, at: c.publish_notice(
            "内容",
            "会所",
            "现场",
            at + timedelta(days=15),
            [{"item_id": "1", "title": "事项"}],
            15,
            at,
            "oc-1",
        ),
        {"confirmed"},
        Stage.NOTICE,
    ),
    "record_session": (
        lambda c, at: c.record_session({"kind": "council"}, at, "oc-1"),
        {"notice"} | DELIBERATING,
        Stage.DELIBERATION,
    ),
    "speak": (
        lambda c, at: c.speak("O5", "发言", at),
        {"notice"} | DELIBERATING,
        Stage.DELIBERATION,
    ),
    "form_opinion": (
        lambda c, at: c.form_opinion("意见", at, "oc-1"),
        DELIBERATING,
        Stage.DELIBERATION,
    ),
    "open_vote": (
        lambda c, at: c.open_vote(uuid4(), "2", at, "oc-1") and None,
        {"notice", "voting-open", "voting-closed"} | DELIBERATING,
        Stage.VOTING,
    ),
    "publish_result": (
        lambda c, at: c.publish_result("结果", {}, at, "oc-1"),
        {"voting-closed", "deliberation-consultation"},
        Stage.RESULT,
    ),
    "assign": (
        lambda c, at: c.assign("pm-1", "方案", at + timedelta(days=30), at, "oc-1"),
        {"result-passed", "result-consultation", "rectification"},
        None,
    ),
    "report_progress": (
        lambda c, at: c.report_progress(50, "进展", at, "pm-1"),
        {"implementation", "rectification"},
        None,
    ),
    "give_feedback": (
        lambda c, at: c.give_feedback("反馈", [], at, "oc-1"),
        {"implementation", "rectification"},
        Stage.FEEDBACK,
    ),
    "open_evaluation": (
        lambda c, at: c.open_evaluation(at + timedelta(days=7), at, "oc-1"),
        {"feedback"},
        Stage.EVALUATION,
    ),
    "close_evaluation": (
        lambda c, at: c.close_evaluation({}, False, at, "oc-1"),
        {"evaluation-open"},
        Stage.EVALUATION,
    ),
    "archive": (
        lambda c, at: c.archive(at, "oc-1"),
        {"evaluation-closed", "result-failed", "result-consultation"},
        Stage.ARCHIVED,
    ),
    "withdraw": (
        lambda c, at: c.withdraw(at, "rc-1", "撤回理由"),
        LIVE_BEFORE_VOTE,
        Stage.WITHDRAWN,
    ),
    "revoke": (
        lambda c, at: c.revoke("街责〔2026〕2号", at, "street-1", "撤销理由"),
        set(STAGE_OF) - CLOSED_EXITS,
        Stage.REVOKED,
    ),
    "annul": (
        lambda c, at: c.annul("法院", "（2026）民初2号", at, "street-1", "判决撤销"),
        DECIDED,
        Stage.ANNULLED,
    ),
}


#: Where a legal command leads when that depends on the stage it starts from.
LEADS_FROM = {
    ("assign", "result-passed"): Stage.IMPLEMENTATION,
    ("assign", "result-consultation"): Stage.IMPLEMENTATION,
}


@pytest.fixture(scope="module")
def stages() -> tuple[ConsultationApp, FixedClock, dict[str, UUID]]:
    clock = FixedClock()
    app = build_app("memory://", clock=clock)
    w = make_world(app, clock)
    return app, clock, _build_stages(w)


def test_every_stage_is_reached_by_its_legal_path(
    stages: tuple[ConsultationApp, FixedClock, dict[str, UUID]],
) -> None:
    app, _, cases = stages
    assert {label: app.case(cid).stage for label, cid in cases.items()} == STAGE_OF


@pytest.mark.parametrize("label", sorted(STAGE_OF))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_transition_matrix(
    stages: tuple[ConsultationApp, FixedClock, dict[str, UUID]], label: str, command: str
) -> None:
    app, clock, cases = stages
    case = app.case(cases[label])  # a copy: nothing here is saved
    run, legal_in, leads_to = COMMANDS[command]
    if label in legal_in:
        before = case.version
        run(case, clock.now())
        assert case.version > before
        assert case.stage == LEADS_FROM.get((command, label), leads_to or STAGE_OF[label])
        return
    with pytest.raises(IllegalTransitionError) as err:
        run(case, clock.now())
    assert err.value.field == "stage"
    zh_stage, en_stage = STAGE_NAMES[STAGE_OF[label]]
    assert zh_stage in err.value.message("zh") and en_stage in err.value.message("en")
    assert err.value.params["action"] in err.value.message("zh")
    assert err.value.params["action_en"] in err.value.message("en")
    assert_specific(err.value)
    assert not case.pending_events


def test_illegal_transition_is_refused_by_the_application_and_nothing_is_stored(
    world: World,
) -> None:
    cid = world.submit()
    before = world.app.case(cid).version
    with pytest.raises(IllegalTransitionError) as err:
        world.app.form_opinion(cid, "意见", RC)
    assert err.value.field == "stage"
    assert err.value.message("zh") == "当前阶段为“收集议题”，不能形成协商意见。"
    assert err.value.message("en") == (
        "The case is at stage “topic collection”; it cannot form a consultation opinion now."
    )
    assert world.app.case(cid).version == before


def test_stored_case_events_keep_their_topics(world: World) -> None:
    """Events are stored by topic (module:QualName): Case stays in consult.case, so a store
    written before the vocabulary moved to consult.stages still loads."""
    cid = world.submit("O3")
    world.confirm(cid)
    topics = [event.topic for event in world.app.recorder.select_events(cid)]
    assert topics[0] == "consult.case:Case.Created"
    assert "consult.case:Case.Confirmed" in topics
    assert all(topic.startswith("consult.case:Case.") for topic in topics)
    assert world.app.case(cid).stage is Stage.CONFIRMED


# --- the whole path, step by step ---------------------------------------------------------------


def test_full_lifecycle_records_each_step_with_actor_and_time(
    world: World, clock: FixedClock
) -> None:
    app = world.app
    cid = world.submit("O3")
    app.support_topic(cid, owner("O4"))
    with pytest.raises(ValidationError):
        app.support_topic(cid, owner("O4"))
    assert app.case(cid).supporters == ["O4"]
    world.confirm(cid)
    assert app.case(cid).stage == Stage.CONFIRMED
    world.publish(cid)
    assert app.case(cid).stage == Stage.NOTICE
    world.deliberate(cid)
    assert app.case(cid).stage == Stage.DELIBERATION
    vote_id = world.decide(cid)
    case = app.case(cid)
    assert case.stage == Stage.VOTING and case.votes[vote_id.hex]["passed"] is True
    assert case.result_due == clock.now() + timedelta(days=3)
    app.publish_result(cid, "表决通过。", OC)
    assert app.case(cid).stage == Stage.RESULT
    app.assign_implementation(cid, "pm-1", "施工。", clock.now() + timedelta(days=30), OC)
    assert app.case(cid).stage == Stage.IMPLEMENTATION
    app.report_progress(cid, 40, "进行中。", owner("pm-1"))
    assert app.case(cid).progress[0]["percent"] == 40
    app.give_feedback(cid, "完成。", [], OC)
    assert app.case(cid).stage == Stage.FEEDBACK
    app.open_evaluation(cid, clock.now() + timedelta(days=7), OC)
    app.rate(cid, "satisfied", True, True, owner("O1"))
    outcome = app.close_evaluation(cid, OC)
    assert not outcome.reopened
    app.archive(cid, OC)
    assert app.case(cid).stage == Stage.ARCHIVED

    events = list(app.events.get(cid))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events] == [
        "Created",
        "Supported",
        "Confirmed",
        "NoticePublished",
        "StatementMade",
        "OpinionFormed",
        "VoteOpened",
        "VoteConcluded",
        "ResultPublished",
        "ImplementationAssigned",
        "ProgressReported",
        "FeedbackGiven",
        "EvaluationOpened",
        "EvaluationClosed",
        "Archived",
    ]
    assert all(e.actor for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert events[2].actor == PARTY.person_id and events[-1].actor == OC.person_id


def test_a_failed_vote_cannot_be_implemented_but_can_be_archived(world: World) -> None:
    cid = world.result("no")
    with pytest.raises(IllegalTransitionError) as err:
        world.app.assign_implementation(
            cid, "pm-1", "方案", world.clock.now() + timedelta(days=9), OC
        )
    assert_specific(err.value, "did not pass", "未通过")
    world.app.archive(cid, OC)
    assert world.app.case(cid).stage == Stage.ARCHIVED


def test_result_waits_for_every_open_vote(world: World) -> None:
    cid = world.deliberating()
    world.decide(cid, item_id="1")
    second = world.open_vote(cid, "2")
    with pytest.raises(IllegalTransitionError) as err:
        world.app.publish_result(cid, "结果", OC)
    assert_specific(err.value, "before every vote has closed")
    close_at_end(world.app, second, OC)
    world.app.publish_result(cid, "结果", OC)
    assert world.app.case(cid).stage == Stage.RESULT


def test_an_owners_matter_cannot_skip_its_vote(world: World) -> None:
    """A route with a statutory vote publishes a result only after voting (DOMAIN.md §2)."""
    cid = world.deliberating("owners-assembly")
    with pytest.raises(IllegalTransitionError) as err:
        world.app.publish_result(cid, "协商结果。", OC)
    assert err.value.field == "stage"
    assert_specific(err.value, "without the vote its route requires")
    assert world.app.case(cid).stage == Stage.DELIBERATION


def test_a_consultation_publishes_its_opinion_without_a_vote_and_archives(world: World) -> None:
    cid = world.deliberating("consultation", opinion=False)
    with pytest.raises(IllegalTransitionError) as err:
        world.app.publish_result(cid, "结果", RC)
    assert_specific(err.value, "before an opinion is formed")
    world.app.form_opinion(cid, "各方一致。", RC)
    world.app.publish_result(cid, "协商意见公示。", RC)
    case = world.app.case(cid)
    assert case.stage == Stage.RESULT and case.result is not None
    assert case.result["outcome"]["opinion"] == "各方一致。"
    world.app.archive(cid, RC)
    assert world.app.case(cid).stage == Stage.ARCHIVED


# --- roles ----------------------------------------------------------------------------------------


NOBODY = owner("O6")  # an owner with no office


class Targets:
    """What each command acts on, built the first time a command needs it."""

    def __init__(self, w: World) -> None:
        self.w = w

    @cached_property
    def bare_estate(self) -> UUID:
        return make_estate(self.w.app, plain_units(2), code="E2", committee=None)

    @cached_property
    def collecting(self) -> UUID:
        return self.w.submit()

    @cached_property
    def confirmed(self) -> UUID:
        return self.w.confirm(self.w.submit())

    @cached_property
    def noticed(self) -> UUID:
        cid = self.w.noticed()
        self.w.clock.advance(days=15)
        return cid

    @cached_property
    def deliberating(self) -> UUID:
        return self.w.deliberating()

    @cached_property
    def vote(self) -> UUID:
        return self.w.open_vote(self.w.deliberating())

    @cached_property
    def closed(self) -> UUID:
        cid = self.w.deliberating()
        self.w.decide(cid)
        return cid

    @cached_property
    def result(self) -> UUID:
        return self.w.result()

    @cached_property
    def implementing(self) -> UUID:
        return self.w.implementing()

    @cached_property
    def fed_back(self) -> UUID:
        return self.w.fed_back()

    @cached_property
    def rated(self) -> UUID:
        cid = self.w.evaluating()
        self.w.app.rate(cid, "satisfied", True, True, owner("O1"))
        return cid

    @cached_property
    def evaluated(self) -> UUID:
        return self.w.evaluated(["satisfied"])


NEW_UNIT = Unit(
    "U99", "9", "1", "901", UnitKind.RESIDENTIAL, Decimal("90.00"), AreaSource.REGISTER, ("O99",),
    OwnerKind.PERSON,
)  # fmt: skip

#: Each command that needs a role, bound to a target where it would otherwise succeed;
#: the actor is the one argument left.
ROLE_COMMANDS: dict[str, Callable[[Targets], Callable[..., object]]] = {
    "create_street": lambda t: partial(t.w.app.create_street, "S09", "街道"),
    "create_community": lambda t: partial(t.w.app.create_community, "C09", "社区", "S01"),
    "create_estate": lambda t: partial(t.w.app.create_estate, "E9", "小区", "C01"),
    "elect_owners_committee": lambda t: partial(
        t.w.app.elect_owners_committee, t.w.estate, ["x1", "x2", "x3"], "2030-01-01"
    ),
    "announce_acting": lambda t: partial(t.w.app.announce_acting, t.bare_estate, "条例", 3),
    "appoint_property_company": lambda t: partial(
        t.w.app.appoint_property_company, t.w.estate, "物业", []
    ),
    "adopt_covenant": lambda t: partial(t.w.app.adopt_covenant, t.w.estate, "GY-9", "规约", False),
    "change_settings": lambda t: partial(t.w.app.change_settings, t.w.estate, {"proxy_cap": 2}),
    "create_council": lambda t: partial(t.w.app.create_council, t.w.estate, "six-party"),
    "assign_seats": lambda t: partial(
        t.w.app.assign_seats, t.w.council, "property-company", ["pm-2"]
    ),
    "import_roll": lambda t: partial(t.w.app.import_roll, t.w.estate, roll_csv(plain_units(6))),
    "add_unit": lambda t: partial(
        t.w.app.add_unit,
        t.w.estate,
        NEW_UNIT,
        "产权证",
    ),
    "change_owner": lambda t: partial(
        t.w.app.change_owner, t.w.estate, "U1", ["O77"], "person", "过户"
    ),
    "correct_area": lambda t: partial(
        t.w.app.correct_area, t.w.estate, "U1", Decimal("99.50"), "survey", "测绘报告"
    ),
    "set_head_rules": lambda t: partial(
        t.w.app.set_head_rules, t.w.estate, HeadRules(parking_votes=True), "规约"
    ),
    "record_household": lambda t: partial(
        t.w.app.record_household,
        t.w.app.estate(t.w.estate).community_id,
        Household("H1", "1-101", ("a1",)),
    ),
    "confirm_topic": lambda t: partial(t.w.app.confirm_topic, t.collecting, "owners-assembly", []),
    "reject_topic": lambda t: partial(t.w.app.reject_topic, t.collecting, reason="理由"),
    "refer_topic": lambda t: partial(t.w.app.refer_topic, t.collecting, "street", reason="理由"),
    "publish_notice": lambda t: partial(
        t.w.app.publish_notice,
        t.confirmed,
        "内容",
        "会所",
        "现场",
        t.w.clock.now() + timedelta(days=15),
        [agenda_item("owners-assembly")],
    ),
    "record_session": lambda t: partial(
        t.w.app.record_session, t.noticed, "hearing", t.w.clock.now(), ["oc-1"], [], {}, []
    ),
    "form_opinion": lambda t: partial(t.w.app.form_opinion, t.deliberating, "意见"),
    "open_vote": lambda t: partial(
        t.w.app.open_vote, t.deliberating, "1", t.w.clock.now() + timedelta(days=3)
    ),
    "register_proxy": lambda t: partial(
        t.w.app.register_proxy, t.vote, "H:O1", "neighbour", "WT-1"
    ),
    "extend_vote": lambda t: partial(
        t.w.app.extend_vote,
        t.vote,
        t.w.app.vote(t.vote).closes_at + timedelta(days=1),
        reason="参与不足",
    ),
    "close_vote": lambda t: partial(close_at_end, t.w.app, t.vote),
    "enter_paper_ballot": lambda t: partial(
        t.w.app.enter_paper_ballot, t.vote, "H:O2", "yes", "P-1"
    ),
    "publish_result": lambda t: partial(t.w.app.publish_result, t.closed, "结果"),
    "assign_implementation": lambda t: partial(
        t.w.app.assign_implementation,
        t.result,
        "pm-1",
        "方案",
        t.w.clock.now() + timedelta(days=30),
    ),
    "report_progress": lambda t: partial(t.w.app.report_progress, t.implementing, 10, "进展"),
    "give_feedback": lambda t: partial(t.w.app.give_feedback, t.implementing, "反馈", []),
    "open_evaluation": lambda t: partial(
        t.w.app.open_evaluation, t.fed_back, t.w.clock.now() + timedelta(days=7)
    ),
    "close_evaluation": lambda t: partial(t.w.app.close_evaluation, t.rated),
    "archive": lambda t: partial(t.w.app.archive, t.evaluated),
    "withdraw": lambda t: partial(t.w.app.withdraw, t.noticed, reason="理由"),
    "revoke": lambda t: partial(t.w.app.revoke, t.result, "街责1号", reason="理由"),
    "annul": lambda t: partial(t.w.app.annul, t.result, "法院", "判决1号", reason="理由"),
}


#: Who may run each command, and holders of other offices who may not (besides any owner).
ROLES: dict[str, tuple[Actor, list[Actor]]] = {
    "create_street": (OPERATOR, [RC, STREET]),
    "create_community": (OPERATOR, [RC]),
    "create_estate": (OPERATOR, [RC, OC]),
    "elect_owners_committee": (STREET, [OC, PARTY]),
    "announce_acting": (RC, [OC, PARTY]),
    "appoint_property_company": (RC, [PARTY, STREET]),
    "adopt_covenant": (OC, [PARTY]),
    "change_settings": (OC, [PARTY, STREET]),
    "create_council": (RC, [OC]),
    "assign_seats": (PARTY, [OC]),
    "import_roll": (OC, [PARTY]),
    "add_unit": (RC, [PARTY]),
    "change_owner": (OC, [STREET]),
    "correct_area": (OC, [TELLER_A]),
    "set_head_rules": (RC, [PARTY]),
    "record_household": (RC, [OC, PARTY]),
    "confirm_topic": (PARTY, [OC, STREET]),
    "reject_topic": (RC, [OC]),
    "refer_topic": (PARTY, [OC]),
    "publish_notice": (OC, [RC, PARTY, STREET]),
    "record_session": (OC, [RC, PARTY]),
    "form_opinion": (OC, [RC]),
    "open_vote": (OC, [RC, PARTY]),
    "register_proxy": (OC, [RC, TELLER_A]),
    "extend_vote": (OC, [RC]),
    "close_vote": (OC, [RC, TELLER_A]),
    "enter_paper_ballot": (TELLER_A, [OC]),
    "publish_result": (OC, [RC]),
    "assign_implementation": (OC, [RC]),
    "report_progress": (OC, [PARTY]),
    "give_feedback": (OC, [RC]),
    "open_evaluation": (OC, [RC]),
    "close_evaluation": (OC, [RC]),
    "archive": (OC, [RC]),
    "withdraw": (OC, [STREET, TELLER_A]),
    "revoke": (STREET, [OC, RC, PARTY]),
    "annul": (STREET, [OC, RC]),
}


def test_every_role_command_is_in_the_table() -> None:
    assert set(ROLE_COMMANDS) == set(ROLES)


@pytest.mark.parametrize("command", list(ROLES))
def test_every_command_refuses_an_actor_without_the_role(world: World, command: str) -> None:
    app = world.app
    run = ROLE_COMMANDS[command](Targets(world))
    allowed, refused = ROLES[command]
    position = app.recorder.max_notification_id()
    for actor in [NOBODY, *refused]:
        with pytest.raises(PermissionDeniedError) as err:
            run(actor=actor)
        assert err.value.field == "actor"
        assert_specific(err.value)
        assert err.value.params["role"] in err.value.message("zh")
        assert err.value.params["role_en"] in err.value.message("en")
    assert app.recorder.max_notification_id() == position  # nothing was stored
    run(actor=allowed)
    assert (app.recorder.max_notification_id() or 0) > (position or 0)


def test_operator_holds_every_role_and_the_submitter_may_withdraw(world: World) -> None:
    cid = world.submit("O2")
    world.app.confirm_topic(cid, "consultation", [], OPERATOR)
    assert world.app.case(cid).stage == Stage.CONFIRMED
    with pytest.raises(PermissionDeniedError):
        world.app.withdraw(cid, owner("O3"), "不是我提的")
    world.app.withdraw(cid, owner("O2"), "我撤回")
    case = world.app.case(cid)
    assert case.stage == Stage.WITHDRAWN and case.exit_reason == "我撤回"


def test_convener_of_a_consultation_is_the_residents_committee_or_party(world: World) -> None:
    cid = world.confirm(world.submit(), "consultation")
    with pytest.raises(PermissionDeniedError):
        world.app.publish_notice(
            cid, "内容", "会所", "现场", world.clock.now() + timedelta(days=5),
            [agenda_item("consultation", council=world.council)], OC,
        )  # fmt: skip
    world.app.publish_notice(
        cid, "内容", "会所", "现场", world.clock.now() + timedelta(days=5),
        [agenda_item("consultation", council=world.council)], PARTY,
    )  # fmt: skip
    assert world.app.case(cid).stage == Stage.NOTICE


# --- notice periods --------------------------------------------------------------------------


@pytest.mark.parametrize("route", sorted(NOTICE_ROUTES))
def test_notice_period_per_route(world: World, route: str) -> None:
    app, clock = world.app, world.clock
    days = NOTICE_ROUTES[route][0]
    if route in ("residents-meeting", "villagers-meeting"):
        community = app.estate(world.estate).community_id
        app.record_household(community, Household("H1", "1-101", ("a1", "a2")), RC)
    cid = world.confirm(world.submit(), route)
    items = [agenda_item(route, council=world.council)]

    # A meeting earlier than the period is refused, with the earliest allowed date.
    with pytest.raises(NoticePeriodError) as err:
        world.publish(cid, items, meeting_in=days - 1)
    assert err.value.field == "meeting_at"
    earliest = clock.now() + timedelta(days=days)
    assert err.value.params == {"days": days, "earliest": earliest}
    shown = f"{earliest:%Y-%m-%d %H:%M} UTC"  # minutes, never an ISO stamp (pages: local time)
    assert shown in err.value.message("zh") and shown in err.value.message("en")
    assert app.case(cid).stage == Stage.CONFIRMED

    world.publish(cid, items, meeting_in=days)
    case = app.case(cid)
    assert case.notice is not None and case.notice["notice_days"] == days
    assert case.earliest_start == clock.now() + timedelta(days=days)

    # Nothing opens before the period has elapsed: no session, statement or vote.
    if days:
        clock.advance(days=days, seconds=-1)
        attempts: list[Callable[[], object]] = [
            lambda: app.speak(cid, "发言", owner("O1")),
            lambda: app.record_session(
                cid, "hearing", clock.now(), [], [], {}, [], convener(route)
            ),
            lambda: app.open_vote(cid, "1", clock.now() + timedelta(days=5), convener(route)),
        ]
        for attempt in attempts:
            with pytest.raises(NoticePeriodError) as err:
                attempt()
            assert err.value.field == "at" and err.value.params["days"] == days
        assert app.case(cid).stage == Stage.NOTICE and not app.case(cid).votes
        clock.advance(seconds=1)
    app.speak(cid, "发言", owner("O1"))
    world.open_vote(cid)
    assert app.case(cid).stage == Stage.VOTING


def test_estate_setting_lengthens_a_notice_period_but_not_below_the_statute(
    world: World,
) -> None:
    app = world.app
    app.change_settings(world.estate, {"notice_days": {"owners-assembly": 20}}, OC)
    cid = world.confirm(world.submit())
    with pytest.raises(NoticePeriodError) as err:
        world.publish(cid, meeting_in=19)
    assert err.value.params["days"] == 20
    world.publish(cid, meeting_in=20)
    with pytest.raises(SettingError) as serr:
        app.change_settings(world.estate, {"notice_days": {"owners-assembly": 14}}, OC)
    assert serr.value.field == "notice_days"
    assert_specific(serr.value, "15")
    assert app.estate(world.estate).settings.notice_period("owners-assembly") == 20


def test_estate_setting_may_shorten_a_practice_period(world: World) -> None:
    world.app.change_settings(world.estate, {"notice_days": {"consultation": 2}}, RC)
    cid = world.confirm(world.submit(), "consultation")
    world.publish(cid, [agenda_item("consultation", council=world.council)], meeting_in=2)
    assert world.app.case(cid).earliest_start == world.clock.now() + timedelta(days=2)


def test_notice_needs_content_place_form_and_an_agenda(world: World) -> None:
    cid = world.confirm(world.submit())
    meeting = world.clock.now() + timedelta(days=15)
    item = [agenda_item("owners-assembly")]
    for args, field in [
        (("", "会所", "现场", meeting, item), "content"),
        (("内容", " ", "现场", meeting, item), "place"),
        (("内容", "会所", "", meeting, item), "form"),
        (("内容", "会所", "现场", meeting, []), "agenda"),
        (("内容", "会所", "现场", meeting, [*item, *item]), "agenda"),
    ]:
        with pytest.raises(ValidationError) as err:
            world.app.publish_notice(cid, *args, OC)  # type: ignore[arg-type]
        assert err.value.field == field
    assert world.app.case(cid).stage == Stage.CONFIRMED


# --- agenda ------------------------------------------------------------------------------------


def test_agenda_is_frozen_an_item_not_on_it_cannot_be_voted(world: World) -> None:
    cid = world.deliberating()
    with pytest.raises(ValidationError) as err:
        world.app.open_vote(cid, "3", world.clock.now() + timedelta(days=3), OC)
    assert err.value.field == "item_id"
    assert_specific(err.value, "“3”")
    world.open_vote(cid, "1")
    with pytest.raises(ValidationError) as again:
        world.app.open_vote(cid, "1", world.clock.now() + timedelta(days=3), OC)
    assert again.value.field == "item_id"
    assert len(world.app.case(cid).votes) == 1
    # A second notice (to change the agenda) is refused once the notice is out.
    with pytest.raises(IllegalTransitionError):
        world.publish(cid)


@pytest.mark.parametrize("matter", range(1, 10))
def test_matters_six_seven_eight_use_the_special_rule_set(world: World, matter: int) -> None:
    cid = world.confirm(world.submit())
    world.publish(cid, [{"item_id": "1", "title": "事项", "matter": matter}])
    item = world.app.case(cid).agenda[0]
    expected = RuleSetId.CC278_SPECIAL if matter in (6, 7, 8) else RuleSetId.CC278_ORDINARY
    assert item["rule_set"] == expected.value and item["matter"] == matter
    world.deliberate(cid)
    vote_id = world.open_vote(cid)
    assert world.app.vote(vote_id).rule_set_id == expected.value


@pytest.mark.parametrize("matter", [0, 10, "6", None])
def test_an_owners_assembly_item_needs_a_civil_code_matter(world: World, matter: object) -> None:
    cid = world.confirm(world.submit())
    with pytest.raises(ValidationError) as err:
        world.publish(cid, [{"item_id": "1", "title": "事项", "matter": matter}])
    assert err.value.field == "agenda[0].matter"


def test_a_special_matter_needs_three_quarters(world: World) -> None:
    """4 yes of 6 equal heads (2/3) passes an ordinary matter but not a special one (3/4)."""
    cid = world.confirm(world.submit())
    world.publish(
        cid,
        [
            {"item_id": "1", "title": "一般事项", "matter": 4},
            {"item_id": "2", "title": "特别事项", "matter": 7},
        ],
    )
    world.deliberate(cid)
    results = {}
    for item in ("1", "2"):
        vote_id = world.open_vote(cid, item)
        for i in range(1, 7):
            world.app.cast_ballot(vote_id, "yes" if i <= 4 else "no", owner(f"O{i}"))
        results[item] = world.app.close_vote(vote_id, OC).result.passed
    assert results == {"1": True, "2": False}


# --- side exits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_side_exits_need_a_reason(world: World, reason: str) -> None:
    app = world.app
    collecting = world.submit()
    decided = world.result()
    attempts: list[tuple[Callable[[], object], UUID]] = [
        (lambda: app.withdraw(collecting, RC, reason), collecting),
        (lambda: app.reject_topic(collecting, PARTY, reason), collecting),
        (lambda: app.refer_topic(collecting, "street", PARTY, reason), collecting),
        (lambda: app.revoke(decided, "街责1号", STREET, reason), decided),
        (lambda: app.annul(decided, "法院", "判决1号", STREET, reason), decided),
    ]
    for attempt, cid in attempts:
        before = app.case(cid).version
        with pytest.raises(ValidationError) as err:
            attempt()
        assert err.value.field == "reason"
        assert app.case(cid).version == before


@pytest.mark.parametrize(
    ("exit_", "stage"),
    [
        ("withdraw", Stage.WITHDRAWN),
        ("reject", Stage.REJECTED),
        ("refer", Stage.REFERRED),
        ("revoke", Stage.REVOKED),
        ("annul", Stage.ANNULLED),
    ],
)
def test_side_exits_record_reason_and_actor(world: World, exit_: str, stage: Stage) -> None:
    app = world.app
    cid = world.result() if exit_ in ("revoke", "annul") else world.submit()
    run: dict[str, Callable[[], object]] = {
        "withdraw": lambda: app.withdraw(cid, RC, "已解决"),
        "reject": lambda: app.reject_topic(cid, PARTY, "已解决"),
        "refer": lambda: app.refer_topic(cid, "owners-assembly", PARTY, "已解决"),
        "revoke": lambda: app.revoke(cid, "街责〔2026〕3号", STREET, "已解决"),
        "annul": lambda: app.annul(cid, "某区人民法院", "（2026）民初3号", STREET, "已解决"),
    }
    run[exit_]()
    case = app.case(cid)
    assert case.stage == stage and case.exit_reason == "已解决"
    last = list(app.events.get(cid))[-1]  # type: ignore[attr-defined]
    assert last.reason == "已解决" and last.actor in ("rc-1", "party-1", "street-1")
    if exit_ == "revoke":
        assert last.order_ref == "街责〔2026〕3号"
    if exit_ == "annul":
        assert (last.court, last.judgment_ref) == ("某区人民法院", "（2026）民初3号")


def test_side_exit_details_are_required(world: World) -> None:
    app = world.app
    cid = world.submit()
    with pytest.raises(ValidationError) as err:
        app.refer_topic(cid, "district", PARTY, "理由")
    assert err.value.field == "to"
    decided = world.result()
    with pytest.raises(ValidationError) as err:
        app.revoke(decided, " ", STREET, "理由")
    assert err.value.field == "order_ref"
    for court, ref, field in [("", "判决1号", "court"), ("法院", "", "judgment_ref")]:
        with pytest.raises(ValidationError) as err:
            app.annul(decided, court, ref, STREET, "理由")
        assert err.value.field == field


def test_only_a_published_decision_can_be_annulled(world: World) -> None:
    cid = world.deliberating()
    with pytest.raises(IllegalTransitionError) as err:
        world.app.annul(cid, "法院", "判决1号", STREET, "理由")
    assert_specific(err.value, "only a published decision")


def test_a_motion_tabled_case_can_be_neither_rejected_nor_withdrawn(
    app: ConsultationApp, clock: FixedClock
) -> None:
    estate = make_estate(app, plain_units(6))
    opened = app.open_motion(estate, "公开账目", "请公开物业费收支。", owner("O1"))
    motion_id, cid = opened.motion_id, opened.case_id
    assert app.sign_motion(motion_id, owner("O1")).tabled  # 1 of 6 heads is at least 5%
    with pytest.raises(MotionRejectionForbiddenError) as err:
        app.reject_topic(cid, PARTY, "不同意")
    assert err.value.field == "case"
    assert_specific(err.value, "rejected")
    with pytest.raises(MotionWithdrawalForbiddenError) as withdrawal:
        app.withdraw(cid, RC, "不同意")
    assert withdrawal.value.field == "case"
    assert_specific(withdrawal.value, "withdrawn")
    assert app.case(cid).stage == Stage.COLLECTING
    # It must be answered: confirming it (or referring it) is the way forward.
    app.refer_topic(cid, "owners-assembly", PARTY, "提交业主大会")
    assert app.case(cid).stage == Stage.REFERRED


# --- residents' committee acting for an owners' committee ----------------------------------------


def test_residents_committee_convenes_owners_matters_only_while_acting(
    app: ConsultationApp, clock: FixedClock
) -> None:
    estate = make_estate(app, plain_units(6), committee=None)
    w = World(app, clock, estate, make_council(app, estate))
    cid = w.confirm(w.submit())
    with pytest.raises(PermissionDeniedError):
        w.app.publish_notice(
            cid, "内容", "会所", "现场", clock.now() + timedelta(days=15),
            [agenda_item("owners-assembly")], RC,
        )  # fmt: skip
    app.announce_acting(estate, "《某市物业管理条例》第十条", 3, RC)
    w.app.publish_notice(
        cid, "内容", "会所", "现场", clock.now() + timedelta(days=15),
        [agenda_item("owners-assembly")], RC,
    )  # fmt: skip
    clock.advance(days=15)
    w.app.speak(cid, "发言", owner("O1"))

    # The owners elect a committee: the acting arrangement ends by itself.
    app.elect_owners_committee(estate, ["O1", "O2", "O3"], "2029-12-31", RC)
    events = list(app.events.get(estate))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in events][-2:] == [
        "OwnersCommitteeElected",
        "ActingArrangementEnded",
    ]
    ended = events[-1]
    assert ended.actor == "system" and ended.reason
    assert app.estate(estate).acting is None
    with pytest.raises(PermissionDeniedError):
        app.form_opinion(cid, "意见", RC)
    app.form_opinion(cid, "意见", OC)


def test_electing_a_committee_without_an_acting_arrangement_ends_nothing(world: World) -> None:
    world.app.elect_owners_committee(world.estate, ["O4", "O5", "O6"], "2030-12-31", RC)
    names = event_names(world.app, world.estate)
    assert "ActingArrangementEnded" not in names
    assert world.app.estate(world.estate).owners_committee == ["O4", "O5", "O6"]


# --- the clock drives deadlines --------------------------------------------------------------


def test_fixed_clock_controls_every_recorded_time(world: World) -> None:
    start = world.clock.now()
    cid = world.submit()
    world.clock.advance(days=3, hours=2)
    world.confirm(cid)
    times = [e.timestamp for e in world.app.events.get(cid)]  # type: ignore[attr-defined]
    assert times == [start, start + timedelta(days=3, hours=2)]
