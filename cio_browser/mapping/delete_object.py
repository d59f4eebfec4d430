"""deleteObject (§7.8): ``object``/``delete``; without an object id the body has no identifiers at all."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, build_entity_body, path, path_or
from .fields import Field

NAME = "deleteObject"
TITLE = "Delete Object"

FIELDS: tuple[Field, ...] = (
    Field("object_id", "Object ID", default=path("$.properties.objectId")),
    Field("object_type_id", "Object Type ID",
          default=path_or("$.properties.object_type_id", "$.properties.objectTypeId")),
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The payload goes to the builder unchanged (object_id/object_type_id become the identifiers)."""
    return build_entity_body("object", "delete", payload)
