"""One-time voting codes (one per vote and head), for residents who vote without an account.

Codes are long random strings (about 50 bits of secret), so they are stored as SHA-256 digests
and looked up by a short non-secret selector; a slow password hash is not needed for them and
would make issuing codes for a whole roll take minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import DateTime, Engine, Index, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.db import Base


def _now() -> datetime:
    return datetime.now(tz=UTC)


class VotingCodeRow(Base):
    __tablename__ = "web_voting_codes"
    __table_args__ = (Index("web_voting_codes_vote_head", "vote_id", "head_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selector: Mapped[str] = mapped_column(String(8), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    vote_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(32))
    estate_id: Mapped[str] = mapped_column(String(32))
    head_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_by: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
CODE_LENGTH = 16  # printed as four groups of four
SELECTOR_LENGTH = 6  # looked up in clear; the other 10 characters (50 bits) are the secret
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def normalise_code(text: str) -> str:
    """Upper case, without spaces or dashes, with look-alike letters read as Crockford does."""
    return re.sub(r"[\s\-_.·]", "", (text or "").upper()).translate(_CONFUSABLE)


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _digest(code: str) -> str:
    return hashlib.sha256(f"consult-voting-code:{code}".encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCode:
    head_id: str
    code: str  # in clear: shown once, on the notice letter

    @property
    def printed(self) -> str:
        return format_code(self.code)


@dataclass(frozen=True)
class CodeGrant:
    """What a valid, unused code allows: one ballot for one head in one vote."""

    id: int
    selector: str
    vote_id: UUID
    case_id: UUID
    estate_id: UUID
    head_id: str


@dataclass(frozen=True)
class CodeStats:
    issued: int
    used: int


class VotingCodes:
    """One-time voting codes in ``web_voting_codes``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(
        self, vote_id: UUID, case_id: UUID, estate_id: UUID, heads: Sequence[str], issued_by: str
    ) -> list[IssuedCode]:
        """New codes for these heads; their earlier unused codes for this vote stop working."""
        for _ in range(5):
            issued = [
                IssuedCode(h, "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
                for h in heads
            ]
            now = _now()
            with Session(self.engine) as s:
                for chunk in _chunks(list(heads), 500):
                    s.execute(
                        update(VotingCodeRow)
                        .where(
                            VotingCodeRow.vote_id == vote_id.hex,
                            VotingCodeRow.head_id.in_(chunk),
                            VotingCodeRow.used_at.is_(None),
                            VotingCodeRow.revoked_at.is_(None),
                        )
                        .values(revoked_at=now)
                    )
                s.add_all(
                    VotingCodeRow(
                        selector=c.code[:SELECTOR_LENGTH],
                        digest=_digest(c.code),
                        vote_id=vote_id.hex,
                        case_id=case_id.hex,
                        estate_id=estate_id.hex,
                        head_id=c.head_id,
                        issued_at=now,
                        issued_by=issued_by,
                    )
                    for c in issued
                )
                try:
                    s.commit()
                except IntegrityError:  # a selector collided: draw again
                    s.rollback()
                    continue
            return issued
        raise RuntimeError("could not draw unique voting-code selectors")

    def find(self, code: str) -> CodeGrant | None:
        """The grant of a valid code that is neither used nor replaced, else None."""
        text = normalise_code(code)
        if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
            _digest(text)
            return None
        with Session(self.engine) as s:
            row = s.scalars(
                select(VotingCodeRow).where(VotingCodeRow.selector == text[:SELECTOR_LENGTH])
            ).first()
            expected = row.digest if row is not None else _digest("-")
            matches = hmac.compare_digest(expected, _digest(text))
            if row is None or not matches or row.used_at is not None or row.revoked_at is not None:
                return None
            return _grant(row)

    def grant(self, code_id: int) -> CodeGrant | None:
        """A grant still usable (not used, not replaced)."""
        with Session(self.engine) as s:
            row = s.get(VotingCodeRow, code_id)
            if row is None or row.used_at is not None or row.revoked_at is not None:
                return None
            return _grant(row)

    def claim(self, code_id: int) -> bool:
        """Mark the code used; False if someone else used (or it was replaced) first."""
        with Session(self.engine) as s:
            result = s.execute(
                update(VotingCodeRow)
                .where(
                    VotingCodeRow.id == code_id,
                    VotingCodeRow.used_at.is_(None),
                    VotingCodeRow.revoked_at.is_(None),
                )
                .values(used_at=_now())
            )
            s.commit()
            return bool(getattr(result, "rowcount", 0) == 1)

    def release(self, code_id: int) -> None:
        """Undo a claim whose ballot was refused, so that the code can be used again."""
        with Session(self.engine) as s:
            s.execute(update(VotingCodeRow).where(VotingCodeRow.id == code_id).values(used_at=None))
            s.commit()

    def stats(self, vote_id: UUID) -> CodeStats:
        with Session(self.engine) as s:
            rows = s.execute(
                select(VotingCodeRow.used_at).where(
                    VotingCodeRow.vote_id == vote_id.hex, VotingCodeRow.revoked_at.is_(None)
                )
            ).all()
        return CodeStats(issued=len(rows), used=sum(1 for r in rows if r[0] is not None))


def _grant(row: VotingCodeRow) -> CodeGrant:
    return CodeGrant(
        id=row.id,
        selector=row.selector,
        vote_id=UUID(row.vote_id),
        case_id=UUID(row.case_id),
        estate_id=UUID(row.estate_id),
        head_id=row.head_id,
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
