"""reportContentEvent (§7.12): a content view/click; the body's ``action`` and ``name`` are the action type."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, build_entity_body, path, truthy
from .fields import OBJECT, Field

NAME = "reportContentEvent"
TITLE = "Report Content Event"

FIELDS: tuple[Field, ...] = (
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("actionType", "Action Type", required=True, default=path("$.properties.actionType"),
          choices=("viewed_content", "clicked_content")),
    Field("timestamp", "Timestamp", default=path("$.timestamp")),
    Field("data", "Event Attributes", OBJECT, default=path("$.properties")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """There is no person-id field, so a userId is ignored; only an anonymous id can identify the person."""
    action_type = payload["actionType"]
    p = {k: v for k, v in payload.items() if k not in ("actionType", "data")}
    p["name"] = action_type
    if "data" in payload:
        data = payload["data"]
        # The reference deletes data.actionType only when it is truthy.
        p["attributes"] = (
            {k: v for k, v in data.items() if k != "actionType"} if truthy(data.get("actionType")) else data
        )
    return build_entity_body("person", action_type, p)
