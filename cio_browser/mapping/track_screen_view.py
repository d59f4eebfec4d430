"""trackScreenView (§7.4): a Segment screen call becomes a Customer.io screen view (``action:"screen"``)."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, path
from .fields import OBJECT, Field
from .track_page_view import build_view

NAME = "trackScreenView"
TITLE = "Track Screen View"

FIELDS: tuple[Field, ...] = (
    Field("id", "Person ID", default=path("$.userId")),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("event_id", "Event ID", default=path("$.messageId")),
    Field("name", "Screen name", required=True, default=path("$.name")),
    Field("timestamp", "Timestamp", default=path("$.timestamp")),
    Field("data", "Event Attributes", OBJECT, default=path("$.properties")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """Same shape as a page view, named by the screen name."""
    return build_view("screen", "name", payload)
