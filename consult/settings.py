"""Per-estate settings for what DOMAIN.md leaves [open] or to local rules, with their defaults.

Every result shows the choices in force (``describe``), so a reader can see how it was counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any

from consult.errors import SettingError

#: Minimum notice period (days) and its source for each route a case can take to a decision.
NOTICE_ROUTES: dict[str, tuple[int, str, str]] = {
    "owners-assembly": (
        15,
        "《物业管理条例》第14条：会议召开15日以前通知",
        "Property Management Regulations Art. 14: 15 days",
    ),
    "owners-assembly-extraordinary": (
        7,
        "杭州：临时业主大会提前7日公告（地方）",
        "Hangzhou: 7 days for an extraordinary meeting (local)",
    ),
    "residents-meeting": (7, "常见做法：提前7日公告（实践）", "common practice: 7 days (practice)"),
    "villagers-meeting": (
        10,
        "《村民委员会组织法》第21条：提前10日公布",
        "Villagers' Committees Law Art. 21: 10 days",
    ),
    "representatives-meeting": (
        7,
        "常见做法：提前7日公告（实践）",
        "common practice: 7 days (practice)",
    ),
    "owners-committee": (3, "常见做法：提前3日通知（实践）", "common practice: 3 days (practice)"),
    "consultation": (
        5,
        "常见做法：协商事项提前5日公示（实践）",
        "common practice: 5 days (practice)",
    ),
}

ROUTE_NAMES: dict[str, tuple[str, str]] = {
    "owners-assembly": ("业主大会", "owners' assembly"),
    "owners-assembly-extraordinary": ("临时业主大会", "extraordinary owners' assembly"),
    "residents-meeting": ("居民会议", "residents' meeting"),
    "villagers-meeting": ("村民会议", "villagers' meeting"),
    "representatives-meeting": ("村（居）民代表会议", "representatives' meeting"),
    "owners-committee": ("业主委员会会议", "owners' committee meeting"),
    "consultation": ("协商议事（不表决）", "consultation (no statutory vote)"),
}


@dataclass(frozen=True)
class EstateSettings:
    abstain_participates: bool = True  # DOMAIN §3 [open] default
    invalid_participates: bool = False  # DOMAIN §3 [open] default
    vote_change_allowed: bool = True  # Wuhan e-voting [practice]: once before close
    proxy_cap: int = 3  # Weifang: at most 3 principals per proxy holder [local]
    property_staff_may_not_be_proxies: bool = True  # Zhoushan [local]
    max_extension_days: int = 90  # one extension, up to 3 months [practice]
    satisfaction_threshold: Fraction = Fraction(2, 3)  # below it the case reopens [open]
    # a rate decides nothing (no reopening) on fewer answers than this, unless every eligible head
    # answered [open]/[practice]: docs/domain.md §9
    evaluation_min_responses: int = 30
    zhejiang_floor: bool = False  # DOMAIN §5 [local]
    acting_mode: str = "may"  # residents' committee "may" (可以) or "shall" (应当) act [local]
    notice_days: dict[str, int] = field(default_factory=dict)  # overrides of NOTICE_ROUTES

    def __post_init__(self) -> None:
        if self.proxy_cap < 0:
            raise SettingError(
                field="proxy_cap",
                reason="委托上限不能为负数",
                reason_en="the proxy cap cannot be negative",
            )
        if not 0 < self.max_extension_days <= 366:
            raise SettingError(
                field="max_extension_days",
                reason="延期天数须在1至366之间",
                reason_en="extension days must be between 1 and 366",
            )
        if not 0 <= self.satisfaction_threshold <= 1:
            raise SettingError(
                field="satisfaction_threshold",
                reason="满意率门槛须在0与1之间",
                reason_en="the satisfaction threshold must be between 0 and 1",
            )
        if not 1 <= self.evaluation_min_responses <= 100_000:
            raise SettingError(
                field="evaluation_min_responses",
                reason="评价结论所需最少回答数须在1至100000之间",
                reason_en="the minimum number of responses must be between 1 and 100,000",
            )
        if self.acting_mode not in ("may", "shall"):
            raise SettingError(
                field="acting_mode",
                reason="只能是 may 或 shall",
                reason_en="must be 'may' or 'shall'",
            )
        if not isinstance(self.notice_days, dict):
            raise SettingError(
                field="notice_days",
                reason="须为各途径的公示天数",
                reason_en="must give a number of days for each route",
            )
        for route, days in self.notice_days.items():
            if isinstance(days, bool) or not isinstance(days, int):
                raise SettingError(
                    field="notice_days",
                    reason=f"{route} 的天数须为整数",
                    reason_en=f"the days for {route} must be a whole number",
                )
            if route not in NOTICE_ROUTES:
                raise SettingError(
                    field="notice_days",
                    reason=f"未知途径 {route}",
                    reason_en=f"unknown route {route}",
                )
            if days < NOTICE_ROUTES[route][0] and route == "owners-assembly":
                raise SettingError(
                    field="notice_days",
                    reason="业主大会公示期不得少于法定15日",
                    reason_en="the owners' assembly notice cannot be shorter than the statutory 15 days",
                )
            if days < 0:
                raise SettingError(
                    field="notice_days",
                    reason="天数不能为负数",
                    reason_en="days cannot be negative",
                )

    def notice_period(self, route: str) -> int:
        if route not in NOTICE_ROUTES:
            raise SettingError(
                field="route", reason=f"未知途径 {route}", reason_en=f"unknown route {route}"
            )
        return self.notice_days.get(route, NOTICE_ROUTES[route][0])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["satisfaction_threshold"] = str(self.satisfaction_threshold)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EstateSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SettingError(
                field=sorted(unknown)[0],
                reason=f"未知设置：{', '.join(sorted(unknown))}",
                reason_en=f"unknown setting(s): {', '.join(sorted(unknown))}",
            )
        values = dict(d)
        if "satisfaction_threshold" in values:
            try:
                values["satisfaction_threshold"] = Fraction(str(values["satisfaction_threshold"]))
            except (ValueError, ZeroDivisionError):
                raise SettingError(
                    field="satisfaction_threshold",
                    reason="须为分数或小数，如 2/3",
                    reason_en="must be a fraction or decimal such as 2/3",
                ) from None
        for name in ("proxy_cap", "max_extension_days", "evaluation_min_responses"):
            if name in values and (
                isinstance(values[name], bool) or not isinstance(values[name], int)
            ):
                raise SettingError(
                    field=name, reason="须为整数", reason_en="must be a whole number"
                )
        for name in (
            "abstain_participates",
            "invalid_participates",
            "vote_change_allowed",
            "property_staff_may_not_be_proxies",
            "zhejiang_floor",
        ):
            if name in values and not isinstance(values[name], bool):
                raise SettingError(
                    field=name, reason="须为是或否", reason_en="must be true or false"
                )
        return cls(**values)

    def merged(self, changes: dict[str, Any]) -> EstateSettings:
        return EstateSettings.from_dict({**self.to_dict(), **changes})
