"""Votes: opening one on an agenda item (its electorate frozen), counting, extending, closing and
recording the result.

The close-race rule: a ballot stored after its vote's close is never counted. The count reads
the ballots first and then asks the event log which of them came after the close
(:meth:`consult.adapters.eventlog.EventLog.versions_after`), so a ballot committed meanwhile is either
unread or found late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consult import electorate as electorates
from consult.actors import Actor
from consult.application.base import new_id
from consult.application.meetings import MeetingService
from consult.application.results import Done, VoteClosed
from consult.bodies import Estate
from consult.case import Case, require_text
from consult.electorate import Electorate
from consult.errors import SettingError
from consult.rules import Choice, RuleSetId, VoteResult, rule_set, tally
from consult.validation import invalid
from consult.vote import Ballot, Vote, VoteState, ballot_id

RESULT_NOTICE_DAYS = 3  # results published within 3 days (Beijing Art. 37) [local]


class VotingService(MeetingService):
    def open_vote(
        self,
        case_id: UUID,
        item_id: str,
        closes_at: datetime,
        actor: Actor,
        tellers: Sequence[str] = (),
    ) -> Done:
        """Open the vote on one item of the published agenda, freezing its electorate."""
        case = self.case(case_id)
        self.require_convener(case, actor)
        estate = self.estate(case.estate_id)
        item = case.agenda_item(item_id)
        rs = rule_set(item["rule_set"])
        at = self.now()
        if closes_at <= at:
            raise invalid("closes_at", "deadline", "later_than_now")
        electorate = self._electorate_for_item(case, estate, item)
        vote_id = new_id()
        excluded = (
            list(estate.property_staff) if estate.settings.property_staff_may_not_be_proxies else []
        )
        vote = Vote.start(
            vote_id,
            at,
            actor.person_id,
            "",
            case_id=case_id,
            estate_id=case.estate_id,
            item_id=item_id,
            title=item["title"],
            rule_set_id=rs.id.value,
            rule_version=rs.version,
            options=item["options"],
            electorate=electorate.ref,
            closes_at=closes_at,
            change_allowed=estate.settings.vote_change_allowed,
            proxy_cap=estate.settings.proxy_cap,
            excluded_proxy_holders=excluded,
            tellers=[t.strip() for t in tellers if t.strip()],
        )

        def attempt() -> Done:
            c = self.case(case_id)
            c.open_vote(vote_id, item_id, at, actor.person_id)
            return Done(vote_id, self._save(c, vote))

        return self._retrying(attempt)

    def _electorate_for_item(self, case: Case, estate: Estate, item: dict[str, Any]) -> Electorate:
        rs = RuleSetId(item["rule_set"])
        if rs in (RuleSetId.CC278_ORDINARY, RuleSetId.CC278_SPECIAL):
            return self.owners_electorate(case.estate_id)
        if rs in (RuleSetId.RESIDENTS_MEETING, RuleSetId.VILLAGERS_MEETING):
            basis = "adults" if rs == RuleSetId.VILLAGERS_MEETING else item["basis"]
            return self.register_electorate(estate.community_id, basis)
        if rs == RuleSetId.OWNERS_COMMITTEE:
            if not estate.owners_committee:
                raise SettingError(
                    field="item_id",
                    reason="本小区尚无业主委员会",
                    reason_en="this estate has no owners' committee",
                )
            return electorates.from_members(
                estate.owners_committee, {"kind": "members", "members": estate.owners_committee}
            )
        if rs == RuleSetId.REPRESENTATIVES_MEETING:
            return electorates.from_members(
                item["members"], {"kind": "members", "members": item["members"]}
            )
        council = self.council(UUID(item["council_id"]))
        return electorates.from_council(
            council.seats, {"kind": "council", "council_id": council.id.hex, "seats": council.seats}
        )

    def _close_position(self, vote_id: UUID, start: int | None = None) -> int | None:
        """The log position of a vote's close at or after ``start`` (None if not found)."""
        return self.eventlog.position_of(Vote.Closed, vote_id, start)

    def ballots(self, vote: Vote, until: int | None = None) -> dict[str, Choice]:
        """Every elector's counted choice, excluding what was stored after ``until`` (the close).

        The ballot events are read first and the late ones looked up afterwards: a ballot committed
        while this runs is either not read at all, or read and then found among the late ones.
        """
        electorate = self.electorate(vote)
        ids = {ballot_id(vote.id, e.elector_id): e.elector_id for e in electorate.electors}
        stored_by_ballot = {bid: self.eventlog.stored(bid) for bid in ids}
        late = (
            self.eventlog.versions_after(until, ids, Ballot.Created, Ballot.Changed)
            if until is not None
            else set()
        )
        result: dict[str, Choice] = {}
        for bid, elector in ids.items():
            for stored in stored_by_ballot[bid]:
                if (bid, stored.originator_version) in late:
                    break
                result[elector] = Choice(self.eventlog.event(stored).choice)
        return result

    def tally(self, vote_id: UUID) -> VoteResult:
        """The vote counted as it stands (the recorded result once closed)."""
        vote = self.vote(vote_id)
        until = self._close_position(vote_id) if vote.state == VoteState.CLOSED else None
        return self._count(vote, until)

    def _count(self, vote: Vote, until: int | None) -> VoteResult:
        electorate = self.electorate(vote)
        return tally(vote.rules, electorate.electors, self.ballots(vote, until), vote.options)

    def extend_vote(self, vote_id: UUID, closes_at: datetime, actor: Actor, reason: str) -> int:
        """Extend once, when turnout is short of the quorum, up to the estate's limit."""
        why = require_text(reason, "reason", "延期理由", "reason for the extension", 1000)

        def attempt() -> int:
            vote = self.vote(vote_id)
            case = self.case(vote.case_id)
            self.require_convener(case, actor)
            estate = self.estate(vote.estate_id)
            current = self._count(vote, None)
            vote.extend(
                closes_at,
                estate.settings.max_extension_days,
                current.raw.quorum_met,
                self.now(),
                actor.person_id,
                why,
            )
            return self._save(vote)

        return self._retrying(attempt)

    def close_vote(self, vote_id: UUID, actor: Actor, reason: str = "") -> VoteClosed:
        """Close the vote (before its end only when everyone has voted); ballots stored after the
        close are refused and not counted."""

        def attempt() -> int:
            vote = self.vote(vote_id)
            case = self.case(vote.case_id)
            self.require_convener(case, actor)
            at = self.now()
            early = at < vote.closes_at
            not_voted = self._count(vote, None).raw.not_voted.heads if early else 0
            vote.close(at, actor.person_id, reason, not_voted)
            return self._save(vote)

        position = self._retrying(attempt)
        result, recorded = self._record_result(vote_id, position)
        return VoteClosed(vote_id, result, max(position, recorded))

    def record_result(self, vote_id: UUID, close_position: int | None = None) -> VoteResult:
        """Count a closed vote and record its result on the vote and the case (idempotent)."""
        return self._record_result(vote_id, close_position)[0]

    def _record_result(self, vote_id: UUID, close_position: int | None) -> tuple[VoteResult, int]:
        """The result and the log position of its recording (0 if it was recorded before)."""
        vote = self.vote(vote_id)
        if vote.state != VoteState.CLOSED:
            raise vote.state_error()
        until = close_position or self._close_position(vote_id)
        result = self._count(vote, until)
        if vote.result is not None:
            return result, 0

        def attempt() -> int:
            v = self.vote(vote_id)
            if v.result is not None:
                return 0
            c = self.case(v.case_id)
            at = self.now()
            v.record(
                Vote.ResultRecorded,
                at,
                "system",
                "",
                result={**result.to_dict(), "close_position": until},
            )
            c.conclude_vote(vote_id, result.passed, RESULT_NOTICE_DAYS, at, "system")
            return self._save(v, c)

        return result, self._retrying(attempt)
