"""Evaluation of an implemented case: a round is opened, owners' heads rate it, and closing it
publishes the rates (low satisfaction with enough answers reopens the case for rectification)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from consult.actors import Actor
from consult.application.cases import CaseService
from consult.application.results import Done, EvaluationOutcome
from consult.case import Case, stage_error
from consult.errors import NotFoundError
from consult.evaluation import Evaluation, RateDecision, evaluation_id, parse_rating


class EvaluationService(CaseService):
    def open_evaluation(self, case_id: UUID, closes_at: datetime, actor: Actor) -> Done:
        case = self.case(case_id)
        self.require_convener(case, actor)
        roll_version, eligible = self._eligible_heads(case)
        at = self.now()

        def attempt() -> Done:
            c = self.case(case_id)
            c.open_evaluation(closes_at, at, actor.person_id)
            ev = Evaluation.start(
                evaluation_id(case_id, c.evaluation_rounds),
                at,
                actor.person_id,
                case_id=case_id,
                round_no=c.evaluation_rounds,
                eligible=eligible,
                closes_at=closes_at,
                roll_version=roll_version,
            )
            return Done(ev.id, self._save(c, ev))

        return self._retrying(attempt)

    def _eligible_heads(self, case: Case) -> tuple[int | None, int]:
        """The roll version whose owners' heads may rate, and how many heads it has."""
        try:
            version = self.roll_version(case.estate_id)
            return version, self.owners_electorate(case.estate_id, version).total_heads
        except NotFoundError:
            return None, 0

    def _rater_heads(self, ev: Evaluation, estate: UUID, person: str) -> tuple[str, ...]:
        if ev.roll_version is None:
            return (person,)  # a round opened before ratings were kept per head
        return self.owners_electorate(estate, ev.roll_version).electors_of(person)

    def _round(self, case_id: UUID, round_no: int) -> Evaluation:
        return self._get(Evaluation, evaluation_id(case_id, round_no), "评价", "evaluation")

    def rate(
        self, case_id: UUID, rating: str, aware: bool, participated: bool, actor: Actor
    ) -> Done:
        r = parse_rating(rating)

        def attempt() -> Done:
            case = self.case(case_id)
            if not case.evaluation_open:
                raise stage_error(case.stage, "评价", "be rated")
            ev = self._round(case_id, case.evaluation_rounds)
            heads = self._rater_heads(ev, case.estate_id, actor.person_id)
            ev.rate(actor.person_id, heads, r, aware, participated, self.now())
            return Done(ev.id, self._save(ev))

        return self._retrying(attempt)

    def evaluation(self, case_id: UUID, round_no: int | None = None) -> Evaluation:
        case = self.case(case_id)
        return self._round(case_id, round_no or case.evaluation_rounds)

    def close_evaluation(self, case_id: UUID, actor: Actor) -> EvaluationOutcome:
        """Publish the rates; satisfaction below the estate's threshold reopens for rectification
        when enough heads answered (the estate's ``evaluation_min_responses``)."""
        case = self.case(case_id)
        self.require_convener(case, actor)
        settings = self.estate(case.estate_id).settings

        def attempt() -> EvaluationOutcome:
            c = self.case(case_id)
            ev = self._round(case_id, c.evaluation_rounds)
            rates = ev.rates()
            decision = RateDecision.of(
                rates, settings.satisfaction_threshold, settings.evaluation_min_responses
            )
            at = self.now()
            c.close_evaluation(
                {**rates.to_dict(), **decision.to_dict()}, decision.reopened, at, actor.person_id
            )
            ev.record(Evaluation.Closed, at, actor.person_id, "")
            return EvaluationOutcome(
                rates,
                str(decision.threshold),
                decision.reopened,
                self._save(c, ev),
                decision.min_responses,
                decision.conclusive,
            )

        return self._retrying(attempt)
