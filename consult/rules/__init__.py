"""Counting rules: owners' joint decisions, other bodies' votes and threshold motions.

Pure domain code (standard library only). See docs/domain.md §3–§6. The package's modules:

- `thresholds`: choices and exact thresholds with the counting words of 民法典 Art. 1259;
- `table` and `rule_sets`: the rule-set table as data, and the versioned `RuleSet` built from it;
- `options`: the [open] counting options (abstentions, invalid ballots, silent majority);
- `results` and `counting`: the tally and what it produces;
- `motions`: co-signature thresholds (threshold motions).

Everything other modules use is importable from ``consult.rules`` itself.
"""

from __future__ import annotations

from consult.rules.counting import Elector, result_from_counts, tally
from consult.rules.motions import (
    THRESHOLD_PRESETS,
    MotionBasis,
    MotionEffect,
    MotionProgress,
    ThresholdRule,
)
from consult.rules.options import DEFAULT_OPTIONS, CountingOptions
from consult.rules.results import (
    Count,
    SilentMajorityStatus,
    Tally,
    ThresholdCheck,
    VoteResult,
)
from consult.rules.rule_sets import RULE_SETS, RuleSet, rule_set
from consult.rules.table import RULE_SET_TABLE, RuleSetId, RuleSetRow
from consult.rules.thresholds import NOT_VOTED, Choice, Comparison, Threshold

__all__ = [
    "DEFAULT_OPTIONS",
    "NOT_VOTED",
    "RULE_SETS",
    "RULE_SET_TABLE",
    "THRESHOLD_PRESETS",
    "Choice",
    "Comparison",
    "Count",
    "CountingOptions",
    "Elector",
    "MotionBasis",
    "MotionEffect",
    "MotionProgress",
    "RuleSet",
    "RuleSetId",
    "RuleSetRow",
    "SilentMajorityStatus",
    "Tally",
    "Threshold",
    "ThresholdCheck",
    "ThresholdRule",
    "VoteResult",
    "result_from_counts",
    "rule_set",
    "tally",
]
