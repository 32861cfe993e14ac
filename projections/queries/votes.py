"""Tallies, ballots and votes: the live tally from the counters, the tally as of a moment,
an elector's ballot, and what the vote pages show."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa

from consult.errors import NotFoundError
from consult.rules import (
    Choice,
    Comparison,
    CountingOptions,
    RuleSet,
    Threshold,
    ThresholdCheck,
    VoteResult,
    rule_set,
    tally,
)
from consult.vote import (
    BALLOT_CHANNELS,
    Ballot,
    Vote,
    VoteState,
)
from projections.counting import Counters, building_counts_from_json, result_from_counters
from projections.db import area, maybe_moment, micros, moment
from projections.queries.base import (
    Pair,
    QueryBase,
    Row,
    _id,
)
from projections.views.tallies import COUNTERS, view_ballot_event, view_vote

if TYPE_CHECKING:
    pass


class TallyView:
    """The one tally view: what the tally pages and the API show of ``result``, in both
    languages. The live tally (:class:`VoteTally`) and the tally as of a moment
    (:class:`TallyAsOf`) are both one."""

    vote_id: UUID
    result: VoteResult
    final: bool  # the vote was closed (by then): these are the counted figures

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def rule_set(self) -> RuleSet:
        return self.result.rule_set

    @property
    def rule_name(self) -> Pair:
        return (self.rule_set.name("zh"), self.rule_set.name("en"))

    @property
    def rule_source(self) -> Pair:
        return (self.rule_set.source("zh"), self.rule_set.source("en"))

    @property
    def options_text(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        options = self.result.options
        return (tuple(options.describe("zh")), tuple(options.describe("en")))

    @cached_property
    def raw(self) -> TallyPart:
        return _part(self.result.raw)

    @cached_property
    def deemed(self) -> TallyPart | None:
        return None if self.result.deemed is None else _part(self.result.deemed)

    @property
    def silent_majority(self) -> Pair:
        sm = self.result.silent_majority
        return (sm.label("zh"), sm.label("en"))

    @property
    def uses_area(self) -> bool:
        return self.result.raw.total.area is not None


@dataclass(frozen=True)
class QuorumProgress:
    """How far one quorum check is from its threshold: ``needed`` is the smallest participating
    count (heads) or area (m², to 0.01) that meets it, ``missing`` what is still lacking."""

    check: ThresholdCheck
    needed: int | Decimal
    missing: int | Decimal


@dataclass(frozen=True)
class VoteTally(TallyView):
    vote_id: UUID
    case_id: UUID
    estate_id: UUID
    item_id: str
    title: str
    state: str  # open / closed
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    extended: bool
    result: VoteResult  # raw tally, deemed tally (silent majority), passed, per building
    quorum: tuple[QuorumProgress, ...]
    recorded_passed: bool | None  # the result recorded on the vote when it closed
    proxies: int
    late_ballots: int  # ballot events recorded after the close: never counted
    position: int  # the log position this tally reflects
    final: bool  # closed: the counted figures


@dataclass(frozen=True)
class BallotStatus:
    """One elector's ballot as the tally counts it (for "your ballot is counted")."""

    vote_id: UUID
    elector_id: str
    choice: Choice | None  # the counted choice; None when no event of it counted
    counted: bool
    changed: bool
    channel: str
    at: datetime  # time of the latest event
    position: int


@dataclass(frozen=True)
class TallyAsOf(TallyView):
    vote_id: UUID
    moment: datetime
    result: VoteResult
    ballots: int  # ballots counted at that moment
    final: bool  # the vote had been closed by then


def _smallest(required: Threshold, whole: Fraction) -> int:
    """The smallest integer n meeting ``required`` against ``whole``."""
    target = required.fraction * whole
    if required.comparison is Comparison.AT_LEAST:
        return math.ceil(target)
    return math.floor(target) + 1


def quorum_progress(check: ThresholdCheck) -> QuorumProgress:
    if check.key.endswith(".area"):
        units = _smallest(check.required, check.denominator * 100)  # in hundredths of m²
        have = math.ceil(check.numerator * 100)
        return QuorumProgress(check, area(units), area(max(0, units - have)))
    heads = _smallest(check.required, check.denominator)
    return QuorumProgress(check, heads, max(0, heads - int(check.numerator)))


_VOTE = sa.select(view_vote).where(view_vote.c.vote_id == sa.bindparam("vote_id"))


def _counters(row: Row) -> Counters:
    return Counters(row["total_heads"], row["total_area"], tuple(row[n] for n in COUNTERS))


