"""The one seam through which every page and endpoint reads.

Views never touch aggregates or SQL: they call a :class:`Reads`. :class:`ProjectionReads` answers
figures (lists, tallies, motion progress, evaluation rates, the past as of a moment) from the
projections and single records from the event store, through its base :class:`DomainReads`;
:func:`make_reads` builds it. Everything returned is a frozen dataclass of plain values.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.utils import get_topic

from consult.application import ConsultationApp
from consult.bodies import COUNCIL_NAMES, PARTY_NAMES, CouncilKind, Estate, council_id
from consult.case import CHANNELS, STAGE_NAMES, TERMINAL, Case, Stage
from consult.errors import ConsultError, NotFoundError
from consult.evaluation import RATING_NAMES, Rating, conclusive, evaluation_id
from consult.motion import MOTION_STATE_NAMES, MotionState
from consult.rules import Choice, ThresholdCheck, VoteResult
from consult.settings import ROUTE_NAMES
from consult.vote import (
    BALLOT_CHANNELS,
    Ballot,
    PaperEntry,
    VoteState,
    ballot_id,
    paper_entry_id,
)

logger = logging.getLogger(__name__)

Pair = tuple[str, str]
T = TypeVar("T")


# --- what reads return --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class EstateView:
    id: UUID
    code: str
    name: str
    owners_committee: tuple[str, ...]
    acting: bool
    property_company: str | None
    councils: tuple[UUID, ...]


@dataclass(frozen=True)
class CaseRow:
    id: UUID
    estate_id: UUID
    title: str
    stage: Stage
    channel: str
    submitted_by: str
    created_at: datetime
    updated_at: datetime
    motion_id: UUID | None
    tabled: bool
    answer_due: datetime | None
    escalated: bool

    @property
    def stage_name(self) -> Pair:
        return STAGE_NAMES[self.stage]

    @property
    def terminal(self) -> bool:
        return self.stage in TERMINAL


@dataclass(frozen=True)
class CaseVote:
    vote_id: UUID
    item_id: str
    closed: bool
    passed: bool | None


@dataclass(frozen=True)
class CaseDetail(CaseRow):
    description: str
    version: int
    supporters: tuple[str, ...]
    route: str | None
    participants: tuple[str, ...]
    notice: dict[str, Any] | None
    earliest_start: datetime | None
    agenda: tuple[dict[str, Any], ...]
    sessions: tuple[dict[str, Any], ...]
    statements: tuple[dict[str, Any], ...]
    opinion: str | None
    votes: tuple[CaseVote, ...]
    result: dict[str, Any] | None
    result_due: datetime | None
    implementation: dict[str, Any] | None
    progress: tuple[dict[str, Any], ...]
    feedback: dict[str, Any] | None
    evaluation_rounds: int
    evaluation_open: bool
    evaluation_outcome: dict[str, Any] | None
    exit_reason: str | None

    @property
    def route_name(self) -> Pair | None:
        return ROUTE_NAMES.get(self.route) if self.route else None

    @property
    def channel_name(self) -> Pair:
        return CHANNELS.get(self.channel, (self.channel, self.channel))

    @property
    def notice_elapsed_at(self) -> datetime | None:
        return self.earliest_start

    @property
    def passed(self) -> bool | None:
        if not self.votes:
            return None
        return all(v.passed for v in self.votes)


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
class TallyView:
    vote_id: UUID
    final: bool  # the vote is closed: these are the counted figures
    rule_name: Pair
    rule_source: Pair
    options_text: tuple[tuple[str, ...], tuple[str, ...]]
    raw: TallyPart
    deemed: TallyPart | None
    passed: bool
    silent_majority: Pair
    uses_area: bool


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
class MotionView:
    id: UUID
    case_id: UUID
    estate_id: UUID
    title: str
    state: MotionState
    state_name: Pair
    rule_name: Pair
    rule_source: Pair
    effect: Pair
    basis: str
    pct: Fraction
    withdrawable: bool
    answer_days: int
    opened_at: datetime
    closes_at: datetime
    tabled_at: datetime | None
    roll_version: int
    heads: CheckView
    area: CheckView
    reached: bool
    heads_needed: int
    heads_missing: int
    area_needed: Decimal
    area_missing: Decimal
    signed_heads: int
    signed_area: Decimal
    total_heads: int
    total_area: Decimal

    @property
    def open(self) -> bool:
        return self.state == MotionState.OPEN


@dataclass(frozen=True)
class HeadSignature:
    head_id: str
    units: tuple[str, ...]
    signed: bool


@dataclass(frozen=True)
class EvaluationView:
    case_id: UUID
    round_no: int
    eligible: int
    respondents: int
    closes_at: datetime
    closed: bool
    awareness: Fraction | None
    participation: Fraction | None
    satisfaction: Fraction | None
    response: Fraction | None
    counts: tuple[tuple[str, Pair, int], ...]
    rated_by_me: bool
    # The decision rule shown with the result: the minimum number of answers to decide on the
    # rates, whether this round has them, and the satisfaction threshold.
    min_responses: int = 0
    conclusive: bool = False
    threshold: Fraction | None = None


@dataclass(frozen=True)
class PaperEntryView:
    elector_id: str
    sheet_no: str
    state: str
    first_teller: str


@dataclass(frozen=True)
class CouncilView:
    id: UUID
    kind: str
    name: Pair
    seats: tuple[tuple[str, Pair, tuple[str, ...]], ...]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    stream: str  # case, vote, ballot, paper, motion, evaluation
    stream_id: UUID
    version: int
    event: str
    actor: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResultRow:
    case_id: UUID
    case_title: str
    estate_id: UUID
    vote_id: UUID
    item_id: str
    title: str
    state: str
    closed_at: datetime | None
    rule_set_id: str
    participating_heads: int
    participating_area: Decimal | None
    yes_heads: int
    yes_area: Decimal | None
    no_heads: int
    abstain_heads: int
    total_heads: int
    total_area: Decimal | None
    quorum_met: bool
    passed: bool


class Reads(Protocol):
    def wait(self, position: int, timeout: float = 5.0) -> None: ...
    def estates(self) -> list[EstateView]: ...
    def estate(self, estate_id: UUID) -> EstateView: ...
    def cases(
        self,
        estate_id: UUID | None = None,
        stage: Stage | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[CaseRow]: ...
    def case(self, case_id: UUID) -> CaseDetail: ...
    def vote(self, vote_id: UUID) -> VoteView: ...
    def tally(self, vote_id: UUID) -> TallyView: ...
    def motion(self, motion_id: UUID) -> MotionView: ...
    def ballot(self, vote_id: UUID, elector_id: str) -> BallotView | None: ...
    def electors_for(self, vote_id: UUID, person_id: str) -> list[ElectorOption]: ...
    def motion_heads(self, motion_id: UUID, person_id: str) -> list[HeadSignature]: ...
    def evaluation(self, case_id: UUID, person_id: str | None = None) -> EvaluationView | None: ...
    def paper_entries(self, vote_id: UUID) -> list[PaperEntryView]: ...
    def council(self, estate_id: UUID) -> CouncilView | None: ...
    def timeline(self, case_id: UUID) -> list[TimelineEntry]: ...
    def case_as_of(self, case_id: UUID, moment: datetime) -> CaseDetail | None: ...
    def tally_as_of(self, vote_id: UUID, moment: datetime) -> TallyView | None: ...
    def results(
        self, estate_id: UUID | None = None, case_id: UUID | None = None
    ) -> list[ResultRow]: ...
    def vote_electors(self, vote_id: UUID) -> list[ElectorRef]: ...
    def chain_status(self) -> dict[str, Any] | None: ...
    def access_log(self, limit: int = 200) -> list[TimelineEntry]: ...


# --- conversions --------------------------------------------------------------------------------


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


def tally_view(vote_id: UUID, result: VoteResult, final: bool) -> TallyView:
    rs = result.rule_set
    return TallyView(
        vote_id=vote_id,
        final=final,
        rule_name=(rs.name("zh"), rs.name("en")),
        rule_source=(rs.source("zh"), rs.source("en")),
        options_text=(tuple(result.options.describe("zh")), tuple(result.options.describe("en"))),
        raw=_part(result.raw),
        deemed=None if result.deemed is None else _part(result.deemed),
        passed=result.passed,
        silent_majority=(result.silent_majority.label("zh"), result.silent_majority.label("en")),
        uses_area=result.raw.total.area is not None,
    )


def plain(value: Any) -> Any:
    """A JSON-safe copy of an event field."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | Fraction):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


