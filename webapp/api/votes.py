"""``/api/v1/votes``: a vote, its live tally, the user's electors, and casting a ballot (the
busiest request of all)."""

from __future__ import annotations

from uuid import UUID

from flask import Response

from webapp.api import bp
from webapp.api.common import body, created, dump, elector_roles
from webapp.api.registry import operation
from webapp.api.schemas import BallotSchema, ElectorSchema, ReceiptSchema, TallySchema, VoteSchema
from webapp.common import remember, scoped_vote
from webapp.errors import not_found
from webapp.resident.schemas import VoteForm
from webapp.security import require_user, signed_in
from webapp.state import services


@operation(
    bp,
    "/votes/<uuid:vote_id>",
    "GET",
    signed_in,
    summary="表决 · A vote",
    tag="votes",
    response=VoteSchema,
)
def get_vote(vote_id: UUID) -> Response:
    return dump(VoteSchema(), scoped_vote(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/tally",
    "GET",
    signed_in,
    summary="计票进度（人数与面积，对照每个门槛） · Live tally",
    tag="votes",
    response=TallySchema,
)
def vote_tally(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(TallySchema(), services().reads.tally(vote_id))


@operation(
    bp,
    "/votes/<uuid:vote_id>/electors",
    "GET",
    signed_in,
    summary="我可以投票的业主及选票 · My electors and ballots",
    tag="votes",
    response=ElectorSchema,
)
def my_electors(vote_id: UUID) -> Response:
    scoped_vote(vote_id)
    return dump(
        ElectorSchema(many=True), services().reads.electors_for(vote_id, require_user().person_id)
    )


@operation(
    bp,
    "/votes/<uuid:vote_id>/ballots",
    "POST",
    elector_roles,
    summary="投票或改票 · Cast or change a ballot",
    tag="votes",
    body=VoteForm,
    response=ReceiptSchema,
    status=201,
)
def cast_ballot(vote_id: UUID) -> Response:
    # The busiest request: the vote is read (and scoped to the user's estate) once, by the cast;
    # the schemas are built once (loading and dumping do not change them).
    user = require_user()
    data = body(_VOTE_FORM)
    receipt = services().consult.cast_ballot(
        vote_id, data["choice"], user.actor, data.get("elector_id") or None, estate=user.estate_id
    )
    remember(receipt.position)
    return created(_RECEIPT, receipt)


_VOTE_FORM = VoteForm()
_RECEIPT = ReceiptSchema()


@operation(
    bp,
    "/votes/<uuid:vote_id>/ballots/<string:elector_id>",
    "GET",
    signed_in,
    summary="我的选票 · One of my ballots",
    tag="votes",
    response=BallotSchema,
)
def get_ballot(vote_id: UUID, elector_id: str) -> Response:
    scoped_vote(vote_id)
    mine = {
        e.elector_id: e for e in services().reads.electors_for(vote_id, require_user().person_id)
    }
    option = mine.get(elector_id)
    if option is None or option.ballot is None:
        raise not_found()
    return dump(BallotSchema(), option.ballot)
