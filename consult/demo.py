"""A demo street, community and estate with cases in every stage, built through the real commands.

History is written with a clock that starts 90 days ago and moves forward phase by phase, so every
notice period, deadline and timeline is genuine; the last phase ends at the present moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from uuid import UUID

from consult.actors import Actor, Role
from consult.application import ConsultationApp
from consult.case import Stage
from consult.clock import FixedClock
from consult.registers import Household
from consult.roll import read_roll_file

STREET_CODE, COMMUNITY_CODE, ESTATE_CODE = "DEMO-STREET", "DEMO-COMMUNITY", "DEMO"


@dataclass(frozen=True)
class DemoPerson:
    person_id: str
    name: str
    roles: tuple[Role, ...]

    @property
    def actor(self) -> Actor:
        return Actor.of(self.person_id, *self.roles, name=self.name)


OPERATOR = DemoPerson("operator", "平台管理员", (Role.OPERATOR,))
RC = DemoPerson("RC-WANG", "王主任（居委会）", (Role.RESIDENTS_COMMITTEE,))
PARTY = DemoPerson("PARTY-LI", "李书记（社区党委）", (Role.PARTY_ORGANISATION,))
OC = DemoPerson("OC-ZHANG", "张主任（业委会）", (Role.OWNERS_COMMITTEE,))
STREET = DemoPerson("STREET-ZHAO", "赵审计员（街道党工委）", (Role.STREET,))
TELLER_1 = DemoPerson("TELLER-1", "计票人甲", (Role.TELLER,))
TELLER_2 = DemoPerson("TELLER-2", "计票人乙", (Role.TELLER,))
PM = DemoPerson("PM-CHEN", "陈经理（物业）", (Role.PROPERTY_COMPANY,))
SUPERVISOR = DemoPerson("SUP-LIU", "刘委员（监督委员会）", (Role.SUPERVISORY_COMMITTEE,))
REP = DemoPerson("REP-SUN", "孙代表（居民代表）", (Role.RESIDENT,))


@dataclass
class DemoSummary:
    estate_id: UUID
    cases: dict[str, UUID] = field(default_factory=dict)
    people: list[DemoPerson] = field(default_factory=list)
    residents: list[DemoPerson] = field(default_factory=list)
    credentials: list[dict[str, str]] = field(default_factory=list)
    url_hint: str = "consult serve"

    def lines(self, lang: str = "zh") -> list[str]:
        zh = lang.startswith("zh")
        out = [
            "演示数据已创建：示范街道 / 示范社区 / 示范小区（DEMO）"
            if zh
            else "Demo data created: street, community and estate DEMO",
            f"  {'议题' if zh else 'cases'}: {len(self.cases)}",
        ]
        for label, case_id in self.cases.items():
            out.append(f"    {label}: {case_id}")
        if self.credentials:
            out.append("登录账号：" if zh else "Sign-in accounts:")
            for c in self.credentials:
                out.append(f"  {c['role']}: {c['username']} / {c['password']}")
        else:
            out.append("参与人员：" if zh else "People:")
            for p in self.people + self.residents[:2]:
                out.append(f"  {p.person_id} {p.name} ({', '.join(r.value for r in p.roles)})")
        out.append(("启动网页：" if zh else "Start the web app: ") + self.url_hint)
        return out


def demo_roll_path() -> Any:
    return resources.files("consult").joinpath("data/roll-demo.csv")


def demo_clock() -> FixedClock:
    """The clock the demo's history is written with: 90 days ago, moved on phase by phase."""
    return FixedClock(datetime.now(tz=UTC).replace(microsecond=0) - timedelta(days=90))


def populate(app: ConsultationApp, clock: FixedClock) -> DemoSummary:
    """Create the demo through the application's commands, on ``clock`` (the application's
    clock from now on: the caller sets the real one back), and return what was made."""
    app.clock = clock
    return _Builder(app, clock).build()


