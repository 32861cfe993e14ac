"""Live tallies: counters per vote and per building, and every ballot event.

A ballot counts when it is recorded in the log before its vote's ``Vote.Closed`` event; ballot
events after it are kept (``counted`` false) but change no counter. Electors, their buildings and
areas come from the electorate frozen when the vote opened (the roll at a fixed version, so a
rebuild computes exactly what the incremental update did).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, filterfalse
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.rules import Choice
from consult.vote import Ballot, Vote
from projections.counting import CHOICE_ORDER
from projections.db import hundredths, micros
from projections.decoding import BallotRow, ballot_row_from_event
from projections.errors import ProjectionError
from projections.views.base import Projected, View, topic
from projections.views.tally_tables import (
    BALLOT_COLUMNS,
    COUNTERS,
    dump_buildings,
    view_ballot_event,
    view_vote,
    view_vote_household,
)

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore

_INDEX = {c.value: 2 * i for i, c in enumerate(CHOICE_ORDER)}  # of its heads in COUNTERS
_BALLOT_OF, _VOTE_OF = itemgetter(1), itemgetter(3)  # of a BallotRow

_VOTE_DELTAS = (*COUNTERS, "late_ballots", "proxies", "households_participating")
_ADD_TO_VOTE = (
    sa.update(view_vote)
    .where(view_vote.c.vote_id == sa.bindparam("b_vote_id"))
    .values({n: view_vote.c[n] + sa.bindparam(f"d_{n}") for n in _VOTE_DELTAS})
)
#: The same, with the vote's per-building JSON: one statement per vote and section.
_ADD_TO_VOTE_AND_BUILDINGS = _ADD_TO_VOTE.values(buildings=sa.bindparam("b_buildings"))
#: What a section needs of the votes it counts (built once: building a statement costs about
#: as much as running it).
_VOTES = sa.select(
    view_vote.c.vote_id,
    view_vote.c.opened_position,
    view_vote.c.close_position,
    view_vote.c.buildings,
).where(view_vote.c.vote_id.in_(sa.bindparam("vote_ids", expanding=True)))
#: The votes whose electorates a starting follower loads: the last few opened that are open.
_OPEN_VOTES = (
    sa.select(view_vote.c.vote_id)
    .where(view_vote.c.state == "open")
    .order_by(view_vote.c.opened_position.desc())
    .limit(4)
)


@dataclass(frozen=True)
class Electorate:
    """A frozen electorate as the tally counts it, shared by every vote on the same roll (or
    register) version."""

    electors: dict[str, tuple[str, int, str | None]]  # elector -> (building, area, household)
    buildings: dict[str, tuple[int, int]]  # building -> (heads, area)
    total_area: int
    total_households: int

    @classmethod
    def of(cls, electors: dict[str, tuple[str, int, str | None]]) -> Electorate:
        buildings: dict[str, list[int]] = {}
        for building, area, _ in electors.values():
            b = buildings.setdefault(building, [0, 0])
            b[0] += 1
            b[1] += area
        households = {h for _, _, h in electors.values() if h is not None}
        return cls(
            electors,
            {b: (heads, area) for b, (heads, area) in buildings.items()},
            sum(area for _, area in buildings.values()),
            len(households),
        )


@dataclass(frozen=True)
class VoteRules:
    """What never changes about a vote once opened: who may vote, where, with how much area."""

    electorate: Electorate
    participating: frozenset[str]  # choices that count as participating
    households: bool  # the rule set has a household quorum

    @property
    def electors(self) -> dict[str, tuple[str, int, str | None]]:
        return self.electorate.electors


#: A ballot as the log last showed it: the row of its latest event, with its vote and elector
#: (a ``Ballot.Created`` row is kept as it is).
_Known = BallotRow


class _Vote:
    """A vote while a section is applied: its rules, where it opened and closed in the log, and
    what the section's ballots change: counters per building (in ``COUNTERS`` order) and
    participating members per household."""

    __slots__ = ("buildings", "closed_at", "households", "late", "opened", "rules", "stored")

    def __init__(self, rules: VoteRules, opened: int, closed_at: int | None, stored: str) -> None:
        self.rules = rules
        self.opened = opened
        self.closed_at = closed_at
        self.stored = stored  # the per-building JSON as the section found it
        self.buildings = {b: [0] * 8 for b in rules.electorate.buildings}
        self.households: dict[str, int] = {}
        self.late = 0


class _Deltas:
    """What a section adds to each vote's counters."""

    def __init__(self) -> None:
        self.votes: dict[str, dict[str, int]] = {}

    def vote(self, vote_id: str) -> dict[str, int]:
        row = self.votes.get(vote_id)
        if row is None:
            row = self.votes[vote_id] = dict.fromkeys(_VOTE_DELTAS, 0)
        return row


