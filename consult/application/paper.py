"""Paper ballots: two tellers enter each sheet; equal entries store the ballot, different ones
mark the sheet disputed, and a head that voted online keeps that ballot."""

from __future__ import annotations

from uuid import UUID

from consult.actors import Actor, Role
from consult.application.ballots import BallotService
from consult.application.results import BallotReceipt, Done
from consult.case import require_text
from consult.errors import AlreadyVotedError, NotFoundError, NotOnRollError, PaperBallotError
from consult.vote import (
    Ballot,
    PaperEntry,
    Vote,
    ballot_id,
    paper_entry_id,
    parse_choice,
    receipt_code,
)


class PaperBallotService(BallotService):
    def enter_paper_ballot(
        self, vote_id: UUID, elector_id: str, choice: str, sheet_no: str, actor: Actor
    ) -> Done:
        """First entry of a paper ballot by one teller; it counts once a second teller confirms."""
        actor.require(Role.TELLER)
        ch = parse_choice(choice)
        sheet = require_text(sheet_no, "sheet_no", "选票编号", "ballot sheet number", 100)
        vote = self._teller_vote(vote_id, actor)
        electorate = self.electorate(vote)
        if elector_id not in electorate.entitled:
            raise NotOnRollError(
                field="elector_id",
                person=elector_id,
                version=electorate.ref.get("version"),
            )
        pid = paper_entry_id(vote_id, elector_id)
        at = self.now()

        def attempt() -> Done:
            try:
                entry = self._get(PaperEntry, pid, "纸质选票", "paper ballot")
            except NotFoundError:
                entry = PaperEntry.start(
                    pid,
                    at,
                    actor.person_id,
                    "",
                    vote_id=vote_id,
                    elector_id=elector_id,
                    choice=ch.value,
                    sheet_no=sheet,
                )
            else:
                entry.reenter(ch, sheet, actor.person_id, at)
            return Done(pid, self._save(entry))

        return self._retrying(attempt)

    def _teller_vote(self, vote_id: UUID, actor: Actor) -> Vote:
        """The open vote, if the actor is one of its appointed tellers (or an operator)."""
        vote = self.vote(vote_id)
        vote.check_open()
        if (
            vote.tellers
            and actor.person_id not in vote.tellers
            and Role.OPERATOR not in actor.roles
        ):
            raise PaperBallotError(
                field="teller",
                reason="您不是本次表决指定的计票人",
                reason_en="you are not a teller appointed for this vote",
            )
        return vote

    def confirm_paper_ballot(
        self, vote_id: UUID, elector_id: str, choice: str, actor: Actor
    ) -> BallotReceipt | None:
        """Second entry: equal -> the ballot is stored (once per elector); different -> disputed.

        Returns the ballot receipt, or None when the entries differed (re-enter from the sheet).
        A head that already voted online keeps that ballot; the sheet is marked duplicate.
        """
        actor.require(Role.TELLER)
        ch = parse_choice(choice)
        self._teller_vote(vote_id, actor)
        pid = paper_entry_id(vote_id, elector_id)
        at = self.now()

        def attempt() -> BallotReceipt | None:
            entry = self._get(PaperEntry, pid, "纸质选票", "paper ballot")
            entry.check_confirmable(actor.person_id)
            if ch != entry.choice:
                entry.record(
                    PaperEntry.Disputed,
                    at,
                    actor.person_id,
                    "两次录入不一致 / entries differ",
                    second_choice=ch.value,
                )
                self._save(entry)
                return None
            bid = ballot_id(vote_id, elector_id)
            if self.exists(bid):
                entry.record(
                    PaperEntry.MarkedDuplicate,
                    at,
                    actor.person_id,
                    "该户已网上投票 / already voted online",
                )
                self._save(entry)
                raise AlreadyVotedError(
                    field="elector_id",
                    why="已有网上选票，纸质选票不重复计入。",
                    why_en="an online ballot exists; the paper ballot is not counted again.",
                )
            entry.record(PaperEntry.Confirmed, at, actor.person_id, "")
            receipt = receipt_code(bid, 1, ch.value, at)
            ballot = Ballot.start(
                bid,
                at,
                actor.person_id,
                f"纸质选票 {entry.sheet_no} / paper sheet {entry.sheet_no}",
                vote_id=vote_id,
                elector_id=elector_id,
                choice=ch.value,
                channel="paper",
                receipt=receipt,
            )
            position = self._save(entry, ballot)
            return BallotReceipt(bid, vote_id, elector_id, ch, "paper", receipt, False, position)

        result = self._retrying(attempt)
        if result is not None:
            self._refuse_if_closed_before(vote_id, result.position)
        return result
