"""Stored events back into what the views read.

Most events go through the application's own mapper (``app.mapper.to_domain_event``). Ballot
events are nine in ten of a busy log and the tally needs six of their fields, so each becomes a
plain tuple, a :data:`BallotRow`: read straight from the stored JSON with orjson when the mapper
neither encrypts nor compresses (several times faster than building the domain event), and from
the mapper's domain event otherwise. Both paths give equal rows (``tests/test_projections.py``
checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from sys import intern
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, Notification
from eventsourcing.utils import get_topic
from orjson import loads

from consult.vote import Ballot
from projections.db import EPOCH, micros, storable

#: One ballot event, as the tally reads it:
#: (position, ballot id, version, vote id, elector id, choice, channel, at), where the ids are
#: 32-character hex strings and ``at`` is microseconds since the epoch. The vote and the elector
#: are on ``Ballot.Created`` only (None on ``Ballot.Changed``): a row is a change when its vote
#: is None.
BallotRow = tuple[int, str, int, str | None, str | None, str, str, int]

BALLOT_CREATED = get_topic(Ballot.Created)
BALLOT_CHANGED = get_topic(Ballot.Changed)
BALLOT_TOPICS = frozenset({BALLOT_CREATED, BALLOT_CHANGED})


def ballot_row_from_event(position: int, event: Any) -> BallotRow:
    """The row of a ``Ballot.Created`` or ``Ballot.Changed`` domain event."""
    created = isinstance(event, Ballot.Created)
    return (
        position,
        event.originator_id.hex,
        event.originator_version,
        event.vote_id.hex if created else None,
        storable(event.elector_id) if created else None,
        _name(str(event.choice)),
        _name(str(event.channel)),
        micros(event.timestamp),
    )


def ballot_row_from_json(
    position: int, ballot_id: str, version: int, topic: str, state: bytes | str
) -> BallotRow:
    """The row read from the stored JSON (the library's ``uuid_hex`` / ``datetime_iso`` forms);
    ValueError (or KeyError, TypeError) when the state is not in those forms."""
    return ballot_rows_from_json([(position, ballot_id, version, topic, state)])[0]


def ballot_rows_from_json(
    stored: Iterable[tuple[int, str, int, str, bytes | str]],
) -> list[BallotRow]:
    """The rows of many stored ballot events (position, ballot id as 32 hex digits, version,
    topic, state) read from their JSON in one loop (a rebuild's hot path); ValueError (or
    KeyError, TypeError) when one is not in the library's ``uuid_hex`` / ``datetime_iso`` forms.
    Vote ids, choices and channels are interned: they repeat, and are then sent and kept once."""
    rows: list[BallotRow] = []
    append, fromiso = rows.append, datetime.fromisoformat
    for position, ballot_id, version, topic, state in stored:
        s = loads(state)
        when, choice, channel = s["timestamp"], s["choice"], s["channel"]
        if topic == BALLOT_CREATED:
            vote, elector_id = s["vote_id"], s["elector_id"]
            if vote["_type_"] != "uuid_hex" or type(elector_id) is not str:
                raise ValueError(f"unexpected encoding of {topic} at {position}")
            vote_id: str | None = intern(vote["_data_"])
        elif topic == BALLOT_CHANGED:
            vote_id = elector_id = None
        else:
            raise ValueError(f"not a ballot event: {topic} at {position}")
        if when["_type_"] != "datetime_iso" or type(choice) is not str or type(channel) is not str:
            raise ValueError(f"unexpected encoding of {topic} at {position}")
        delta = fromiso(when["_data_"]) - EPOCH  # TypeError if naive
        at = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        if elector_id is not None and "\x00" in elector_id:
            elector_id = storable(elector_id)
        append(
            (position, ballot_id, version, vote_id, elector_id, _name(choice), _name(channel), at)
        )
    return rows


_NAMES: dict[str, str] = {}


def _name(text: str) -> str:
    """A choice or channel, interned and :func:`~projections.db.storable` (they repeat: each
    distinct one is looked at once, up to a thousand)."""
    named = _NAMES.get(text)
    if named is None:
        named = intern(storable(text))
        if len(_NAMES) < 1000:
            _NAMES[text] = named
    return named


class EventDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        #: Ballot events can be read straight from their JSON.
        self.fast = (
            mapper.cipher is None
            and mapper.compressor is None
            and type(mapper.transcoder) is JSONTranscoder
        )

    def decode(self, notification: Notification) -> Any:
        """The domain event of a stored notification."""
        return self.mapper.to_domain_event(notification)

    def ballot(
        self, position: int, ballot_id: str, version: int, topic: str, state: bytes
    ) -> BallotRow:
        """The row of a stored ballot event (``ballot_id``: the originator id as 32 hex digits)."""
        if self.fast:
            try:
                return ballot_row_from_json(position, ballot_id, version, topic, state)
            except (ValueError, KeyError, TypeError):
                pass  # not the form expected: the mapper knows
        notification = Notification(
            id=position,
            originator_id=UUID(ballot_id),
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        return ballot_row_from_event(position, self.mapper.to_domain_event(notification))
