"""Votes, ballots and paper-ballot double entry.

One ballot per elector is guaranteed by the store: a ballot's id is derived from the vote and the
elector (head), so two concurrent first casts collide on the same aggregate id and version, and the
loser retries as a change (or is refused). A ballot counts when it is recorded in the log before the
vote's close event; a ballot recorded after it is refused, never counted.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from consult.aggregate import ConsultAggregate, natural_id
from consult.errors import (
    AlreadyVotedError,
    EarlyCloseError,
    ExtensionError,
    ExtensionLimitError,
    PaperBallotError,
    ProxyError,
    VoteNotOpenError,
)
from consult.rules import Choice, CountingOptions, RuleSet, rule_set
from consult.validation import parse_enum


def ballot_id(vote_id: UUID, elector_id: str) -> UUID:
    return natural_id("ballot", vote_id, elector_id)


def paper_entry_id(vote_id: UUID, elector_id: str) -> UUID:
    return natural_id("paper-entry", vote_id, elector_id)


class VoteState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


CHOICE_NAMES: dict[Choice, tuple[str, str]] = {
    Choice.YES: ("同意", "yes"),
    Choice.NO: ("反对", "no"),
    Choice.ABSTAIN: ("弃权", "abstain"),
    Choice.INVALID: ("无效票", "invalid"),
}

BALLOT_CHANNELS: dict[str, tuple[str, str]] = {
    "online": ("网上投票", "online"),
    "code": ("表决码投票", "voting code"),
    "proxy": ("书面委托代投", "written proxy"),
    "paper": ("纸质选票", "paper ballot"),
}


def parse_choice(value: str) -> Choice:
    return parse_enum(Choice, value, "choice", "choice", "ballot_choice")


class Vote(ConsultAggregate):
    class Created(ConsultAggregate.Created):
        case_id: UUID
        estate_id: UUID
        item_id: str
        title: str
        rule_set_id: str
        rule_version: str
        options: dict[str, Any]
        electorate: dict[str, Any]
        closes_at: datetime
        change_allowed: bool
        proxy_cap: int
        excluded_proxy_holders: list[str]
        tellers: list[str]

    def __init__(
        self,
        case_id: UUID,
        estate_id: UUID,
        item_id: str,
        title: str,
        rule_set_id: str,
        rule_version: str,
        options: dict[str, Any],
        electorate: dict[str, Any],
        closes_at: datetime,
        change_allowed: bool,
        proxy_cap: int,
        excluded_proxy_holders: list[str],
        tellers: list[str],
    ) -> None:
        self.case_id = case_id
        self.estate_id = estate_id
        self.item_id = item_id
        self.title = title
        self.rule_set_id = rule_set_id
        self.rule_version = rule_version
        self.options = CountingOptions.from_dict(options)
        self.electorate = dict(electorate)
        self.closes_at = closes_at
        self.original_closes_at = closes_at
        self.change_allowed = change_allowed
        self.proxy_cap = proxy_cap
        self.excluded_proxy_holders = list(excluded_proxy_holders)
        self.tellers = list(tellers)
        self.state = VoteState.OPEN
        self.extended = False
        self.proxies: dict[str, dict[str, str]] = {}  # principal elector -> {"holder", "document"}
        self.result: dict[str, Any] | None = None
        self.closed_at: datetime | None = None

    class ProxyRegistered(ConsultAggregate.Event):
        principal: str
        holder: str
        document: str

        def apply(self, vote: Vote) -> None:
            vote.proxies[self.principal] = {"holder": self.holder, "document": self.document}

    class ProxyRevoked(ConsultAggregate.Event):
        principal: str

        def apply(self, vote: Vote) -> None:
            vote.proxies.pop(self.principal, None)

    class Extended(ConsultAggregate.Event):
        closes_at: datetime

        def apply(self, vote: Vote) -> None:
            vote.closes_at = self.closes_at
            vote.extended = True

    class Closed(ConsultAggregate.Event):
        def apply(self, vote: Vote) -> None:
            vote.state = VoteState.CLOSED
            vote.closed_at = self.timestamp

    class ResultRecorded(ConsultAggregate.Event):
        result: dict[str, Any]

        def apply(self, vote: Vote) -> None:
            vote.result = dict(self.result)

    @property
    def rules(self) -> RuleSet:
        return rule_set(self.rule_set_id)

    def state_error(self) -> VoteNotOpenError:
        zh, en = (
            ("已结束", "closed")
            if self.state == VoteState.CLOSED
            else ("投票截止时间已过", "past its deadline")
        )
        return VoteNotOpenError(field="vote", state=zh, state_en=en)

    def check_accepting_online(self, at: datetime) -> None:
        if self.state != VoteState.OPEN or at >= self.closes_at:
            raise self.state_error()

    def check_open(self) -> None:
        if self.state != VoteState.OPEN:
            raise self.state_error()

    def holder_load(self, holder: str) -> int:
        return sum(1 for p in self.proxies.values() if p["holder"] == holder)

    def register_proxy(
        self,
        principal: str,
        holder: str,
        document: str,
        principal_owners: tuple[str, ...],
        at: datetime,
        actor: str,
    ) -> None:
        self.check_open()
        if not self.rules.proxies_allowed:
            raise ProxyError(
                field="holder",
                reason="该类表决不允许委托",
                reason_en="this kind of vote allows no proxies",
            )
        if not document.strip():
            raise ProxyError(
                field="document",
                reason="须有书面委托书编号",
                reason_en="a written proxy document reference is required",
            )
        if holder in principal_owners:
            raise ProxyError(
                field="holder",
                reason="业主本人无需委托",
                reason_en="an owner needs no proxy for their own vote",
            )
        if holder in self.excluded_proxy_holders:
            raise ProxyError(
                field="holder",
                reason="物业服务企业工作人员不得担任委托代理人",
                reason_en="property-company staff may not act as proxies",
            )
        if principal in self.proxies:
            raise ProxyError(
                field="principal", reason="该户已有委托", reason_en="this owner already has a proxy"
            )
        if self.proxy_cap and self.holder_load(holder) >= self.proxy_cap:
            raise ProxyError(
                field="holder",
                reason=f"每位代理人最多受托{self.proxy_cap}户",
                reason_en=f"a proxy holder may represent at most {self.proxy_cap} owners",
            )
        self.record(
            Vote.ProxyRegistered,
            at,
            actor,
            "",
            principal=principal,
            holder=holder,
            document=document.strip(),
        )

    def extend(
        self,
        closes_at: datetime,
        max_days: int,
        quorum_met: bool,
        at: datetime,
        actor: str,
        reason: str,
    ) -> None:
        self.check_open()
        if self.extended:
            raise ExtensionError(
                field="closes_at",
                reason="只能延期一次",
                reason_en="a vote can be extended only once",
            )
        if quorum_met:
            raise ExtensionError(
                field="closes_at",
                reason="参与表决已达法定比例，无需延期",
                reason_en="turnout already meets the quorum; no extension is needed",
            )
        if closes_at <= self.closes_at:
            raise ExtensionError(
                field="closes_at",
                reason="新的截止时间须晚于原截止时间",
                reason_en="the new deadline must be later",
            )
        limit = self.original_closes_at + timedelta(days=max_days)
        if closes_at > limit:
            raise ExtensionLimitError(field="closes_at", days=max_days, until=limit)
        self.record(Vote.Extended, at, actor, reason, closes_at=closes_at)

    def close(self, at: datetime, actor: str, reason: str, not_voted: int) -> None:
        """Close at or after the published end; before it only once no elector is left to vote
        (``not_voted`` is 0): an early close would shut out electors who still had time."""
        self.check_open()
        if at < self.closes_at and not_voted > 0:
            raise EarlyCloseError(
                field="closes_at",
                closes_at=self.closes_at,
                missing=not_voted,
                noun=self.rules.noun("zh"),
                noun_en=self.rules.noun("en"),
            )
        self.record(Vote.Closed, at, actor, reason)


def receipt_code(ballot: UUID, version: int, choice: str, at: datetime) -> str:
    digest = hashlib.sha256(f"{ballot}|{version}|{choice}|{at.isoformat()}".encode()).hexdigest()
    return digest[:16].upper()


class Ballot(ConsultAggregate):
    class Created(ConsultAggregate.Created):
        vote_id: UUID
        elector_id: str
        choice: str
        channel: str
        receipt: str

    def __init__(
        self, vote_id: UUID, elector_id: str, choice: str, channel: str, receipt: str
    ) -> None:
        self.vote_id = vote_id
        self.elector_id = elector_id
        self.choice = Choice(choice)
        self.channel = channel
        self.receipt = receipt
        self.changes = 0

    @classmethod
    def created(
        cls,
        id: UUID,
        at: datetime,
        voter: str,
        vote_id: UUID,
        elector_id: str,
        choice: Choice,
        channel: str,
        receipt: str,
    ) -> Ballot.Created:
        """The event ``Ballot.start`` records for a new ballot, made without the aggregate: a
        fifth of the CPU, for the group committer, which saves events."""
        fields: dict[str, Any] = {  # the event classes are dataclasses made by a metaclass
            "originator_id": id,
            "originator_version": 1,
            "timestamp": at,
            "originator_topic": _BALLOT_TOPIC,
            "actor": voter,
            "reason": "",
            "vote_id": vote_id,
            "elector_id": elector_id,
            "choice": Choice(choice).value,
            "channel": channel,
            "receipt": receipt,
        }
        return cls.Created(**fields)

    class Changed(ConsultAggregate.Event):
        choice: str
        channel: str
        receipt: str

        def apply(self, ballot: Ballot) -> None:
            ballot.choice = Choice(self.choice)
            ballot.channel = self.channel
            ballot.receipt = self.receipt
            ballot.changes += 1

    def change(
        self, choice: Choice, channel: str, change_allowed: bool, voter: str, at: datetime
    ) -> None:
        if self.channel == "paper":
            raise AlreadyVotedError(
                field="choice",
                why="纸质选票已录入，不能在网上更改。",
                why_en="a paper ballot was entered; it cannot be changed online.",
            )
        in_person = ("online", "code")
        if channel == "proxy" and self.channel in in_person:
            raise AlreadyVotedError(
                field="choice",
                why="业主本人已投票，以本人投票为准，受托人不能更改。",
                why_en="the owner has voted in person, which prevails; the proxy cannot change it.",
            )
        if self.channel == "proxy" and channel in in_person:
            # The owner's own vote prevails over the proxy's (the proxy is revoked by voting in
            # person): not a change of the owner's mind, so the change rules do not apply.
            pass
        elif not change_allowed:
            raise AlreadyVotedError(
                field="choice",
                why="本次表决不允许改票。",
                why_en="this vote does not allow changes.",
            )
        elif self.changes >= 1:
            raise AlreadyVotedError(
                field="choice", why="已改过一次票。", why_en="the ballot was already changed once."
            )
        receipt = receipt_code(self.id, self.version + 1, choice.value, at)
        self.record(
            Ballot.Changed, at, voter, "", choice=choice.value, channel=channel, receipt=receipt
        )


_BALLOT_TOPIC = get_topic(Ballot)


class PaperState(StrEnum):
    PENDING = "pending"  # entered by the first teller, awaiting the second
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  # the second entry differed: re-enter from the sheet
    DUPLICATE = "duplicate"  # the head had already voted: the sheet is not counted


class PaperEntry(ConsultAggregate):
    """A paper ballot entered by one teller and confirmed by a second (double entry)."""

    class Created(ConsultAggregate.Created):
        vote_id: UUID
        elector_id: str
        choice: str
        sheet_no: str

    def __init__(
        self, vote_id: UUID, elector_id: str, choice: str, sheet_no: str, actor: str
    ) -> None:
        self.vote_id = vote_id
        self.elector_id = elector_id
        self.choice = Choice(choice)
        self.sheet_no = sheet_no
        self.state = PaperState.PENDING
        self.first_teller = actor

    class Reentered(ConsultAggregate.Event):
        choice: str
        sheet_no: str

        def apply(self, entry: PaperEntry) -> None:
            entry.choice = Choice(self.choice)
            entry.sheet_no = self.sheet_no
            entry.state = PaperState.PENDING
            entry.first_teller = self.actor

    class Confirmed(ConsultAggregate.Event):
        def apply(self, entry: PaperEntry) -> None:
            entry.state = PaperState.CONFIRMED

    class Disputed(ConsultAggregate.Event):
        second_choice: str

        def apply(self, entry: PaperEntry) -> None:
            entry.state = PaperState.DISPUTED

    class MarkedDuplicate(ConsultAggregate.Event):
        def apply(self, entry: PaperEntry) -> None:
            entry.state = PaperState.DUPLICATE

    def reenter(self, choice: Choice, sheet_no: str, teller: str, at: datetime) -> None:
        if self.state != PaperState.DISPUTED:
            raise PaperBallotError(
                field="elector_id",
                reason="该户的纸质选票已录入，只有在两次录入不一致时才能重新录入",
                reason_en="this owner's paper ballot is already entered; it can be re-entered only after a mismatch",
            )
        self.record(PaperEntry.Reentered, at, teller, "", choice=choice.value, sheet_no=sheet_no)

    def check_confirmable(self, teller: str) -> None:
        if self.state != PaperState.PENDING:
            raise PaperBallotError(
                field="elector_id",
                reason="该选票不在待复核状态",
                reason_en="this paper ballot is not awaiting a second entry",
            )
        if teller == self.first_teller:
            raise PaperBallotError(
                field="teller",
                reason="复核须由另一名计票人完成",
                reason_en="the second entry must be made by a different teller",
            )
