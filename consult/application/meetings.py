"""Meetings of a case: the notice with its frozen agenda, and the record of a deliberation session.

Each agenda item gets the rule set its route and matter call for (:data:`ROUTE_RULES`) and the
estate's counting options; a session records who spoke, each party's position and the consensus.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consult.actors import Actor
from consult.application.cases import CaseService
from consult.application.results import Done
from consult.bodies import COUNCIL_PARTIES, Estate
from consult.case import (
    MATTERS,
    POSITIONS,
    POSITIONS_AGREE,
    SESSION_KINDS,
    SPECIAL_MATTERS,
    require_text,
)
from consult.errors import SettingError
from consult.rules import CountingOptions, RuleSetId, rule_set
from consult.validation import either, invalid, one_of

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


class MeetingService(CaseService):
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
        items = [agenda_item(case.route, i, item, estate) for i, item in enumerate(agenda)]
        ids = [i["item_id"] for i in items]
        if len(set(ids)) != len(ids):
            raise invalid("agenda", "agenda", "agenda_ids_repeat")
        days = estate.settings.notice_period(case.route)
        return self._case_command(
            case_id,
            lambda c, at: c.publish_notice(
                content, place, form, meeting_at, items, days, at, actor.person_id
            ),
        )

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
        one_of(kind, SESSION_KINDS, "kind", "session_kind")
        for i, s in enumerate(statements):
            if not str(s.get("speaker", "")).strip() or not str(s.get("text", "")).strip():
                raise invalid(f"statements[{i}]", "statement", "speaker_and_text")
        for party, pos in positions.items():
            one_of(pos.get("position"), POSITIONS, f"positions.{party}", "position")
        consensus: bool | None = None
        parties: list[str] = []
        if council is not None:
            c = self.council(council)
            parties = [p.value for p in COUNCIL_PARTIES[c.kind]]
            for party in positions:
                c.check_party(party)
            missing = [p for p in parties if p not in positions]
            if missing:
                raise invalid(
                    "positions", "party_positions", "missing_parties", missing=", ".join(missing)
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


def agenda_item(route: str, index: int, item: dict[str, Any], estate: Estate) -> dict[str, Any]:
    """One item of a notice's agenda, checked, with its rule set and counting options."""
    f = f"agenda[{index}]"
    item_id = str(item.get("item_id") or f"{index + 1}").strip()
    title = require_text(
        str(item.get("title", "")), f"{f}.title", "议程标题", "agenda item title", 500
    )
    matter = item.get("matter")
    allowed = ROUTE_RULES[route]
    if route in ("owners-assembly", "owners-assembly-extraordinary"):
        if not isinstance(matter, int) or matter not in MATTERS:
            raise invalid(f"{f}.matter", "matter", "cc278_matter")
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
    bases = ("adults", "households")
    if basis not in bases:
        raise invalid(f"{f}.basis", "basis", "either", values=either(bases))
    members = [str(m).strip() for m in item.get("members", []) if str(m).strip()]
    if rs == RuleSetId.REPRESENTATIVES_MEETING and not members:
        raise invalid(f"{f}.members", "representatives", "list_representatives")
    council = item.get("council_id")
    if rs == RuleSetId.COUNCIL_CONSENSUS and not council:
        raise invalid(f"{f}.council_id", "council", "consensus_council")
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
