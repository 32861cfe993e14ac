"""A small world for the web tests: one estate of 40 owners, its committee and council, accounts
for every kind of user, and helpers to bring a case to any stage through the application."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.clock import FixedClock
from consult.config import Config
from entrypoints.bootstrap import build_app, build_web
from webapp.account_model import Account
from webapp.state import EXTENSION, Services

OWNERS = 40
CSRF = "test-csrf-token-0123456789abcdef0123456789"
OPERATOR = Actor.of("op-1", Role.OPERATOR, name="平台管理员")

WEB_ENV = {
    "CONSULT_SECRET_KEY": "web-tests-" + "k" * 40,
    "CONSULT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
    "CONSULT_COOKIE_SECURE": "1",
}


def small_roll(owners: int = OWNERS) -> str:
    """``owners`` units, one owner each, in two buildings; areas 80–119 m²."""
    lines = ["unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind"]
    for i in range(1, owners + 1):
        building = 1 if i <= owners // 2 else 2
        area = Decimal(80 + (i * 7) % 40) + Decimal("0.50")
        lines.append(
            f"T-B{building}-U{i:03d},{building},1,{i:04d},residential,{area},register,P{i:04d},person"
        )
    return "\n".join(lines) + "\n"


PERSONAS: dict[str, tuple[str, tuple[Role, ...], bool]] = {
    # name: (person id, roles, bound to the estate)
    "resident": ("P0001", (Role.RESIDENT,), True),
    "resident2": ("P0002", (Role.RESIDENT,), True),
    "outsider": ("X9999", (Role.RESIDENT,), True),  # an account of the estate but not on the roll
    "oc": ("oc-1", (Role.OWNERS_COMMITTEE,), True),
    "rc": ("rc-1", (Role.RESIDENTS_COMMITTEE,), True),
    "party": ("party-1", (Role.PARTY_ORGANISATION,), True),
    "teller_a": ("teller-a", (Role.TELLER,), True),
    "teller_b": ("teller-b", (Role.TELLER,), True),
    "pm": ("pm-1", (Role.PROPERTY_COMPANY,), True),
    "street": ("street-1", (Role.STREET,), False),
    "oc_owner": ("P0003", (Role.OWNERS_COMMITTEE, Role.RESIDENT), True),
}
PASSWORD = "correct-horse-1"


def username(persona: str) -> str:
    return "web-" + persona.replace("_", "-")


@dataclass
class World:
    consult: ConsultationApp
    clock: FixedClock
    web: Flask
    estate: UUID
    council: UUID
    accounts: dict[str, Account] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.web.extensions[EXTENSION]  # type: ignore[no-any-return]

    def actor(self, persona: str) -> Actor:
        return self.accounts[persona].actor

    def client(self, persona: str | None = None) -> FlaskClient:
        """A browser: signed in as ``persona`` (or anonymous), with a known CSRF token."""
        client = self.web.test_client()
        with client.session_transaction() as s:
            s["csrf"] = CSRF
            if persona is not None:
                account = self.accounts[persona]
                s["sid"] = self.services.signins.start(account.id, account.epoch)
                s["uid"] = account.id
        return client

    def position(self) -> int:
        return int(self.consult.recorder.max_notification_id() or 0)

    def close(self) -> None:
        """Let go of every connection to the store (the next test empties the database); every
        part is closed even if closing another fails."""
        with ExitStack() as parts:  # closed in the reverse order
            parts.callback(self.consult.close)
            parts.callback(self.services.engine.dispose)
            parts.callback(self.services.signins.close)
            projector = getattr(self.consult, "projector", None)
            if projector is not None:
                parts.callback(projector.dispose)
            reads = self.services.reads
            audit_store = getattr(getattr(reads, "_reads", reads), "audit_store", None)
            if audit_store is not None:
                parts.callback(audit_store.close)
            runtime = self.web.extensions.get("consult_runtime")
            if runtime is not None:
                parts.callback(runtime.close)

    def web_rows(self) -> tuple[int, int]:
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from webapp.accounts import AccountRow
        from webapp.voting_codes import VotingCodeRow

        with Session(self.services.engine) as s:
            return (
                s.scalar(select(func.count()).select_from(AccountRow)) or 0,
                s.scalar(select(func.count()).select_from(VotingCodeRow)) or 0,
            )

    # --- bringing a case to a stage through the application ----------------------------------

    def topic(self, title: str = "加装电梯", persona: str = "resident") -> UUID:
        return self.consult.submit_topic(
            self.estate, title, "老楼加装电梯，方便老人出行。", "online", self.actor(persona)
        ).id

    def confirmed(self, route: str = "owners-assembly") -> UUID:
        case = self.topic()
        self.consult.confirm_topic(
            case, route, ["全体业主"], self.actor("party"), "属于共同决定事项"
        )
        return case

    def noticed(self, route: str = "owners-assembly", matter: int = 9) -> UUID:
        case = self.confirmed(route)
        item: dict[str, Any] = {"item_id": "1", "title": "加装电梯"}
        if route.startswith("owners-assembly"):
            item["matter"] = matter
        convener = (
            "oc"
            if route in ("owners-assembly", "owners-assembly-extraordinary", "owners-committee")
            else "rc"
        )
        days = 15 if route == "owners-assembly" else 7
        self.consult.publish_notice(
            case,
            "定于会所召开业主大会。",
            "会所",
            "现场与网上",
            self.clock.now() + timedelta(days=days),
            [item],
            self.actor(convener),
        )
        return case

    def deliberating(self) -> UUID:
        case = self.noticed()
        self.clock.advance(days=15)
        self.consult.speak(case, "我支持加装电梯。", self.actor("resident2"))
        return case

    def voting(self, days: int = 7) -> tuple[UUID, UUID]:
        case = self.deliberating()
        vote = self.consult.open_vote(
            case,
            "1",
            self.clock.now() + timedelta(days=days),
            self.actor("oc"),
            ["teller-a", "teller-b"],
        ).id
        return case, vote

    def cast(self, vote: UUID, owners: range, choice: str = "yes") -> None:
        for i in owners:
            self.consult.cast_ballot(vote, choice, Actor.of(f"P{i:04d}", Role.RESIDENT))

    def close_at_end(self, vote: UUID) -> None:
        """Move the clock to the vote's published end and close it there."""
        self.clock.set(max(self.clock.now(), self.consult.vote(vote).closes_at))
        self.consult.close_vote(vote, self.actor("oc"))

    def decided(self) -> tuple[UUID, UUID]:
        """A vote that passed, closed, with its result published."""
        case, vote = self.voting()
        self.cast(vote, range(5, 40))
        self.close_at_end(vote)
        self.consult.publish_result(case, "表决通过。", self.actor("oc"))
        return case, vote

    def implementing(self) -> UUID:
        case, _ = self.decided()
        self.consult.assign_implementation(
            case, "pm-1", "施工。", self.clock.now() + timedelta(days=30), self.actor("oc")
        )
        return case

    def fed_back(self) -> UUID:
        case = self.implementing()
        self.consult.report_progress(case, 100, "完工。", self.actor("pm"))
        self.consult.give_feedback(
            case, "已完成。", [{"to": "反对者", "text": "已说明。"}], self.actor("oc")
        )
        return case

    def evaluating(self) -> UUID:
        case = self.fed_back()
        self.consult.open_evaluation(case, self.clock.now() + timedelta(days=10), self.actor("oc"))
        return case

    def motion(self, persona: str = "oc_owner") -> tuple[UUID, UUID]:
        opened = self.consult.open_motion(
            self.estate, "增设充电棚", "在2号楼旁增设充电棚。", self.actor(persona)
        )
        return opened.motion_id, opened.case_id