_EVENT_META = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "reason",
    "originator_topic",
}


def _case_detail(case: Case) -> CaseDetail:
    return CaseDetail(
        id=case.id,
        estate_id=case.estate_id,
        title=case.title,
        stage=case.stage,
        channel=case.channel,
        submitted_by=case.submitted_by,
        created_at=case.created_on,
        updated_at=case.modified_on,
        motion_id=case.motion_id,
        tabled=case.tabled_by_motion,
        answer_due=case.answer_due,
        escalated=case.escalated,
        description=case.description,
        version=case.version,
        supporters=tuple(case.supporters),
        route=case.route,
        participants=tuple(case.participants),
        notice=dict(case.notice) if case.notice else None,
        earliest_start=case.earliest_start,
        agenda=tuple(dict(i) for i in case.agenda),
        sessions=tuple(dict(s) for s in case.sessions),
        statements=tuple(dict(s) for s in case.statements),
        opinion=case.opinion,
        votes=tuple(
            CaseVote(UUID(vid), v["item_id"], bool(v["closed"]), v["passed"])
            for vid, v in case.votes.items()
        ),
        result=dict(case.result) if case.result else None,
        result_due=case.result_due,
        implementation=dict(case.implementation) if case.implementation else None,
        progress=tuple(dict(p) for p in case.progress),
        feedback=dict(case.feedback) if case.feedback else None,
        evaluation_rounds=case.evaluation_rounds,
        evaluation_open=case.evaluation_open,
        evaluation_outcome=dict(case.evaluation_outcome) if case.evaluation_outcome else None,
        exit_reason=case.exit_reason,
    )