class _Builder:
    def __init__(self, app: ConsultationApp, clock: FixedClock) -> None:
        self.app = app
        self.clock = clock

    def day(self, n: float = 1) -> None:
        self.clock.advance(days=n)

    def build(self) -> DemoSummary:
        app, op = self.app, OPERATOR.actor
        app.create_street(STREET_CODE, "示范街道", op)
        app.create_community(COMMUNITY_CODE, "示范社区", STREET_CODE, op)
        estate = app.create_estate(ESTATE_CODE, "示范小区", COMMUNITY_CODE, op)
        path = demo_roll_path()
        units = read_roll_file(str(path))
        app.import_roll(
            estate, path.read_text(encoding="utf-8"), RC.actor, source_name="roll-demo.csv"
        )
        community = app.estate(estate).community_id
        for u in units:
            if u.kind.value == "residential" and u.owner_kind.value == "person":
                app.record_household(
                    community,
                    Household(u.unit_id, f"{u.building}栋{u.entrance}单元{u.room}", u.owners),
                    RC.actor,
                )
        app.elect_owners_committee(
            estate, [OC.person_id, "OC-QIAN", "OC-ZHOU"], "2029-12-31", RC.actor
        )
        app.appoint_property_company(
            estate, "示范物业服务有限公司", [PM.person_id, "PM-STAFF-2"], OC.actor
        )
        app.adopt_covenant(estate, "GY-2024-1", "示范小区管理规约（2024年版）", True, OC.actor)
        council = app.create_council(estate, "six-party", PARTY.actor)
        for party, person in [
            ("party-organisation", PARTY),
            ("residents-committee", RC),
            ("owners-committee", OC),
            ("property-company", PM),
            ("supervisory-committee", SUPERVISOR),
            ("residents-representatives", REP),
        ]:
            app.assign_seats(council, party, [person.person_id], PARTY.actor)

        electorate = app.owners_electorate(estate)
        heads = [h for h in electorate.heads.values() if not h.is_developer]
        residents = [
            DemoPerson(h.owners[0], f"业主 {h.owners[0]}", (Role.RESIDENT,)) for h in heads[:3]
        ]
        summary = DemoSummary(
            estate, people=[RC, PARTY, OC, STREET, TELLER_1, TELLER_2, PM], residents=residents
        )
        self.heads = heads
        self.council = council
        self.estate = estate
        self._cases(summary)
        return summary

    def _topic(self, title: str, text: str, who: Actor | None = None) -> UUID:
        return self.app.submit_topic(
            self.estate,
            title,
            text,
            "online",
            who or Actor.of(self.heads[5].owners[0], Role.RESIDENT),
        ).id

    def _positions(self, disagree: str | None = None) -> dict[str, dict[str, str]]:
        parties = [
            "party-organisation",
            "residents-committee",
            "owners-committee",
            "property-company",
            "supervisory-committee",
            "residents-representatives",
        ]
        return {
            p: {"position": "disagree" if p == disagree else "agree", "text": ""} for p in parties
        }

    def _cases(self, s: DemoSummary) -> None:
        app, oc, party = self.app, OC.actor, PARTY.actor
        owner = [Actor.of(h.owners[0], Role.RESIDENT) for h in self.heads]

        # Phase 0 (90 days ago): topics arrive.
        full = self._topic(
            "小区东门加装智能门禁", "东门夜间无人值守，建议加装智能门禁并同步更新业主信息。"
        )
        rectify = self._topic("地下车库照明改造", "车库照明昏暗，建议更换为感应式LED灯。")
        archived = self._topic("儿童游乐设施更新", "游乐设施老化，建议更换并铺设防摔地垫。")
        failed = self._topic(
            "外墙统一粉刷（动用维修资金）", "外墙褪色，建议动用专项维修资金统一粉刷。"
        )
        rejected = self._topic("在中心花园建设商铺", "建议在中心花园建设商铺出租。")
        withdrawn = self._topic("更换物业公司", "物业服务不到位，建议更换。")
        revoked = self._topic("占用消防通道增设车位", "在消防通道旁划设临时停车位。")
        feedback = self._topic("单元门禁维修", "多个单元门禁损坏，建议统一维修。")
        evaluating = self._topic("小区路面修补", "主干道坑洼较多，建议修补。")
        self.day()
        for cid in (full, rectify, archived, failed, revoked, feedback, evaluating):
            app.confirm_topic(
                cid, "owners-assembly", ["全体业主", "物业"], party, "属于业主共同决定事项"
            )
        app.reject_topic(
            rejected,
            party,
            "改变共有部分用途须依法经业主共同决定，且中心花园属规划绿地，不予立项。",
        )
        app.withdraw(withdrawn, owner[5], "提议人与物业沟通后问题已解决，主动撤回。")
        self.day()
        meeting = self.clock.now() + timedelta(days=15)
        items = {
            full: {"item_id": "1", "title": "加装智能门禁", "matter": 9},
            rectify: {"item_id": "1", "title": "车库照明改造（使用维修资金）", "matter": 5},
            archived: {"item_id": "1", "title": "更新儿童游乐设施", "matter": 9},
            failed: {"item_id": "1", "title": "动用维修资金粉刷外墙", "matter": 5},
            revoked: {"item_id": "1", "title": "增设临时车位", "matter": 8},
            feedback: {"item_id": "1", "title": "维修单元门禁（使用维修资金）", "matter": 5},
            evaluating: {"item_id": "1", "title": "修补主干道路面（使用维修资金）", "matter": 5},
        }
        for cid, item in items.items():
            app.publish_notice(
                cid,
                f"定于{meeting.date().isoformat()}召开业主大会，表决：{item['title']}。",
                "小区会所及网上",
                "现场会议与网上投票",
                meeting,
                [item],
                oc,
            )
        # Phase 1 (15 days later): deliberation and votes.
        self.day(15)
        for cid in items:
            app.record_session(
                cid,
                "council",
                self.clock.now(),
                [PARTY.person_id, RC.person_id, OC.person_id, PM.person_id],
                [
                    {
                        "speaker": OC.person_id,
                        "party": "owners-committee",
                        "text": "请各方发表意见。",
                    }
                ],
                self._positions("property-company" if cid == failed else None),
                [],
                oc,
                council=self.council,
                summary="六方联动议事会讨论",
            )
            app.form_opinion(cid, "提交业主大会表决。", oc)
        votes = {
            cid: app.open_vote(
                cid,
                "1",
                self.clock.now() + timedelta(days=14),
                oc,
                [TELLER_1.person_id, TELLER_2.person_id],
            ).id
            for cid in items
        }
        for cid, vid in votes.items():
            yes_count = 63 if cid == failed else 144  # of 180 voters
            for i, actor in enumerate(owner[:180]):
                choice = "yes" if i < yes_count else ("no" if i % 3 else "abstain")
                app.cast_ballot(vid, choice, actor)
        app.enter_paper_ballot(
            votes[full], self.heads[190].head_id, "yes", "ZP-0001", TELLER_1.actor
        )
        app.confirm_paper_ballot(votes[full], self.heads[190].head_id, "yes", TELLER_2.actor)
        # Phase 2: close, publish results.
        self.day(14)
        for cid, vid in votes.items():
            app.close_vote(vid, oc, "表决期限届满")
            self.clock.advance(minutes=5)
            app.publish_result(cid, "表决结果已按《民法典》第278条统计并公示。", oc)
        app.revoke(
            revoked, "街责〔2026〕12号", STREET.actor, "占用消防通道违反《消防法》，决定撤销。"
        )
        # Phase 3: implementation.
        self.day()
        for cid in (full, rectify, archived, feedback, evaluating):
            app.assign_implementation(
                cid, PM.person_id, "物业按决议组织施工。", self.clock.now() + timedelta(days=30), oc
            )
        self.day(10)
        for cid in (full, rectify, archived, feedback, evaluating):
            app.report_progress(cid, 60, "设备已到货，正在安装。", PM.actor)
        self.day(10)
        for cid in (rectify, archived):
            app.report_progress(cid, 100, "已完工并验收。", PM.actor)
            app.give_feedback(
                cid,
                "已按决议完成。",
                [{"to": "投反对票的业主", "text": "施工安排在白天，减少噪音影响。"}],
                oc,
            )
            app.open_evaluation(cid, self.clock.now() + timedelta(days=7), oc)
        for i, actor in enumerate(owner[:36]):  # enough answers to decide (at least 30)
            app.rate(
                archived, "satisfied" if i % 4 else "basically-satisfied", True, i % 2 == 0, actor
            )
            app.rate(rectify, "dissatisfied" if i % 3 else "satisfied", True, True, actor)
        self.day(7)
        app.close_evaluation(archived, oc)
        app.archive(archived, oc)
        app.close_evaluation(rectify, oc)  # satisfaction 12/36 < 2/3: reopened for rectification

        # Phase 4 (the last three weeks): cases now in the earlier stages.
        self.day()
        motion_open = app.open_motion(
            self.estate,
            "增设电动自行车充电棚",
            "建议在2号楼旁增设充电棚，解决飞线充电隐患。",
            owner[10],
        ).motion_id
        for actor in owner[10:15]:
            app.sign_motion(motion_open, actor)
        opened = app.open_motion(
            self.estate, "公开物业费收支明细", "请物业按季度公开物业费收支明细。", owner[20]
        )
        motion_tabled, tabled_case = opened.motion_id, opened.case_id
        for actor in owner[20:60]:
            if app.sign_motion(motion_tabled, actor).tabled:
                break
        collecting = self._topic("增加垃圾分类投放点", "现有投放点太远，老人不便。")
        for actor in owner[40:43]:
            app.support_topic(collecting, actor)
        confirmed = self._topic("楼道堆物清理", "楼道堆放杂物存在消防隐患，建议集中清理。")
        app.confirm_topic(
            confirmed, "consultation", ["居民", "物业", "居委会"], party, "属于社区协商事项"
        )
        notice = self._topic("小区绿化补种", "部分绿地裸露，建议补种。")
        app.confirm_topic(notice, "owners-assembly", ["全体业主"], party, "")
        deliberation = self._topic("宠物管理公约", "建议制定文明养宠公约。")
        app.confirm_topic(deliberation, "consultation", ["居民", "居委会", "物业"], party, "")
        voting = self._topic("增设快递柜", "建议在南门增设智能快递柜。")
        app.confirm_topic(voting, "owners-assembly", ["全体业主"], party, "")
        self.day()
        app.publish_notice(
            deliberation,
            "召开宠物管理恳谈会。",
            "社区活动室",
            "恳谈会",
            self.clock.now() + timedelta(days=5),
            [{"item_id": "1", "title": "文明养宠公约", "council_id": str(self.council)}],
            RC.actor,
        )
        app.publish_notice(
            voting,
            "表决增设快递柜。",
            "小区会所及网上",
            "网上投票",
            self.clock.now() + timedelta(days=15),
            [{"item_id": "1", "title": "增设智能快递柜", "matter": 8}],
            oc,
        )
        self.day(15)
        app.record_session(
            deliberation,
            "dialogue",
            self.clock.now(),
            [RC.person_id, PM.person_id, REP.person_id],
            [
                {
                    "speaker": REP.person_id,
                    "party": "residents-representatives",
                    "text": "建议划定遛狗区域。",
                }
            ],
            self._positions(),
            ["部分居民希望全面禁养大型犬"],
            RC.actor,
            council=self.council,
        )
        app.speak(deliberation, "希望遛狗时间避开早晚高峰。", owner[50])
        for cid in (feedback, evaluating):
            app.report_progress(cid, 100, "已完工。", PM.actor)
            app.give_feedback(
                cid,
                "已按决议完成。",
                [{"to": "反对的业主", "text": "费用按面积分摊，明细已公示。"}],
                oc,
            )
        app.open_evaluation(evaluating, self.clock.now() + timedelta(days=30), oc)
        for actor in owner[:6]:
            app.rate(evaluating, "satisfied", True, True, actor)
        vote_now = app.open_vote(
            voting,
            "1",
            self.clock.now() + timedelta(days=21),
            oc,
            [TELLER_1.person_id, TELLER_2.person_id],
        ).id
        for i, actor in enumerate(owner[60:160]):
            app.cast_ballot(vote_now, "yes" if i % 5 else "no", actor)
        app.register_proxy(vote_now, self.heads[170].head_id, "NEIGHBOUR-1", "WT-2026-001", oc)
        self.day(3)
        app.publish_notice(
            notice,
            "定于15日后召开业主大会表决绿化补种。",
            "小区会所",
            "现场会议",
            self.clock.now() + timedelta(days=15),
            [{"item_id": "1", "title": "使用维修资金补种绿化", "matter": 5}],
            oc,
        )
        s.cases = {
            "collecting 收集议题": collecting,
            "motion open 联署中": app.motion(motion_open).case_id,
            "motion tabled 已列入": tabled_case,
            "confirmed 确定议题": confirmed,
            "notice 公示告知": notice,
            "deliberation 开展协商": deliberation,
            "voting 表决": voting,
            "implementation 组织实施": full,
            "rectification 整改": rectify,
            "archived 归档": archived,
            "result (failed) 结果公示（未通过）": failed,
            "feedback 反馈": feedback,
            "evaluation 评价": evaluating,
            "rejected 不予立项": rejected,
            "withdrawn 已撤回": withdrawn,
            "revoked 街道撤销": revoked,
        }
        expected = {
            collecting: Stage.COLLECTING,
            notice: Stage.NOTICE,
            deliberation: Stage.DELIBERATION,
            voting: Stage.VOTING,
            full: Stage.IMPLEMENTATION,
            rectify: Stage.RECTIFICATION,
            archived: Stage.ARCHIVED,
            failed: Stage.RESULT,
            feedback: Stage.FEEDBACK,
            evaluating: Stage.EVALUATION,
            rejected: Stage.REJECTED,
            withdrawn: Stage.WITHDRAWN,
            revoked: Stage.REVOKED,
        }
        for cid, stage in expected.items():
            assert app.case(cid).stage == stage, (cid, app.case(cid).stage, stage)