@dataclass(frozen=True)
class CheckView:
    key: str
    label: Pair
    numerator: Fraction
    denominator: Fraction
    required: Fraction
    required_label: str  # "≥ 2/3"
    required_words: Pair  # "2/3以上（含本数）", "at least 2/3"
    met: bool

    @property
    def ratio(self) -> Fraction | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def uses_area(self) -> bool:
        return self.key.endswith("area")


@dataclass(frozen=True)
class Count:
    heads: int
    area: Decimal | None


@dataclass(frozen=True)
class ChoiceCount:
    choice: str
    label: Pair
    heads: int
    area: Decimal | None


@dataclass(frozen=True)
class TallyPart:
    by_choice: tuple[ChoiceCount, ...]
    not_voted: Count
    total: Count
    participating: Count
    quorum: tuple[CheckView, ...]
    quorum_met: bool
    passing: tuple[CheckView, ...]
    passed: bool

    @property
    def checks(self) -> tuple[CheckView, ...]:
        return self.quorum + self.passing


@dataclass(frozen=True)
class VoteView:
    id: UUID
    case_id: UUID
    estate_id: UUID
    item_id: str
    title: str
    state: VoteState
    opened_at: datetime
    closes_at: datetime
    original_closes_at: datetime
    extended: bool
    closed_at: datetime | None
    change_allowed: bool
    proxy_cap: int
    proxies: dict[str, dict[str, str]]
    tellers: tuple[str, ...]
    rule_set_id: str
    rule_name: Pair
    rule_description: tuple[tuple[str, ...], tuple[str, ...]]
    electorate_kind: str
    result: dict[str, Any] | None

    @property
    def open(self) -> bool:
        return self.state == VoteState.OPEN


@dataclass(frozen=True)
class BallotView:
    ballot_id: UUID
    vote_id: UUID
    elector_id: str
    choice: str
    choice_label: Pair
    channel: str
    channel_label: Pair
    receipt: str
    changes: int
    cast_at: datetime


@dataclass(frozen=True)
class ElectorOption:
    elector_id: str
    via: str  # "own" or "proxy"
    units: tuple[str, ...]
    area: Decimal | None
    ballot: BallotView | None


@dataclass(frozen=True)
class ElectorRef:
    elector_id: str
    units: tuple[str, ...]


@dataclass(frozen=True)
class PaperEntryView:
    elector_id: str
    sheet_no: str
    state: str
    first_teller: str


def check_view(check: ThresholdCheck) -> CheckView:
    return CheckView(
        key=check.key,
        label=(check.label_zh, check.label_en),
        numerator=check.numerator,
        denominator=check.denominator,
        required=check.required.fraction,
        required_label=check.required.label(),
        required_words=(check.required.words("zh"), check.required.words("en")),
        met=check.met,
    )


def _part(t: Any) -> TallyPart:
    return TallyPart(
        by_choice=tuple(
            ChoiceCount(c.value, (c.label("zh"), c.label("en")), n.heads, n.area)
            for c, n in sorted(t.by_choice.items(), key=lambda kv: list(Choice).index(kv[0]))
        ),
        not_voted=Count(t.not_voted.heads, t.not_voted.area),
        total=Count(t.total.heads, t.total.area),
        participating=Count(t.participating.heads, t.participating.area),
        quorum=tuple(check_view(c) for c in t.quorum),
        quorum_met=t.quorum_met,
        passing=tuple(check_view(c) for c in t.passing),
        passed=t.passed,
    )


def ballot_view(b: Ballot) -> BallotView:
    choice = Choice(b.choice)
    return BallotView(
        ballot_id=b.id,
        vote_id=b.vote_id,
        elector_id=b.elector_id,
        choice=choice.value,
        choice_label=(choice.label("zh"), choice.label("en")),
        channel=b.channel,
        channel_label=BALLOT_CHANNELS.get(b.channel, (b.channel, b.channel)),
        receipt=b.receipt,
        changes=b.changes,
        cast_at=b.modified_on,
    )


def vote_view(v: Vote) -> VoteView:
    rs = v.rules
    return VoteView(
        id=v.id,
        case_id=v.case_id,
        estate_id=v.estate_id,
        item_id=v.item_id,
        title=v.title,
        state=v.state,
        opened_at=v.created_on,
        closes_at=v.closes_at,
        original_closes_at=v.original_closes_at,
        extended=v.extended,
        closed_at=v.closed_at,
        change_allowed=v.change_allowed,
        proxy_cap=v.proxy_cap,
        proxies={k: dict(p) for k, p in v.proxies.items()},
        tellers=tuple(v.tellers),
        rule_set_id=v.rule_set_id,
        rule_name=(rs.name("zh"), rs.name("en")),
        rule_description=(tuple(rs.describe("zh")), tuple(rs.describe("en"))),
        electorate_kind=str(v.electorate.get("kind", "")),
        result=dict(v.result) if v.result else None,
    )


