"""The unit every mapping produces and every transport sends: one HTTP request, as plain data."""

from __future__ import annotations

import base64
import binascii
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


def basic_credentials(value: str) -> bytes | None:
    """The decoded ``user:password`` of a ``Basic`` Authorization value, or None when it is not one."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        return base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def mask_authorization(value: str) -> str:
    """An ``Authorization`` value safe to show or hand out: the site id stays, the key never does.

    Why: whatever records traffic (the local endpoint's ``/__sink/requests``, the Event Tester) must not become
    a way to read the Track API key.
    """
    decoded = basic_credentials(value)
    if decoded is None:
        return "[masked]"
    site, sep, _ = decoded.decode("utf-8", errors="replace").partition(":")
    return f"Basic [masked: site id {site!r}, API key hidden]" if sep else "Basic [masked]"