def _ballot_view(b: Ballot) -> BallotView:
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


# --- the interim implementation on the application service -------------------------------------


class DomainReads:
    """Single records read from the event store (a case's materials, a vote, one ballot's receipt,
    the auditors' event timeline), one aggregate at a time."""

    def __init__(self, app: ConsultationApp) -> None:
        self.app = app

    def wait(self, position: int, timeout: float = 5.0) -> None:
        return None  # the aggregates are the source: always up to date

    # lists from the notification log, filtered by event topic
    def _ids(self, topic: str) -> Iterator[UUID]:
        position: int | None = None
        while True:
            batch = self.app.recorder.select_notifications(position, 1000, topics=[topic])
            for n in batch:
                yield UUID(str(n.originator_id))
            if len(batch) < 1000:
                return
            position = batch[-1].id + 1

    def _get(self, cls: type[T], aggregate_id: UUID, kind: Pair) -> T:
        return self.app._get(cls, aggregate_id, kind[0], kind[1])

    def estates(self) -> list[EstateView]:
        return [self.estate(i) for i in self._ids(get_topic(Estate.Created))]

    def estate(self, estate_id: UUID) -> EstateView:
        e = self.app.estate(estate_id)
        councils = tuple(
            cid for kind in CouncilKind if self.app.exists(cid := council_id(estate_id, kind.value))
        )
        return EstateView(
            id=e.id,
            code=e.code,
            name=e.name,
            owners_committee=tuple(e.owners_committee),
            acting=e.acting is not None,
            property_company=e.property_company,
            councils=councils,
        )

    def cases(
        self,
        estate_id: UUID | None = None,
        stage: Stage | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[CaseRow]:
        rows: list[CaseRow] = []
        for cid in self._ids(get_topic(Case.Created)):
            c = _case_detail(self.app.case(cid))
            if (estate_id is None or c.estate_id == estate_id) and (
                stage is None or c.stage == stage
            ):
                rows.append(c)
        rows.sort(key=lambda r: r.updated_at, reverse=True)
        start = (max(page, 1) - 1) * per_page
        return Page(tuple(rows[start : start + per_page]), max(page, 1), per_page, len(rows))

    def case(self, case_id: UUID) -> CaseDetail:
        return _case_detail(self.app.case(case_id))

    def vote(self, vote_id: UUID) -> VoteView:
        v = self.app.vote(vote_id)
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

    def ballot(self, vote_id: UUID, elector_id: str) -> BallotView | None:
        try:
            b = self._get(Ballot, ballot_id(vote_id, elector_id), ("选票", "ballot"))
        except NotFoundError:
            return None
        return _ballot_view(b)

    def electors_for(self, vote_id: UUID, person_id: str) -> list[ElectorOption]:
        vote = self.app.vote(vote_id)
        electorate = self.app.electorate(vote)
        own = [(e, "own") for e in electorate.electors_of(person_id)]
        proxied = [(p, "proxy") for p, v in vote.proxies.items() if v["holder"] == person_id]
        out = []
        for elector, via in own + proxied:
            head = electorate.heads.get(elector)
            out.append(
                ElectorOption(
                    elector_id=elector,
                    via=via,
                    units=tuple(head.unit_ids) if head is not None else (),
                    area=head.area if head is not None else None,
                    ballot=self.ballot(vote_id, elector),
                )
            )
        return out

    def vote_electors(self, vote_id: UUID) -> list[ElectorRef]:
        vote = self.app.vote(vote_id)
        electorate = self.app.electorate(vote)
        return [
            ElectorRef(
                e.elector_id,
                tuple(electorate.heads[e.elector_id].unit_ids)
                if e.elector_id in electorate.heads
                else (),
            )
            for e in electorate.electors
        ]

    def motion_heads(self, motion_id: UUID, person_id: str) -> list[HeadSignature]:
        m = self.app.motion(motion_id)
        electorate = self.app.owners_electorate(m.estate_id, m.roll_version)
        return [
            HeadSignature(h, tuple(electorate.heads[h].unit_ids), h in m.signed)
            for h in electorate.electors_of(person_id)
        ]

    def paper_entries(self, vote_id: UUID) -> list[PaperEntryView]:
        """The paper sheets entered for a vote (found by event topic: as many as there are sheets)."""
        out = []
        for pid in dict.fromkeys(self._ids(get_topic(PaperEntry.Created))):
            entry = self._get(PaperEntry, pid, ("纸质选票", "paper ballot"))
            if entry.vote_id == vote_id:
                out.append(
                    PaperEntryView(
                        entry.elector_id, entry.sheet_no, entry.state.value, entry.first_teller
                    )
                )
        return out

    def council(self, estate_id: UUID) -> CouncilView | None:
        for kind in (CouncilKind.SIX_PARTY, CouncilKind.FOUR_IN_ONE):
            cid = council_id(estate_id, kind.value)
            if self.app.exists(cid):
                c = self.app.council(cid)
                return CouncilView(
                    id=c.id,
                    kind=c.kind.value,
                    name=COUNCIL_NAMES[c.kind],
                    seats=tuple(
                        (p.value, PARTY_NAMES[p], tuple(c.seats.get(p.value, [])))
                        for p in c.parties
                    ),
                )
        return None

    # --- the timeline and the state at a moment -----------------------------------------------

    def _streams(self, case_id: UUID) -> list[tuple[str, UUID]]:
        case = self.app.case(case_id)
        streams: list[tuple[str, UUID]] = [("case", case_id)]
        if case.motion_id:
            streams.append(("motion", case.motion_id))
        for vid in case.votes:
            vote_id = UUID(vid)
            streams.append(("vote", vote_id))
            vote = self.app.vote(vote_id)
            for e in self.app.electorate(vote).electors:
                streams.append(("ballot", ballot_id(vote_id, e.elector_id)))
                streams.append(("paper", paper_entry_id(vote_id, e.elector_id)))
        for n in range(1, case.evaluation_rounds + 1):
            streams.append(("evaluation", evaluation_id(case_id, n)))
        return streams

    def _entries(self, stream: str, stream_id: UUID) -> Iterator[TimelineEntry]:
        for stored in self.app.recorder.select_events(stream_id):
            event: Any = self.app.mapper.to_domain_event(stored)
            data = {k: plain(v) for k, v in vars(event).items() if k not in _EVENT_META}
            name = type(event).__qualname__.split(".")[-1]
            yield TimelineEntry(
                at=event.timestamp,
                stream=stream,
                stream_id=stream_id,
                version=event.originator_version,
                event=name,
                actor=str(getattr(event, "actor", "")),
                reason=str(getattr(event, "reason", "")),
                data=data,
            )

    def timeline(self, case_id: UUID) -> list[TimelineEntry]:
        entries = [e for stream, sid in self._streams(case_id) for e in self._entries(stream, sid)]
        order = {"case": 0, "motion": 1, "vote": 2, "paper": 3, "ballot": 4, "evaluation": 5}
        entries.sort(key=lambda e: (e.at, order.get(e.stream, 9), e.version))
        return entries

    def chain_status(self) -> dict[str, Any] | None:
        return None  # the audit chain (consult.audit) is not installed yet

    def access_log(self, limit: int = 200) -> list[TimelineEntry]:
        from consult.access import AccessLog

        entries: list[TimelineEntry] = []
        ids = list(dict.fromkeys(self._ids(get_topic(AccessLog.Created))))
        for aid in ids:
            entries.extend(self._entries("access", aid))
        entries.sort(key=lambda e: e.at, reverse=True)
        return entries[:limit]


@dataclass(frozen=True)
class ChainView:
    ok: bool
    position: int
    unchained: int
    message: Pair
    checkpoint: str | None
    checkpoint_at: str | None
    qr: str | None


class ProjectionReads(DomainReads):
    """Figures from the projections: lists, live tallies, motion progress, evaluation rates, and
    the case and its tallies as of a moment (the case's version then is found in the timeline view,
    not by replaying its events). Single records come from the event store (:class:`DomainReads`),
    which is their source of truth."""

    def __init__(
        self, app: ConsultationApp, queries: Any, projector: Any = None, audit_store: Any = None
    ) -> None:
        super().__init__(app)
        self.queries = queries
        self.projector = projector
        self.audit_store = audit_store

    def wait(self, position: int, timeout: float = 5.0) -> None:
        from projections import ProjectionTimeoutError

        if self.projector is None:
            return
        try:
            self.projector.wait(position, timeout)
        except ProjectionTimeoutError:
            logger.warning(
                "read side has not reached position %s after %ss; showing it as it is",
                position,
                timeout,
            )

    def cases(
        self,
        estate_id: UUID | None = None,
        stage: Stage | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[CaseRow]:
        page, per_page = max(page, 1), max(per_page, 1)
        found = self.queries.case_page(
            estate_id=estate_id, stage=stage, limit=per_page, offset=(page - 1) * per_page
        )
        return Page(tuple(_case_row(r) for r in found.items), page, per_page, found.total)

    def tally(self, vote_id: UUID) -> TallyView:
        t = self.queries.vote_tally(vote_id)
        return tally_view(vote_id, t.result, t.state == VoteState.CLOSED.value)

    def motion(self, motion_id: UUID) -> MotionView:
        m = self.queries.motion_progress(motion_id)
        p = m.progress
        rule = m.rule
        return MotionView(
            id=m.motion_id,
            case_id=m.case_id,
            estate_id=m.estate_id,
            title=m.title,
            state=m.state,
            state_name=MOTION_STATE_NAMES[m.state],
            rule_name=(rule.name("zh"), rule.name("en")),
            rule_source=(rule.source("zh"), rule.source("en")),
            effect=(rule.effect.label("zh"), rule.effect.label("en")),
            basis=rule.basis.value,
            pct=rule.pct,
            withdrawable=rule.withdrawable,
            answer_days=rule.answer_days,
            opened_at=m.opened_at,
            closes_at=m.closes_at,
            tabled_at=m.tabled_at,
            roll_version=self.app.motion(motion_id).roll_version,
            heads=check_view(p.heads),
            area=check_view(p.area),
            reached=p.reached,
            heads_needed=p.heads_needed,
            heads_missing=p.heads_missing,
            area_needed=p.area_needed,
            area_missing=p.area_missing,
            signed_heads=m.signed_heads,
            signed_area=m.signed_area,
            total_heads=m.total_heads,
            total_area=m.total_area,
        )

    def evaluation(self, case_id: UUID, person_id: str | None = None) -> EvaluationView | None:
        s = self.queries.evaluation(case_id)
        if s is None:
            return None
        return EvaluationView(
            case_id=case_id,
            round_no=s.round_no,
            eligible=s.eligible,
            respondents=s.respondents,
            closes_at=s.closes_at,
            closed=s.closed,
            awareness=s.awareness,
            participation=s.participation,
            satisfaction=s.satisfaction,
            response=s.response,
            counts=tuple((r.value, RATING_NAMES[r], s.counts.get(r.value, 0)) for r in Rating),
            rated_by_me=person_id is not None
            and self.queries.has_rated(case_id, s.evaluation_id, person_id),
            **self._rate_rule(case_id, s.round_no, s.respondents, s.eligible),
        )

    def _rate_rule(
        self, case_id: UUID, round_no: int, respondents: int, eligible: int
    ) -> dict[str, Any]:
        """The minimum and threshold a round is (or was, once closed) decided under."""
        case = self.app.case(case_id)
        outcome = case.evaluation_outcome or {}
        if not case.evaluation_open and round_no == case.evaluation_rounds and outcome:
            minimum = int(outcome.get("min_responses", 1))  # rounds closed before the minimum
            threshold = Fraction(str(outcome.get("threshold", "2/3")))
        else:
            settings = self.app.estate(case.estate_id).settings
            minimum, threshold = settings.evaluation_min_responses, settings.satisfaction_threshold
        return {
            "min_responses": minimum,
            "conclusive": conclusive(respondents, eligible, minimum),
            "threshold": threshold,
        }

    def case_as_of(self, case_id: UUID, moment: datetime) -> CaseDetail | None:
        found = self.queries.case_version_at(case_id, moment)
        if found is None:
            return None
        return _case_detail(self.app.case(case_id, found[0]))

    def tally_as_of(self, vote_id: UUID, moment: datetime) -> TallyView | None:
        try:
            t = self.queries.tally_as_of(vote_id, moment)
        except NotFoundError:
            return None
        vote = self.app.vote(vote_id)
        final = vote.closed_at is not None and vote.closed_at <= moment
        return tally_view(vote_id, t.result, final)

    def results(
        self, estate_id: UUID | None = None, case_id: UUID | None = None
    ) -> list[ResultRow]:
        case_ids = (
            [case_id]
            if case_id
            else [r.id for r in self.cases(estate_id, per_page=1_000_000).items]
        )
        rows = []
        for cid in case_ids:
            case = self.app.case(cid)
            for vid in case.votes:
                vote = self.vote(UUID(vid))
                t = self.tally(vote.id).raw
                by = {c.choice: c for c in t.by_choice}
                zero = ChoiceCount("", ("", ""), 0, None)
                rows.append(
                    ResultRow(
                        case_id=cid,
                        case_title=case.title,
                        estate_id=case.estate_id,
                        vote_id=vote.id,
                        item_id=vote.item_id,
                        title=vote.title,
                        state=vote.state.value,
                        closed_at=vote.closed_at,
                        rule_set_id=vote.rule_set_id,
                        participating_heads=t.participating.heads,
                        participating_area=t.participating.area,
                        yes_heads=by.get("yes", zero).heads,
                        yes_area=by.get("yes", zero).area,
                        no_heads=by.get("no", zero).heads,
                        abstain_heads=by.get("abstain", zero).heads,
                        total_heads=t.total.heads,
                        total_area=t.total.area,
                        quorum_met=t.quorum_met,
                        passed=t.passed,
                    )
                )
        return rows

    def chain_status(self) -> dict[str, Any] | None:
        if self.audit_store is None:
            return None
        from consult.audit import chain_status, checkpoint_svg

        try:
            status = chain_status(self.audit_store)
        except (ConsultError, sqlite3.Error, psycopg.Error):  # shown as "status unavailable"
            logger.exception("the audit chain's status could not be read")
            return None
        cp = status.latest_checkpoint
        return {
            "ok": status.intact,
            "position": status.chained_to,
            "unchained": status.unchained,
            "message": (status.message("zh"), status.message("en")),
            "checkpoint": cp.head if cp else None,
            "checkpoint_at": cp.time if cp else None,
            "checkpoint_position": cp.position if cp else None,
            "qr": checkpoint_svg(cp) if cp else None,
        }


def _case_row(s: Any) -> CaseRow:
    return CaseRow(
        id=s.case_id,
        estate_id=s.estate_id,
        title=s.title,
        stage=s.stage,
        channel=s.channel,
        submitted_by=s.submitted_by,
        created_at=s.submitted_at,
        updated_at=s.updated_at,
        motion_id=s.motion_id,
        tabled=s.tabled,
        answer_due=s.answer_due,
        escalated=s.escalated,
    )


def make_reads(app: ConsultationApp, projector: Any, queries: Any, audit_store: Any) -> Reads:
    """Reads backed by the projections the bootstrap built (:mod:`entrypoints.bootstrap`), with
    the audit chain's status where its store could be opened (else ``audit_store`` is None)."""
    return ProjectionReads(app, queries, projector, audit_store)
