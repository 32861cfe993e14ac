"""What committees (and tellers, and implementers) do, shared by the pages and the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consult.application import BallotReceipt, Done, EvaluationOutcome, VoteClosed
from webapp.account_model import Account
from webapp.common import recorded, remember, scoped_case, scoped_vote
from webapp.resident.actions import estate_for
from webapp.state import services
from webapp.voting_codes import IssuedCode


def _latest() -> int:
    return services().consult.log_position()


def collect_topic(user: Account, data: dict[str, Any]) -> Done:
    s = services()
    return recorded(
        s.consult.submit_topic(
            estate_for(user, data), data["title"], data["description"], data["channel"], user.actor
        )
    )


def confirm(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(
        services().consult.confirm_topic(
            case_id, data["route"], data["participants"], user.actor, data.get("reason", "")
        )
    )


def reject(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.reject_topic(case_id, user.actor, data["reason"]))


def refer(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.refer_topic(case_id, data["to"], user.actor, data["reason"]))


def publish_notice(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    case = scoped_case(case_id)
    council = services().reads.council(case.estate_id)
    agenda = []
    for i, row in enumerate(data["agenda"]):
        item: dict[str, Any] = {"item_id": row.get("item_id") or str(i + 1), "title": row["title"]}
        for key in ("matter", "basis", "members", "covenant_ref"):
            if row.get(key):
                item[key] = row[key]
        if row.get("silent_majority"):
            item["silent_majority"] = True
        if case.route == "consultation" and council is not None:
            item["council_id"] = str(council.id)
        agenda.append(item)
    return recorded(
        services().consult.publish_notice(
            case_id,
            data["content"],
            data["place"],
            data["form"],
            data["meeting_at"],
            agenda,
            user.actor,
        )
    )


def record_session(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    case = scoped_case(case_id)
    council = services().reads.council(case.estate_id) if data.get("use_council") else None
    positions = {
        row["party"]: {"position": row["position"], "text": row.get("text", "")}
        for row in data["positions"]
    }
    statements = [
        {"speaker": row["speaker"], "party": row.get("party") or "", "text": row["text"]}
        for row in data["statements"]
    ]
    dissent = [line for line in (data.get("dissent") or "").splitlines() if line.strip()]
    return recorded(
        services().consult.record_session(
            case_id,
            data["kind"],
            data["held_at"],
            data["attendees"],
            statements,
            positions,
            dissent,
            user.actor,
            council=council.id if council else None,
            summary=data.get("summary", ""),
        )
    )


def form_opinion(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.form_opinion(case_id, data["opinion"], user.actor))


def open_vote(
    user: Account, case_id: UUID, data: dict[str, Any]
) -> tuple[Done, list[IssuedCode] | None]:
    scoped_case(case_id)
    done = recorded(
        services().consult.open_vote(
            case_id, data["item_id"], data["closes_at"], user.actor, data["tellers"]
        )
    )
    codes = issue_codes(user, done.id, {}) if data.get("codes") else None
    return done, codes


def extend_vote(user: Account, vote_id: UUID, data: dict[str, Any]) -> int:
    scoped_vote(vote_id)
    position = services().consult.extend_vote(
        vote_id, data["closes_at"], user.actor, data["reason"]
    )
    remember(position)
    return position


def close_vote(user: Account, vote_id: UUID, data: dict[str, Any]) -> VoteClosed:
    scoped_vote(vote_id)
    return recorded(services().consult.close_vote(vote_id, user.actor, data.get("reason", "")))


def register_proxy(user: Account, vote_id: UUID, data: dict[str, Any]) -> int:
    scoped_vote(vote_id)
    principal = resolve_elector(vote_id, data["principal"], "principal")
    position = services().consult.register_proxy(
        vote_id, principal, data["holder"], data["document"], user.actor
    )
    remember(position)
    return position


def enter_paper(user: Account, vote_id: UUID, data: dict[str, Any]) -> Done:
    scoped_vote(vote_id)
    elector = resolve_elector(vote_id, data["elector_id"], "elector_id")
    return recorded(
        services().consult.enter_paper_ballot(
            vote_id, elector, data["choice"], data["sheet_no"], user.actor
        )
    )


def confirm_paper(user: Account, vote_id: UUID, data: dict[str, Any]) -> BallotReceipt | None:
    scoped_vote(vote_id)
    elector = resolve_elector(vote_id, data["elector_id"], "elector_id")
    receipt = services().consult.confirm_paper_ballot(vote_id, elector, data["choice"], user.actor)
    remember(receipt.position if receipt else _latest())
    return receipt


def issue_codes(user: Account, vote_id: UUID, data: dict[str, Any]) -> list[IssuedCode]:
    """One-time codes for every elector of the vote (or one), for the notice letters."""
    s = services()
    vote = scoped_vote(vote_id)
    s.consult.require_convener(s.consult.case(vote.case_id), user.actor)
    if not vote.open:
        raise s.consult.vote(vote_id).state_error()
    heads = [e.elector_id for e in s.reads.vote_electors(vote_id)]
    if data.get("head_id"):
        head = resolve_elector(vote_id, data["head_id"], "head_id")
        heads = [head]
    return s.codes.issue(vote_id, vote.case_id, vote.estate_id, heads, user.person_id)


def resolve_elector(vote_id: UUID, text: str, field: str) -> str:
    """An elector by its id or by one of its units (tellers read unit numbers off the sheet)."""
    from consult.errors import NotOnRollError

    wanted = text.strip()
    for e in services().reads.vote_electors(vote_id):
        if wanted == e.elector_id or wanted in e.units:
            return e.elector_id
    version = services().consult.vote(vote_id).electorate.get("version")
    raise NotOnRollError(field=field, person=wanted, version=version)


def publish_result(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.publish_result(case_id, data["summary"], user.actor))


def assign(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(
        services().consult.assign_implementation(
            case_id, data["assignee"], data["plan"], data["due"], user.actor
        )
    )


def report_progress(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(
        services().consult.report_progress(case_id, data["percent"], data["text"], user.actor)
    )


def give_feedback(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(
        services().consult.give_feedback(case_id, data["summary"], data["explanations"], user.actor)
    )


def open_evaluation(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.open_evaluation(case_id, data["closes_at"], user.actor))


def close_evaluation(user: Account, case_id: UUID, data: dict[str, Any]) -> EvaluationOutcome:
    scoped_case(case_id)
    return recorded(services().consult.close_evaluation(case_id, user.actor))


def archive(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.archive(case_id, user.actor))
