"""deleteDevice (§7.6): ``person``/``delete_device`` with the device token; no conversion."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, build_entity_body, path
from .fields import Field

NAME = "deleteDevice"
TITLE = "Delete Device"

FIELDS: tuple[Field, ...] = (
    Field("person_id", "Person ID", required=True, default=path("$.userId")),
    Field("device_id", "Device ID", required=True, default=path("$.context.device.token")),
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The body carries only ``device.token`` and the person's identifiers."""
    p = {k: v for k, v in payload.items() if k != "device_id"}
    p["device"] = {"token": payload["device_id"]} if "device_id" in payload else {}
    return build_entity_body("person", "delete_device", p)
