"""What residents do, shared by the pages and the API: scope checks, then one command each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consult.application import BallotReceipt, Done, MotionOpened, SignatureResult
from consult.case import Stage
from consult.validation import invalid
from webapp.account_model import Account
from webapp.common import recorded, scoped_case, scoped_motion, scoped_vote
from webapp.state import services


def estate_for(user: Account, data: dict[str, Any]) -> UUID:
    """The user's own estate, or (street and operator accounts) the one they chose."""
    if user.estate_id is not None:
        return user.estate_id
    chosen = data.get("estate")
    if not isinstance(chosen, UUID):
        raise invalid("estate", "estate", "choose_estate")
    services().reads.estate(chosen)
    return chosen


def submit_topic(user: Account, data: dict[str, Any], channel: str = "online") -> Done:
    return recorded(
        services().consult.submit_topic(
            estate_for(user, data), data["title"], data["description"], channel, user.actor
        )
    )


def open_motion(user: Account, data: dict[str, Any]) -> MotionOpened:
    return recorded(
        services().consult.open_motion(
            estate_for(user, data), data["title"], data["description"], user.actor, data["preset"]
        )
    )


def support(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.support_topic(case_id, user.actor))


def speak(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(services().consult.speak(case_id, data["text"], user.actor))


def rate(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    scoped_case(case_id)
    return recorded(
        services().consult.rate(
            case_id, data["rating"], data["aware"], data["participated"], user.actor
        )
    )


#: The stages in which a topic may still be withdrawn (as ``Case.withdraw`` allows).
WITHDRAWABLE = frozenset({Stage.COLLECTING, Stage.CONFIRMED, Stage.NOTICE, Stage.DELIBERATION})


def withdraw(user: Account, case_id: UUID, data: dict[str, Any]) -> Done:
    """Withdraw a topic: its submitter, or a committee (the domain checks who and when).

    The topic of a motion still collecting signatures takes the motion with it: signing ends.
    """
    scoped_case(case_id)
    return recorded(services().consult.withdraw(case_id, user.actor, data["reason"]))


def sign(user: Account, motion_id: UUID, data: dict[str, Any]) -> SignatureResult:
    scoped_motion(motion_id)
    return recorded(
        services().consult.sign_motion(motion_id, user.actor, data.get("head_id") or None)
    )


def withdraw_signature(user: Account, motion_id: UUID, data: dict[str, Any]) -> SignatureResult:
    scoped_motion(motion_id)
    return recorded(
        services().consult.withdraw_signature(motion_id, user.actor, data.get("head_id") or None)
    )


def cast(user: Account, vote_id: UUID, data: dict[str, Any]) -> BallotReceipt:
    scoped_vote(vote_id)
    return recorded(
        services().consult.cast_ballot(
            vote_id, data["choice"], user.actor, elector_id=data.get("elector_id") or None
        )
    )