def make_world(tmp_path: Path, url: str) -> World:
    """The world on the store at ``url``: its events, views, accounts and voting codes."""
    clock = FixedClock()
    consult = build_app(url, clock=clock)
    world: World | None = None
    try:
        consult.create_street("S01", "示范街道", OPERATOR)
        consult.create_community("C01", "示范社区", "S01", OPERATOR)
        estate = consult.create_estate("WEB", "测试小区", "C01", OPERATOR)
        consult.import_roll(estate, small_roll(), OPERATOR, source_name="small.csv")
        rc = Actor.of("rc-1", Role.RESIDENTS_COMMITTEE)
        party = Actor.of("party-1", Role.PARTY_ORGANISATION)
        consult.elect_owners_committee(estate, ["oc-1", "oc-2", "P0003"], "2029-01-01", rc)
        consult.appoint_property_company(
            estate, "示范物业", ["pm-1"], Actor.of("oc-1", Role.OWNERS_COMMITTEE)
        )
        council = consult.create_council(estate, "four-in-one", party)
        for party_name, holder in [
            ("party-organisation", "party-1"),
            ("residents-committee", "rc-1"),
            ("owners-committee", "oc-1"),
            ("property-company", "pm-1"),
        ]:
            consult.assign_seats(council, party_name, [holder], party)
        web = build_web(
            {"TESTING": True},
            config=Config(url, tmp_path / "instance"),
            consult=consult,
            environ=WEB_ENV,
        )
        world = World(consult, clock, web, estate, council)
        store = world.services.accounts
        for name, (person, roles, bound) in PERSONAS.items():
            world.accounts[name] = store.create(
                username(name), PASSWORD, person, f"{name} 用户", roles, estate if bound else None
            )
        return world
    except BaseException:  # let go of the store's connections before the error
        if world is not None:
            world.close()
        else:
            consult.close()
        raise


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    """A world of the test's own, once on SQLite and once on PostgreSQL."""
    w = make_world(tmp_path, store_url)
    yield w
    w.close()


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> TestResponse:
    return client.post(url, data={"csrf_token": CSRF, **(data or {})}, **kwargs)


def api(client: FlaskClient, method: str, url: str, body: Any = None) -> TestResponse:
    headers = {"X-CSRF-Token": CSRF} if method != "GET" else {}
    return client.open(url, method=method, json=body, headers=headers)


def token_of(client: FlaskClient, path: str) -> str:
    """The CSRF token a page carries (after a sign-in the session has a new one)."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def field_errors(response: TestResponse) -> list[str]:
    """The field-level error messages shown on a page."""
    return [
        re.sub(r"<[^>]+>", "", m).strip()
        for m in re.findall(r'class="field-error"[^>]*>(.*?)</p>', response.text, re.S)
    ]


def text_of(response: TestResponse) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.text, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
