"""The rule-set table: every counting rule as one row of data, with its legal source.

A row says who the heads are, the quorum (and the villagers' household alternative), the pass
threshold and its base, whether area counts, proxies, binding force and the silent-majority
option. `consult.rules.rule_sets` builds a `RuleSet` from each row; adding or changing a rule
set is a change to this table only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consult.rules.thresholds import GT_1_2, GTE_2_3, GTE_3_4, UNANIMOUS, Threshold


class RuleSetId(StrEnum):
    CC278_ORDINARY = "cc278-ordinary"
    CC278_SPECIAL = "cc278-special"
    RESIDENTS_MEETING = "residents-meeting"
    VILLAGERS_MEETING = "villagers-meeting"
    REPRESENTATIVES_MEETING = "representatives-meeting"
    OWNERS_COMMITTEE = "owners-committee"
    COUNCIL_CONSENSUS = "council-consensus"


@dataclass(frozen=True)
class RuleSetRow:
    """One rule set; texts are (zh, en) pairs."""

    id: RuleSetId
    version: str
    name: tuple[str, str]
    source: tuple[str, str]  # the legal source
    noun: tuple[str, str]  # who the heads are
    quorum: Threshold  # participating heads / all heads (and area / area when area counts)
    household_quorum: Threshold | None  # villagers' meeting: the OR branch on households
    passing: Threshold  # yes / participating (or / all members, see pass_of_all)
    pass_of_all: bool  # owners' committee: yes is measured against all members
    uses_area: bool  # owners' joint decisions (民法典 Art. 278) count exclusive area too
    proxies_allowed: bool
    binding: bool
    silent_majority_allowed: bool
    note: tuple[str, str] | None = None  # a further line of the rule's description


RULE_SET_TABLE: tuple[RuleSetRow, ...] = (
    RuleSetRow(
        id=RuleSetId.CC278_ORDINARY,
        version="2021-01-01",
        name=("业主共同决定（一般事项）", "Owners' joint decision (ordinary matter)"),
        source=("《中华人民共和国民法典》第二百七十八条", "Civil Code of the PRC, Art. 278"),
        noun=("业主", "owners"),
        quorum=GTE_2_3,
        household_quorum=None,
        passing=GT_1_2,
        pass_of_all=False,
        uses_area=True,
        proxies_allowed=True,
        binding=True,
        silent_majority_allowed=True,
    ),
    RuleSetRow(
        id=RuleSetId.CC278_SPECIAL,
        version="2021-01-01",
        name=(
            "业主共同决定（筹集维修资金、改建重建、改变共有部分用途或经营）",
            "Owners' joint decision (special matter: raising the maintenance fund, "
            "rebuilding, changing the use of or running a business on common parts)",
        ),
        source=(
            "《中华人民共和国民法典》第二百七十八条第二款",
            "Civil Code of the PRC, Art. 278(2)",
        ),
        noun=("业主", "owners"),
        quorum=GTE_2_3,
        household_quorum=None,
        passing=GTE_3_4,
        pass_of_all=False,
        uses_area=True,
        proxies_allowed=True,
        binding=True,
        silent_majority_allowed=True,
    ),
    RuleSetRow(
        id=RuleSetId.RESIDENTS_MEETING,
        version="2018-12-29",
        name=("居民会议", "Residents' meeting"),
        source=(
            "《中华人民共和国城市居民委员会组织法》第九条",
            "Organic Law of Urban Residents' Committees, Art. 9",
        ),
        noun=("居民", "residents"),
        quorum=GT_1_2,
        household_quorum=None,
        passing=GT_1_2,
        pass_of_all=False,
        uses_area=False,
        proxies_allowed=True,
        binding=True,
        silent_majority_allowed=False,
        note=(
            "按成年居民、户代表或居民小组代表计数，由召集方确定",
            "Counted by adult residents, household representatives or group "
            "representatives, as the convener decides",
        ),
    ),
    RuleSetRow(
        id=RuleSetId.VILLAGERS_MEETING,
        version="2018-12-29",
        name=("村民会议", "Villagers' meeting"),
        source=(
            "《中华人民共和国村民委员会组织法》第二十二条",
            "Organic Law of Villagers' Committees, Art. 22",
        ),
        noun=("成年村民", "adult villagers"),
        quorum=GT_1_2,
        household_quorum=GTE_2_3,
        passing=GT_1_2,
        pass_of_all=False,
        uses_area=False,
        proxies_allowed=True,
        binding=True,
        silent_majority_allowed=False,
    ),
    RuleSetRow(
        id=RuleSetId.REPRESENTATIVES_MEETING,
        version="2018-12-29",
        name=("村民代表会议", "Villagers' representatives' meeting"),
        source=(
            "《中华人民共和国村民委员会组织法》第二十六条",
            "Organic Law of Villagers' Committees, Art. 26",
        ),
        noun=("村民代表", "representatives"),
        quorum=GTE_2_3,
        household_quorum=None,
        passing=GT_1_2,
        pass_of_all=False,
        uses_area=False,
        proxies_allowed=True,
        binding=True,
        silent_majority_allowed=False,
    ),
    RuleSetRow(
        id=RuleSetId.OWNERS_COMMITTEE,
        version="2021-05-01",
        name=("业主委员会会议", "Owners' committee meeting"),
        source=(
            "《北京市物业管理条例》第四十五条；上海市规定第二十六条（地方规定）",
            "Beijing Property Management Regulations Art. 45; Shanghai Art. 26 (local)",
        ),
        noun=("业主委员会委员", "committee members"),
        quorum=GT_1_2,
        household_quorum=None,
        passing=GT_1_2,
        pass_of_all=True,
        uses_area=False,
        proxies_allowed=False,
        binding=True,
        silent_majority_allowed=False,
    ),
    RuleSetRow(
        id=RuleSetId.COUNCIL_CONSENSUS,
        version="practice",
        name=(
            "联席协商（四位一体／六方联动）",
            "Joint council consensus (four-in-one / six-party)",
        ),
        source=("基层实践；无法律赋予表决权", "Local practice; no statute gives a binding vote"),
        noun=("协商方", "parties"),
        quorum=UNANIMOUS,
        household_quorum=None,
        passing=UNANIMOUS,
        pass_of_all=False,
        uses_area=False,
        proxies_allowed=True,
        binding=False,
        silent_majority_allowed=False,
    ),
)