class TalliesView(View):
    name = "tallies"
    version = 2  # 2: ballot events keyed by where their vote opened in the log
    tables = (view_vote, view_ballot_event, view_vote_household)
    cache_size = 16  # votes whose electorates are kept
    recent_size = 100_000  # ballots remembered for a later change (older ones are read back)

    VOTE_CREATED = topic(Vote.Created)
    VOTE_CLOSED = topic(Vote.Closed)
    VOTE_EXTENDED = topic(Vote.Extended)
    VOTE_RESULT = topic(Vote.ResultRecorded)
    PROXY_REGISTERED = topic(Vote.ProxyRegistered)
    PROXY_REVOKED = topic(Vote.ProxyRevoked)
    BALLOT_CREATED = topic(Ballot.Created)
    BALLOT_CHANGED = topic(Ballot.Changed)

    def __init__(self, app: ConsultationApp, store: ViewStore) -> None:
        super().__init__(app, store)
        self._rules: OrderedDict[str, VoteRules] = OrderedDict()  # a few recent votes
        self._electorates: OrderedDict[str, Electorate] = OrderedDict()
        self._pinned: dict[str, VoteRules] = {}  # every vote of the section being applied
        # Recently seen ballots as the log last showed them, in two generations (the older is
        # dropped when the newer fills up). Facts of the log, true whatever the views hold, so a
        # rolled-back section leaves them valid.
        self._recent: dict[str, _Known] = {}
        self._older: dict[str, _Known] = {}

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(
            {
                self.VOTE_CREATED,
                self.VOTE_CLOSED,
                self.VOTE_EXTENDED,
                self.VOTE_RESULT,
                self.PROXY_REGISTERED,
                self.PROXY_REVOKED,
                self.BALLOT_CREATED,
                self.BALLOT_CHANGED,
            }
        )

    def reset(self) -> None:
        self._rules.clear()
        self._electorates.clear()
        self._pinned = {}

    def warm(self) -> None:
        """The frozen electorates of the votes open now (the last few opened): a large roll takes
        a second or more to load, which the first ballot after a follower starts would wait."""
        with self.store.read() as conn:
            open_votes = [vote_id for (vote_id,) in conn.execute(_OPEN_VOTES)]
        for vote_id in reversed(open_votes):
            if vote_id not in self._rules:
                self._vote_rules(self.app.vote(UUID(vote_id)))

    # --- the frozen electorate of each vote ----------------------------------------------------

    def _vote_rules(self, vote: Vote) -> VoteRules:
        key = vote.id.hex
        rules = self._rules.get(key)
        if rules is not None:
            self._rules.move_to_end(key)
            return rules
        rs = vote.rules
        participating = {Choice.YES.value, Choice.NO.value}
        if vote.options.abstain_participates:
            participating.add(Choice.ABSTAIN.value)
        if vote.options.invalid_participates:
            participating.add(Choice.INVALID.value)
        rules = VoteRules(
            electorate=self._electorate(vote),
            participating=frozenset(participating),
            households=rs.household_quorum_threshold is not None,
        )
        self._rules[key] = rules
        while len(self._rules) > self.cache_size:
            self._rules.popitem(last=False)
        return rules

    def _electorate(self, vote: Vote) -> Electorate:
        """The vote's frozen electorate, shared by every vote on the same roll version."""
        key = json.dumps(vote.electorate, sort_keys=True, default=str)
        electorate = self._electorates.get(key)
        if electorate is None:
            electorate = Electorate.of(
                {
                    e.elector_id: (
                        e.building,
                        hundredths(e.area) if e.area is not None else 0,
                        e.household,
                    )
                    for e in self.app.electorate(vote).electors
                }
            )
            self._electorates[key] = electorate
            while len(self._electorates) > 4:
                self._electorates.popitem(last=False)
        return electorate

    def prepare(self, events: Sequence[Projected], ballots: Sequence[BallotRow]) -> None:
        """Pin the electorate of every vote the section concerns, and make sure that how each
        ballot it changes last stood is known (read from the event store when not recent)."""
        pinned: dict[str, VoteRules] = {}
        for item in events:
            if item.topic == self.VOTE_CREATED:
                vote = cast(Vote, item.event.mutate(None))
                pinned[vote.id.hex] = self._vote_rules(vote)
        wanted = set(map(_VOTE_OF, ballots))
        wanted.discard(None)
        changes = list(filterfalse(_VOTE_OF, ballots))  # a change has no vote of its own
        if changes:
            created = set(compress(map(_BALLOT_OF, ballots), map(_VOTE_OF, ballots)))
            seen: set[str] = set()
            for _, ballot_id, version, *_ in changes:
                if ballot_id in created or ballot_id in seen:
                    continue  # created in this section, or an earlier change of it is
                seen.add(ballot_id)
                known = self._known(ballot_id)
                if known is None or known[2] != version - 1:
                    known = self._recent[ballot_id] = self._stored(ballot_id, version - 1)
                wanted.add(known[3])
        for vote_id in cast(set[str], wanted) - set(pinned):
            rules = self._rules.get(vote_id)
            if rules is None:
                rules = self._vote_rules(self.app.vote(UUID(vote_id)))
            pinned[vote_id] = rules
        self._pinned = pinned

    def _known(self, ballot_id: str) -> _Known | None:
        return self._recent.get(ballot_id) or self._older.get(ballot_id)

    def _stored(self, ballot_id: str, version: int) -> _Known:
        """A ballot as it stood at ``version``, read from the event store."""
        stored = self.app.recorder.select_events(UUID(ballot_id), lte=version)
        if not stored or stored[-1].originator_version != version:
            raise ProjectionError(
                f"ballot {ballot_id} changed but its version {version} is unknown"
            )
        decode = self.app.mapper.to_domain_event
        first = ballot_row_from_event(0, decode(stored[0]))
        last = ballot_row_from_event(0, decode(stored[-1]))
        return (*last[:3], first[3], first[4], *last[5:])

    # --- a section -------------------------------------------------------------------------------

    def project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None:
        try:
            self._project(conn, events, ballots)
        finally:
            self._pinned = {}
            if len(self._recent) > self.recent_size // 2:
                self._older = self._recent if self.recent_size else {}
                self._recent = {}

    def _rules_of(self, vote_id: str) -> VoteRules:
        rules = self._pinned.get(vote_id)
        if rules is None:
            raise ProjectionError(f"vote {vote_id} was not prepared for this section")
        return rules

    def _project(
        self, conn: Connection, events: Sequence[Projected], ballots: Sequence[BallotRow]
    ) -> None:
        """The section's vote events first (new votes, where each vote closed), then its ballots,
        each late when its position is after its vote's close."""
        votes = self._votes(conn)
        deltas = _Deltas()
        new_votes: list[dict[str, Any]] = []
        updates: dict[str, dict[str, Any]] = {}
        for item in events:
            t, e = item.topic, item.event
            if t == self.VOTE_CREATED:
                vote = cast(Vote, e.mutate(None))
                vote_id = vote.id.hex
                rules = self._rules_of(vote_id)
                self._vote_created(vote, rules, item.position, e, new_votes)
                votes[vote_id] = _Vote(rules, item.position, None, new_votes[-1]["buildings"])
            elif t == self.VOTE_CLOSED:
                vote_id = e.originator_id.hex
                if vote_id in votes:
                    votes[vote_id].closed_at = item.position
                updates.setdefault(vote_id, {}).update(
                    state="closed", closed_at=micros(e.timestamp), close_position=item.position
                )
            elif t == self.VOTE_EXTENDED:
                updates.setdefault(e.originator_id.hex, {}).update(
                    closes_at=micros(e.closes_at), extended=True
                )
            elif t == self.VOTE_RESULT:
                updates.setdefault(e.originator_id.hex, {}).update(
                    result_passed=bool(e.result["passed"])
                )
            elif t == self.PROXY_REGISTERED:
                deltas.vote(e.originator_id.hex)["proxies"] += 1
            elif t == self.PROXY_REVOKED:
                deltas.vote(e.originator_id.hex)["proxies"] -= 1
        values = self._count(ballots, votes)
        if new_votes:
            conn.execute(view_vote.insert(), new_votes)
        self.store.insert_values(conn, view_ballot_event, BALLOT_COLUMNS, values)
        for vote_id, changes in updates.items():
            conn.execute(
                sa.update(view_vote).where(view_vote.c.vote_id == vote_id).values(**changes)
            )
        self._flush(conn, votes, deltas)

    def _votes(self, conn: Connection) -> dict[str, _Vote]:
        """The section's votes opened before it: where each opened and closed in the log."""
        pinned = self._pinned
        if not pinned:
            return {}
        result = conn.execute(_VOTES, {"vote_ids": list(pinned)})
        return {
            vote_id: _Vote(pinned[vote_id], opened, closed, stored)
            for vote_id, opened, closed, stored in result
        }

    def _count(self, ballots: Sequence[BallotRow], votes: dict[str, _Vote]) -> list[Any]:
        """Count the section's ballot events (the hot path of a rebuild: nine events in ten);
        returns the values of their ``view_ballot_event`` rows, one after another."""
        recent, older, index = self._recent, self._older, _INDEX
        values: list[Any] = []
        add = values.extend
        current: str | None = None
        vote: _Vote | None = None
        electors: dict[str, tuple[str, int, str | None]] = {}
        counts: dict[str, list[int]] = {}
        closed_at: int | None = None
        opened = 0
        households = False
        for ballot in ballots:
            position, ballot_id, version, vote_id, elector_id, choice, channel, at = ballot
            if vote_id is None:  # a change: the ballot as it last stood
                known = recent.get(ballot_id) or older.get(ballot_id)
                if known is None or known[2] != version - 1:
                    raise ProjectionError(
                        f"ballot {ballot_id} changed at {position} but was not seen before"
                    )
                vote_id, elector_id, previous = known[3], known[4], known[5]
                ballot = (position, ballot_id, version, vote_id, elector_id, choice, channel, at)
            else:
                previous = None
            recent[ballot_id] = ballot
            if vote_id is not current:  # ballots come vote after vote: look the vote up once
                vote = votes.get(vote_id)  # type: ignore[arg-type]  # known rows have their vote
                if vote is None:
                    raise ProjectionError(f"vote {vote_id} was not prepared for this section")
                current, opened, closed_at = vote_id, vote.opened, vote.closed_at
                electors, counts = vote.rules.electors, vote.buildings
                households = vote.rules.households
            try:
                building, area, household = electors[elector_id]  # type: ignore[index]
                counted = closed_at is None or position < closed_at
            except KeyError:  # not on the frozen roll: kept, never counted
                counted = False
            if counted:
                # While the vote is open every earlier event of the ballot counted too.
                row = counts[building]
                if previous is not None:
                    i = index[previous]
                    row[i] -= 1
                    row[i + 1] -= area
                i = index[choice]
                row[i] += 1
                row[i + 1] += area
                if households and household is not None:
                    assert vote is not None
                    self._participation(vote, household, previous, choice)
                add((opened, elector_id, version, position, choice, channel, at, True))
            else:
                if closed_at is not None:
                    assert vote is not None
                    vote.late += 1
                add((opened, elector_id, version, position, choice, channel, at, False))
        return values

    @staticmethod
    def _participation(vote: _Vote, household: str, previous: str | None, choice: str) -> None:
        participating = vote.rules.participating
        change = (choice in participating) - (previous is not None and previous in participating)
        if change:
            vote.households[household] = vote.households.get(household, 0) + change

    def _vote_created(
        self,
        vote: Vote,
        rules: VoteRules,
        position: int,
        e: Any,
        new_votes: list[dict[str, Any]],
    ) -> None:
        electorate = rules.electorate
        buildings = {
            b: [heads, area] + [0] * len(COUNTERS)
            for b, (heads, area) in electorate.buildings.items()
        }
        zero = dict.fromkeys(COUNTERS, 0)
        new_votes.append(
            {
                "vote_id": vote.id.hex,
                "case_id": vote.case_id.hex,
                "estate_id": vote.estate_id.hex,
                "item_id": vote.item_id,
                "title": vote.title,
                "rule_set_id": vote.rule_set_id,
                "rule_version": vote.rule_version,
                "options": json.dumps(vote.options.to_dict(), sort_keys=True),
                "electorate": json.dumps(vote.electorate, sort_keys=True, default=str),
                "opened_at": micros(e.timestamp),
                "opened_by": e.actor,
                "opened_position": position,
                "closes_at": micros(vote.closes_at),
                "extended": False,
                "state": "open",
                "closed_at": None,
                "close_position": None,
                "result_passed": None,
                "total_heads": len(electorate.electors),
                "total_area": electorate.total_area,
                "total_households": electorate.total_households,
                "households_participating": 0,
                "proxies": 0,
                "late_ballots": 0,
                **zero,
                "buildings": dump_buildings(buildings),
            }
        )

    def _flush(self, conn: Connection, votes: dict[str, _Vote], deltas: _Deltas) -> None:
        """Add the section's counts to each vote's counters and its per-building JSON, in one
        statement per vote."""
        buildings: dict[str, str] = {}
        for vote_id, vote in votes.items():
            if vote.late:
                deltas.vote(vote_id)["late_ballots"] += vote.late
            if vote.households:
                self._flush_households(conn, vote_id, vote.households, deltas)
            changed = {b: row for b, row in vote.buildings.items() if any(row)}
            if not changed:
                continue
            total = deltas.vote(vote_id)
            current = orjson.loads(vote.stored)
            for building, row in changed.items():
                counts = current[building]
                for i, n in enumerate(row, start=2):
                    counts[i] += n
                for name, n in zip(COUNTERS, row, strict=True):
                    total[name] += n
            buildings[vote_id] = dump_buildings(current)
        plain: list[dict[str, Any]] = []
        with_buildings: list[dict[str, Any]] = []
        for vote_id, d in deltas.votes.items():
            params: dict[str, Any] = {
                "b_vote_id": vote_id,
                **{f"d_{n}": d[n] for n in _VOTE_DELTAS},
            }
            if vote_id in buildings:
                params["b_buildings"] = buildings[vote_id]
                with_buildings.append(params)
            else:
                plain.append(params)
        if plain:
            conn.execute(_ADD_TO_VOTE, plain)
        if with_buildings:
            conn.execute(_ADD_TO_VOTE_AND_BUILDINGS, with_buildings)

    def _flush_households(
        self, conn: Connection, vote_id: str, changes: dict[str, int], deltas: _Deltas
    ) -> None:
        """A household participates while at least one of its members does."""
        changes = {household: d for household, d in changes.items() if d}
        if not changes:
            return
        h = view_vote_household.c
        before: dict[str, int] = dict(
            conn.execute(
                sa.select(h.household, h.participating).where(
                    h.vote_id == vote_id, h.household.in_(changes)
                )
            ).all()
        )
        rows = []
        for household, d in changes.items():
            old = before.get(household, 0)
            new = old + d
            rows.append({"vote_id": vote_id, "household": household, "participating": new})
            if old == 0 < new:
                deltas.vote(vote_id)["households_participating"] += 1
            elif new == 0 < old:
                deltas.vote(vote_id)["households_participating"] -= 1
        self.store.upsert(conn, view_vote_household, rows, ("vote_id", "household"))
