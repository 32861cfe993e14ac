"""What the pages and the API read: :class:`Reads`, over the views' queries and the application.

Figures (case lists, live tallies, motion progress, evaluation rates, the past as of a moment)
come from the views through :class:`~projections.queries.Queries`; single records (a case's
materials, a vote, a ballot's receipt, the auditors' event timeline) from the application, which
reads the event store. The web never opens the store itself. Everything returned is a frozen
dataclass of plain values.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import psycopg

from consult.bodies import COUNCIL_NAMES, PARTY_NAMES, CouncilKind, Estate, council_id
from consult.case import Stage
from consult.errors import ConsultError, NotFoundError
from consult.evaluation import RATING_NAMES, Rating, conclusive
from consult.motion import MOTION_STATE_NAMES
from consult.vote import Ballot, PaperEntry, ballot_id
from projections.errors import ProjectionTimeoutError
from projections.queries.cases import (
    CaseDetail,
    CaseRow,
    EstateView,
    Page,
    case_detail,
    case_list_row,
)
from projections.queries.councils import CouncilView
from projections.queries.evaluations import EvaluationView
from projections.queries.motions import HeadSignature, MotionView
from projections.queries.results import ResultRow, result_row
from projections.queries.timeline import TimelineEntry, access_log, audit_timeline
from projections.queries.votes import (
    BallotView,
    ElectorOption,
    ElectorRef,
    PaperEntryView,
    TallyView,
    VoteView,
    ballot_view,
    check_view,
    vote_view,
)

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.queries import Queries

logger = logging.getLogger(__name__)


class Reads(Protocol):
    """What the web reads (one implementation: :class:`PageReads`)."""

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


class PageReads:
    """The read side of the pages: built with the application, the views' queries, the projector
    (to wait for a position; None when nothing is to be awaited) and the audit store (None where
    the chain is not kept)."""

    def __init__(
        self,
        app: ConsultationApp,
        queries: Queries,
        projector: Any = None,
        audit_store: Any = None,
    ) -> None:
        self.app = app
        self.queries = queries
        self.projector = projector
        self.audit_store = audit_store

    def wait(self, position: int, timeout: float = 5.0) -> None:
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

    # --- estates and cases ------------------------------------------------------------------

    def estates(self) -> list[EstateView]:
        return [self.estate(i) for i in self.app.created_ids(Estate.Created)]

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
        page, per_page = max(page, 1), max(per_page, 1)
        found = self.queries.case_page(
            estate_id=estate_id, stage=stage, limit=per_page, offset=(page - 1) * per_page
        )
        return Page(tuple(case_list_row(r) for r in found.items), page, per_page, found.total)

    def case(self, case_id: UUID) -> CaseDetail:
        return case_detail(self.app.case(case_id))

    def case_as_of(self, case_id: UUID, moment: datetime) -> CaseDetail | None:
        found = self.queries.case_version_at(case_id, moment)
        if found is None:
            return None
        return case_detail(self.app.case(case_id, found[0]))

    # --- votes and tallies ------------------------------------------------------------------

    def vote(self, vote_id: UUID) -> VoteView:
        return vote_view(self.app.vote(vote_id))

    def tally(self, vote_id: UUID) -> TallyView:
        return self.queries.vote_tally(vote_id)

    def tally_as_of(self, vote_id: UUID, moment: datetime) -> TallyView | None:
        try:
            return self.queries.tally_as_of(vote_id, moment)
        except NotFoundError:
            return None

    def ballot(self, vote_id: UUID, elector_id: str) -> BallotView | None:
        try:
            b = self.app.find(Ballot, ballot_id(vote_id, elector_id), "选票", "ballot")
        except NotFoundError:
            return None
        return ballot_view(b)

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
        electorate = self.app.electorate(self.app.vote(vote_id))
        return [
            ElectorRef(
                e.elector_id,
                tuple(electorate.heads[e.elector_id].unit_ids)
                if e.elector_id in electorate.heads
                else (),
            )
            for e in electorate.electors
        ]

    def paper_entries(self, vote_id: UUID) -> list[PaperEntryView]:
        """The paper sheets entered for a vote."""
        out = []
        for pid in dict.fromkeys(self.app.created_ids(PaperEntry.Created)):
            entry = self.app.find(PaperEntry, pid, "纸质选票", "paper ballot")
            if entry.vote_id == vote_id:
                out.append(
                    PaperEntryView(
                        entry.elector_id, entry.sheet_no, entry.state.value, entry.first_teller
                    )
                )
        return out

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
                rows.append(result_row(case, vote, self.tally(vote.id).raw))
        return rows

    # --- motions ----------------------------------------------------------------------------

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

    def motion_heads(self, motion_id: UUID, person_id: str) -> list[HeadSignature]:
        m = self.app.motion(motion_id)
        electorate = self.app.owners_electorate(m.estate_id, m.roll_version)
        return [
            HeadSignature(h, tuple(electorate.heads[h].unit_ids), h in m.signed)
            for h in electorate.electors_of(person_id)
        ]

    # --- evaluations and councils -----------------------------------------------------------

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

    # --- the auditors -----------------------------------------------------------------------

    def timeline(self, case_id: UUID) -> list[TimelineEntry]:
        return audit_timeline(self.app, case_id)

    def access_log(self, limit: int = 200) -> list[TimelineEntry]:
        return access_log(self.app, limit)

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
