"""What the web application is handed: the services the bootstrap built (``create_app``'s one
argument), and the read side it waits on for read-your-writes (:class:`ReadSide`).

The web builds none of them: :func:`entrypoints.bootstrap.build_web` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from consult.application import ConsultationApp
from consult.config import Config
from projections.queries.pages import Reads
from webapp.accounts import AccountStore
from webapp.limits import RateLimiter
from webapp.settings import WebSettings
from webapp.signins import SignIns
from webapp.voting_codes import VotingCodes


class ReadSide(Protocol):
    """The application with its read side (the bootstrap's runtime): what the web writes with,
    and how it waits for the views to reach a position of the log."""

    @property
    def app(self) -> ConsultationApp: ...

    @property
    def projector(self) -> Any:  # projections.Projector, or None without the views
        ...

    def wait(self, position: int, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WebServices:
    """Everything ``create_app`` works with, built by the bootstrap."""

    config: Config
    settings: WebSettings
    runtime: ReadSide
    reads: Reads
    accounts: AccountStore
    codes: VotingCodes
    limiter: RateLimiter
    engine: Engine
    signins: SignIns
