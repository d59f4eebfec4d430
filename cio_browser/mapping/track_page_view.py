"""trackPageView (§7.3): a Segment page call becomes a Customer.io page view (``action:"page"``, ``name`` = URL)."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, build_entity_body, path, truthy
from .fields import OBJECT, Field

NAME = "trackPageView"
TITLE = "Track Page View"

FIELDS: tuple[Field, ...] = (
    Field("id", "Person ID", default=path("$.userId")),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("event_id", "Event ID", default=path("$.messageId")),
    Field("url", "Page URL", required=True, default=path("$.properties.url")),
    Field("timestamp", "Timestamp", default=path("$.timestamp")),
    Field("data", "Event Attributes", OBJECT, default=path("$.properties")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)


def build_view(action: str, name_field: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Shared by page and screen views: ``name`` from one field, ``id`` = event_id only when truthy."""
    p = {k: v for k, v in payload.items() if k not in ("id", "event_id", "data", name_field)}
    if name_field in payload:
        p["name"] = payload[name_field]
    if "id" in payload:
        p["person_id"] = payload["id"]
    if "data" in payload:
        p["attributes"] = payload["data"]
    if truthy(payload.get("event_id")):
        p["id"] = payload["event_id"]
    return build_entity_body("person", action, p)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The page URL is the view's name and also stays in ``attributes`` (it is one of the properties)."""
    return build_view("page", "url", payload)
