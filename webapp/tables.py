"""Make the web's tables (prefix ``web_``) in the event store's database, if they are missing."""

from __future__ import annotations

from sqlalchemy import Engine

from webapp.accounts import AccountRow
from webapp.db import Base
from webapp.limits import RateHitRow
from webapp.signins import SessionRow
from webapp.voting_codes import VotingCodeRow

#: The tables :func:`create_tables` makes (each model registers its table on ``Base``).
MODELS = (AccountRow, RateHitRow, SessionRow, VotingCodeRow)


def create_tables(engine: Engine) -> None:
    Base.metadata.create_all(engine)
