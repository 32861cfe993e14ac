"""The use-case boundary: commands and queries over the consultation aggregates.

Commands take plain values and an :class:`~consult.actors.Actor`, enforce roles and rules, and
return the log position of what they stored (for read-your-writes). Library errors are translated
into domain errors; concurrent writers to one aggregate are retried.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import get_topic

from consult import electorate as electorates
from consult import membership
from consult.actors import Actor, Role
from consult.aggregate import ConsultAggregate, natural_id
from consult.bodies import (
    COUNCIL_PARTIES,
    Council,
    CouncilKind,
    Estate,
    Jurisdiction,
    JurisdictionKind,
    council_id,
    estate_id,
    jurisdiction_id,
)
from consult.case import (
    CHANNELS,
    MATTERS,
    POSITIONS,
    POSITIONS_AGREE,
    SESSION_KINDS,
    SPECIAL_MATTERS,
    Case,
    Stage,
    require_text,
    stage_error,
)
from consult.clock import Clock, SystemClock
from consult.committer import GroupCommitter
from consult.config import yes_no_setting
from consult.electorate import Electorate
from consult.errors import (
    AlreadyVotedError,
    ConcurrencyError,
    ConsultError,
    NotFoundError,
    NotOnRollError,
    NotSignedError,
    PaperBallotError,
    ProxyError,
    SettingError,
    ValidationError,
    VoteClosedBeforeBallotError,
)
from consult.evaluation import Evaluation, RateDecision, Rates, evaluation_id, parse_rating
from consult.motion import Motion, MotionState
from consult.registers import Household, ResidentsRegister, Roll, register_id, roll_id
from consult.roll import AreaSource, HeadRules, OwnerKind, RollSummary, Unit, parse_roll, summarize
from consult.rules import (
    THRESHOLD_PRESETS,
    Choice,
    CountingOptions,
    MotionProgress,
    RuleSetId,
    ThresholdRule,
    VoteResult,
    rule_set,
    tally,
)
from consult.settings import NOTICE_ROUTES
from consult.vote import (
    Ballot,
    PaperEntry,
    Vote,
    VoteState,
    ballot_id,
    paper_entry_id,
    parse_choice,
    receipt_code,
)
from consult.writelock import lock_for

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Which rule set decides for each route, where the route has a statutory vote.
ROUTE_RULES: dict[str, tuple[RuleSetId, ...]] = {
    "owners-assembly": (RuleSetId.CC278_ORDINARY, RuleSetId.CC278_SPECIAL),
    "owners-assembly-extraordinary": (RuleSetId.CC278_ORDINARY, RuleSetId.CC278_SPECIAL),
    "residents-meeting": (RuleSetId.RESIDENTS_MEETING,),
    "villagers-meeting": (RuleSetId.VILLAGERS_MEETING,),
    "representatives-meeting": (RuleSetId.REPRESENTATIVES_MEETING,),
    "owners-committee": (RuleSetId.OWNERS_COMMITTEE,),
    "consultation": (RuleSetId.COUNCIL_CONSENSUS,),
}

OWNER_ROUTES = frozenset({"owners-assembly", "owners-assembly-extraordinary", "owners-committee"})
RESULT_NOTICE_DAYS = 3  # results published within 3 days (Beijing Art. 37) [local]


@dataclass(frozen=True)
class Done:
    """What a command stored: the aggregate it concerned and the log position of its last event."""

    id: UUID
    position: int


@dataclass(frozen=True)
class BallotReceipt:
    ballot_id: UUID
    vote_id: UUID
    elector_id: str
    choice: Choice
    channel: str
    receipt: str
    changed: bool
    position: int


@dataclass(frozen=True)
class SignatureResult:
    motion_id: UUID
    head_ids: tuple[str, ...]
    progress: MotionProgress
    tabled: bool
    position: int


@dataclass(frozen=True)
class EvaluationOutcome:
    rates: Rates
    threshold: str
    reopened: bool
    position: int
    min_responses: int = 0
    conclusive: bool = False


@dataclass(frozen=True)
class MotionOpened:
    """A threshold motion and its topic case, and the log position of their events."""

    motion_id: UUID
    case_id: UUID
    position: int


@dataclass(frozen=True)
class VoteClosed:
    """A closed vote's counted result, and the log position of its close and recorded result."""

    vote_id: UUID
    result: VoteResult
    position: int


def _first_ballot(
    vote: Vote, elector: str, choice: Choice, channel: str, actor: Actor, at: datetime
) -> tuple[Any, BallotReceipt]:
    """An elector's first ballot, made for the group committer, and its receipt (position 0
    until committed)."""
    bid = ballot_id(vote.id, elector)
    code = receipt_code(bid, 1, choice.value, at)
    event = Ballot.created(bid, at, actor.person_id, vote.id, elector, choice, channel, code)
    return event, BallotReceipt(bid, vote.id, elector, choice, channel, code, False, 0)


@dataclass
class _LRU:
    maxsize: int
    items: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    making: dict[Any, threading.Lock] = field(default_factory=dict)
    #: After making a value, move every object alive in the process out of the cyclic garbage
    #: collector's view (``gc.freeze``): a large electorate (17,229 heads: 100,000s of objects) made
    #: each full collection pause the process for 0.2-0.8 s under load. Frozen objects are still
    #: freed by reference counting when dropped; only cycles among them would stay.
    freeze: bool = False

    def get_or_make(self, key: Any, make: Callable[[], T]) -> T:
        """The cached value, or made once: concurrent callers of a missing key wait for the first."""
        while True:
            with self.lock:
                if key in self.items:
                    self.items.move_to_end(key)
                    return self.items[key]  # type: ignore[no-any-return,unused-ignore]
                maker = self.making.get(key)
                if maker is None:
                    maker = self.making[key] = threading.Lock()
                    maker.acquire()
                    break
            with maker:  # another thread is making it: wait, then look again
                pass
        try:
            value = make()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.maxsize:
                    self.items.popitem(last=False)
            if self.freeze:
                gc.freeze()
            return value
        finally:
            with self.lock:
                del self.making[key]
            maker.release()


def _position(recordings: Sequence[Recording[Any]]) -> int:
    return max((r.notification.id for r in recordings), default=0)


