"""trackEvent (§7.2): a Segment track call becomes a Customer.io person event (``person``/``event``)."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, build_entity_body, path
from .fields import OBJECT, Field

NAME = "trackEvent"
TITLE = "Track Event"

FIELDS: tuple[Field, ...] = (
    Field("id", "Person ID", default=path("$.userId")),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("name", "Event Name", required=True, default=path("$.event")),
    Field("event_id", "Event ID", default=path("$.messageId")),
    Field("timestamp", "Timestamp", default=path("$.timestamp")),
    Field("data", "Event Attributes", OBJECT, default=path("$.properties")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)

_RENAMED = ("id", "event_id", "data")


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """``person_id`` = id, body ``id`` = event_id (omitted when absent), ``attributes`` = data."""
    p = {k: v for k, v in payload.items() if k not in _RENAMED}
    if "id" in payload:
        p["person_id"] = payload["id"]
    if "event_id" in payload:
        p["id"] = payload["event_id"]
    if "data" in payload:
        p["attributes"] = payload["data"]
    return build_entity_body("person", "event", p)
