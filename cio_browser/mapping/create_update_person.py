"""createUpdatePerson (§7.1): identify -> Customer.io ``person``/``identify``, with an optional object relationship."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, CONVERT_TIMESTAMP, build_entity_body, copy_without, path, path_or, truthy
from .fields import OBJECT, Field

NAME = "createUpdatePerson"
TITLE = "Create or Update Person"

FIELDS: tuple[Field, ...] = (
    Field("id", "Person ID", default={"@if": {"exists": path("$.userId"), "then": path("$.userId"),
                                              "else": path("$.traits.email")}}),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("email", "Email Address", default={"@template": "{{traits.email}}"}),
    Field("created_at", "Created At", default=path_or("$.traits.created_at", "$.traits.createdAt")),
    Field("group_id", "Object ID", default=path("$.traits.objectId")),
    Field("custom_attributes", "Person Attributes", OBJECT, default=path("$.traits")),
    Field("relationship_attributes", "Relationship Attributes", OBJECT,
          default=path("$.traits.relationshipAttributes")),
    Field("timestamp", "Timestamp", default=path("$.timestamp")),
    CONVERT_TIMESTAMP,
    Field("object_type_id", "Object Type Id",
          default=path_or("$.traits.object_type_id", "$.traits.objectTypeId")),
    *BATCHING,
)

#: Traits that are mapped to their own fields; ``objectId`` and ``email`` deliberately stay (§4.4).
_REMOVED_TRAITS = ("createdAt", "created_at", "object_type_id", "objectTypeId", "relationshipAttributes")
_OWN = ("id", "custom_attributes", "relationship_attributes", "created_at", "group_id", "object_type_id")


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """Traits become attributes (re-adding ``created_at`` and the template ``email``); ``group_id`` relates."""
    attributes = copy_without(payload.get("custom_attributes"), _REMOVED_TRAITS)
    created_at = payload.get("created_at")
    if truthy(created_at):
        attributes["created_at"] = created_at
    email = payload.get("email")
    if truthy(email):
        attributes["email"] = email
    p = {k: v for k, v in payload.items() if k not in _OWN}
    if "id" in payload:
        p["person_id"] = payload["id"]
    p["attributes"] = attributes
    group_id = payload.get("group_id")
    if truthy(group_id):
        object_type_id = payload.get("object_type_id")
        relationship: dict[str, Any] = {
            "identifiers": {"object_type_id": "1" if object_type_id is None else object_type_id,
                            "object_id": group_id}
        }
        if "relationship_attributes" in payload:  # an object, so present means truthy ({} included)
            relationship["relationship_attributes"] = payload["relationship_attributes"]
        p["cio_relationships"] = [relationship]
    return build_entity_body("person", "identify", p)
