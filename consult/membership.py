"""Who takes part in an estate's cases: the roles each act needs, and belonging to the estate.

A person belongs to an estate when they are on its owners' roll (the latest version: any owner of
a unit) or an adult on the residents' register of its community. Residents who belong may submit
a topic, support one and speak in its deliberation; the parties of a deliberation (the
committees, the Party organisation, the property company, the supervisory committee: DOMAIN.md §2,
"every party may speak") may state their position as such; topics are also collected by the
committees. The street supervises and audits: none of these is its act.
"""

from __future__ import annotations

from collections.abc import Callable

from consult.actors import Actor, Role
from consult.errors import NotAMemberError

#: Residents and owners: submit, support, co-sign, speak, rate, vote.
RESIDENTS = frozenset({Role.RESIDENT})
#: Collect topics from meetings, interviews, grid reports... (DOMAIN.md §2: 收集议题).
COLLECTORS = frozenset({Role.OWNERS_COMMITTEE, Role.RESIDENTS_COMMITTEE, Role.PARTY_ORGANISATION})
#: The parties that may state a position in a deliberation besides the residents.
PARTIES = COLLECTORS | {Role.PROPERTY_COMPANY, Role.SUPERVISORY_COMMITTEE}

#: The act refused, for the error: (Chinese, English).
SUBMIT = ("提出议题", "submit a topic")
SUPPORT = ("附议", "support a topic")
SPEAK = ("发言", "speak in this deliberation")


def require_resident(actor: Actor, belongs: Callable[[str], bool], act: tuple[str, str]) -> None:
    """A resident or owner of the estate (``belongs``: whether a person id is on its roll or
    register), acting in their own name."""
    actor.require(*RESIDENTS)
    if not belongs(actor.person_id):
        raise NotAMemberError(field="actor", action=act[0], action_en=act[1])


def require_speaker(actor: Actor, belongs: Callable[[str], bool]) -> None:
    """A party of the deliberation, or a resident or owner of the estate."""
    if Role.OPERATOR in actor.roles or actor.roles & PARTIES:
        return
    require_resident(actor, belongs, SPEAK)


def require_submitter(actor: Actor, belongs: Callable[[str], bool]) -> None:
    """A committee collecting a topic, or a resident or owner of the estate submitting one."""
    if Role.OPERATOR in actor.roles or actor.roles & COLLECTORS:
        return
    require_resident(actor, belongs, SUBMIT)
