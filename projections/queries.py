"""The read API: typed queries over the views, each returning frozen dataclasses.

Every figure comes from the view tables (one consistent snapshot per query), never from replaying
aggregates, except the "as of a moment" queries, which say below how they find the past.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from consult.bodies import PARTY_NAMES, Party
from consult.case import POSITIONS, STAGE_NAMES, TERMINAL, Stage
from consult.clock import Clock, SystemClock
from consult.errors import NotFoundError
from consult.motion import MotionState
from consult.registers import roll_id
from consult.roll import HeadRules, RollSummary, Unit, summarize
from consult.rules import (
    Choice,
    Comparison,
    CountingOptions,
    MotionProgress,
    RuleSet,
    Threshold,
    ThresholdCheck,
    ThresholdRule,
    VoteResult,
    rule_set,
    tally,
)
from projections.counting import Counters, building_counts_from_json, result_from_counters
from projections.db import ViewStore, area, maybe_moment, micros, moment, tracking
from projections.views.cases import (
    case_row,
    view_case,
    view_estate,
    view_evaluation,
    view_jurisdiction,
)
from projections.views.councils import view_council_seat, view_session, view_session_position
from projections.views.motions import view_motion
from projections.views.rolls import view_roll_version
from projections.views.tallies import COUNTERS, view_ballot_event, view_vote
from projections.views.timeline import view_case_event

if TYPE_CHECKING:
    from consult.application import ConsultationApp

DAY = timedelta(days=1)
Row = Mapping[Any, Any]  # a result row by column name


def _id(hex_id: str) -> UUID:
    return UUID(hex_id)


def _maybe_id(hex_id: str | None) -> UUID | None:
    return None if hex_id is None else UUID(hex_id)


def _ratio(part: int | Decimal, whole: int | Decimal) -> Fraction | None:
    return Fraction(part) / Fraction(whole) if whole else None


# --- votes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuorumProgress:
    """How far one quorum check is from its threshold: ``needed`` is the smallest participating
    count (heads) or area (m², to 0.01) that meets it, ``missing`` what is still lacking."""

    check: ThresholdCheck
    needed: int | Decimal
    missing: int | Decimal


@dataclass(frozen=True)
class VoteTally:
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

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def rule_set(self) -> RuleSet:
        return self.result.rule_set


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
class TallyAsOf:
    vote_id: UUID
    moment: datetime
    result: VoteResult
    ballots: int  # ballots counted at that moment


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


# --- motions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionStatus:
    motion_id: UUID
    case_id: UUID
    estate_id: UUID
    title: str
    rule: ThresholdRule
    state: MotionState
    signed_heads: int
    signed_area: Decimal
    total_heads: int
    total_area: Decimal
    progress: MotionProgress  # signatures against the threshold on each basis
    opened_at: datetime
    closes_at: datetime
    days_left: int | None  # whole days left to sign while open (0 on the last day)
    tabled_at: datetime | None
    lapsed_at: datetime | None
    answer_due: datetime | None
    answered_at: datetime | None
    escalated_at: datetime | None
    position: int


# --- cases and timelines ----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSummary:
    case_id: UUID
    estate_id: UUID
    title: str
    channel: str
    stage: Stage
    route: str | None
    motion_id: UUID | None
    submitted_by: str
    submitted_at: datetime
    updated_at: datetime
    version: int
    supporters: int
    tabled: bool
    answer_due: datetime | None
    escalated: bool
    meeting_at: datetime | None
    earliest_start: datetime | None
    result_due: datetime | None
    implementation_due: datetime | None
    assignee: str | None
    progress: int | None
    votes: int
    passed: bool | None
    evaluation_rounds: int
    evaluation_open: bool
    exit_reason: str | None

    @property
    def stage_zh(self) -> str:
        return STAGE_NAMES[self.stage][0]

    @property
    def stage_en(self) -> str:
        return STAGE_NAMES[self.stage][1]


@dataclass(frozen=True)
class CasePage:
    """One page of cases and how many match the filters (counted in the same snapshot)."""

    items: tuple[CaseSummary, ...]
    total: int
    limit: int
    offset: int


def _case_query(
    estate_id: UUID | None,
    stage: Stage | str | None,
    community_id: UUID | None,
    street_id: UUID | None,
) -> sa.Select[Any]:
    """The cases in a place (estate, community or street) and stage, unordered."""
    c, e = view_case.c, view_estate.c
    query = sa.select(view_case).join(view_estate, e.estate_id == c.estate_id)
    if estate_id is not None:
        query = query.where(c.estate_id == estate_id.hex)
    if community_id is not None:
        query = query.where(e.community_id == community_id.hex)
    if street_id is not None:
        query = query.where(e.street_id == street_id.hex)
    if stage is not None:
        query = query.where(c.stage == Stage(stage).value)
    return query


def _case_summary(row: Row) -> CaseSummary:
    return CaseSummary(
        case_id=_id(row["case_id"]),
        estate_id=_id(row["estate_id"]),
        title=row["title"],
        channel=row["channel"],
        stage=Stage(row["stage"]),
        route=row["route"],
        motion_id=_maybe_id(row["motion_id"]),
        submitted_by=row["submitted_by"],
        submitted_at=moment(row["submitted_at"]),
        updated_at=moment(row["updated_at"]),
        version=row["version"],
        supporters=row["supporters"],
        tabled=bool(row["tabled"]),
        answer_due=maybe_moment(row["answer_due"]),
        escalated=bool(row["escalated"]),
        meeting_at=maybe_moment(row["meeting_at"]),
        earliest_start=maybe_moment(row["earliest_start"]),
        result_due=maybe_moment(row["result_due"]),
        implementation_due=maybe_moment(row["implementation_due"]),
        assignee=row["assignee"],
        progress=row["progress"],
        votes=row["votes"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        evaluation_rounds=row["evaluation_rounds"],
        evaluation_open=bool(row["evaluation_open"]),
        exit_reason=row["exit_reason"],
    )


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    at: datetime
    kind: str  # case / vote / motion / evaluation
    aggregate_id: UUID
    version: int
    event: str
    actor: str
    reason: str
    summary_zh: str
    summary_en: str


@dataclass(frozen=True)
class CaseTimeline:
    case_id: UUID
    entries: tuple[TimelineEntry, ...]
    position: int


@dataclass(frozen=True)
class CaseAsOf:
    """The case as it stood at ``moment``: its state after event ``version`` (recorded at ``at``)."""

    moment: datetime
    version: int
    at: datetime
    case: CaseSummary


# --- councils ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyPosition:
    party: str
    name_zh: str
    name_en: str
    position: str | None  # agree / disagree / reserve / absent; None when not recorded
    position_zh: str
    position_en: str
    text: str
    holders: tuple[str, ...]


@dataclass(frozen=True)
class SessionPositions:
    seq: int
    kind: str
    council_id: UUID | None
    held_at: datetime
    recorded_by: str
    consensus: bool | None  # every party of the council agreed; None without a council
    positions: tuple[PartyPosition, ...]
    dissent: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class CouncilPositions:
    case_id: UUID
    sessions: tuple[SessionPositions, ...]
    consensus: bool | None  # of the latest council session; None when none was held
    position: int

    @property
    def latest(self) -> SessionPositions | None:
        councils = [s for s in self.sessions if s.council_id is not None]
        return councils[-1] if councils else None


# --- dashboards -------------------------------------------------------------------------------


class Scope(StrEnum):
    ESTATE = "estate"
    COMMUNITY = "community"
    STREET = "street"


class DeadlineKind(StrEnum):
    NOTICE = "notice"  # the announced meeting time passed and nothing was deliberated
    ANSWER = "answer"  # a tabled motion's topic was not answered in time
    ESCALATION = "escalation"  # escalated to the street, still unanswered
    RESULT = "result"  # a vote concluded but its result was not published in time
    IMPLEMENTATION = "implementation"  # implementation past its due date


DEADLINE_NAMES: dict[DeadlineKind, tuple[str, str]] = {
    DeadlineKind.NOTICE: ("公示的会议时间已过", "meeting time passed"),
    DeadlineKind.ANSWER: ("动议议题逾期未答复", "motion topic not answered"),
    DeadlineKind.ESCALATION: ("已报街道待处理", "escalated to the street"),
    DeadlineKind.RESULT: ("表决结果逾期未公示", "vote result not published"),
    DeadlineKind.IMPLEMENTATION: ("实施逾期", "implementation overdue"),
}


@dataclass(frozen=True)
class Deadline:
    case_id: UUID
    estate_id: UUID
    title: str
    kind: DeadlineKind
    due: datetime
    overdue_by: timedelta


@dataclass(frozen=True)
class Turnout:
    vote_id: UUID
    case_id: UUID
    title: str
    state: str
    participating_heads: int
    total_heads: int
    participating_area: Decimal
    total_area: Decimal
    heads_rate: Fraction | None
    area_rate: Fraction | None


@dataclass(frozen=True)
class Satisfaction:
    evaluation_id: UUID
    case_id: UUID
    round_no: int
    closed: bool
    closes_at: datetime
    eligible: int
    respondents: int
    counts: Mapping[str, int]  # per rating
    satisfaction: Fraction | None  # (satisfied + basically satisfied) / respondents
    awareness: Fraction | None
    participation: Fraction | None
    response: Fraction | None


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    scope_id: UUID
    name: str
    now: datetime
    cases_by_stage: Mapping[Stage, int]
    open_cases: int
    overdue: tuple[Deadline, ...]
    turnout: tuple[Turnout, ...]
    satisfaction: tuple[Satisfaction, ...]
    position: int

    @property
    def total_cases(self) -> int:
        return sum(self.cases_by_stage.values())


# --- rolls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollAsOf:
    estate_id: UUID
    moment: datetime
    version: int
    at: datetime  # when that version was recorded
    summary: RollSummary
    head_rules: HeadRules
    units: tuple[Unit, ...]


# The tally's statements, built once (a query then only binds its vote).
_POSITION = sa.select(tracking.c.position).where(tracking.c.name == sa.bindparam("name"))
_VOTE = sa.select(view_vote).where(view_vote.c.vote_id == sa.bindparam("vote_id"))


class Queries:
    """Queries over the views of one store. ``app`` is needed only by the as-of queries."""

    def __init__(
        self, store: ViewStore, app: ConsultationApp | None = None, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.app = app
        self.clock: Clock = clock or (app.clock if app is not None else SystemClock())

    def _position(self, conn: Connection, name: str) -> int:
        value = conn.execute(_POSITION, {"name": name}).scalar()
        return int(value or 0)

    def _app(self) -> ConsultationApp:
        if self.app is None:
            raise RuntimeError(
                "this query reads the event store: build Queries with the application"
            )
        return self.app

    # --- votes -----------------------------------------------------------------------------------

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
        return TallyAsOf(
            vote_id, at, tally(vote.rules, electorate.electors, ballots, vote.options), len(ballots)
        )

    # --- motions ---------------------------------------------------------------------------------

    def motion_progress(self, motion_id: UUID, now: datetime | None = None) -> MotionStatus:
        with self.store.read() as conn:
            row = (
                conn.execute(sa.select(view_motion).where(view_motion.c.motion_id == motion_id.hex))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(
                    field="motion_id", kind="动议", kind_en="motion", ident=str(motion_id)
                )
            position = self._position(conn, "motions")
        return _motion_status(row, now or self.clock.now(), position)

    def motions(self, estate_id: UUID, now: datetime | None = None) -> tuple[MotionStatus, ...]:
        m = view_motion.c
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    sa.select(view_motion).where(m.estate_id == estate_id.hex).order_by(m.opened_at)
                )
                .mappings()
                .all()
            )
            position = self._position(conn, "motions")
        when = now or self.clock.now()
        return tuple(_motion_status(r, when, position) for r in rows)

    # --- cases -----------------------------------------------------------------------------------

    def case(self, case_id: UUID) -> CaseSummary:
        with self.store.read() as conn:
            row = (
                conn.execute(sa.select(view_case).where(view_case.c.case_id == case_id.hex))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(
                field="case_id", kind="协商事项", kind_en="case", ident=str(case_id)
            )
        return _case_summary(row)

    def cases(
        self,
        estate_id: UUID | None = None,
        stage: Stage | str | None = None,
        community_id: UUID | None = None,
        street_id: UUID | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[CaseSummary, ...]:
        """Cases, newest first, filtered by place and stage."""
        query = _case_query(estate_id, stage, community_id, street_id)
        with self.store.read() as conn:
            return self._case_rows(conn, query, limit, offset)

    def case_page(
        self,
        estate_id: UUID | None = None,
        stage: Stage | str | None = None,
        community_id: UUID | None = None,
        street_id: UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CasePage:
        """One page of cases, newest first, filtered by place and stage, and how many cases the
        filters match: paged and counted in SQL, in one snapshot, so only the page's rows are
        read."""
        query = _case_query(estate_id, stage, community_id, street_id)
        with self.store.read() as conn:
            items = self._case_rows(conn, query, limit, offset)
            if offset == 0 and len(items) < limit:
                total = len(items)  # the whole list is on this page
            else:
                counted = sa.select(sa.func.count()).select_from(query.subquery())
                total = conn.execute(counted).scalar_one()
        return CasePage(items, total, limit, offset)

    @staticmethod
    def _case_rows(
        conn: Connection, query: sa.Select[Any], limit: int, offset: int
    ) -> tuple[CaseSummary, ...]:
        if limit < 1 or offset < 0:
            raise ValueError(f"a page needs limit >= 1 and offset >= 0, not {limit} and {offset}")
        c = view_case.c
        paged = query.order_by(c.submitted_at.desc(), c.case_id).limit(limit).offset(offset)
        return tuple(_case_summary(r) for r in conn.execute(paged).mappings())

    def case_timeline(self, case_id: UUID) -> CaseTimeline:
        t = view_case_event.c
        with self.store.read() as conn:
            rows = (
                conn.execute(
                    sa.select(view_case_event).where(t.case_id == case_id.hex).order_by(t.position)
                )
                .mappings()
                .all()
            )
            position = self._position(conn, "timeline")
        if not rows:
            raise NotFoundError(
                field="case_id", kind="协商事项", kind_en="case", ident=str(case_id)
            )
        entries = tuple(
            TimelineEntry(
                position=r["position"],
                at=moment(r["at"]),
                kind=r["kind"],
                aggregate_id=_id(r["aggregate_id"]),
                version=r["version"],
                event=r["event"],
                actor=r["actor"],
                reason=r["reason"],
                summary_zh=r["summary_zh"],
                summary_en=r["summary_en"],
            )
            for r in rows
        )
        return CaseTimeline(case_id, entries, position)

    def case_version_at(self, case_id: UUID, at: datetime) -> tuple[int, datetime] | None:
        """The case's last version recorded by ``at`` (event time) and when it was recorded;
        None before the case was submitted."""
        t = view_case_event.c
        with self.store.read() as conn:
            versions = conn.execute(
                sa.select(t.version, t.at)
                .where(t.case_id == case_id.hex, t.aggregate_id == case_id.hex)
                .order_by(t.version)
            ).all()
        found = _last_by(versions, micros(at))
        return None if found is None else (found[0], moment(found[1]))

    def case_as_of(self, case_id: UUID, at: datetime) -> CaseAsOf:
        """The case as it stood at ``at``: the timeline gives the last version recorded by then
        (event time), and the case is read from the event store at that version."""
        app = self._app()
        found = self.case_version_at(case_id, at)
        if found is None:
            raise NotFoundError(
                field="at",
                kind="该时间的协商事项",
                kind_en="case at that time",
                ident=at.isoformat(),
            )
        version, recorded = found
        case = app.case(case_id, version=version)
        return CaseAsOf(at, version, recorded, _case_summary(case_row(case)))

    # --- evaluations -----------------------------------------------------------------------------

    def evaluation(self, case_id: UUID) -> Satisfaction | None:
        """The case's latest evaluation round (None before one is opened)."""
        ev = view_evaluation.c
        with self.store.read() as conn:
            row = (
                conn.execute(
                    sa.select(view_evaluation)
                    .where(ev.case_id == case_id.hex)
                    .order_by(ev.round_no.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return None if row is None else _satisfaction(row)

    def has_rated(self, case_id: UUID, evaluation_id: UUID, person_id: str) -> bool:
        """Whether the person has rated in this evaluation round (the timeline names each rater)."""
        t = view_case_event.c
        with self.store.read() as conn:
            found = conn.execute(
                sa.select(t.position)
                .where(
                    t.case_id == case_id.hex,
                    t.aggregate_id == evaluation_id.hex,
                    t.event == "Rated",
                    t.actor == person_id,
                )
                .limit(1)
            ).first()
        return found is not None

    # --- councils --------------------------------------------------------------------------------

    def council_positions(self, case_id: UUID) -> CouncilPositions:
        s, p, seat = view_session.c, view_session_position.c, view_council_seat.c
        with self.store.read() as conn:
            sessions = (
                conn.execute(
                    sa.select(view_session).where(s.case_id == case_id.hex).order_by(s.seq)
                )
                .mappings()
                .all()
            )
            positions = (
                conn.execute(sa.select(view_session_position).where(p.case_id == case_id.hex))
                .mappings()
                .all()
            )
            councils = {r["council_id"] for r in sessions if r["council_id"]}
            seats: dict[tuple[str, str], tuple[str, ...]] = {}
            if councils:
                for r in conn.execute(
                    sa.select(view_council_seat).where(seat.council_id.in_(councils))
                ).mappings():
                    seats[(r["council_id"], r["party"])] = tuple(json.loads(r["holders"]))
            position = self._position(conn, "councils")
        by_session: dict[int, dict[str, RowMapping]] = {}
        for r in positions:
            by_session.setdefault(r["seq"], {})[r["party"]] = r
        result = []
        for r in sessions:
            recorded = by_session.get(r["seq"], {})
            parties = json.loads(r["parties"]) or sorted(recorded)
            result.append(
                SessionPositions(
                    seq=r["seq"],
                    kind=r["kind"],
                    council_id=_maybe_id(r["council_id"]),
                    held_at=moment(r["held_at"]),
                    recorded_by=r["recorded_by"],
                    consensus=None if r["consensus"] is None else bool(r["consensus"]),
                    positions=tuple(
                        _party_position(
                            party, recorded.get(party), seats.get((r["council_id"], party), ())
                        )
                        for party in parties
                    ),
                    dissent=tuple(json.loads(r["dissent"])),
                    summary=r["summary"],
                )
            )
        councils_held = [x for x in result if x.council_id is not None]
        consensus = councils_held[-1].consensus if councils_held else None
        return CouncilPositions(case_id, tuple(result), consensus, position)

    # --- dashboards ------------------------------------------------------------------------------

    def dashboard(
        self, scope: Scope | str, scope_id: UUID, now: datetime | None = None
    ) -> Dashboard:
        """Cases by stage, overdue deadlines, turnout and satisfaction for an estate, a community
        or a street."""
        scope = Scope(scope)
        when = now or self.clock.now()
        c, e = view_case.c, view_estate.c
        where = {
            Scope.ESTATE: e.estate_id == scope_id.hex,
            Scope.COMMUNITY: e.community_id == scope_id.hex,
            Scope.STREET: e.street_id == scope_id.hex,
        }[scope]
        in_scope = sa.select(c.case_id).join(view_estate, e.estate_id == c.estate_id).where(where)
        with self.store.read() as conn:
            name = self._scope_name(conn, scope, scope_id)
            stages = conn.execute(
                sa.select(c.stage, sa.func.count())
                .join(view_estate, e.estate_id == c.estate_id)
                .where(where)
                .group_by(c.stage)
            ).all()
            overdue = self._overdue(conn, where, micros(when))
            v = view_vote.c
            votes = (
                conn.execute(
                    sa.select(view_vote).where(v.case_id.in_(in_scope)).order_by(v.opened_at)
                )
                .mappings()
                .all()
            )
            ev = view_evaluation.c
            evaluations = (
                conn.execute(
                    sa.select(view_evaluation)
                    .where(ev.case_id.in_(in_scope))
                    .order_by(ev.opened_at)
                )
                .mappings()
                .all()
            )
            position = min(self._position(conn, n) for n in ("cases", "tallies"))
        by_stage = {Stage(stage): n for stage, n in stages}
        return Dashboard(
            scope=scope,
            scope_id=scope_id,
            name=name,
            now=when,
            cases_by_stage=by_stage,
            open_cases=sum(n for s, n in by_stage.items() if s not in TERMINAL),
            overdue=overdue,
            turnout=tuple(_turnout(r) for r in votes),
            satisfaction=tuple(_satisfaction(r) for r in evaluations),
            position=position,
        )

    def _scope_name(self, conn: Connection, scope: Scope, scope_id: UUID) -> str:
        if scope is Scope.ESTATE:
            name = conn.execute(
                sa.select(view_estate.c.name).where(view_estate.c.estate_id == scope_id.hex)
            ).scalar()
        else:
            j = view_jurisdiction.c
            name = conn.execute(
                sa.select(j.name).where(j.jurisdiction_id == scope_id.hex, j.kind == scope.value)
            ).scalar()
        if name is None:
            zh = {Scope.ESTATE: "小区", Scope.COMMUNITY: "社区", Scope.STREET: "街道"}[scope]
            raise NotFoundError(field="scope_id", kind=zh, kind_en=scope.value, ident=str(scope_id))
        return str(name)

    def _overdue(self, conn: Connection, where: Any, now: int) -> tuple[Deadline, ...]:
        c, e = view_case.c, view_estate.c
        rules: list[tuple[DeadlineKind, Any, Any]] = [
            (
                DeadlineKind.NOTICE,
                c.meeting_at,
                sa.and_(c.stage == Stage.NOTICE.value, c.meeting_at < now),
            ),
            (
                DeadlineKind.ANSWER,
                c.answer_due,
                sa.and_(
                    c.stage == Stage.COLLECTING.value, c.answer_due < now, sa.not_(c.escalated)
                ),
            ),
            (
                DeadlineKind.ESCALATION,
                c.answer_due,
                sa.and_(c.stage == Stage.COLLECTING.value, c.escalated),
            ),
            (
                DeadlineKind.RESULT,
                c.result_due,
                sa.and_(c.stage == Stage.VOTING.value, c.result_due < now),
            ),
            (
                DeadlineKind.IMPLEMENTATION,
                c.implementation_due,
                sa.and_(
                    c.stage.in_([Stage.IMPLEMENTATION.value, Stage.RECTIFICATION.value]),
                    c.implementation_due < now,
                ),
            ),
        ]
        found: list[Deadline] = []
        for kind, due, condition in rules:
            query = (
                sa.select(c.case_id, c.estate_id, c.title, due)
                .join(view_estate, e.estate_id == c.estate_id)
                .where(where, condition)
            )
            for case_id, estate_id, title, when in conn.execute(query):
                due_at = moment(when)
                found.append(
                    Deadline(
                        _id(case_id), _id(estate_id), title, kind, due_at, moment(now) - due_at
                    )
                )
        return tuple(sorted(found, key=lambda d: (d.due, d.kind.value, d.case_id.hex)))

    # --- rolls -----------------------------------------------------------------------------------

    def roll_as_of(self, estate_id: UUID, at: datetime) -> RollAsOf:
        """The roll as it stood at ``at``: the roll history view gives the last version recorded
        by then (event time); the roll is read from the event store at that version."""
        app = self._app()
        r = view_roll_version.c
        with self.store.read() as conn:
            versions = conn.execute(
                sa.select(r.version, r.at)
                .where(r.roll_id == roll_id(estate_id).hex)
                .order_by(r.version)
            ).all()
        found = _last_by(versions, micros(at))
        if found is None:
            raise NotFoundError(
                field="at", kind="该时间的名册", kind_en="roll at that time", ident=at.isoformat()
            )
        version, recorded = found
        roll = app.roll(estate_id, version)
        units = tuple(roll.units.values())
        return RollAsOf(
            estate_id,
            at,
            version,
            moment(recorded),
            summarize(list(units), roll.head_rules),
            roll.head_rules,
            units,
        )


def _last_by(versions: Sequence[Any], at: int) -> tuple[int, int] | None:
    """The last (version, time) recorded at or before ``at``, stopping at the first later one."""
    found: tuple[int, int] | None = None
    for version, recorded in versions:
        if recorded > at:
            break
        found = (version, recorded)
    return found


def _counters(row: Row) -> Counters:
    return Counters(row["total_heads"], row["total_area"], tuple(row[n] for n in COUNTERS))


def _motion_status(row: Row, now: datetime, position: int) -> MotionStatus:
    rule = ThresholdRule.from_dict(json.loads(row["rule"]))
    signed_area, total_area = area(row["signed_area"]), area(row["total_area"])
    state = MotionState(row["state"])
    closes_at = moment(row["closes_at"])
    days_left = None
    if state == MotionState.OPEN:
        days_left = max(0, math.floor((closes_at - now) / DAY)) if closes_at > now else 0
    return MotionStatus(
        motion_id=_id(row["motion_id"]),
        case_id=_id(row["case_id"]),
        estate_id=_id(row["estate_id"]),
        title=row["title"],
        rule=rule,
        state=state,
        signed_heads=row["signed_heads"],
        signed_area=signed_area,
        total_heads=row["total_heads"],
        total_area=total_area,
        progress=rule.progress(row["signed_heads"], signed_area, row["total_heads"], total_area),
        opened_at=moment(row["opened_at"]),
        closes_at=closes_at,
        days_left=days_left,
        tabled_at=maybe_moment(row["tabled_at"]),
        lapsed_at=maybe_moment(row["lapsed_at"]),
        answer_due=maybe_moment(row["answer_due"]),
        answered_at=maybe_moment(row["answered_at"]),
        escalated_at=maybe_moment(row["escalated_at"]),
        position=position,
    )


def _party_position(party: str, row: Row | None, holders: tuple[str, ...]) -> PartyPosition:
    try:
        name_zh, name_en = PARTY_NAMES[Party(party)]
    except ValueError:
        name_zh = name_en = party
    position = row["position"] if row is not None else None
    pos_zh, pos_en = POSITIONS.get(position or "", ("未记录", "not recorded"))
    return PartyPosition(
        party=party,
        name_zh=name_zh,
        name_en=name_en,
        position=position,
        position_zh=pos_zh,
        position_en=pos_en,
        text=row["text"] if row is not None else "",
        holders=holders,
    )


def _turnout(row: Row) -> Turnout:
    options = CountingOptions.from_dict(json.loads(row["options"]))
    choices = [Choice.YES, Choice.NO]
    if options.abstain_participates:
        choices.append(Choice.ABSTAIN)
    if options.invalid_participates:
        choices.append(Choice.INVALID)
    heads = sum(row[f"{c.value}_heads"] for c in choices)
    hundredths = sum(row[f"{c.value}_area"] for c in choices)
    uses_area = rule_set(row["rule_set_id"]).uses_area
    return Turnout(
        vote_id=_id(row["vote_id"]),
        case_id=_id(row["case_id"]),
        title=row["title"],
        state=row["state"],
        participating_heads=heads,
        total_heads=row["total_heads"],
        participating_area=area(hundredths),
        total_area=area(row["total_area"]),
        heads_rate=_ratio(heads, row["total_heads"]),
        area_rate=_ratio(hundredths, row["total_area"]) if uses_area else None,
    )


def _satisfaction(row: Row) -> Satisfaction:
    respondents = row["respondents"]
    counts = {
        "satisfied": row["satisfied"],
        "basically-satisfied": row["basically_satisfied"],
        "dissatisfied": row["dissatisfied"],
    }
    return Satisfaction(
        evaluation_id=_id(row["evaluation_id"]),
        case_id=_id(row["case_id"]),
        round_no=row["round_no"],
        closed=bool(row["closed"]),
        closes_at=moment(row["closes_at"]),
        eligible=row["eligible"],
        respondents=respondents,
        counts=counts,
        satisfaction=_ratio(row["satisfied"] + row["basically_satisfied"], respondents),
        awareness=_ratio(row["aware"], respondents),
        participation=_ratio(row["participated"], respondents),
        response=_ratio(respondents, row["eligible"]),
    )


__all__ = [
    "DEADLINE_NAMES",
    "BallotStatus",
    "CaseAsOf",
    "CaseSummary",
    "CaseTimeline",
    "CouncilPositions",
    "Dashboard",
    "Deadline",
    "DeadlineKind",
    "MotionStatus",
    "PartyPosition",
    "Queries",
    "QuorumProgress",
    "RollAsOf",
    "Satisfaction",
    "Scope",
    "SessionPositions",
    "TallyAsOf",
    "TimelineEntry",
    "Turnout",
    "VoteTally",
]
