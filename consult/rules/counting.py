"""The tally: count ballots (or counters) under a rule set and its counting options.

`tally` counts ballot by ballot; `result_from_counts` applies the quorum and pass thresholds
and the silent-majority option to counts, so a projection keeping counters gets the same
`VoteResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from consult.errors import SettingError
from consult.rules.options import DEFAULT_OPTIONS, CountingOptions
from consult.rules.results import (
    Count,
    SilentMajorityStatus,
    Tally,
    ThresholdCheck,
    VoteResult,
    threshold_check,
)
from consult.rules.rule_sets import RuleSet
from consult.rules.thresholds import GT_1_2, NOT_VOTED, Choice


@dataclass(frozen=True)
class Elector:
    """One head: an owner (head per JI Arts. 8–9), an adult, a household, a member or a party."""

    elector_id: str
    area: Decimal | None = None  # owners' votes only: the head's exclusive area (sum of units)
    building: str = ""  # for per-building breakdowns
    household: str | None = None  # villagers' meeting: the adult's household

    def __post_init__(self) -> None:
        if not isinstance(self.elector_id, str) or not self.elector_id:
            raise SettingError(
                field="elector_id",
                reason="投票人编号不能为空",
                reason_en="an elector needs a non-empty id",
            )
        area: object = self.area
        if area is not None and (not isinstance(area, Decimal) or not area.is_finite() or area < 0):
            raise SettingError(
                field="area",
                reason=f"面积须为非负的十进制数（Decimal）：{area!r}",
                reason_en=f"an area must be a non-negative Decimal: {area!r}",
            )


class _Acc:
    __slots__ = ("area", "heads")

    def __init__(self) -> None:
        self.heads = 0
        self.area = Decimal(0)

    def add(self, elector: Elector) -> None:
        self.heads += 1
        if elector.area is not None:
            self.area += elector.area

    def count(self, uses_area: bool) -> Count:
        return Count(self.heads, self.area if uses_area else None)


def _check_roll(rs: RuleSet, electors: Sequence[Elector]) -> dict[str, Elector]:
    roll: dict[str, Elector] = {}
    for elector in electors:
        if not isinstance(elector, Elector):
            raise SettingError(
                field="electors",
                reason=f"名册条目类型错误：{elector!r}",
                reason_en=f"not an elector: {elector!r}",
            )
        if elector.elector_id in roll:
            raise SettingError(
                field="electors",
                reason=f"名册中重复的投票人：{elector.elector_id}",
                reason_en=f"duplicate elector on the roll: {elector.elector_id}",
            )
        if rs.uses_area and elector.area is None:
            raise SettingError(
                field="electors",
                reason=f"“{rs.name_zh}”按面积计票，投票人{elector.elector_id}缺少专有部分面积",
                reason_en=(
                    f"'{rs.name_en}' counts area, but elector {elector.elector_id} has no area"
                ),
            )
        if rs.household_quorum_threshold is not None and not elector.household:
            raise SettingError(
                field="electors",
                reason=f"“{rs.name_zh}”须知道每位村民所属的户：{elector.elector_id}缺少户号",
                reason_en=(
                    f"'{rs.name_en}' needs each adult's household: {elector.elector_id} has none"
                ),
            )
        roll[elector.elector_id] = elector
    return roll


def _check_ballots(roll: Mapping[str, Elector], ballots: Mapping[str, Choice]) -> dict[str, Choice]:
    votes: dict[str, Choice] = {}
    for elector_id, choice in ballots.items():
        if elector_id not in roll:
            raise SettingError(
                field="ballots",
                reason=f"选票来自不在名册中的投票人：{elector_id!r}",
                reason_en=f"a ballot from someone not on the roll: {elector_id!r}",
            )
        try:
            votes[elector_id] = Choice(choice)
        except ValueError:
            raise SettingError(
                field="ballots",
                reason=f"无法识别的表决意见：{choice!r}",
                reason_en=f"unknown choice: {choice!r}",
            ) from None
    return votes


def _participating_choices(options: CountingOptions) -> tuple[Choice, ...]:
    choices = [Choice.YES, Choice.NO]
    if options.abstain_participates:
        choices.append(Choice.ABSTAIN)
    if options.invalid_participates:
        choices.append(Choice.INVALID)
    return tuple(choices)


def _sum(counts: Sequence[Count], uses_area: bool) -> Count:
    total = Count(0, Decimal(0) if uses_area else None)
    for count in counts:
        total = total + count
    return total


def _quorum_checks(
    rs: RuleSet,
    participating: Count,
    total: Count,
    households: tuple[int, int] | None,
) -> tuple[tuple[ThresholdCheck, ...], bool]:
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if rs.uses_area:
        assert participating.area is not None and total.area is not None
        checks.append(
            threshold_check(
                "quorum.area",
                "参与表决的专有部分面积 / 全体专有部分面积",
                "Participating exclusive area / total exclusive area",
                participating.area,
                total.area,
                rs.quorum_threshold,
            )
        )
    checks.append(
        threshold_check(
            "quorum.heads",
            f"参与表决的{noun_zh} / 全体{noun_zh}",
            f"Participating {noun_en} / all {noun_en}",
            participating.heads,
            total.heads,
            rs.quorum_threshold,
        )
    )
    household_rule = rs.household_quorum_threshold
    if household_rule is not None:
        assert households is not None
        checks.append(
            threshold_check(
                "quorum.households",
                "有成员参与的户数 / 全体户数",
                "Households with a participating member / all households",
                households[0],
                households[1],
                household_rule,
            )
        )
        # Villagers' meeting: adults OR households (VCL Art. 22).
        return tuple(checks), any(c.met for c in checks)
    return tuple(checks), all(c.met for c in checks)


def _pass_checks(
    rs: RuleSet, yes: Count, participating: Count, total: Count
) -> tuple[ThresholdCheck, ...]:
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if rs.uses_area:
        assert yes.area is not None and participating.area is not None
        checks.append(
            threshold_check(
                "pass.area",
                "同意的专有部分面积 / 参与表决的专有部分面积",
                "Yes area / participating area",
                yes.area,
                participating.area,
                rs.pass_threshold,
            )
        )
    if rs.pass_of_all_members:
        checks.append(
            threshold_check(
                "pass.heads",
                f"同意的{noun_zh} / 全体{noun_zh}",
                f"Yes {noun_en} / all {noun_en}",
                yes.heads,
                total.heads,
                rs.pass_threshold,
            )
        )
    else:
        checks.append(
            threshold_check(
                "pass.heads",
                f"同意的{noun_zh} / 参与表决的{noun_zh}",
                f"Yes {noun_en} / participating {noun_en}",
                yes.heads,
                participating.heads,
                rs.pass_threshold,
            )
        )
    return tuple(checks)


def _floor_checks(
    rs: RuleSet, side: Choice, side_count: Count, total: Count
) -> list[ThresholdCheck]:
    side_zh, side_en = side.label("zh"), side.label("en").lower()
    noun_zh, noun_en = rs.noun("zh"), rs.noun("en")
    checks: list[ThresholdCheck] = []
    if side_count.area is not None and total.area is not None:
        checks.append(
            threshold_check(
                "floor.area",
                f"多数方（{side_zh}，含视为随多数者）面积 / 全体面积（浙江底线）",
                f"Deemed majority ({side_en}) area / all area (Zhejiang floor)",
                side_count.area,
                total.area,
                GT_1_2,
            )
        )
    checks.append(
        threshold_check(
            "floor.heads",
            f"多数方（{side_zh}，含视为随多数者）{noun_zh} / 全体{noun_zh}（浙江底线）",
            f"Deemed majority ({side_en}) {noun_en} / all {noun_en} (Zhejiang floor)",
            side_count.heads,
            total.heads,
            GT_1_2,
        )
    )
    return checks


def _majority_side(yes: Count, no: Count) -> Choice | None:
    """YES (NO) when it leads in heads and, where area counts, in area too; else None."""
    if yes.heads > no.heads and (yes.area is None or no.area is None or yes.area > no.area):
        return Choice.YES
    if no.heads > yes.heads and (yes.area is None or no.area is None or no.area > yes.area):
        return Choice.NO
    return None


def tally(
    rs: RuleSet,
    electors: Sequence[Elector],
    ballots: Mapping[str, Choice],
    options: CountingOptions = DEFAULT_OPTIONS,
) -> VoteResult:
    """Count `ballots` (elector_id -> choice) cast by `electors` under `rs`.

    Electors without a ballot did not vote. A ballot from an id not on the roll is refused.
    """
    if not isinstance(rs, RuleSet):
        raise SettingError(
            field="rule_set", reason="缺少表决规则", reason_en="a rule set is required"
        )
    options.validate(rs)
    roll = _check_roll(rs, electors)
    votes = _check_ballots(roll, ballots)
    uses_area = rs.uses_area

    accs = {choice: _Acc() for choice in Choice}
    not_voted_acc = _Acc()
    total_acc = _Acc()
    buildings: dict[str, dict[Choice | str, _Acc]] = {}
    participating_choices = _participating_choices(options)
    all_households: set[str] = set()
    participating_households: set[str] = set()
    for elector_id, elector in roll.items():
        total_acc.add(elector)
        row = buildings.setdefault(
            elector.building, {**{c: _Acc() for c in Choice}, NOT_VOTED: _Acc()}
        )
        choice = votes.get(elector_id)
        if choice is None:
            not_voted_acc.add(elector)
            row[NOT_VOTED].add(elector)
        else:
            accs[choice].add(elector)
            row[choice].add(elector)
        if elector.household is not None:
            all_households.add(elector.household)
            if choice in participating_choices:
                participating_households.add(elector.household)

    households = (
        (len(participating_households), len(all_households))
        if rs.household_quorum_threshold is not None
        else None
    )
    return result_from_counts(
        rs,
        {choice: accs[choice].count(uses_area) for choice in Choice},
        not_voted_acc.count(uses_area),
        total_acc.count(uses_area),
        options,
        by_building={
            building: {key: acc.count(uses_area) for key, acc in row.items()}
            for building, row in sorted(buildings.items())
        },
        households=households,
    )


def result_from_counts(
    rs: RuleSet,
    by_choice: Mapping[Choice, Count],
    not_voted: Count,
    total: Count,
    options: CountingOptions = DEFAULT_OPTIONS,
    *,
    by_building: dict[str, dict[Choice | str, Count]] | None = None,
    households: tuple[int, int] | None = None,
) -> VoteResult:
    """The result of a vote from its counts rather than its ballots: the one place where the
    rule set's quorum and pass thresholds, and the silent-majority option, are applied.

    ``by_choice`` gives, for each `Choice`, the heads and (where ``rs.uses_area``) the area of
    the electors who cast it (a choice left out counts zero); ``not_voted`` those of the electors without a ballot; ``total``
    those of all electors (the roll); the three must add up. Areas are `Decimal` when the rule
    set counts area and None when it does not. ``households`` is (households with a member whose
    choice participates, all households), required by rule sets with a household quorum
    (villagers' meetings) and ignored by others. ``by_building`` is carried into the result as
    given (raw counts per building, for display).

    `tally` counts ballot by ballot and then calls this; a projection that keeps counters calls
    it directly, so both give the same `VoteResult`. Counts that do not fit the rule set raise
    `SettingError` naming the argument.
    """
    if not isinstance(rs, RuleSet):
        raise SettingError(
            field="rule_set", reason="缺少表决规则", reason_en="a rule set is required"
        )
    options.validate(rs)
    uses_area = rs.uses_area
    zero = Count(0, Decimal(0) if uses_area else None)
    counts = {choice: by_choice.get(choice, zero) for choice in Choice}
    for name, count in (*((c.value, n) for c, n in counts.items()), ("not_voted", not_voted)):
        _check_count(rs, name, count)
    _check_count(rs, "total", total)
    voted = _sum(list(counts.values()), uses_area)
    if voted + not_voted != total:
        raise SettingError(
            field="total",
            reason=f"各表决意见与未投票之和（{_count_text(voted + not_voted)}）不等于全体"
            f"（{_count_text(total)}）",
            reason_en=f"the choices and the non-voters ({_count_text(voted + not_voted)}) do not "
            f"add up to all electors ({_count_text(total)})",
        )
    by_choice = counts
    participating = _sum([by_choice[c] for c in _participating_choices(options)], uses_area)
    if rs.household_quorum_threshold is None:
        households = None
    elif households is None or not 0 <= households[0] <= households[1]:
        raise SettingError(
            field="households",
            reason=f"“{rs.name_zh}”须给出有成员参与的户数与全体户数：{households!r}",
            reason_en=f"'{rs.name_en}' needs the households with a participating member and all "
            f"households: {households!r}",
        )
    quorum, quorum_met = _quorum_checks(rs, participating, total, households)
    passing = _pass_checks(rs, by_choice[Choice.YES], participating, total)
    raw = Tally(
        by_choice=by_choice,
        not_voted=not_voted,
        total=total,
        participating=participating,
        quorum=quorum,
        quorum_met=quorum_met,
        passing=passing,
        passed=quorum_met and all(c.met for c in passing),
    )

    deemed: Tally | None = None
    status = SilentMajorityStatus.OFF
    side: Choice | None = None
    if options.silent_majority:
        if not raw.quorum_met:
            deemed, status = raw, SilentMajorityStatus.NO_QUORUM
        else:
            side = _majority_side(by_choice[Choice.YES], by_choice[Choice.NO])
            if side is None:
                deemed, status = raw, SilentMajorityStatus.NO_MAJORITY
            else:
                deemed = _deem(rs, raw, side, options)
                status = SilentMajorityStatus.APPLIED
    return VoteResult(
        rule_set=rs,
        options=options,
        raw=raw,
        deemed=deemed,
        passed=deemed.passed if deemed is not None else raw.passed,
        by_building={} if by_building is None else by_building,
        silent_majority=status,
        deemed_side=side,
    )


def _check_count(rs: RuleSet, name: str, count: object) -> None:
    """A count given to `result_from_counts`: heads never negative, area as the rule set says."""
    if isinstance(count, Count) and isinstance(count.heads, int) and count.heads >= 0:
        if rs.uses_area and isinstance(count.area, Decimal) and count.area >= 0:
            return
        if not rs.uses_area and count.area is None:
            return
    if rs.uses_area:
        wanted_zh, wanted_en = (
            "人数与面积（Decimal，不为负）",
            "heads and an area (Decimal, not negative)",
        )
    else:
        wanted_zh, wanted_en = "人数（不为负，不计面积）", "heads (not negative) and no area"
    raise SettingError(
        field=name,
        reason=f"“{rs.name_zh}”的计数 {name} 须为{wanted_zh}：{count!r}",
        reason_en=f"count '{name}' under '{rs.name_en}' must be {wanted_en}: {count!r}",
    )


def _count_text(count: Count) -> str:
    return f"{count.heads}" if count.area is None else f"{count.heads} / {count.area} m²"


def _deem(rs: RuleSet, raw: Tally, side: Choice, options: CountingOptions) -> Tally:
    """Add the non-voters to `side` and to participating; recompute the pass checks."""
    by_choice = dict(raw.by_choice)
    by_choice[side] = by_choice[side] + raw.not_voted
    participating = raw.participating + raw.not_voted
    zero = Count(0, Decimal(0) if rs.uses_area else None)
    passing = list(_pass_checks(rs, by_choice[Choice.YES], participating, raw.total))
    if options.zhejiang_floor:
        passing.extend(_floor_checks(rs, side, by_choice[side], raw.total))
    return Tally(
        by_choice=by_choice,
        not_voted=zero,
        total=raw.total,
        participating=participating,
        quorum=raw.quorum,
        quorum_met=raw.quorum_met,
        passing=tuple(passing),
        passed=raw.quorum_met and all(c.met for c in passing),
    )
