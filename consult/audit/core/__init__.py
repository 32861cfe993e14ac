"""The audit chain's format and its verification: standard library and ``cryptography`` only.

This package is copied verbatim into every audit bundle as ``verifier/`` (next to a short
``verify_bundle.py`` that runs :func:`main`), so an auditor can check a bundle offline with
``python verify_bundle.py BUNDLE --public-key KEY.pem``. Its modules therefore import nothing
from ``consult`` and refer to each other by relative imports only. docs/audit.md describes the
format in prose.

- ``links``: the format's constants and the link of one event;
- ``signing``: canonical JSON, keys, checkpoints and key statements (what is signed);
- ``report``: the problems a verification finds, in both languages, and its report;
- ``trust``: which keys and checkpoints count;
- ``check``: re-deriving the chain and comparing it with the stored links and checkpoints;
- ``offline``: reading a bundle, verifying it, and the verifier's command line.

The chain: every stored event, in the order of the event store's log, is bound to the one before::

    link(p) = SHA-256( previous link (32 bytes)
                     || i64(position)
                     || u64(len(originator_id)) || originator_id   (UTF-8, 32 lowercase hex digits)
                     || i64(originator_version)
                     || u64(len(topic))         || topic           (UTF-8)
                     || u64(len(state))         || state )         (the exact stored bytes)

with big-endian integers; the previous link of the first event is :data:`GENESIS`. The state bytes
hold the event's timestamp and payload. A checkpoint signs (position, link at that position, time)
with an Ed25519 key; key rotations are statements signed by both the old and the new key.
"""

from __future__ import annotations

from .check import ChainOutcome, verify, verify_chain
from .links import (
    BUNDLE_FORMAT,
    CHECKPOINT_TAG,
    CHECKPOINT_TYPE,
    EXIT_TAMPERED,
    FORMAT_VERSION,
    GENESIS,
    KEY_TYPE,
    ROTATION_TYPE,
    EventRow,
    LinkRow,
    chain_link,
    derive_links,
)
from .offline import (
    BUNDLE_FILES,
    BUNDLE_FOLDERS,
    VERIFIER_DIR,
    Bundle,
    BundleError,
    event_line,
    link_line,
    main,
    print_report,
    verify_bundle,
)
from .report import MESSAGES, SOURCES, Note, Problem, Report
from .signing import (
    Checkpoint,
    KeyRecord,
    b64d,
    b64e,
    canonical_json,
    key_id,
    key_statement,
    parse_checkpoints,
    public_key_from_pem,
    public_key_pem,
    signature_valid,
)
from .trust import Trust, check_checkpoints, resolve_trust

__all__ = [
    "BUNDLE_FILES",
    "BUNDLE_FOLDERS",
    "BUNDLE_FORMAT",
    "CHECKPOINT_TAG",
    "CHECKPOINT_TYPE",
    "EXIT_TAMPERED",
    "FORMAT_VERSION",
    "GENESIS",
    "KEY_TYPE",
    "MESSAGES",
    "ROTATION_TYPE",
    "SOURCES",
    "VERIFIER_DIR",
    "Bundle",
    "BundleError",
    "ChainOutcome",
    "Checkpoint",
    "EventRow",
    "KeyRecord",
    "LinkRow",
    "Note",
    "Problem",
    "Report",
    "Trust",
    "b64d",
    "b64e",
    "canonical_json",
    "chain_link",
    "check_checkpoints",
    "derive_links",
    "event_line",
    "key_id",
    "key_statement",
    "link_line",
    "main",
    "parse_checkpoints",
    "print_report",
    "public_key_from_pem",
    "public_key_pem",
    "resolve_trust",
    "signature_valid",
    "verify",
    "verify_bundle",
    "verify_chain",
]
