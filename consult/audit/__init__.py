"""Tamper-evident history for the street's auditors: a hash chain over the event log, signed
checkpoints, verification and offline audit bundles (see docs/audit.md).

What the other layers call:

- :func:`attach` / :func:`attach_configured`: keep the chain after every save (an app listener);
- :func:`chain_status`: chain reach, latest checkpoint, and whether it holds since then;
- :func:`notice_text`, :func:`checkpoint_svg`: a checkpoint for a printed notice and its QR code;
- :func:`verify_store`, :func:`verify_bundle`, :func:`export_bundle`: full checks and exports;
- :func:`case_as_of`: a case as it stood at any time.
"""

from consult.audit.asof import AsOf, case_as_of, version_at
from consult.audit.bundle import export_bundle
from consult.audit.chain import ChainFollower, attach, attach_configured
from consult.audit.checkpoints import (
    checkpoint_svg,
    make_checkpoint,
    notice_text,
    write_checkpoint_svg,
)
from consult.audit.core import Checkpoint, Problem, Report, parse_checkpoints, verify_bundle
from consult.audit.keys import Signer, key_path, load_signer
from consult.audit.store import AuditStore, ChainHead
from consult.audit.stores import open_store
from consult.audit.verify import ChainStatus, chain_status, verify_store

__all__ = [
    "AsOf",
    "AuditStore",
    "ChainFollower",
    "ChainHead",
    "ChainStatus",
    "Checkpoint",
    "Problem",
    "Report",
    "Signer",
    "attach",
    "attach_configured",
    "case_as_of",
    "chain_status",
    "checkpoint_svg",
    "export_bundle",
    "key_path",
    "load_signer",
    "make_checkpoint",
    "notice_text",
    "open_store",
    "parse_checkpoints",
    "verify_bundle",
    "verify_store",
    "version_at",
    "write_checkpoint_svg",
]
