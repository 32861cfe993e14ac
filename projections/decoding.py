"""Stored events back into what the views read.

Most events go through the application's own mapper (``app.mapper.to_domain_event``). Ballot
events are nine in ten of a busy log and the tally needs five of their fields, so they become a
small :class:`BallotFact`: read straight from the stored JSON when the mapper neither encrypts nor
compresses (three to five times faster than building the domain event), and from the mapper's
domain event otherwise. Both paths give equal facts (``tests/test_projections.py`` checks it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from eventsourcing.persistence import JSONTranscoder, Mapper, Notification
from eventsourcing.utils import get_topic
from orjson import loads

from consult.vote import Ballot
from projections.db import micros


class BallotFact(NamedTuple):
    """What the tally needs of a ``Ballot.Created`` or ``Ballot.Changed`` event."""

    ballot_id: str  # hex
    version: int
    vote_id: str | None  # hex; only on Ballot.Created
    elector_id: str | None  # only on Ballot.Created
    choice: str
    channel: str
    at: int  # microseconds since the epoch


BALLOT_TOPICS = frozenset({get_topic(Ballot.Created), get_topic(Ballot.Changed)})


def ballot_fact_from_event(event: Any) -> BallotFact:
    vote_id = getattr(event, "vote_id", None)
    return BallotFact(
        event.originator_id.hex,
        event.originator_version,
        None if vote_id is None else vote_id.hex,
        getattr(event, "elector_id", None),
        event.choice,
        event.channel,
        micros(event.timestamp),
    )


def ballot_fact_from_json(notification: Notification) -> BallotFact:
    """The fact read from the stored JSON (the library's ``uuid_hex`` / ``datetime_iso`` forms);
    ValueError when the state is not in those forms."""
    state = loads(notification.state)
    when, vote = state["timestamp"], state.get("vote_id")
    if when["_type_"] != "datetime_iso" or (vote is not None and vote["_type_"] != "uuid_hex"):
        raise ValueError(f"unexpected encoding of {notification.topic} at {notification.id}")
    return BallotFact(
        notification.originator_id.hex,  # type: ignore[union-attr]
        notification.originator_version,
        None if vote is None else vote["_data_"],
        state.get("elector_id"),
        state["choice"],
        state["channel"],
        micros(datetime.fromisoformat(when["_data_"])),
    )


class EventDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.fast = (
            mapper.cipher is None
            and mapper.compressor is None
            and type(mapper.transcoder) is JSONTranscoder
        )

    def decode(self, notification: Notification) -> Any:
        if notification.topic in BALLOT_TOPICS:
            return self.ballot(notification)
        return self.mapper.to_domain_event(notification)

    def ballot(self, notification: Notification) -> BallotFact:
        if self.fast:
            try:
                return ballot_fact_from_json(notification)
            except (ValueError, KeyError, TypeError):
                pass  # not the form expected: the mapper knows
        return ballot_fact_from_event(self.mapper.to_domain_event(notification))
