"""mergePeople (§7.10): alias -> ``person``/``merge`` with ``primary``/``secondary`` and no ``identifiers``."""

from __future__ import annotations

from typing import Any

from .common import BATCHING, build_entity_body, path, resolve_identifiers
from .fields import Field

NAME = "mergePeople"
TITLE = "Merge People"

FIELDS: tuple[Field, ...] = (
    Field("primary", "Primary User", required=True, default=path("$.userId")),
    Field("secondary", "Secondary User", required=True, default=path("$.previousId")),
    *BATCHING,
)


def build(payload: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """Each side is resolved with the person rules only; a side that resolves to nothing is omitted."""
    p = {k: v for k, v in payload.items() if k not in ("primary", "secondary")}
    for side in ("primary", "secondary"):
        if side in payload:
            identifiers = resolve_identifiers(person_id=payload[side])
            if identifiers is not None:
                p[side] = identifiers
    return build_entity_body("person", "merge", p)
