"""How pages name the electors of a vote: never by an internal key.

An owners' head by its rooms, a council seat by its body's name, a household by its address, a
person by their account's name (and household address for a resident). Letters, code ballots and
the tellers' lists use these names; the keys stay in forms' hidden values only.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from flask import g

from consult.bodies import PARTY_NAMES, Party
from consult.errors import NotFoundError
from consult.registers import Household
from consult.roll import Unit
from webapp.state import services

Pair = tuple[str, str]

#: What a letter calls its addressee, by the kind of electorate.
SALUTATIONS: dict[str, Pair] = {
    "roll": ("业主", "Owner"),
    "council": ("协商方", "Party"),
    "members": ("成员", "Member"),
    "adults": ("居民", "Resident"),
    "households": ("住户", "Household"),
}


def room_name(unit: Unit) -> Pair:
    """A unit as residents say it: building, entrance, room."""
    entrance_zh = f"{unit.entrance}单元" if unit.entrance else ""
    entrance_en = f", entrance {unit.entrance}" if unit.entrance else ""
    return (
        f"{unit.building}栋{entrance_zh}{unit.room}",
        f"Building {unit.building}{entrance_en}, {unit.room}",
    )


def rooms(estate_id: UUID, roll_version: int) -> dict[str, Pair]:
    """Every unit of a frozen roll by its rooms' name, by unit id."""
    units = services().consult.roll(estate_id, roll_version).units
    return {unit_id: room_name(unit) for unit_id, unit in units.items()}


def _join(pairs: list[Pair]) -> Pair:
    return "、".join(p[0] for p in pairs), "; ".join(p[1] for p in pairs)


def _person_names(estate_id: UUID) -> dict[str, str]:
    accounts, _total = services().accounts.accounts(estate_id)
    return {a.person_id: a.display_name for a in accounts if a.display_name}


def people(estate_id: UUID) -> dict[str, Pair]:
    """Everyone the estate's pages may name, by person id: the account's name, and the rooms
    the person owns on the current roll ("王芳（1栋1单元0101）"). Read once per request."""
    cache: dict[UUID, dict[str, Pair]] = g.setdefault("people_by_estate", {})
    if estate_id in cache:
        return cache[estate_id]
    app = services().consult
    owned: dict[str, list[Pair]] = {}
    try:
        units = app.roll(estate_id).units.values()
    except NotFoundError:  # no roll imported yet
        units = {}.values()
    for unit in units:
        for owner in unit.owners:
            owned.setdefault(owner, []).append(room_name(unit))
    names = _person_names(estate_id)
    found: dict[str, Pair] = {}
    for person in set(names) | set(owned):
        name = names.get(person, "")
        if person in owned:
            zh, en = _join(owned[person])
            found[person] = (
                f"{name}（{zh}）" if name else f"{zh}业主",
                f"{name} ({en})" if name else f"owner of {en}",
            )
        else:
            found[person] = (name, name)
    cache[estate_id] = found
    return found


def person_name(person_id: str | None, estate_id: UUID) -> Pair:
    """A person as pages name them (the id only for someone the estate does not know)."""
    if not person_id:
        return ("", "")
    return people(estate_id).get(person_id, (person_id, person_id))


#: Each vote's heads by their rooms, by (vote, roll version): a vote's electorate is fixed when it
#: opens and a roll version never changes, so the names are made once per process, not on every
#: page (a 20,000-unit roll took half a second to read back).
_HEAD_NAMES: dict[tuple[UUID, int], dict[str, Pair]] = {}
_HEAD_NAMES_KEPT = 32
_head_names_lock = threading.Lock()


def _head_names(vote_id: UUID, estate_id: UUID, roll_version: int) -> dict[str, Pair]:
    key = (vote_id, roll_version)
    found = _HEAD_NAMES.get(key)
    if found is not None:
        return found
    app = services().consult
    electorate = app.electorate(app.vote(vote_id))
    units = app.roll(estate_id, roll_version).units
    found = {
        head_id: _join([room_name(units[u]) for u in head.unit_ids if u in units])
        for head_id, head in electorate.heads.items()
    }
    with _head_names_lock:
        if len(_HEAD_NAMES) >= _HEAD_NAMES_KEPT:
            _HEAD_NAMES.pop(next(iter(_HEAD_NAMES)))
        _HEAD_NAMES[key] = found
    return found


def elector_names(vote_id: UUID) -> tuple[Pair, dict[str, Pair]]:
    """The salutation of the vote's electors and each elector's name, by elector id."""
    app = services().consult
    vote = app.vote(vote_id)
    electorate = app.electorate(vote)
    kind = electorate.kind
    names: dict[str, Pair] = {}
    if kind == "roll":
        names = _head_names(vote_id, vote.estate_id, int(electorate.ref["version"]))
    elif kind == "council":
        for e in electorate.electors:
            if e.elector_id in {p.value for p in Party}:
                names[e.elector_id] = PARTY_NAMES[Party(e.elector_id)]
    else:
        known = people(vote.estate_id)
        households: dict[str, Household] = {}
        if kind in ("adults", "households"):
            ref = electorate.ref
            register: Any = app.repository.get(
                UUID(ref["register_id"]), version=int(ref["version"])
            )
            households = register.households
        for e in electorate.electors:
            if kind == "households" and e.elector_id in households:
                address = households[e.elector_id].address
                names[e.elector_id] = (address, address)
                continue
            zh, en = known.get(e.elector_id, ("", ""))
            home = households.get(e.household or "")
            if home is not None:
                zh = f"{zh}（{home.address}）" if zh else home.address
                en = f"{en} ({home.address})" if en else home.address
            if zh:
                names[e.elector_id] = (zh, en)
    return SALUTATIONS.get(kind, SALUTATIONS["roll"]), names
