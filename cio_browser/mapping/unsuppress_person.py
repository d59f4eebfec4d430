"""unsuppressPerson (§7.11): ``person``/``unsuppress`` for the person named by ``person_id``."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, build_entity_body, path
from .fields import Field

NAME = "unsuppressPerson"
TITLE = "Unsuppress Person"

FIELDS: tuple[Field, ...] = (
    Field("person_id", "Person ID", required=True, default=path("$.userId")),
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """The body is just the action and the person's identifiers."""
    return build_entity_body("person", "unsuppress", payload)
