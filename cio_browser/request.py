"""The unit every mapping produces and every transport sends: one HTTP request, as plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .constants import ENTITY_PATH


@dataclass(frozen=True)
class Request:
    """One Customer.io HTTP request. ``headers`` use lower-case names; ``body`` is JSON-compatible or None."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def json(self) -> str | None:
        """The body exactly as it goes on the wire (compact, UTF-8, no ASCII escaping)."""
        return None if self.body is None else encode(self.body)


def encode(value: Any) -> str:
    """Compact JSON, as JavaScript's JSON.stringify writes it (so byte counts match the browser's)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def byte_size(value: Any) -> int:
    """UTF-8 size of the JSON encoding of ``value``: what Customer.io's size limits count."""
    return len(encode(value).encode("utf-8"))


@dataclass(frozen=True)
class Item:
    """One mapped unit of delivery, before it is addressed to a host.

    ``path`` is relative to the Track API base (or the site's proxy). Items whose path is the v2 entity path
    can travel together in one ``/api/v2/batch`` request; any other item (v1 metrics, Classic v1 calls) is
    always sent on its own.
    """

    action: str
    method: str
    path: str
    body: Any = None

    @property
    def batchable(self) -> bool:
        return self.path == ENTITY_PATH