class ConsultationApp(Application[UUID]):
    """The consultation platform's application service."""

    name = "consult"
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
    log_section_size = 1000
    retry_seconds = 15.0
    vote_view_seconds = 1.0

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env=env)
        self.clock: Clock = clock or SystemClock()
        self._electorates = _LRU(maxsize=16, freeze=True)
        self._vote_views: dict[UUID, tuple[Vote, float]] = {}
        # CONSULT_GROUP_COMMIT (eventsourcing's environment: the app's name, then the bare name)
        self.group_commit = yes_no_setting(
            "CONSULT_GROUP_COMMIT", self.env.get("GROUP_COMMIT"), True
        )
        self._committer: GroupCommitter | None = None
        self._committer_lock = threading.Lock()
        #: SQLite: this product's writers queue on a lock beside the file (consult.writelock).
        self._write_lock = (
            lock_for(str(self.env.get("SQLITE_DBNAME") or ""))
            if str(self.env.get("PERSISTENCE_MODULE") or "") == "eventsourcing.sqlite"
            else None
        )
        #: Called with the log position after every successful save (e.g. to update projections
        #: in the embedded default). A failing listener never undoes a committed command.
        self.listeners: list[Callable[[int], None]] = []

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        super().close()
        if self._write_lock is not None:
            self._write_lock.close()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        if self._write_lock is None:
            recordings = self._store(objs, kwargs)
        else:
            with self._write_lock.held():
                recordings = self._store(objs, kwargs)
        for obj in objs:
            if isinstance(obj, Vote):  # this process changed it: its next cast reads it afresh
                self._vote_views.pop(obj.id, None)
        position = _position(recordings)
        for listener in self.listeners:
            try:
                listener(position)
            except Exception:  # the events are stored; a follower catches up later
                logger.exception("listener failed after position %s", position)
        return recordings

    def _store(self, objs: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Recording[Any]]:
        """``Application.save``; new events alone (the group committer's batches) are put as
        they are. The library's ``save`` asks of every object whether it is an event or an
        aggregate through runtime-checkable Protocols, about 12 us an object: more than the
        rest of a ballot's save."""
        if kwargs or not objs or not all(isinstance(o, CanMutateAggregate) for o in objs):
            return super().save(*objs, **kwargs)
        processing: ProcessingEvent[Any] = ProcessingEvent()
        processing.events.extend(objs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    # --- infrastructure ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def _get(
        self,
        cls: type[T],
        aggregate_id: UUID,
        kind: str,
        kind_en: str,
        version: int | None = None,
        read_only: bool = False,
    ) -> T:
        """Load an aggregate; ``read_only`` skips the defensive copy of the cached object."""
        try:
            agg: Any = self.repository.get(
                aggregate_id, version=version, deepcopy_from_cache=not read_only
            )
        except AggregateNotFoundError:
            raise NotFoundError(
                field="id", kind=kind, kind_en=kind_en, ident=str(aggregate_id)
            ) from None
        if not isinstance(agg, cls):
            raise NotFoundError(field="id", kind=kind, kind_en=kind_en, ident=str(aggregate_id))
        return agg

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _save(self, *aggs: ConsultAggregate | None) -> int:
        try:
            return _position(self.save(*aggs))
        except IntegrityError:
            raise ConcurrencyError() from None

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run get-modify-save again when another writer got there first.

        Retries with jittered exponential backoff for up to ``retry_seconds``; only a writer that
        keeps losing for that long gets a :class:`ConcurrencyError` (nothing of it was stored).
        """
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.001
        while True:
            try:
                return attempt()
            except ConcurrencyError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 0.1)

    def case(self, case_id: UUID, version: int | None = None) -> Case:
        return self._get(Case, case_id, "协商事项", "case", version)

    def estate(self, estate: UUID) -> Estate:
        return self._get(Estate, estate, "小区", "estate")

    def vote(self, vote_id: UUID, read_only: bool = False) -> Vote:
        return self._get(Vote, vote_id, "表决", "vote", read_only=read_only)

    def motion(self, motion_id: UUID) -> Motion:
        return self._get(Motion, motion_id, "动议", "motion")

    def council(self, council: UUID) -> Council:
        return self._get(Council, council, "议事会", "council")

    # --- streets, communities, estates -------------------------------------------------------

    def create_street(self, code: str, name: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        return self._create_jurisdiction(JurisdictionKind.STREET, code, name, None, actor)

    def create_community(self, code: str, name: str, street_code: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        parent = jurisdiction_id(JurisdictionKind.STREET, street_code)
        self._get(Jurisdiction, parent, "街道", "street")
        return self._create_jurisdiction(JurisdictionKind.COMMUNITY, code, name, parent, actor)

    def _create_jurisdiction(
        self, kind: JurisdictionKind, code: str, name: str, parent: UUID | None, actor: Actor
    ) -> UUID:
        code = _code(code)
        name = require_text(name, "name", "名称", "name", 200)
        jid = jurisdiction_id(kind, code)
        j = Jurisdiction.start(
            jid,
            self.now(),
            actor.person_id,
            kind=kind.value,
            code=code,
            name=name,
            parent_id=parent,
        )
        self._save_new(j, "编号", "code", code)
        return jid

    def _save_new(self, agg: ConsultAggregate, label: str, label_en: str, code: str) -> int:
        try:
            return _position(self.save(agg))
        except IntegrityError:
            raise ValidationError(
                field="code",
                label=label,
                label_en=label_en,
                reason=f"{code} 已存在",
                reason_en=f"{code} already exists",
            ) from None

    def create_estate(self, code: str, name: str, community_code: str, actor: Actor) -> UUID:
        actor.require(Role.OPERATOR)
        code = _code(code)
        name = require_text(name, "name", "小区名称", "estate name", 200)
        community = self._get(
            Jurisdiction,
            jurisdiction_id(JurisdictionKind.COMMUNITY, community_code),
            "社区",
            "community",
        )
        assert community.parent_id is not None
        eid = estate_id(code)
        estate = Estate.start(
            eid,
            self.now(),
            actor.person_id,
            code=code,
            name=name,
            community_id=community.id,
            street_id=community.parent_id,
        )
        self._save_new(estate, "小区编号", "estate code", code)
        return eid

    def _estate_command(self, estate: UUID, change: Callable[[Estate, datetime], None]) -> int:
        def attempt() -> int:
            e = self.estate(estate)
            change(e, self.now())
            return self._save(e)

        return self._retrying(attempt)

    def elect_owners_committee(
        self, estate: UUID, members: Sequence[str], term_ends: str, actor: Actor
    ) -> int:
        """Record an election; a residents' committee acting in its place stops automatically."""
        actor.require(Role.RESIDENTS_COMMITTEE, Role.STREET)
        people = _people(members, "members", "委员", "members")
        if len(people) < 3:
            raise ValidationError(
                field="members",
                label="委员",
                label_en="members",
                reason="业主委员会至少3人",
                reason_en="an owners' committee has at least 3 members",
            )

        def change(e: Estate, at: datetime) -> None:
            e.record(
                Estate.OwnersCommitteeElected,
                at,
                actor.person_id,
                "",
                members=people,
                term_ends=term_ends,
            )
            if e.acting is not None:
                e.record(
                    Estate.ActingArrangementEnded,
                    at,
                    "system",
                    "业主委员会已选举产生，居民委员会代行职责自动终止 / "
                    "an owners' committee was elected; the acting arrangement ends",
                )

        return self._estate_command(estate, change)

    def announce_acting(
        self, estate: UUID, legal_basis: str, election_months: int, actor: Actor
    ) -> int:
        actor.require(Role.RESIDENTS_COMMITTEE, Role.STREET)
        basis = require_text(legal_basis, "legal_basis", "法律依据", "legal basis", 1000)
        if not 1 <= election_months <= 24:
            raise ValidationError(
                field="election_months",
                label="选举期限",
                label_en="election deadline",
                reason="须在1至24个月之间",
                reason_en="must be between 1 and 24 months",
            )

        def change(e: Estate, at: datetime) -> None:
            e.check_can_announce_acting()
            due = (at + timedelta(days=30 * election_months)).date().isoformat()
            e.record(
                Estate.ActingArrangementAnnounced,
                at,
                actor.person_id,
                "",
                residents_committee=actor.person_id,
                legal_basis=basis,
                election_due=due,
            )

        return self._estate_command(estate, change)

    def appoint_property_company(
        self, estate: UUID, company: str, staff: Sequence[str], actor: Actor
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        name = require_text(company, "company", "物业服务企业", "property company", 200)
        people = _people(staff, "staff", "工作人员", "staff", allow_empty=True)
        return self._estate_command(
            estate,
            lambda e, at: e.record(
                Estate.PropertyCompanyAppointed, at, actor.person_id, "", company=name, staff=people
            ),
        )

    def adopt_covenant(
        self, estate: UUID, ref: str, title: str, silent_majority_clause: bool, actor: Actor
    ) -> int:
        """Record an adopted 管理规约 / 议事规则 version (the silent-majority option refers to it)."""
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        ref = require_text(ref, "ref", "规约编号", "covenant reference", 200)
        title = require_text(title, "title", "规约名称", "covenant title", 500)

        def change(e: Estate, at: datetime) -> None:
            if e.covenant(ref):
                raise ValidationError(
                    field="ref",
                    label="规约编号",
                    label_en="covenant reference",
                    reason="该版本已登记",
                    reason_en="this version is already recorded",
                )
            e.record(
                Estate.CovenantAdopted,
                at,
                actor.person_id,
                "",
                ref=ref,
                title=title,
                silent_majority_clause=silent_majority_clause,
            )

        return self._estate_command(estate, change)

    def change_settings(self, estate: UUID, changes: dict[str, Any], actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)

        def change(e: Estate, at: datetime) -> None:
            new = e.settings.merged(changes)
            e.record(Estate.SettingsChanged, at, actor.person_id, "", settings=new.to_dict())

        return self._estate_command(estate, change)

    def create_council(self, estate: UUID, kind: str, actor: Actor) -> UUID:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        self.estate(estate)
        try:
            ck = CouncilKind(kind)
        except ValueError:
            raise ValidationError(
                field="kind",
                label="议事会类型",
                label_en="council kind",
                reason="须为 four-in-one 或 six-party",
                reason_en="must be four-in-one or six-party",
            ) from None
        cid = council_id(estate, ck.value)
        c = Council.start(cid, self.now(), actor.person_id, estate_id=estate, kind=ck.value)
        self._save_new(c, "议事会", "council", ck.value)
        return cid

    def assign_seats(self, council: UUID, party: str, holders: Sequence[str], actor: Actor) -> int:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        people = _people(holders, "holders", "席位人员", "seat holders")

        def attempt() -> int:
            c = self.council(council)
            p = c.check_party(party)
            c.record(
                Council.SeatsAssigned,
                self.now(),
                actor.person_id,
                "",
                party=p.value,
                holders=people,
            )
            return self._save(c)

        return self._retrying(attempt)

    # --- the owners' roll and the residents' register ---------------------------------------

    def import_roll(
        self,
        estate: UUID,
        text: str,
        actor: Actor,
        source_name: str = "",
        head_rules: HeadRules | None = None,
    ) -> tuple[RollSummary, int]:
        """Validate every row (nothing is stored if any is bad), then store the roll as a new version."""
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        self.estate(estate)
        units = parse_roll(text)
        rid = roll_id(estate)
        at = self.now()

        def attempt() -> tuple[HeadRules, int]:
            if self.exists(rid):
                roll = self._get(Roll, rid, "名册", "roll")
                roll.record(
                    Roll.Reimported,
                    at,
                    actor.person_id,
                    "重新导入名册 / roll re-imported",
                    units=[u.to_dict() for u in units],
                    source_name=source_name,
                )
                if head_rules is not None and head_rules != roll.head_rules:
                    roll.record(
                        Roll.HeadRulesChanged,
                        at,
                        actor.person_id,
                        "",
                        head_rules=head_rules.to_dict(),
                    )
            else:
                roll = Roll.start(
                    rid,
                    at,
                    actor.person_id,
                    "导入名册 / roll imported",
                    estate_id=estate,
                    units=[u.to_dict() for u in units],
                    head_rules=(head_rules or HeadRules()).to_dict(),
                    source_name=source_name,
                )
            return roll.head_rules, self._save(roll)

        rules, position = self._retrying(attempt)
        return summarize(units, rules), position

    def roll_version(self, estate: UUID) -> int:
        last = self.recorder.select_events(roll_id(estate), desc=True, limit=1)
        if not last:
            raise NotFoundError(field="estate", kind="名册", kind_en="roll", ident=str(estate))
        return last[0].originator_version

    def roll(self, estate: UUID, version: int | None = None) -> Roll:
        """The roll as it stood at a version (the latest by default); never cached mutable state."""
        return self._get(
            Roll, roll_id(estate), "名册", "roll", version=version or self.roll_version(estate)
        )

    def roll_at(self, estate: UUID, moment: datetime) -> Roll:
        """The roll as it stood at a moment in time."""
        version = 0
        for stored in self.recorder.select_events(roll_id(estate)):
            event: Any = self.mapper.to_domain_event(stored)
            if event.timestamp > moment:
                break
            version = stored.originator_version
        if version == 0:
            raise NotFoundError(
                field="at",
                kind="该时间的名册",
                kind_en="roll at that time",
                ident=moment,
            )
        return self.roll(estate, version)

    def roll_summary(self, estate: UUID, version: int | None = None) -> RollSummary:
        r = self.roll(estate, version)
        return summarize(list(r.units.values()), r.head_rules)

    def owners_electorate(self, estate: UUID, version: int | None = None) -> Electorate:
        version = version or self.roll_version(estate)
        rid = roll_id(estate)

        def make() -> Electorate:
            r = self.roll(estate, version)
            return electorates.from_roll(
                list(r.units.values()),
                r.head_rules,
                {"kind": "roll", "roll_id": rid.hex, "version": version},
            )

        return self._electorates.get_or_make(("roll", rid, version), make)

    def _roll_command(self, estate: UUID, change: Callable[[Roll, datetime], None]) -> int:
        def attempt() -> int:
            r = self._get(Roll, roll_id(estate), "名册", "roll")
            change(r, self.now())
            return self._save(r)

        return self._retrying(attempt)

    def add_unit(self, estate: UUID, unit: Unit, document: str, actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        doc = require_text(document, "document", "依据文件", "supporting document", 500)

        def change(r: Roll, at: datetime) -> None:
            r.check_new_unit(unit)
            r.record(Roll.UnitAdded, at, actor.person_id, doc, unit=unit.to_dict())

        return self._roll_command(estate, change)

    def change_owner(
        self,
        estate: UUID,
        unit_id: str,
        owners: Sequence[str],
        owner_kind: str,
        document: str,
        actor: Actor,
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        people = _people(owners, "owners", "业主", "owners")
        doc = require_text(document, "document", "依据文件", "supporting document", 500)
        try:
            kind = OwnerKind(owner_kind)
        except ValueError:
            raise ValidationError(
                field="owner_kind",
                label="业主类型",
                label_en="owner kind",
                reason="须为 person、company 或 developer",
                reason_en="must be person, company or developer",
            ) from None

        def change(r: Roll, at: datetime) -> None:
            r.unit(unit_id)
            r.record(
                Roll.OwnerChanged,
                at,
                actor.person_id,
                doc,
                unit_id=unit_id,
                owners=people,
                owner_kind=kind.value,
                document=doc,
            )

        return self._roll_command(estate, change)

    def correct_area(
        self,
        estate: UUID,
        unit_id: str,
        area: Decimal,
        area_source: str,
        document: str,
        actor: Actor,
    ) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        doc = require_text(document, "document", "依据文件", "supporting document", 500)
        exponent = area.as_tuple().exponent if isinstance(area, Decimal) else 0
        if (
            not isinstance(area, Decimal)
            or not area.is_finite()
            or area <= 0
            or not isinstance(exponent, int)
            or exponent < -2
        ):
            raise ValidationError(
                field="area",
                label="面积",
                label_en="area",
                reason="须为大于0、最多两位小数的数",
                reason_en="must be a positive number with at most two decimals",
            )
        try:
            source = AreaSource(area_source)
        except ValueError:
            raise ValidationError(
                field="area_source",
                label="面积来源",
                label_en="area source",
                reason="须为 register、survey 或 contract",
                reason_en="must be register, survey or contract",
            ) from None

        def change(r: Roll, at: datetime) -> None:
            r.unit(unit_id)
            r.record(
                Roll.AreaCorrected,
                at,
                actor.person_id,
                doc,
                unit_id=unit_id,
                area=area,
                area_source=source.value,
                document=doc,
            )

        return self._roll_command(estate, change)

    def set_head_rules(self, estate: UUID, rules: HeadRules, reason: str, actor: Actor) -> int:
        actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
        why = require_text(reason, "reason", "依据", "basis", 1000)

        def change(r: Roll, at: datetime) -> None:
            r.record(Roll.HeadRulesChanged, at, actor.person_id, why, head_rules=rules.to_dict())

        return self._roll_command(estate, change)

    def record_household(self, community: UUID, household: Household, actor: Actor) -> int:
        actor.require(Role.RESIDENTS_COMMITTEE)
        if not household.household_id.strip() or not household.adults:
            raise ValidationError(
                field="household",
                label="户",
                label_en="household",
                reason="须有户号和至少一名成年人",
                reason_en="needs an id and at least one adult",
            )
        self._get(Jurisdiction, community, "社区", "community")
        rid = register_id(community)

        def attempt() -> int:
            if self.exists(rid):
                reg = self._get(ResidentsRegister, rid, "居民名册", "residents' register")
            else:
                reg = ResidentsRegister.start(
                    rid, self.now(), actor.person_id, community_id=community
                )
            reg.record(
                ResidentsRegister.HouseholdRecorded,
                self.now(),
                actor.person_id,
                "",
                household=household.to_dict(),
            )
            return self._save(reg)

        return self._retrying(attempt)

    def register_electorate(self, community: UUID, basis: str) -> Electorate:
        rid = register_id(community)
        last = self.recorder.select_events(rid, desc=True, limit=1)
        if not last:
            raise NotFoundError(
                field="community",
                kind="居民名册",
                kind_en="residents' register",
                ident=str(community),
            )
        version = last[0].originator_version

        def make() -> Electorate:
            reg = self._get(
                ResidentsRegister, rid, "居民名册", "residents' register", version=version
            )
            return electorates.from_register(
                reg.adults,
                basis,
                {"kind": "register", "register_id": rid.hex, "version": version, "basis": basis},
            )

        return self._electorates.get_or_make(("register", rid, version, basis), make)

    # --- topics and cases ---------------------------------------------------------------------

    def belongs(self, estate: UUID, person: str) -> bool:
        """Whether the person is on the estate's owners' roll (its latest version) or an adult on
        its community's residents' register (:mod:`consult.membership`)."""
        try:
            if self.owners_electorate(estate).electors_of(person):
                return True
        except NotFoundError:  # no roll imported yet
            pass
        try:
            register = self.register_electorate(self.estate(estate).community_id, "adults")
        except NotFoundError:  # no register recorded yet
            return False
        return bool(register.electors_of(person))

    def _member_of(self, estate: UUID) -> Callable[[str], bool]:
        return lambda person: self.belongs(estate, person)

    def submit_topic(
        self, estate: UUID, title: str, description: str, channel: str, actor: Actor
    ) -> Done:
        self.estate(estate)
        membership.require_submitter(actor, self._member_of(estate))
        if channel not in CHANNELS or channel == "motion":
            raise ValidationError(
                field="channel",
                label="渠道",
                label_en="channel",
                reason=f"须为 {', '.join(c for c in CHANNELS if c != 'motion')} 之一",
                reason_en=f"must be one of {', '.join(c for c in CHANNELS if c != 'motion')}",
            )
        case = self._new_case(estate, title, description, channel, actor, None)
        return Done(case.id, self._save(case))

    def _new_case(
        self,
        estate: UUID,
        title: str,
        description: str,
        channel: str,
        actor: Actor,
        motion_id: UUID | None,
    ) -> Case:
        title = require_text(title, "title", "议题标题", "topic title", 200)
        description = require_text(description, "description", "议题内容", "topic description")
        cid = natural_id("case", motion_id) if motion_id else _new_id()
        return Case.start(
            cid,
            self.now(),
            actor.person_id,
            "",
            estate_id=estate,
            title=title,
            description=description,
            channel=channel,
            submitted_by=actor.person_id,
            motion_id=motion_id,
        )

    def _case_command(self, case_id: UUID, change: Callable[[Case, datetime], None]) -> Done:
        def attempt() -> Done:
            c = self.case(case_id)
            change(c, self.now())
            return Done(case_id, self._save(c))

        return self._retrying(attempt)

    def support_topic(self, case_id: UUID, actor: Actor) -> Done:
        estate = self.case(case_id).estate_id
        membership.require_resident(actor, self._member_of(estate), membership.SUPPORT)
        return self._case_command(case_id, lambda c, at: c.support(actor.person_id, at))

    def confirm_topic(
        self, case_id: UUID, route: str, participants: Sequence[str], actor: Actor, reason: str = ""
    ) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        if route not in NOTICE_ROUTES:
            raise ValidationError(
                field="route",
                label="议事途径",
                label_en="route",
                reason=f"须为 {', '.join(NOTICE_ROUTES)} 之一",
                reason_en=f"must be one of {', '.join(NOTICE_ROUTES)}",
            )
        people = [p.strip() for p in participants if p.strip()]
        return self._case_command(
            case_id, lambda c, at: c.confirm(route, people, at, actor.person_id, reason)
        )

    def reject_topic(self, case_id: UUID, actor: Actor, reason: str) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        return self._case_command(case_id, lambda c, at: c.reject(at, actor.person_id, reason))

    def refer_topic(self, case_id: UUID, to: str, actor: Actor, reason: str) -> Done:
        actor.require(Role.PARTY_ORGANISATION, Role.RESIDENTS_COMMITTEE)
        return self._case_command(case_id, lambda c, at: c.refer(to, at, actor.person_id, reason))

    def require_convener(self, case: Case, actor: Actor) -> None:
        """Owners' matters are convened by the owners' committee, or by the residents' committee only
        while its announced acting arrangement is in force; others by the residents' committee or
        the Party organisation."""
        if case.route in OWNER_ROUTES:
            estate = self.estate(case.estate_id)
            if estate.acting is not None and not estate.has_owners_committee:
                actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE)
            else:
                actor.require(Role.OWNERS_COMMITTEE)
        else:
            actor.require(Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION)

    def publish_notice(
        self,
        case_id: UUID,
        content: str,
        place: str,
        form: str,
        meeting_at: datetime,
        agenda: Sequence[dict[str, Any]],
        actor: Actor,
    ) -> Done:
        """Freeze the agenda and start the route's minimum notice period."""
        case = self.case(case_id)
        self.require_convener(case, actor)
        estate = self.estate(case.estate_id)
        assert case.route is not None
        items = [self._agenda_item(case.route, i, item, estate) for i, item in enumerate(agenda)]
        ids = [i["item_id"] for i in items]
        if len(set(ids)) != len(ids):
            raise ValidationError(
                field="agenda",
                label="议程",
                label_en="agenda",
                reason="议程编号重复",
                reason_en="agenda item ids repeat",
            )
        days = estate.settings.notice_period(case.route)
        return self._case_command(
            case_id,
            lambda c, at: c.publish_notice(
                content, place, form, meeting_at, items, days, at, actor.person_id
            ),
        )

    def _agenda_item(
        self, route: str, index: int, item: dict[str, Any], estate: Estate
    ) -> dict[str, Any]:
        f = f"agenda[{index}]"
        item_id = str(item.get("item_id") or f"{index + 1}").strip()
        title = require_text(
            str(item.get("title", "")), f"{f}.title", "议程标题", "agenda item title", 500
        )
        matter = item.get("matter")
        allowed = ROUTE_RULES[route]
        if route in ("owners-assembly", "owners-assembly-extraordinary"):
            if not isinstance(matter, int) or matter not in MATTERS:
                raise ValidationError(
                    field=f"{f}.matter",
                    label="表决事项类别",
                    label_en="matter",
                    reason="须为《民法典》第278条第1至9项之一",
                    reason_en="must be one of Civil Code Art. 278 matters 1 to 9",
                )
            rs = RuleSetId.CC278_SPECIAL if matter in SPECIAL_MATTERS else RuleSetId.CC278_ORDINARY
        else:
            rs = allowed[0]
            matter = None
        options = CountingOptions(
            abstain_participates=estate.settings.abstain_participates,
            invalid_participates=estate.settings.invalid_participates,
            silent_majority=bool(item.get("silent_majority", False)),
            covenant_ref=item.get("covenant_ref") or None,
            zhejiang_floor=estate.settings.zhejiang_floor,
        )
        options.validate(rule_set(rs))
        if options.silent_majority:
            cov = estate.covenant(options.covenant_ref or "")
            if cov is None or not cov["silent_majority_clause"]:
                raise SettingError(
                    field=f"{f}.covenant_ref",
                    reason="“未投票视为同意多数”须引用本小区已通过且含该条款的管理规约或议事规则",
                    reason_en="the silent-majority option needs a reference to an adopted covenant of this estate that contains the clause",
                )
        basis = str(item.get("basis", "adults"))
        if basis not in ("adults", "households"):
            raise ValidationError(
                field=f"{f}.basis",
                label="表决基数",
                label_en="basis",
                reason="须为 adults 或 households",
                reason_en="must be adults or households",
            )
        members = [str(m).strip() for m in item.get("members", []) if str(m).strip()]
        if rs == RuleSetId.REPRESENTATIVES_MEETING and not members:
            raise ValidationError(
                field=f"{f}.members",
                label="代表名单",
                label_en="representatives",
                reason="须列出全体代表",
                reason_en="list every representative",
            )
        council = item.get("council_id")
        if rs == RuleSetId.COUNCIL_CONSENSUS and not council:
            raise ValidationError(
                field=f"{f}.council_id",
                label="议事会",
                label_en="council",
                reason="协商表决须指定议事会",
                reason_en="a consensus vote needs a council",
            )
        return {
            "item_id": item_id,
            "title": title,
            "matter": matter,
            "rule_set": rs.value,
            "options": options.to_dict(),
            "basis": basis,
            "members": members,
            "council_id": str(council) if council else None,
        }

    def record_session(
        self,
        case_id: UUID,
        kind: str,
        held_at: datetime,
        attendees: Sequence[str],
        statements: Sequence[dict[str, str]],
        positions: dict[str, dict[str, str]],
        dissent: Sequence[str],
        actor: Actor,
        council: UUID | None = None,
        summary: str = "",
    ) -> Done:
        """Record a deliberation session: who spoke, each party's position, dissent, consensus."""
        case = self.case(case_id)
        self.require_convener(case, actor)
        if kind not in SESSION_KINDS:
            raise ValidationError(
                field="kind",
                label="会议形式",
                label_en="session kind",
                reason=f"须为 {', '.join(SESSION_KINDS)} 之一",
                reason_en=f"must be one of {', '.join(SESSION_KINDS)}",
            )
        for i, s in enumerate(statements):
            if not str(s.get("speaker", "")).strip() or not str(s.get("text", "")).strip():
                raise ValidationError(
                    field=f"statements[{i}]",
                    label="发言",
                    label_en="statement",
                    reason="须有发言人和内容",
                    reason_en="needs a speaker and a text",
                )
        for party, pos in positions.items():
            if pos.get("position") not in POSITIONS:
                raise ValidationError(
                    field=f"positions.{party}",
                    label="立场",
                    label_en="position",
                    reason=f"须为 {', '.join(POSITIONS)} 之一",
                    reason_en=f"must be one of {', '.join(POSITIONS)}",
                )
        consensus: bool | None = None
        parties: list[str] = []
        if council is not None:
            c = self.council(council)
            parties = [p.value for p in COUNCIL_PARTIES[c.kind]]
            for party in positions:
                c.check_party(party)
            missing = [p for p in parties if p not in positions]
            if missing:
                raise ValidationError(
                    field="positions",
                    label="各方立场",
                    label_en="party positions",
                    reason=f"须记录每一方的立场，缺少：{', '.join(missing)}",
                    reason_en=f"record every party's position; missing: {', '.join(missing)}",
                )
            consensus = all(positions[p]["position"] in POSITIONS_AGREE for p in parties)
        session = {
            "kind": kind,
            "held_at": held_at.isoformat(),
            "council_id": council.hex if council else None,
            "parties": parties,
            "attendees": [a.strip() for a in attendees if a.strip()],
            "statements": [
                {
                    "speaker": s["speaker"].strip(),
                    "party": s.get("party", ""),
                    "text": s["text"].strip(),
                }
                for s in statements
            ],
            "positions": {
                p: {"position": v["position"], "text": v.get("text", "")}
                for p, v in positions.items()
            },
            "dissent": [d.strip() for d in dissent if d.strip()],
            "consensus": consensus,
            "summary": summary.strip(),
        }
        return self._case_command(
            case_id, lambda c, at: c.record_session(session, at, actor.person_id)
        )

    def speak(self, case_id: UUID, text: str, actor: Actor) -> Done:
        membership.require_speaker(actor, self._member_of(self.case(case_id).estate_id))
        return self._case_command(case_id, lambda c, at: c.speak(actor.person_id, text, at))

    def form_opinion(self, case_id: UUID, opinion: str, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        return self._case_command(
            case_id, lambda c, at: c.form_opinion(opinion, at, actor.person_id)
        )

    # --- votes --------------------------------------------------------------------------------

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
            raise ValidationError(
                field="closes_at",
                label="截止时间",
                label_en="deadline",
                reason="须晚于当前时间",
                reason_en="must be later than now",
            )
        electorate = self._electorate_for_item(case, estate, item)
        vote_id = _new_id()
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

    def electorate(self, vote: Vote) -> Electorate:
        ref = vote.electorate
        kind = ref["kind"]
        if kind == "roll":
            return self.owners_electorate(vote.estate_id, int(ref["version"]))
        if kind == "register":
            rid = UUID(ref["register_id"])
            version = int(ref["version"])

            def make() -> Electorate:
                reg = self._get(
                    ResidentsRegister, rid, "居民名册", "residents' register", version=version
                )
                return electorates.from_register(reg.adults, ref["basis"], ref)

            return self._electorates.get_or_make(("register", rid, version, ref["basis"]), make)
        if kind == "members":
            return electorates.from_members(ref["members"], ref)
        return electorates.from_council(ref["seats"], ref)

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
                raise ValidationError(
                    field="elector_id",
                    label="投票对象",
                    label_en="elector",
                    reason="您可代表多户投票，请选择其中一户",
                    reason_en="you may vote for several owners; choose one",
                )
            elector_id = candidates[0]
        if elector_id in own:
            return elector_id, "online"
        if elector_id in proxied:
            return elector_id, "proxy"
        raise NotOnRollError(field="elector_id", version=version)

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
            event, receipt = _first_ballot(vote, elector, ch, channel, actor, at)
            try:
                position = self._ballot_committer().submit_events(vote.id, [event])
            except IntegrityError:
                pass  # a ballot of this elector exists (or was just stored): change it below
            else:
                return replace(receipt, position=position)
        return self._cast_over(vote, elector, ch, channel, actor, at)

    def recast_ballot(
        self,
        vote_id: UUID,
        choice: str | Choice,
        actor: Actor,
        elector_id: str | None = None,
        estate: UUID | None = None,
    ) -> BallotReceipt:
        """:meth:`cast_ballot` for an elector known to have a ballot already (the
        :class:`IntegrityError` of :meth:`cast_ballot_later`): changed where allowed, or refused,
        without another try through the group committer (a batch that fails its integrity check
        is saved again one by one)."""
        ch, at, vote, elector, channel = self._admit_ballot(
            vote_id, choice, actor, elector_id, False, estate
        )
        return self._cast_over(vote, elector, ch, channel, actor, at)

    def _cast_over(
        self, vote: Vote, elector: str, ch: Choice, channel: str, actor: Actor, at: datetime
    ) -> BallotReceipt:
        """The ordinary path of a cast: load, change (or start), save; refused if stored after
        the close."""
        stored = self._store_ballot(vote, elector, ch, channel, actor.person_id, at)
        self._refuse_if_closed_before(vote.id, stored.position)
        return stored

    def cast_ballot_later(
        self,
        vote_id: UUID,
        choice: str | Choice,
        actor: Actor,
        elector_id: str | None,
        done: Callable[[BallotReceipt | None, BaseException | None], None],
        estate: UUID | None = None,
    ) -> None:
        """:meth:`cast_ballot` for a caller that does not wait for the commit (a web worker that
        answers from its event loop): a refusal of the admission is raised here, at once; the rest
        comes to ``done(receipt, error)``, once, on the group committer's thread, and ``done``
        must return quickly. An :class:`IntegrityError` there means this elector has a ballot
        already and nothing was stored: the caller casts again with :meth:`recast_ballot` (which
        changes it, where allowed) on a thread of its own. Needs group commit on."""
        if not self.group_commit:
            raise RuntimeError("cast_ballot_later needs group commit")
        ch, at, vote, elector, channel = self._admit_ballot(
            vote_id, choice, actor, elector_id, False, estate
        )
        event, receipt = _first_ballot(vote, elector, ch, channel, actor, at)

        def committed(position: int, error: BaseException | None) -> None:
            if error is None:
                done(replace(receipt, position=position), None)
            else:
                done(None, error)

        self._ballot_committer().submit_events_later(vote.id, [event], committed)

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
            raise ValidationError(
                field="choice",
                label="表决意见",
                label_en="choice",
                reason="网上投票只能选择同意、反对或弃权",
                reason_en="an online ballot is yes, no or abstain",
            )
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
        now = time.monotonic()
        seen = self._vote_views.get(vote_id)
        if seen is not None and not fresh and now - seen[1] < self.vote_view_seconds:
            return seen[0]
        vote = self.vote(vote_id, read_only=True)
        self._vote_views[vote_id] = (vote, now)
        return vote

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

    def _ballot_committer(self) -> GroupCommitter:
        with self._committer_lock:
            if self._committer is None:
                self._committer = GroupCommitter(self.save, self._counted, name="ballot-commit")
            return self._committer

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

    def _close_position(self, vote_id: UUID, start: int | None = None) -> int | None:
        """The log position of a vote's close event at or after ``start`` (None if not found)."""
        topic = get_topic(Vote.Closed)
        position = start
        while True:
            batch = self.recorder.select_notifications(position, 1000, topics=[topic])
            for n in batch:
                if n.originator_id == vote_id:
                    return n.id
            if len(batch) < 1000:
                return None
            position = batch[-1].id + 1

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

    def enter_paper_ballot(
        self, vote_id: UUID, elector_id: str, choice: str, sheet_no: str, actor: Actor
    ) -> Done:
        """First entry of a paper ballot by one teller; it counts once a second teller confirms."""
        actor.require(Role.TELLER)
        ch = parse_choice(choice)
        sheet = require_text(sheet_no, "sheet_no", "选票编号", "ballot sheet number", 100)
        vote = self.vote(vote_id)
        vote.check_open()
        self._check_teller(vote, actor)
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

    def _check_teller(self, vote: Vote, actor: Actor) -> None:
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

    def confirm_paper_ballot(
        self, vote_id: UUID, elector_id: str, choice: str, actor: Actor
    ) -> BallotReceipt | None:
        """Second entry: equal -> the ballot is stored (once per elector); different -> disputed.

        Returns the ballot receipt, or None when the entries differed (re-enter from the sheet).
        A head that already voted online keeps that ballot; the sheet is marked duplicate.
        """
        actor.require(Role.TELLER)
        ch = parse_choice(choice)
        vote = self.vote(vote_id)
        vote.check_open()
        self._check_teller(vote, actor)
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

    def ballots(self, vote: Vote, until: int | None = None) -> dict[str, Choice]:
        """Every elector's counted choice, excluding what was stored after ``until`` (the close).

        The ballot events are read first and the late ones looked up afterwards: a ballot committed
        while this runs is either not read at all, or read and then found among the late ones.
        """
        electorate = self.electorate(vote)
        ids = {ballot_id(vote.id, e.elector_id): e.elector_id for e in electorate.electors}
        stored_by_ballot = {bid: self.recorder.select_events(bid) for bid in ids}
        late: set[tuple[UUID | str, int]] = set()
        if until is not None:
            topics = [get_topic(Ballot.Created), get_topic(Ballot.Changed)]
            position = until + 1
            while True:
                batch = self.recorder.select_notifications(position, 1000, topics=topics)
                late.update(
                    (n.originator_id, n.originator_version) for n in batch if n.originator_id in ids
                )
                if len(batch) < 1000:
                    break
                position = batch[-1].id + 1
        result: dict[str, Choice] = {}
        for bid, elector in ids.items():
            for stored in stored_by_ballot[bid]:
                if (bid, stored.originator_version) in late:
                    break
                event: Any = self.mapper.to_domain_event(stored)
                result[elector] = Choice(event.choice)
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

    # --- result, implementation, feedback, evaluation, exits -----------------------------------

    def publish_result(self, case_id: UUID, summary: str, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        outcome: dict[str, Any] = {"votes": {}, "opinion": case.opinion}
        for vid in case.votes:
            vote = self.vote(UUID(vid))
            outcome["votes"][vid] = {
                "item_id": vote.item_id,
                "title": vote.title,
                "result": vote.result,
            }
        return self._case_command(
            case_id, lambda c, at: c.publish_result(summary, outcome, at, actor.person_id)
        )

    def assign_implementation(
        self, case_id: UUID, assignee: str, plan: str, due: datetime, actor: Actor
    ) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        return self._case_command(
            case_id, lambda c, at: c.assign(assignee, plan, due, at, actor.person_id)
        )

    def report_progress(self, case_id: UUID, percent: int, text: str, actor: Actor) -> Done:
        case = self.case(case_id)
        if not (case.implementation and case.implementation["assignee"] == actor.person_id):
            actor.require(Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE, Role.PROPERTY_COMPANY)
        return self._case_command(
            case_id, lambda c, at: c.report_progress(percent, text, at, actor.person_id)
        )

    def give_feedback(
        self, case_id: UUID, summary: str, explanations: Sequence[dict[str, str]], actor: Actor
    ) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        return self._case_command(
            case_id,
            lambda c, at: c.give_feedback(
                summary, [dict(e) for e in explanations], at, actor.person_id
            ),
        )

    def open_evaluation(self, case_id: UUID, closes_at: datetime, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        roll_version, eligible = self._eligible_heads(case)
        at = self.now()

        def attempt() -> Done:
            c = self.case(case_id)
            c.open_evaluation(closes_at, at, actor.person_id)
            ev = Evaluation.start(
                evaluation_id(case_id, c.evaluation_rounds),
                at,
                actor.person_id,
                case_id=case_id,
                round_no=c.evaluation_rounds,
                eligible=eligible,
                closes_at=closes_at,
                roll_version=roll_version,
            )
            return Done(ev.id, self._save(c, ev))

        return self._retrying(attempt)

    def _eligible_heads(self, case: Case) -> tuple[int | None, int]:
        """The roll version whose owners' heads may rate, and how many heads it has."""
        try:
            version = self.roll_version(case.estate_id)
            return version, self.owners_electorate(case.estate_id, version).total_heads
        except NotFoundError:
            return None, 0

    def _rater_heads(self, ev: Evaluation, estate: UUID, person: str) -> tuple[str, ...]:
        if ev.roll_version is None:
            return (person,)  # a round opened before ratings were kept per head
        return self.owners_electorate(estate, ev.roll_version).electors_of(person)

    def rate(
        self, case_id: UUID, rating: str, aware: bool, participated: bool, actor: Actor
    ) -> Done:
        r = parse_rating(rating)

        def attempt() -> Done:
            case = self.case(case_id)
            if not case.evaluation_open:
                raise stage_error(case.stage, "评价", "be rated")
            ev = self._get(
                Evaluation, evaluation_id(case_id, case.evaluation_rounds), "评价", "evaluation"
            )
            heads = self._rater_heads(ev, case.estate_id, actor.person_id)
            ev.rate(actor.person_id, heads, r, aware, participated, self.now())
            return Done(ev.id, self._save(ev))

        return self._retrying(attempt)

    def evaluation(self, case_id: UUID, round_no: int | None = None) -> Evaluation:
        case = self.case(case_id)
        return self._get(
            Evaluation,
            evaluation_id(case_id, round_no or case.evaluation_rounds),
            "评价",
            "evaluation",
        )

    def close_evaluation(self, case_id: UUID, actor: Actor) -> EvaluationOutcome:
        """Publish the rates; satisfaction below the estate's threshold reopens for rectification
        when enough heads answered (the estate's ``evaluation_min_responses``)."""
        case = self.case(case_id)
        self.require_convener(case, actor)
        settings = self.estate(case.estate_id).settings

        def attempt() -> EvaluationOutcome:
            c = self.case(case_id)
            ev = self._get(
                Evaluation, evaluation_id(case_id, c.evaluation_rounds), "评价", "evaluation"
            )
            rates = ev.rates()
            decision = RateDecision.of(
                rates, settings.satisfaction_threshold, settings.evaluation_min_responses
            )
            at = self.now()
            c.close_evaluation(
                {**rates.to_dict(), **decision.to_dict()}, decision.reopened, at, actor.person_id
            )
            ev.record(Evaluation.Closed, at, actor.person_id, "")
            return EvaluationOutcome(
                rates,
                str(decision.threshold),
                decision.reopened,
                self._save(c, ev),
                decision.min_responses,
                decision.conclusive,
            )

        return self._retrying(attempt)

    def archive(self, case_id: UUID, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        return self._case_command(case_id, lambda c, at: c.archive(at, actor.person_id))

    def withdraw(self, case_id: UUID, actor: Actor, reason: str) -> Done:
        case = self.case(case_id)
        if case.submitted_by != actor.person_id:
            actor.require(Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION, Role.OWNERS_COMMITTEE)
        motion_id = case.motion_id
        if motion_id is None:
            return self._case_command(
                case_id, lambda c, at: c.withdraw(at, actor.person_id, reason)
            )

        def attempt() -> Done:
            # The topic of a motion still collecting signatures: its signing ends with it, in the
            # same transaction, so that no later signature can table a withdrawn topic.
            c, at = self.case(case_id), self.now()
            c.withdraw(at, actor.person_id, reason)
            motion = self.motion(motion_id)
            if motion.state == MotionState.OPEN and not motion.lapse_if_due(at):
                motion.withdraw(at, actor.person_id, reason)
            return Done(c.id, self._save(c, motion))

        return self._retrying(attempt)

    def revoke(self, case_id: UUID, order_ref: str, actor: Actor, reason: str) -> Done:
        """The street orders a correction or revokes the decision (物业管理条例 Art. 19)."""
        actor.require(Role.STREET)
        return self._case_command(
            case_id, lambda c, at: c.revoke(order_ref, at, actor.person_id, reason)
        )

    def annul(
        self, case_id: UUID, court: str, judgment_ref: str, actor: Actor, reason: str
    ) -> Done:
        """Record a court's annulment of a decision (民法典 Art. 280)."""
        actor.require(Role.STREET)
        return self._case_command(
            case_id, lambda c, at: c.annul(court, judgment_ref, at, actor.person_id, reason)
        )

    # --- threshold motions ------------------------------------------------------------------

    def open_motion(
        self,
        estate: UUID,
        title: str,
        description: str,
        actor: Actor,
        preset: str = "motion-5pct",
        rule: ThresholdRule | None = None,
    ) -> MotionOpened:
        """Open a threshold motion with its topic case."""
        if rule is None:
            if preset not in THRESHOLD_PRESETS:
                raise ValidationError(
                    field="preset",
                    label="动议规则",
                    label_en="motion rule",
                    reason=f"须为 {', '.join(THRESHOLD_PRESETS)} 之一",
                    reason_en=f"must be one of {', '.join(THRESHOLD_PRESETS)}",
                )
            rule = THRESHOLD_PRESETS[preset]
        self.estate(estate)
        version = self.roll_version(estate)
        electorate = self.owners_electorate(estate, version)
        if not electorate.electors_of(actor.person_id) and Role.OPERATOR not in actor.roles:
            raise NotOnRollError(field="actor", version=version)
        motion_id = _new_id()
        at = self.now()
        case = self._new_case(estate, title, description, "motion", actor, motion_id)
        motion = Motion.start(
            motion_id,
            at,
            actor.person_id,
            "",
            estate_id=estate,
            case_id=case.id,
            title=case.title,
            rule=rule.to_dict(),
            roll_id=roll_id(estate),
            roll_version=version,
            total_heads=electorate.total_heads,
            total_area=electorate.total_area,
            closes_at=at + timedelta(days=rule.window_days),
        )
        return MotionOpened(motion_id, case.id, self._save(case, motion))

    def sign_motion(
        self, motion_id: UUID, actor: Actor, head_id: str | None = None
    ) -> SignatureResult:
        """Co-sign for the actor's heads on the frozen roll (one head, or all not yet signed)."""

        def attempt() -> SignatureResult:
            motion = self.motion(motion_id)
            electorate = self.owners_electorate(motion.estate_id, motion.roll_version)
            heads = self._heads_of(electorate, actor, head_id, str(motion.roll_version))
            at = self.now()
            if head_id is None:
                heads = [h for h in heads if h not in motion.signed] or heads
            tabled = False
            signed: list[str] = []
            for h in heads:
                tabled = motion.sign(h, electorate.heads[h].area, actor.person_id, at)
                signed.append(h)
                if tabled:
                    break  # the motion is tabled: no further signatures are collected
            case = None
            if tabled:
                case = self.case(motion.case_id)
                case.table(
                    motion.rule.answer_days,
                    at,
                    "system",
                    f"联署达到{motion.rule.name_zh}门槛 / reached the {motion.rule.name_en} threshold",
                )
            position = self._save(motion, case)
            return SignatureResult(motion_id, tuple(signed), motion.progress(), tabled, position)

        return self._retrying(attempt)

    def withdraw_signature(
        self, motion_id: UUID, actor: Actor, head_id: str | None = None
    ) -> SignatureResult:
        def attempt() -> SignatureResult:
            motion = self.motion(motion_id)
            electorate = self.owners_electorate(motion.estate_id, motion.roll_version)
            heads = [
                h
                for h in self._heads_of(electorate, actor, head_id, str(motion.roll_version))
                if h in motion.signed
            ]
            if not heads:
                raise NotSignedError(field="head_id")
            for h in heads:
                motion.withdraw_signature(h, actor.person_id, self.now())
            return SignatureResult(
                motion_id, tuple(heads), motion.progress(), False, self._save(motion)
            )

        return self._retrying(attempt)

    def _heads_of(
        self, electorate: Electorate, actor: Actor, head_id: str | None, version: str
    ) -> list[str]:
        own = list(electorate.electors_of(actor.person_id))
        if head_id is not None:
            if head_id not in own:
                raise NotOnRollError(field="head_id", version=version)
            return [head_id]
        if not own:
            raise NotOnRollError(field="actor", version=version)
        return own

    def process_deadlines(self) -> dict[str, list[UUID]]:
        """Lapse motions past their window and escalate tabled topics not answered in time."""
        now = self.now()
        lapsed: list[UUID] = []
        escalated: list[UUID] = []
        for n in self._notifications([get_topic(Motion.Created)]):
            motion = self.motion(n.originator_id)
            if motion.state == MotionState.OPEN and now >= motion.closes_at:
                motion.lapse_if_due(now)
                try:
                    self._save(motion)
                    lapsed.append(motion.id)
                except ConsultError:
                    pass  # a concurrent signature or lapse won; the next run sees it
        for n in self._notifications([get_topic(Case.Tabled)]):
            case = self.case(n.originator_id)
            if (
                case.stage == Stage.COLLECTING
                and case.answer_due
                and now > case.answer_due
                and not case.escalated
            ):
                case.escalate(now)
                try:
                    self._save(case)
                    escalated.append(case.id)
                except ConsultError:
                    pass  # changed concurrently (answered or escalated); the next run sees it
        return {"lapsed": lapsed, "escalated": escalated}

    def _notifications(self, topics: list[str]) -> Iterable[Any]:
        position: int | None = None
        while True:
            batch = self.recorder.select_notifications(position, 1000, topics=topics)
            yield from batch
            if len(batch) < 1000:
                return
            position = batch[-1].id + 1

    # --- reads for the read side: the web and the projections' queries never open the store ---

    def log_position(self) -> int:
        """The position of the last event recorded in the notification log (0 when empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def created_ids(self, created: type) -> Iterable[UUID]:
        """The ids of the aggregates created by event class ``created``, in log order."""
        for n in self._notifications([get_topic(created)]):
            yield UUID(str(n.originator_id))

    def find(self, cls: type[T], aggregate_id: UUID, kind: str, kind_en: str) -> T:
        """The aggregate of class ``cls`` with this id (NotFoundError naming ``kind`` if none)."""
        return self._get(cls, aggregate_id, kind, kind_en)

    def events_of(self, aggregate_id: UUID, up_to: int | None = None) -> list[Any]:
        """The domain events of one aggregate, oldest first, up to version ``up_to`` if given."""
        stored = self.recorder.select_events(aggregate_id, lte=up_to)
        return [self.mapper.to_domain_event(s) for s in stored]


def _new_id() -> UUID:
    return uuid4()


def _code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 64 or any(c.isspace() or c in "/\\" for c in code):
        raise ValidationError(
            field="code",
            label="编号",
            label_en="code",
            reason="须为1至64个字符，不含空格和斜杠",
            reason_en="must be 1 to 64 characters without spaces or slashes",
        )
    return code


def _people(
    values: Sequence[str], field: str, label: str, label_en: str, allow_empty: bool = False
) -> list[str]:
    people = [str(v).strip() for v in values if str(v).strip()]
    if not people and not allow_empty:
        raise ValidationError(
            field=field,
            label=label,
            label_en=label_en,
            reason="不能为空",
            reason_en="must not be empty",
        )
    if len(set(people)) != len(people):
        raise ValidationError(
            field=field,
            label=label,
            label_en=label_en,
            reason="有重复",
            reason_en="contains duplicates",
        )
    return people
