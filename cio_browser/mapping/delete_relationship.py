"""deleteRelationship (§7.9): ``object``/``delete_relationships`` between an object and a person."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, build_entity_body, path, path_or, resolve_identifiers
from .directives import MISSING
from .fields import Field

NAME = "deleteRelationship"
TITLE = "Delete Relationship"

FIELDS: tuple[Field, ...] = (
    Field("person_id", "Person ID", required=True, default=path("$.userId")),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("object_id", "Object ID", required=True, default=path("$.properties.objectId")),
    Field("object_type_id", "Object Type ID",
          default=path_or("$.properties.object_type_id", "$.properties.objectTypeId")),
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The person side goes in ``cio_relationships``; the builder adds the object identifiers."""
    identifiers = resolve_identifiers(
        anonymous_id=payload.get("anonymous_id", MISSING), person_id=payload.get("person_id", MISSING)
    )
    p = dict(payload)
    p["cio_relationships"] = [{"identifiers": identifiers} if identifiers is not None else {}]
    return build_entity_body("object", "delete_relationships", p)
