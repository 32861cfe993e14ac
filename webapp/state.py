"""What the views use, built once by the factory: the application service, reads, accounts, codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Engine

from consult.application import ConsultationApp
from webapp.accounts import AccountStore
from webapp.limits import RateLimiter
from webapp.settings import WebSettings
from webapp.signins import SignIns
from webapp.voting_codes import VotingCodes

if TYPE_CHECKING:
    from webapp.reads import Reads

EXTENSION = "consult_web"


@dataclass
class Services:
    consult: ConsultationApp
    reads: Reads
    accounts: AccountStore
    codes: VotingCodes
    limiter: RateLimiter
    settings: WebSettings
    engine: Engine
    signins: SignIns


def services() -> Services:
    return cast(Services, current_app.extensions[EXTENSION])


def local_zone() -> ZoneInfo:
    """The time zone the instance shows times in (``CONSULT_TIMEZONE``)."""
    return ZoneInfo(services().settings.timezone)
