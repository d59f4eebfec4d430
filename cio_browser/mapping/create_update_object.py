"""createUpdateObject (§7.7): group -> ``object``/``identify`` (or ``identify_anonymous``) related to the person.

Only ``traits.objectAttributes`` become object attributes; ``created_at`` sits at the body root. The attribute
conversion runs here over the whole working body (and the relationship attributes), and the body builder is
then called *without* ``convert_timestamp`` so nothing is converted twice.
"""

from __future__ import annotations

from typing import Any

from .common import (
    BATCHING,
    CONVERT_TIMESTAMP,
    build_entity_body,
    convert_attribute_values,
    copy_without,
    path,
    path_or,
    resolve_identifiers,
    truthy,
)
from .fields import OBJECT, Field

NAME = "createUpdateObject"
TITLE = "Create or Update Object"

FIELDS: tuple[Field, ...] = (
    Field("id", "Object ID", required=True, default=path("$.groupId")),
    Field("created_at", "Created At", default=path_or("$.traits.created_at", "$.traits.createdAt")),
    Field("custom_attributes", "Object Attributes", OBJECT, default=path("$.traits.objectAttributes")),
    Field("relationship_attributes", "Relationship Attributes", OBJECT,
          default=path("$.traits.relationshipAttributes")),
    Field("user_id", "User ID", default=path("$.userId")),
    Field("anonymous_id", "Anonymous ID", default=path("$.anonymousId")),
    Field("object_type_id", "Object Type Id",
          default=path_or("$.traits.object_type_id", "$.traits.objectTypeId")),
    CONVERT_TIMESTAMP,
    *BATCHING,
)

_REMOVED_ATTRIBUTES = ("object_type_id", "objectTypeId", "relationshipAttributes")
_OWN = ("id", "convert_timestamp", "custom_attributes", "relationship_attributes", "user_id", "anonymous_id",
        "object_type_id")


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The body's ``action`` is ``identify`` unless only an anonymous id relates the object to a person."""
    work = {k: v for k, v in payload.items() if k not in _OWN}  # created_at and the batching knobs
    if "anonymous_id" in payload:
        work["anonymous_id"] = payload["anonymous_id"]
    if "user_id" in payload:
        work["person_id"] = payload["user_id"]
    if "custom_attributes" in payload:
        work["attributes"] = copy_without(payload["custom_attributes"], _REMOVED_ATTRIBUTES)
    object_type_id = payload.get("object_type_id")
    work["object_type_id"] = "1" if object_type_id is None else object_type_id
    if "id" in payload:
        work["object_id"] = payload["id"]
    relationship_attributes = payload.get("relationship_attributes")
    if "convert_timestamp" in payload and payload["convert_timestamp"] is not False:
        work = convert_attribute_values(work)
        if relationship_attributes is not None:
            relationship_attributes = convert_attribute_values(relationship_attributes)
    if not truthy(payload.get("created_at")):  # tested on the mapped value, so a converted 0 (1970) stays
        work.pop("created_at", None)

    user_id = payload.get("user_id")
    anonymous_id = payload.get("anonymous_id")
    action = "identify"
    relationship: dict[str, Any] | None = None
    if truthy(user_id):
        relationship = {}
        identifiers = resolve_identifiers(person_id=user_id)
        if identifiers is not None:
            relationship["identifiers"] = identifiers
    elif truthy(anonymous_id):
        action = "identify_anonymous"
        relationship = {"identifiers": {"anonymous_id": anonymous_id}}
    if relationship is not None:
        if relationship_attributes is not None:
            relationship["relationship_attributes"] = relationship_attributes
        work["cio_relationships"] = [relationship]
    return build_entity_body("object", action, work)
