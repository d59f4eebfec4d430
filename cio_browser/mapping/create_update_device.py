"""createUpdateDevice (§7.5): ``person``/``add_device`` with a ``device`` object; identifiers from person_id only."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, build_entity_body, path, truthy
from .fields import OBJECT, Field

NAME = "createUpdateDevice"
TITLE = "Create or Update Device"

FIELDS: tuple[Field, ...] = (
    Field("person_id", "Person ID", required=True, default=path("$.userId")),
    Field("device_id", "Device ID", required=True, default=path("$.context.device.token")),
    Field("app_version", "App Version", default=path("$.context.app.version")),
    Field("platform", "Platform", required=True, default=path("$.context.device.type")),
    Field("last_used", "Last Used", default=path("$.timestamp")),
    Field("attributes", "Event Attributes", OBJECT, default=path("$.properties")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)

_PASSED = ("person_id", "convert_timestamp", "enable_batching", "batch_size")


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """No root timestamp and no anonymous id; ``last_used`` is only converted by the attribute conversion."""
    device: dict[str, Any] = {}
    if "device_id" in payload:
        device["token"] = payload["device_id"]
    if "platform" in payload:
        device["platform"] = payload["platform"]
    if "last_used" in payload:
        device["last_used"] = payload["last_used"]
    attributes = dict(payload["attributes"]) if "attributes" in payload else {}
    app_version = payload.get("app_version")
    if truthy(app_version):
        attributes["app_version"] = app_version
    device["attributes"] = attributes
    p = {k: payload[k] for k in _PASSED if k in payload}
    p["device"] = device
    return build_entity_body("person", "add_device", p)
