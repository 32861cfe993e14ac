"""Count heads (业主人数) from units: JI Arts. 8–9 and the estate's merge policy.

All of the developer's units are one head; one buyer of several units is one head; whether
other overlapping owners merge is `HeadMergePolicy`. Areas add up exactly (no rounding).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

from consult.roll.units import (
    Head,
    HeadMergePolicy,
    HeadRules,
    OwnerKind,
    RollSummary,
    Unit,
    UnitKind,
    _invalid,
)

_DEVELOPER_HEAD_ID = "H:developer"
_HEAD_PREFIX = "H:"

# The default context keeps 28 digits; this one never rounds (and would raise if it had to).
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[Inexact, InvalidOperation, Overflow, DivisionByZero],
)


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    add = _EXACT.add
    total = Decimal(0)
    for value in values:
        total = add(total, value)
    return total


def _votes(unit: Unit, rules: HeadRules) -> bool:
    return rules.parking_votes or unit.kind != UnitKind.PARKING


def _make_head(members: list[Unit], developer: bool) -> Head:
    if len(members) == 1:
        unit = members[0]
        owners = unit.owners if len(unit.owners) == 1 else tuple(sorted(set(unit.owners)))
        unit_ids: tuple[str, ...] = (unit.unit_id,)
        area = unit.area
    else:
        members.sort(key=_by_unit_id)
        owners = tuple(sorted({o for u in members for o in u.owners}))
        unit_ids = tuple(u.unit_id for u in members)
        area = _exact_sum(u.area for u in members)
    if developer:
        head_id = _DEVELOPER_HEAD_ID
    else:
        head_id = _HEAD_PREFIX + ";".join(owners)
        if head_id == _DEVELOPER_HEAD_ID:
            raise _invalid(
                "units",
                f"业主编号“developer”与建设单位的合并户号冲突（{unit_ids[0]}）",
                f"owner id 'developer' clashes with the developer's head ({unit_ids[0]})",
            )
    head = object.__new__(Head)  # as in parse_roll: the frozen __init__ is the slow part
    head.__dict__.update(
        head_id=head_id,
        owners=owners,
        unit_ids=unit_ids,
        area=area,
        building=members[0].building,
        is_developer=developer,
    )
    return head


def _by_unit_id(unit: Unit) -> str:
    return unit.unit_id


def _by_head_id(head: Head) -> str:
    return head.head_id


def _components(units: list[Unit]) -> list[list[Unit]]:
    """Group units that share an owner, transitively (union-find on owner ids)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = parent.setdefault(x, x)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    for unit in units:
        if len(unit.owners) == 1:
            find(unit.owners[0])
            continue
        anchor = find(unit.owners[0])
        for other in unit.owners[1:]:
            root = find(other)
            if root != anchor:
                parent[root] = anchor
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        root = find(unit.owners[0])
        group = groups.get(root)
        if group is None:
            groups[root] = [unit]
        else:
            group.append(unit)
    return list(groups.values())


def compute_heads(units: Sequence[Unit], rules: HeadRules) -> list[Head]:
    """The heads of the voting units under `rules`, sorted by head_id.

    All developer units form the one head `H:developer`; other heads are named by their owners.
    """
    if len({u.unit_id for u in units}) != len(units):
        counts = Counter(u.unit_id for u in units)
        dups = ", ".join(sorted(k for k, n in counts.items() if n > 1))
        raise _invalid("units", f"专有部分编号重复：{dups}", f"duplicate unit_id: {dups}")

    developer: list[Unit] = []
    others: list[Unit] = []
    parking_votes = rules.parking_votes
    for unit in units:
        if parking_votes or unit.kind != UnitKind.PARKING:
            if not unit.owners:
                raise _invalid(
                    "units", f"{unit.unit_id}没有业主", f"unit {unit.unit_id} has no owner"
                )
            (developer if unit.owner_kind == OwnerKind.DEVELOPER else others).append(unit)

    if rules.merge == HeadMergePolicy.IDENTICAL:
        by_owners: dict[str, list[Unit]] = {}
        for unit in others:
            owners = unit.owners
            key = owners[0] if len(owners) == 1 else ";".join(sorted(set(owners)))
            group = by_owners.get(key)
            if group is None:
                by_owners[key] = [unit]
            else:
                group.append(unit)
        groups = list(by_owners.values())
    else:
        groups = _components(others)

    heads = [_make_head(members, False) for members in groups]
    if developer:
        heads.append(_make_head(developer, True))
    heads.sort(key=_by_head_id)
    return heads


def owner_index(heads: Sequence[Head]) -> dict[str, tuple[str, ...]]:
    """Owner id -> the head ids that owner may cast a ballot for (sorted)."""
    index: dict[str, set[str]] = {}
    for head in heads:
        for owner in head.owners:
            index.setdefault(owner, set()).add(head.head_id)
    return {owner: tuple(sorted(index[owner])) for owner in sorted(index)}


def summarize(units: Sequence[Unit], rules: HeadRules) -> RollSummary:
    voting = [u for u in units if _votes(u, rules)]
    return RollSummary(
        units=len(units),
        voting_units=len(voting),
        heads=len(compute_heads(units, rules)),
        total_area=_exact_sum(u.area for u in voting),
        parking_units=sum(1 for u in units if u.kind == UnitKind.PARKING),
        developer_units=sum(1 for u in units if u.owner_kind == OwnerKind.DEVELOPER),
    )
