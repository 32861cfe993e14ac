"""Template filters: times in the platform's zone, exact shares, areas, names of domain values."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from flask import Flask

from consult.actors import ROLE_NAMES, Role
from consult.bodies import PARTY_NAMES, Party
from consult.case import CHANNELS, MATTERS, POSITIONS, SESSION_KINDS, STAGE_NAMES, Stage
from consult.settings import ROUTE_NAMES
from webapp.addressees import person_name
from webapp.i18n import lang, pick
from webapp.state import local_zone


def when(value: datetime | str | None, with_time: bool = True) -> str:
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(local_zone())
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def when_input(value: datetime | None) -> str:
    """A value for ``<input type="datetime-local">``."""
    if value is None:
        return ""
    return value.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")


def percent(value: Fraction | None, digits: int = 1) -> str:
    """A share as a percentage, rounded down so that it never overstates (66.6% for 2/3)."""
    if value is None:
        return "—"
    exact = Decimal(value.numerator) / Decimal(value.denominator) * 100
    quantum = Decimal(1).scaleb(-digits)
    return f"{exact.quantize(quantum, rounding=ROUND_DOWN)}%"


def rate(value: Fraction | None, respondents: int, eligible: int) -> str:
    """A rate with its number of responses and its base, never a bare percentage:
    "100.0%（1/212 人作答）"."""
    return pick(
        (
            f"{percent(value)}（{respondents}/{eligible} 人作答）",
            f"{percent(value)} ({respondents} of {eligible} answered)",
        )
    )


def fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return (
        str(Decimal(value.numerator) / Decimal(value.denominator))
        if 100 % value.denominator == 0
        else f"{value}"
    )


def number(value: Fraction | Decimal | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return f"{value.numerator:,}"
        value = Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}"
    return f"{value:,}"


def bar_width(value: Fraction | None) -> int:
    """Thousandths of the bar's width (an SVG attribute: no inline styles under the CSP)."""
    if value is None:
        return 0
    return int(min(Fraction(1), max(Fraction(0), value)) * 1000)


def named(key: str, names: dict[str, tuple[str, str]]) -> str:
    """An elector's name from ``webapp.addressees.elector_names`` (the key only if it has none)."""
    return pick(names[key]) if key in names else key


def person(person_id: str | None, estate_id: UUID) -> str:
    """A person by name and room (``webapp.addressees.person_name``), never by internal id when
    the estate knows them."""
    return pick(person_name(person_id, estate_id))


def stage_name(stage: Stage | str) -> str:
    return pick(STAGE_NAMES[Stage(stage)])


def route_name(route: str | None) -> str:
    return pick(ROUTE_NAMES[route]) if route in ROUTE_NAMES else (route or "")


def channel_name(channel: str) -> str:
    return pick(CHANNELS.get(channel, (channel, channel)))


def session_kind(kind: str) -> str:
    return pick(SESSION_KINDS.get(kind, (kind, kind)))


def position_name(position: str) -> str:
    return pick(POSITIONS.get(position, (position, position)))


def matter_name(matter: Any) -> str:
    return pick(MATTERS[int(matter)]) if matter and int(matter) in MATTERS else ""


def party_name(party: str) -> str:
    try:
        return pick(PARTY_NAMES[Party(party)])
    except ValueError:
        return party


def role_names(roles: Any) -> str:
    sep = "、" if lang() == "zh" else ", "
    return sep.join(
        pick(ROLE_NAMES[Role(r)]) for r in sorted(roles, key=lambda r: list(Role).index(Role(r)))
    )


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        when=when,
        when_input=when_input,
        percent=percent,
        rate=rate,
        fraction=fraction,
        number=number,
        bar_width=bar_width,
        stage_name=stage_name,
        named=named,
        person=person,
        route_name=route_name,
        channel_name=channel_name,
        session_kind=session_kind,
        position_name=position_name,
        matter_name=matter_name,
        role_names=role_names,
        party_name=party_name,
    )
