"""reportDeliveryEvent (§7.13): a delivery metric, sent on its own to ``POST /api/v1/metrics`` (never batched).

It is the one action that reads the clock: a missing or unusable timestamp becomes "now". The time is passed in
as ``now_ms`` so the function stays pure.
"""

from __future__ import annotations

import math
from typing import Any

from ..timestamps import convert_event_timestamp
from .common import path, truthy
from .fields import DATETIME, Field, js_string_to_number

NAME = "reportDeliveryEvent"
TITLE = "Report Delivery Event"

METRICS = ("delivered", "opened", "clicked", "converted", "spammed", "bounced", "dropped", "deferred")

FIELDS: tuple[Field, ...] = (
    Field("delivery_id", "Delivery ID", required=True, default=path("$.properties.deliveryId")),
    Field("metric", "Metric", required=True, default=path("$.properties.metric"), choices=METRICS),
    Field("recipient", "Recipient", default=path("$.properties.recipient")),
    Field("reason", "Reason", default=path("$.properties.reason")),
    Field("href", "Href", default=path("$.properties.href")),
    Field("action_name", "Action Name", default=path("$.properties.actionName")),
    Field("action_value", "Action Value", default=path("$.properties.actionValue")),
    Field("timestamp", "Timestamp", DATETIME, default=path("$.timestamp")),
)


def _js_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for what the lenient converter can return."""
    if value is None:
        return 0.0
    if value is True or value is False:
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return js_string_to_number(value)
    return math.nan


def metric_timestamp(value: Any, now_ms: int) -> int | float:
    """Lenient conversion, then ``Number()``; NaN (e.g. no timestamp) falls back to floor(now/1000).

    A number is passed through untouched (milliseconds are not divided); a digit string becomes that number,
    fractional ones a float.
    """
    if value is None:
        return now_ms // 1000
    converted = convert_event_timestamp(value)
    if isinstance(converted, (int, float)) and not isinstance(converted, bool):
        n: float = converted
    else:
        n = _js_number(converted)
    if isinstance(n, float):
        if math.isnan(n):
            return now_ms // 1000
        if n.is_integer():
            return int(n)
    return n


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The metrics body: ids, the timestamp, and optional recipient/reason/href/metadata when truthy."""
    if now_ms is None:
        raise ValueError("reportDeliveryEvent needs now_ms (the mapping never reads the clock itself)")
    body: dict[str, Any] = {
        "delivery_id": payload["delivery_id"],
        "metric": payload["metric"],
        "timestamp": metric_timestamp(payload.get("timestamp"), now_ms),
    }
    for key in ("recipient", "reason", "href"):
        if truthy(payload.get(key)):
            body[key] = payload[key]
    metadata = {k: payload[k] for k in ("action_name", "action_value") if truthy(payload.get(k))}
    if metadata:
        body["metadata"] = metadata
    return body