class VoteQueries(QueryBase):
    """Vote queries over the views."""

    def vote_tally(self, vote_id: UUID) -> VoteTally:
        """The live tally from the counters: O(buildings), whatever the number of ballots."""
        with self.store.read() as conn:
            row = conn.execute(_VOTE, {"vote_id": vote_id.hex}).mappings().first()
            if row is None:
                raise NotFoundError(
                    field="vote_id", kind="表决", kind_en="vote", ident=str(vote_id)
                )
            position = self._position(conn, "tallies")
        rs = rule_set(row["rule_set_id"])
        options = CountingOptions.from_dict(json.loads(row["options"]))
        result = result_from_counters(
            rs,
            options,
            _counters(row),
            building_counts_from_json(rs.uses_area, row["buildings"]),
            (row["households_participating"], row["total_households"]),
        )
        return VoteTally(
            vote_id=vote_id,
            case_id=_id(row["case_id"]),
            estate_id=_id(row["estate_id"]),
            item_id=row["item_id"],
            title=row["title"],
            state=row["state"],
            opened_at=moment(row["opened_at"]),
            closes_at=moment(row["closes_at"]),
            closed_at=maybe_moment(row["closed_at"]),
            extended=bool(row["extended"]),
            result=result,
            quorum=tuple(quorum_progress(c) for c in result.raw.quorum),
            recorded_passed=None if row["result_passed"] is None else bool(row["result_passed"]),
            proxies=row["proxies"],
            late_ballots=row["late_ballots"],
            position=position,
            final=row["state"] == VoteState.CLOSED.value,
        )

    def ballot(self, vote_id: UUID, elector_id: str) -> BallotStatus | None:
        """An elector's ballot as counted (None when the elector has not voted)."""
        t, v = view_ballot_event.c, view_vote.c
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    sa.select(view_ballot_event)
                    .join(view_vote, v.opened_position == t.vote_position)
                    .where(v.vote_id == vote_id.hex, t.elector_id == elector_id)
                    .order_by(t.position)
                )
                .mappings()
                .all()
            )
        if not rows:
            return None
        counted = [r for r in rows if r["counted"]]
        last = rows[-1]
        return BallotStatus(
            vote_id=vote_id,
            elector_id=elector_id,
            choice=Choice(counted[-1]["choice"]) if counted else None,
            counted=bool(counted),
            changed=len(rows) > 1,
            channel=last["channel"],
            at=moment(last["at"]),
            position=last["position"],
        )

    def votes(self, case_id: UUID) -> tuple[VoteTally, ...]:
        with self.store.read() as conn:
            ids = (
                conn.execute(
                    sa.select(view_vote.c.vote_id)
                    .where(view_vote.c.case_id == case_id.hex)
                    .order_by(view_vote.c.opened_at)
                )
                .scalars()
                .all()
            )
        return tuple(self.vote_tally(_id(v)) for v in ids)

    def tally_as_of(self, vote_id: UUID, at: datetime) -> TallyAsOf:
        """The tally as it stood at ``at``: the ballot events recorded (event time) by then, counted
        under the vote's rules against its frozen electorate (read from the event store)."""
        app = self._app()
        t = view_ballot_event.c
        with self.store.read() as conn:
            found = conn.execute(
                sa.select(view_vote.c.opened_at, view_vote.c.opened_position).where(
                    view_vote.c.vote_id == vote_id.hex
                )
            ).first()
            if found is None:
                raise NotFoundError(
                    field="vote_id", kind="表决", kind_en="vote", ident=str(vote_id)
                )
            opened, opened_position = found
            if micros(at) < opened:
                raise NotFoundError(
                    field="at",
                    kind="该时间的表决",
                    kind_en="vote at that time",
                    ident=at.isoformat(),
                )
            rows = conn.execute(
                sa.select(t.elector_id, t.choice)
                .where(t.vote_position == opened_position, t.counted, t.at <= micros(at))
                .order_by(t.position)
            ).all()
        ballots = {elector: Choice(choice) for elector, choice in rows}  # the latest event wins
        vote = app.vote(vote_id)
        electorate = app.electorate(vote)
        result = tally(vote.rules, electorate.electors, ballots, vote.options)
        final = vote.closed_at is not None and vote.closed_at <= at
        return TallyAsOf(vote_id, at, result, len(ballots), final)
