"""Signed checkpoints: made from the verified chain, printed as text and as a QR code."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import segno

from consult.audit.core import Checkpoint
from consult.audit.errors import TamperedError
from consult.audit.keys import Signer, utc_text
from consult.audit.store import AuditStore
from consult.audit.verify import verify_tail


def register_key(store: AuditStore, signer: Signer, moment: datetime) -> None:
    """Register the signing key in the store on its first use (rotations register themselves)."""
    if all(record.key != signer.key_id for record in store.key_records()):
        store.add_key(signer.registration(moment))


def make_checkpoint(store: AuditStore, signer: Signer, moment: datetime) -> Checkpoint:
    """Sign the chain's head, after checking everything since the previous checkpoint.

    Refuses (:class:`TamperedError`) when that stretch does not verify: a checkpoint must never
    vouch for a history that was already changed.
    """
    register_key(store, signer, moment)
    head = store.head()
    report, _ = verify_tail(store, roots={signer.key_id: signer.public_raw})
    first = report.first
    if first is not None:
        raise TamperedError(problem=first.message("zh"), problem_en=first.message("en"))
    checkpoint = Checkpoint(head.position, head.link.hex(), utc_text(moment), signer.key_id)
    checkpoint = replace(checkpoint, signature=signer.sign(checkpoint.payload()))
    store.add_checkpoint(checkpoint)
    return checkpoint


def notice_text(checkpoint: Checkpoint, lang: str = "zh") -> str:
    """A few lines for a printed public notice; the last line is what the QR code holds."""
    cp = checkpoint
    if lang.startswith("zh"):
        lines = [
            "审计检查点",
            f"截至第 {cp.position} 位事件，历史链头为 {cp.head}。",
            f"签发时间 {cp.time}，签名密钥编号 {cp.key}。",
            "核验方法：将下一行保存为文件，运行 consult audit verify --checkpoint 文件名。",
        ]
    else:
        lines = [
            "Audit checkpoint",
            f"Up to event position {cp.position}, the head of the history chain is {cp.head}.",
            f"Signed at {cp.time} by key {cp.key}.",
            "To verify: save the next line in a file and run consult audit verify --checkpoint FILE.",
        ]
    return "\n".join([*lines, cp.to_text()])


def checkpoint_qr(checkpoint: Checkpoint) -> segno.QRCode:
    return segno.make(checkpoint.to_text(), error="m", micro=False)


def checkpoint_svg(checkpoint: Checkpoint, scale: int = 3) -> str:
    """The checkpoint's QR code as an SVG document (for a web page or a printed notice)."""
    out = io.BytesIO()
    checkpoint_qr(checkpoint).save(out, kind="svg", scale=scale, xmldecl=False)
    return out.getvalue().decode("utf-8")


def write_checkpoint_svg(checkpoint: Checkpoint, path: Path, scale: int = 4) -> None:
    path.write_text(checkpoint_svg(checkpoint, scale), encoding="utf-8")
