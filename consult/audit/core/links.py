"""The chain's link: how each stored event is bound to the one before (see the package doc).

Also the format's constants and the row shapes the stores and the verifier exchange.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Final

FORMAT_VERSION: Final = 1
GENESIS: Final = hashlib.sha256(b"consult-audit-chain-v1").digest()
CHECKPOINT_TAG: Final = "CONSULT-CP1"
CHECKPOINT_TYPE: Final = "consult-checkpoint"
KEY_TYPE: Final = "consult-key"
ROTATION_TYPE: Final = "consult-key-rotation"
BUNDLE_FORMAT: Final = "consult-audit-bundle"
EXIT_TAMPERED: Final = 3

#: (position, originator_id, originator_version, topic, state) exactly as stored.
EventRow = tuple[int, str, int, str, bytes]
#: (position, originator_id, originator_version, link) as the chain recorded them.
LinkRow = tuple[int, str, int, bytes]

_HEAD = struct.Struct(">32sqQ")
_MID = struct.Struct(">qQ")
_LEN = struct.Struct(">Q")
_sha256 = hashlib.sha256
_MALFORMED = (AttributeError, TypeError, ValueError, struct.error, OverflowError)


def chain_link(
    prev: bytes, position: int, originator_id: str, version: int, topic: str, state: bytes
) -> bytes:
    """The link of one stored event, given the link before it."""
    oid = originator_id.encode()
    top = topic.encode()
    return _sha256(
        b"".join(
            (
                _HEAD.pack(prev, position, len(oid)),
                oid,
                _MID.pack(version, len(top)),
                top,
                _LEN.pack(len(state)),
                state,
            )
        )
    ).digest()


def derive_links(prev: bytes, rows: Iterable[EventRow]) -> list[LinkRow]:
    """The chain rows for events that follow a link (raises on a malformed row)."""
    out: list[LinkRow] = []
    for position, oid, version, topic, state in rows:
        prev = chain_link(prev, position, oid, version, topic, state)
        out.append((position, oid, version, prev))
    return out
