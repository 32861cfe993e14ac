"""Casting a ballot online (own vote, voting code or proxy), and registering a written proxy.

Exactly one ballot per elector is stored whatever arrives at once. A first ballot goes through
the group committer (:class:`BallotCommits`, :mod:`consult.adapters.committer`: many casts, one
transaction) when group commit is on; a change, or any ballot with it off, is load -> change ->
save. A ballot stored after its vote's close is refused and never counted.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from consult.actors import Actor
from consult.adapters.committer import GroupCommitter
from consult.application.results import BallotReceipt
from consult.application.voting import VotingService
from consult.clock import Clock
from consult.electorate import Electorate
from consult.errors import (
    ConsultError,
    NotFoundError,
    NotOnRollError,
    ProxyError,
    VoteClosedBeforeBallotError,
)
from consult.rules import Choice
from consult.validation import invalid
from consult.vote import Ballot, Vote, VoteState, ballot_id, parse_choice, receipt_code


class BallotCommits(Protocol):
    """What the voting service needs of a group committer (:class:`consult.adapters.committer.GroupCommitter`)."""

    def submit_events(self, key: Hashable, events: list[Any]) -> int: ...

    def close(self) -> None: ...


def first_ballot(
    vote: Vote, elector: str, choice: Choice, channel: str, actor: Actor, at: datetime
) -> tuple[Any, BallotReceipt]:
    """An elector's first ballot, made for the group committer, and its receipt (position 0
    until committed)."""
    bid = ballot_id(vote.id, elector)
    code = receipt_code(bid, 1, choice.value, at)
    event = Ballot.created(bid, at, actor.person_id, vote.id, elector, choice, channel, code)
    return event, BallotReceipt(bid, vote.id, elector, choice, channel, code, False, 0)


class BallotService(VotingService):
    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env=env, clock=clock)
        self._committer: BallotCommits | None = None
        self._committer_lock = threading.Lock()

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        super().close()

    def _ballot_committer(self) -> BallotCommits:
        with self._committer_lock:
            if self._committer is None:
                self._committer = GroupCommitter(self.save, self._counted, name="ballot-commit")
            return self._committer

    def cast_ballot(
        self,
        vote_id: UUID,
        choice: str | Choice,
        actor: Actor,
        elector_id: str | None = None,
        via_code: bool = False,
        estate: UUID | None = None,
    ) -> BallotReceipt:
        """Cast (or change once, where allowed) the ballot of one elector.

        Exactly one ballot per elector exists in the store whatever arrives at once; a ballot stored
        after the vote's close is refused with :class:`VoteClosedBeforeBallotError` and never counted.
        ``estate``: the actor sees only this estate's votes (another's is "not found").

        A first ballot is saved by the group committer together with those of concurrent casts
        (one transaction); it is acknowledged after that commit and the close check.
        """
        ch, at, vote, elector, channel = self._admit_ballot(
            vote_id, choice, actor, elector_id, via_code, estate
        )
        if self.group_commit:
            event, receipt = first_ballot(vote, elector, ch, channel, actor, at)
            try:
                position = self._ballot_committer().submit_events(vote.id, [event])
            except IntegrityError:
                pass  # a ballot of this elector exists (or was just stored): change it below
            else:
                return replace(receipt, position=position)
        return self._cast_over(vote, elector, ch, channel, actor, at)

    def _cast_over(
        self, vote: Vote, elector: str, ch: Choice, channel: str, actor: Actor, at: datetime
    ) -> BallotReceipt:
        """The ordinary path of a cast: load, change (or start), save; refused if stored after
        the close."""
        stored = self._store_ballot(vote, elector, ch, channel, actor.person_id, at)
        self._refuse_if_closed_before(vote.id, stored.position)
        return stored

    def _admit_ballot(
        self,
        vote_id: UUID,
        choice: str | Choice,
        actor: Actor,
        elector_id: str | None,
        via_code: bool,
        estate: UUID | None,
    ) -> tuple[Choice, datetime, Vote, str, str]:
        """The checks of a cast before anything is stored: the choice, the vote's acceptance and
        the elector (ConsultError if refused)."""
        ch = parse_choice(choice) if isinstance(choice, str) else choice
        if ch == Choice.INVALID:
            raise invalid("choice", "choice", "online_choice")
        at = self.now()
        try:
            vote = self._vote_view(vote_id)
            elector, channel = self._admit(vote, at, actor, elector_id, via_code, estate)
        except ConsultError:  # perhaps a view from before an extension or a new proxy: look again
            vote = self._vote_view(vote_id, fresh=True)
            elector, channel = self._admit(vote, at, actor, elector_id, via_code, estate)
        return ch, at, vote, elector, channel

    def _vote_view(self, vote_id: UUID, fresh: bool = False) -> Vote:
        """The vote as this process last read it (at most ``vote_view_seconds`` ago), read-only.

        Good enough to admit a ballot: a vote only moves forward (closed, extended, more proxies),
        a refusal is checked again on a fresh read, and whether a ballot counts is decided after its
        commit from the log (:meth:`_counted`).
        """
        return self._vote_views.get(
            vote_id, lambda: self.vote(vote_id, read_only=True), fresh=fresh
        )

    def _admit(
        self,
        vote: Vote,
        at: datetime,
        actor: Actor,
        elector_id: str | None,
        via_code: bool,
        estate: UUID | None,
    ) -> tuple[str, str]:
        if estate is not None and vote.estate_id != estate:
            raise NotFoundError(field="id", kind="表决", kind_en="vote", ident=str(vote.id))
        vote.check_accepting_online(at)
        electorate = self.electorate(vote)
        return self._resolve_elector(vote, electorate, actor, elector_id, via_code)

    def _resolve_elector(
        self,
        vote: Vote,
        electorate: Electorate,
        actor: Actor,
        elector_id: str | None,
        via_code: bool,
    ) -> tuple[str, str]:
        """The elector this actor casts for, and the channel (online, voting code or proxy)."""
        version = electorate.ref.get("version")
        if via_code:
            if elector_id is None or elector_id not in electorate.entitled:
                raise NotOnRollError(field="code", version=version)
            return elector_id, "code"
        own = electorate.electors_of(actor.person_id)
        # list(): the vote may be a shared read-only view that another thread fast-forwards
        proxied = [p for p, v in list(vote.proxies.items()) if v["holder"] == actor.person_id]
        if elector_id is None:
            candidates = list(own) + proxied
            if len(candidates) != 1:
                if not candidates:
                    raise NotOnRollError(field="elector_id", version=version)
                raise invalid("elector_id", "elector", "choose_elector")
            elector_id = candidates[0]
        if elector_id in own:
            return elector_id, "online"
        if elector_id in proxied:
            return elector_id, "proxy"
        raise NotOnRollError(field="elector_id", version=version)

    def _counted(self, vote_id: Any, positions: Sequence[int]) -> list[ConsultError | None]:
        """For ballots just committed at ``positions``: refused if the vote closed before them."""
        vote = self.vote(vote_id, read_only=True)
        if vote.state != VoteState.CLOSED:
            return [None] * len(positions)
        close = self._close_position(vote_id, min(positions))
        return [
            None if close is not None and p < close else VoteClosedBeforeBallotError(field="vote")
            for p in positions
        ]

    def _store_ballot(
        self, vote: Vote, elector: str, choice: Choice, channel: str, voter: str, at: datetime
    ) -> BallotReceipt:
        bid = ballot_id(vote.id, elector)

        def attempt() -> BallotReceipt:
            try:
                ballot = self._get(Ballot, bid, "选票", "ballot")
            except NotFoundError:
                receipt = receipt_code(bid, 1, choice.value, at)
                new = Ballot.start(
                    bid,
                    at,
                    voter,
                    "",
                    vote_id=vote.id,
                    elector_id=elector,
                    choice=choice.value,
                    channel=channel,
                    receipt=receipt,
                )
                position = self._save(new)
                return BallotReceipt(
                    bid, vote.id, elector, choice, channel, receipt, False, position
                )
            ballot.change(choice, channel, vote.change_allowed, voter, at)
            position = self._save(ballot)
            return BallotReceipt(
                bid, vote.id, elector, choice, channel, ballot.receipt, True, position
            )

        return self._retrying(attempt)

    def _refuse_if_closed_before(self, vote_id: UUID, position: int) -> None:
        vote = self.vote(vote_id, read_only=True)
        if vote.state == VoteState.CLOSED and self._close_position(vote_id, position) is None:
            raise VoteClosedBeforeBallotError(field="vote")

    def register_proxy(
        self, vote_id: UUID, principal: str, holder: str, document: str, actor: Actor
    ) -> int:
        """Register a written proxy (委托书) for one elector, within the per-holder cap."""
        holder = holder.strip()
        if not holder:
            raise ProxyError(
                field="holder", reason="须填写代理人", reason_en="the proxy holder is required"
            )

        def attempt() -> int:
            vote = self.vote(vote_id)
            case = self.case(vote.case_id)
            self.require_convener(case, actor)
            electorate = self.electorate(vote)
            if principal not in electorate.entitled:
                raise NotOnRollError(
                    field="principal",
                    person=principal,
                    version=electorate.ref.get("version"),
                )
            vote.register_proxy(
                principal,
                holder,
                document,
                electorate.entitled[principal],
                self.now(),
                actor.person_id,
            )
            return self._save(vote)

        return self._retrying(attempt)
