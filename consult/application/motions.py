"""Threshold motions (联名提议): opened with their topic case on a frozen roll, co-signed by
owners' heads, tabled automatically when the threshold is reached; signatures may be withdrawn
where the rule allows."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from consult.actors import Actor, Role
from consult.application.base import new_id
from consult.application.cases import CaseService
from consult.application.results import MotionOpened, SignatureResult
from consult.electorate import Electorate
from consult.errors import NotOnRollError, NotSignedError
from consult.motion import Motion
from consult.registers import roll_id
from consult.rules import THRESHOLD_PRESETS, ThresholdRule
from consult.validation import one_of


class MotionService(CaseService):
    def open_motion(
        self,
        estate: UUID,
        title: str,
        description: str,
        actor: Actor,
        preset: str = "motion-5pct",
        rule: ThresholdRule | None = None,
    ) -> MotionOpened:
        """Open a threshold motion with its topic case."""
        if rule is None:
            rule = THRESHOLD_PRESETS[one_of(preset, THRESHOLD_PRESETS, "preset", "motion_rule")]
        self.estate(estate)
        version = self.roll_version(estate)
        electorate = self.owners_electorate(estate, version)
        if not electorate.electors_of(actor.person_id) and Role.OPERATOR not in actor.roles:
            raise NotOnRollError(field="actor", version=version)
        motion_id = new_id()
        at = self.now()
        case = self._new_case(estate, title, description, "motion", actor, motion_id)
        motion = Motion.start(
            motion_id,
            at,
            actor.person_id,
            "",
            estate_id=estate,
            case_id=case.id,
            title=case.title,
            rule=rule.to_dict(),
            roll_id=roll_id(estate),
            roll_version=version,
            total_heads=electorate.total_heads,
            total_area=electorate.total_area,
            closes_at=at + timedelta(days=rule.window_days),
        )
        return MotionOpened(motion_id, case.id, self._save(case, motion))

    def sign_motion(
        self, motion_id: UUID, actor: Actor, head_id: str | None = None
    ) -> SignatureResult:
        """Co-sign for the actor's heads on the frozen roll (one head, or all not yet signed)."""

        def attempt() -> SignatureResult:
            motion = self.motion(motion_id)
            electorate = self.owners_electorate(motion.estate_id, motion.roll_version)
            heads = heads_of(electorate, actor, head_id, str(motion.roll_version))
            at = self.now()
            if head_id is None:
                heads = [h for h in heads if h not in motion.signed] or heads
            tabled = False
            signed: list[str] = []
            for h in heads:
                tabled = motion.sign(h, electorate.heads[h].area, actor.person_id, at)
                signed.append(h)
                if tabled:
                    break  # the motion is tabled: no further signatures are collected
            case = None
            if tabled:
                case = self.case(motion.case_id)
                case.table(
                    motion.rule.answer_days,
                    at,
                    "system",
                    f"联署达到{motion.rule.name_zh}门槛 / reached the {motion.rule.name_en} threshold",
                )
            position = self._save(motion, case)
            return SignatureResult(motion_id, tuple(signed), motion.progress(), tabled, position)

        return self._retrying(attempt)

    def withdraw_signature(
        self, motion_id: UUID, actor: Actor, head_id: str | None = None
    ) -> SignatureResult:
        def attempt() -> SignatureResult:
            motion = self.motion(motion_id)
            electorate = self.owners_electorate(motion.estate_id, motion.roll_version)
            heads = [
                h
                for h in heads_of(electorate, actor, head_id, str(motion.roll_version))
                if h in motion.signed
            ]
            if not heads:
                raise NotSignedError(field="head_id")
            for h in heads:
                motion.withdraw_signature(h, actor.person_id, self.now())
            return SignatureResult(
                motion_id, tuple(heads), motion.progress(), False, self._save(motion)
            )

        return self._retrying(attempt)


def heads_of(electorate: Electorate, actor: Actor, head_id: str | None, version: str) -> list[str]:
    """The actor's heads on the frozen roll: the one named, or all of them."""
    own = list(electorate.electors_of(actor.person_id))
    if head_id is not None:
        if head_id not in own:
            raise NotOnRollError(field="head_id", version=version)
        return [head_id]
    if not own:
        raise NotOnRollError(field="actor", version=version)
    return own
