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
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consult.rules import Choice
from consult.vote import Ballot, Vote
from projections.counting import CHOICE_ORDER
from projections.db import hundredths, metadata, micros
from projections.decoding import BallotFact
from projections.errors import ProjectionError
from projections.views.base import Projected, View, topic

if TYPE_CHECKING:
    from consult.application import ConsultationApp
    from projections.db import ViewStore

COUNTERS = tuple(f"{c.value}_{k}" for c in CHOICE_ORDER for k in ("heads", "area"))
_KEYS = {c.value: (f"{c.value}_heads", f"{c.value}_area") for c in CHOICE_ORDER}


def _counter_columns() -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in COUNTERS]


view_vote = sa.Table(
    "view_vote",
    metadata,
    sa.Column("vote_id", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.String(32), nullable=False, index=True),
    sa.Column("estate_id", sa.String(32), nullable=False, index=True),
    sa.Column("item_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("rule_set_id", sa.String(64), nullable=False),
    sa.Column("rule_version", sa.String(64), nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # CountingOptions.to_dict() as JSON
    sa.Column("electorate", sa.Text, nullable=False),  # the frozen electorate's reference, JSON
    sa.Column("opened_at", sa.BigInteger, nullable=False),
    sa.Column("opened_by", sa.Text, nullable=False),
    sa.Column("closes_at", sa.BigInteger, nullable=False),
    sa.Column("extended", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("closed_at", sa.BigInteger),
    sa.Column("close_position", sa.BigInteger),
    sa.Column("result_passed", sa.Boolean),  # as recorded on the vote (Vote.ResultRecorded)
    sa.Column("total_heads", sa.BigInteger, nullable=False),
    sa.Column("total_area", sa.BigInteger, nullable=False),
    sa.Column("total_households", sa.BigInteger, nullable=False),
    sa.Column("households_participating", sa.BigInteger, nullable=False, default=0),
    sa.Column("proxies", sa.BigInteger, nullable=False, default=0),
    sa.Column("late_ballots", sa.BigInteger, nullable=False, default=0),
    *_counter_columns(),
    # Per building, as JSON: {"building": [heads, area, yes heads, yes area, no heads, ...]} in
    # COUNTERS order. One row per vote: a tally reads the same one row for 6 or 60 buildings.
    sa.Column("buildings", sa.Text, nullable=False),
)

#: Every ballot event (a ballot is created, and may be changed once); the counted choice of a
#: ballot is that of its latest counted event.
view_ballot_event = sa.Table(
    "view_ballot_event",
    metadata,
    sa.Column("vote_id", sa.String(32), primary_key=True),
    sa.Column("elector_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("choice", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("counted", sa.Boolean, nullable=False),
    # Clustered by vote and elector (no rowid on SQLite): one B-tree, and a vote's ballots sit
    # together, so a rebuild writes to a small part of it at a time.
    sqlite_with_rowid=False,
)
BALLOT_COLUMNS = (
    "vote_id",
    "elector_id",
    "version",
    "position",
    "choice",
    "channel",
    "at",
    "counted",
)

#: Villagers' meetings: participating members per household (quorum on households).
view_vote_household = sa.Table(
    "view_vote_household",
    metadata,
    sa.Column("vote_id", sa.String(32), primary_key=True),
    sa.Column("household", sa.Text, primary_key=True),
    sa.Column("participating", sa.BigInteger, nullable=False),
)


_VOTE_DELTAS = (*COUNTERS, "late_ballots", "proxies", "households_participating")
_ADD_TO_VOTE = (
    sa.update(view_vote)
    .where(view_vote.c.vote_id == sa.bindparam("b_vote_id"))
    .values({n: view_vote.c[n] + sa.bindparam(f"d_{n}") for n in _VOTE_DELTAS})
)
_SET_BUILDINGS = (
    sa.update(view_vote)
    .where(view_vote.c.vote_id == sa.bindparam("b_vote_id"))
    .values(buildings=sa.bindparam("b_buildings"))
)


def dump_buildings(buildings: dict[str, list[int]]) -> str:
    """The per-building JSON, always written the same way (rebuild == incremental, to the byte)."""
    return orjson.dumps(buildings, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class VoteRules:
    """What never changes about a vote once opened: who may vote, where, with how much area."""

    electors: dict[str, tuple[str, int, str | None]]  # elector -> (building, area, household)
    participating: frozenset[str]  # choices that count as participating
    households: bool  # the rule set has a household quorum


class _Ballot:
    __slots__ = ("counted", "elector_id", "vote_id")

    def __init__(self, vote_id: str, elector_id: str, counted: str | None) -> None:
        self.vote_id = vote_id
        self.elector_id = elector_id
        self.counted = counted  # the choice currently counted, if any


class _Deltas:
    """Counter changes of one section, keyed by vote and by (vote, building)."""

    def __init__(self) -> None:
        self.votes: dict[str, dict[str, int]] = {}
        self.buildings: dict[tuple[str, str], dict[str, int]] = {}
        self.households: dict[tuple[str, str], int] = {}

    def vote(self, vote_id: str) -> dict[str, int]:
        row = self.votes.get(vote_id)
        if row is None:
            row = self.votes[vote_id] = dict.fromkeys(_VOTE_DELTAS, 0)
        return row

    def count(
        self, vote_id: str, rules: VoteRules, elector_id: str, choice: str, sign: int
    ) -> None:
        building, area, household = rules.electors[elector_id]
        heads_key, area_key = _KEYS[choice]
        row = self.votes.get(vote_id) or self.vote(vote_id)
        row[heads_key] += sign
        row[area_key] += sign * area
        brow = self.buildings.get((vote_id, building))
        if brow is None:
            brow = self.buildings[(vote_id, building)] = dict.fromkeys(COUNTERS, 0)
        brow[heads_key] += sign
        brow[area_key] += sign * area
        if rules.households and household is not None and choice in rules.participating:
            hkey = (vote_id, household)
            self.households[hkey] = self.households.get(hkey, 0) + sign


class TalliesView(View):
    name = "tallies"
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
        self._electorates: OrderedDict[str, dict[str, tuple[str, int, str | None]]] = OrderedDict()
        self._pinned: dict[str, VoteRules] = {}  # every vote of the section being applied
        self._ballots: dict[str, _Ballot] = {}  # the section's ballots created before it
        # Recently seen ballot events: ballot -> (vote, elector, version, choice). Facts of the
        # log (true whatever the views hold), so a rolled-back section leaves them valid.
        self._recent: OrderedDict[str, tuple[str, str, int, str]] = OrderedDict()

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
        self._ballots = {}

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
            electors=self._electors(vote),
            participating=frozenset(participating),
            households=rs.household_quorum_threshold is not None,
        )
        self._rules[key] = rules
        while len(self._rules) > self.cache_size:
            self._rules.popitem(last=False)
        return rules

    def _electors(self, vote: Vote) -> dict[str, tuple[str, int, str | None]]:
        """Elector -> (building, area, household) of a frozen electorate, shared by every vote
        on the same roll (or register) version."""
        key = json.dumps(vote.electorate, sort_keys=True, default=str)
        electors = self._electorates.get(key)
        if electors is None:
            electors = {
                e.elector_id: (
                    e.building,
                    hundredths(e.area) if e.area is not None else 0,
                    e.household,
                )
                for e in self.app.electorate(vote).electors
            }
            self._electorates[key] = electors
            while len(self._electorates) > 4:
                self._electorates.popitem(last=False)
        return electors

    def prepare(self, events: Sequence[Projected]) -> None:
        """Pin the electorate of every vote the section concerns, and read from the event store
        how each ballot it changes stood before (its vote, elector and choice)."""
        pinned: dict[str, VoteRules] = {}
        wanted: set[str] = set()
        created: set[str] = set()
        changed: dict[str, BallotFact] = {}
        for item in events:
            t, e = item.topic, item.event
            if t == self.BALLOT_CREATED:
                wanted.add(e.vote_id)
                created.add(e.ballot_id)
            elif t == self.BALLOT_CHANGED:
                changed.setdefault(e.ballot_id, e)
            elif t == self.VOTE_CREATED:
                vote = cast(Vote, e.mutate(None))
                pinned[vote.id.hex] = self._vote_rules(vote)
        ballots = {
            bid: self._ballot_before(fact) for bid, fact in changed.items() if bid not in created
        }
        wanted.update(b.vote_id for b in ballots.values())
        for vote_id in wanted - set(pinned):
            rules = self._rules.get(vote_id)
            if rules is None:
                rules = self._vote_rules(self.app.vote(UUID(vote_id)))
            pinned[vote_id] = rules
        self._pinned, self._ballots = pinned, ballots

    # --- a section -------------------------------------------------------------------------------

    def project(self, conn: Connection, events: Sequence[Projected]) -> None:
        try:
            self._project(conn, events)
        finally:
            self._pinned, self._ballots = {}, {}

    def _rules_of(self, vote_id: str) -> VoteRules:
        rules = self._pinned.get(vote_id)
        if rules is None:
            raise ProjectionError(f"vote {vote_id} was not prepared for this section")
        return rules

    def _project(self, conn: Connection, events: Sequence[Projected]) -> None:
        recent = self._recent
        closed = self._closed_votes(conn, set(self._pinned))
        deltas = _Deltas()
        new_votes: list[dict[str, Any]] = []
        updates: dict[str, dict[str, Any]] = {}
        rows: list[tuple[Any, ...]] = []
        ballot_topics = (self.BALLOT_CREATED, self.BALLOT_CHANGED)
        for item in events:
            t, e = item.topic, item.event
            if t in ballot_topics:
                self._ballot_event(item.position, e, t == self.BALLOT_CREATED, closed, deltas, rows)
            elif t == self.VOTE_CREATED:
                vote = cast(Vote, e.mutate(None))
                self._vote_created(vote, self._rules_of(vote.id.hex), e, new_votes)
                closed[vote.id.hex] = False
            elif t == self.VOTE_CLOSED:
                vote_id = e.originator_id.hex
                closed[vote_id] = True
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
        self._flush(conn, new_votes, updates, rows, deltas)
        while len(recent) > self.recent_size:
            recent.popitem(last=False)

    def _ballot_event(
        self,
        position: int,
        fact: BallotFact,
        created: bool,
        closed: dict[str, bool],
        deltas: _Deltas,
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Count one ballot event (the hot path of a rebuild: nine events in ten)."""
        ballot_id = fact.ballot_id
        if created:
            assert fact.vote_id is not None and fact.elector_id is not None
            ballot = self._ballots[ballot_id] = _Ballot(fact.vote_id, fact.elector_id, None)
        else:
            found = self._ballots.get(ballot_id)
            if found is None:
                raise ProjectionError(f"ballot {ballot_id} changed at {position} but never created")
            ballot = found
        vote_id, elector_id, choice = ballot.vote_id, ballot.elector_id, fact.choice
        rules = self._rules_of(vote_id)
        is_closed = closed.get(vote_id, False)
        counted = not is_closed and elector_id in rules.electors
        if counted:
            if ballot.counted is not None:
                deltas.count(vote_id, rules, elector_id, ballot.counted, -1)
            deltas.count(vote_id, rules, elector_id, choice, +1)
            ballot.counted = choice
        elif is_closed:
            deltas.vote(vote_id)["late_ballots"] += 1
        self._recent[ballot_id] = (vote_id, elector_id, fact.version, choice)
        rows.append(
            (vote_id, elector_id, fact.version, position, choice, fact.channel, fact.at, counted)
        )

    def _vote_created(
        self,
        vote: Vote,
        rules: VoteRules,
        e: Any,
        new_votes: list[dict[str, Any]],
    ) -> None:
        buildings: dict[str, list[int]] = {}
        total_area = 0
        for building, area, _ in rules.electors.values():
            b = buildings.get(building)
            if b is None:
                b = buildings[building] = [0] * (2 + len(COUNTERS))
            b[0] += 1
            b[1] += area
            total_area += area
        households = {h for _, _, h in rules.electors.values() if h is not None}
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
                "closes_at": micros(vote.closes_at),
                "extended": False,
                "state": "open",
                "closed_at": None,
                "close_position": None,
                "result_passed": None,
                "total_heads": len(rules.electors),
                "total_area": total_area,
                "total_households": len(households),
                "households_participating": 0,
                "proxies": 0,
                "late_ballots": 0,
                **zero,
                "buildings": dump_buildings(buildings),
            }
        )

    def _closed_votes(self, conn: Connection, vote_ids: set[str]) -> dict[str, bool]:
        """Whether each vote was closed before the section."""
        if not vote_ids:
            return {}
        v = view_vote.c
        result = conn.execute(sa.select(v.vote_id, v.state).where(v.vote_id.in_(vote_ids)))
        return {vote_id: state == "closed" for vote_id, state in result}

    def _ballot_before(self, fact: BallotFact) -> _Ballot:
        """A ballot as it stood before a change made in a later section.

        Its choice then is the one counted when the change counts: a change counts only while
        the vote is open, and then every earlier event of the ballot counted too (an elector off
        the roll never counts, and the change is not applied to the counters).
        """
        recent = self._recent.get(fact.ballot_id)
        if recent is not None and recent[2] == fact.version - 1:
            return _Ballot(recent[0], recent[1], recent[3])
        stored = self.app.recorder.select_events(UUID(fact.ballot_id), lte=fact.version - 1)
        if not stored:
            raise ProjectionError(f"ballot {fact.ballot_id} changed but never created")
        decode = self.app.mapper.to_domain_event
        first: Any = decode(stored[0])
        last: Any = decode(stored[-1])
        return _Ballot(first.vote_id.hex, first.elector_id, last.choice)

    def _flush(
        self,
        conn: Connection,
        new_votes: list[dict[str, Any]],
        updates: dict[str, dict[str, Any]],
        rows: list[tuple[Any, ...]],
        deltas: _Deltas,
    ) -> None:
        if new_votes:
            conn.execute(view_vote.insert(), new_votes)
        self.store.insert_many(conn, view_ballot_event, BALLOT_COLUMNS, rows)
        for vote_id, values in updates.items():
            conn.execute(
                sa.update(view_vote).where(view_vote.c.vote_id == vote_id).values(**values)
            )
        self._flush_households(conn, deltas)
        if deltas.votes:
            conn.execute(
                _ADD_TO_VOTE,
                [
                    {"b_vote_id": v, **{f"d_{n}": d[n] for n in _VOTE_DELTAS}}
                    for v, d in deltas.votes.items()
                ],
            )
        if deltas.buildings:
            self._flush_buildings(conn, deltas)

    def _flush_buildings(self, conn: Connection, deltas: _Deltas) -> None:
        touched = {vote_id for vote_id, _ in deltas.buildings}
        v = view_vote.c
        stored = conn.execute(sa.select(v.vote_id, v.buildings).where(v.vote_id.in_(touched)))
        current = {vote_id: orjson.loads(text) for vote_id, text in stored}
        for (vote_id, building), d in deltas.buildings.items():
            counts = current[vote_id][building]
            for i, name in enumerate(COUNTERS, start=2):
                counts[i] += d[name]
        conn.execute(
            _SET_BUILDINGS,
            [
                {"b_vote_id": vote_id, "b_buildings": dump_buildings(b)}
                for vote_id, b in current.items()
            ],
        )

    def _flush_households(self, conn: Connection, deltas: _Deltas) -> None:
        """A household participates while at least one of its members does."""
        changes = {k: d for k, d in deltas.households.items() if d}
        if not changes:
            return
        h = view_vote_household.c
        before: dict[tuple[str, str], int] = {}
        for vote_id in {v for v, _ in changes}:
            households = [hh for v, hh in changes if v == vote_id]
            for household, n in conn.execute(
                sa.select(h.household, h.participating).where(
                    h.vote_id == vote_id, h.household.in_(households)
                )
            ):
                before[(vote_id, household)] = n
        rows = []
        for (vote_id, household), d in changes.items():
            old = before.get((vote_id, household), 0)
            new = old + d
            rows.append({"vote_id": vote_id, "household": household, "participating": new})
            if old == 0 < new:
                deltas.vote(vote_id)["households_participating"] += 1
            elif new == 0 < old:
                deltas.vote(vote_id)["households_participating"] -= 1
        self.store.upsert(conn, view_vote_household, rows, ("vote_id", "household"))
