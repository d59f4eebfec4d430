"""Which Track API routes the relay forwards, with which methods: exactly what the destination sends.

The page sends (see :mod:`cio_browser.mapping` and :mod:`cio_browser.classic`): Actions mode ``POST
/api/v2/entity`` and ``/api/v2/batch``, ``POST /api/v1/metrics`` (delivery/content events); Classic mode ``PUT
/api/v1/customers/{id}`` (identify), ``POST /api/v1/customers/{id}/events`` and ``POST /api/v1/events`` (track,
page), and the device calls Classic mode documents (``PUT …/devices``, ``DELETE …/devices/{token}``). Nothing
else is reachable through the relay's key: no person deletion, no reads, no other API. Paths are matched in
their raw (percent-encoded) form, the form classic.py builds them in, so an id containing ``/`` stays one segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..constants import BATCH_PATH, ENTITY_PATH, METRICS_PATH

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "ROUTES", "Route", "match"]

#: The relay's own routes (not Customer.io's).
EVENTS_PATH = "/events"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Route:
    """A forwarded route. ``name`` is its template: what access logs show instead of the path (ids are data)."""

    name: str
    methods: tuple[str, ...]
    pattern: re.Pattern[str]


_SEGMENT = r"[^/]+"


def _route(template: str, *methods: str) -> Route:
    regex = "".join(_SEGMENT if part.startswith("{") else re.escape(part)
                    for part in re.split(r"(\{[a-z_]+\})", template))
    return Route(template, methods, re.compile(regex + r"\Z"))


ROUTES: tuple[Route, ...] = (
    _route(ENTITY_PATH, "POST"),
    _route(BATCH_PATH, "POST"),
    _route(METRICS_PATH, "POST"),
    _route("/api/v1/events", "POST"),
    _route("/api/v1/customers/{id}", "PUT"),
    _route("/api/v1/customers/{id}/events", "POST"),
    _route("/api/v1/customers/{id}/devices", "PUT"),
    _route("/api/v1/customers/{id}/devices/{token}", "DELETE"),
)


def match(raw_path: str) -> Route | None:
    """The route a raw request path addresses, or None (the relay answers 404).

    A ``.`` or ``..`` segment (however encoded) is never an id: an HTTP client or Customer.io's front end could
    resolve it and reach a route outside this list.
    """
    if any(unquote(segment) in (".", "..") for segment in raw_path.split("/")):
        return None
    for route in ROUTES:
        if route.pattern.match(raw_path):
            return route
    return None
