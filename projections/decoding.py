"""Stored events back to domain events, with the application's own mapper."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, Notification


class EventDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)
