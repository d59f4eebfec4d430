"""CORS answers for allowed page origins (the origin check itself is :meth:`RelayConfig.origin_allowed`).

Browsers send a preflight (``OPTIONS``) before a cross-origin ``POST`` with a JSON body or any ``PUT``/
``DELETE``; the answer names the route's methods and the one request header the page sets. No credentials
are allowed: the page never needs cookies here. ``Retry-After`` is exposed so the page can honour it.
"""

from __future__ import annotations

__all__ = ["cors_headers", "preflight_headers"]

MAX_AGE_S = 600


def cors_headers(origin: str | None) -> dict[str, str]:
    """Headers on every answer to an allowed origin (none for requests without ``Origin``)."""
    if origin is None:
        return {}
    return {"access-control-allow-origin": origin, "access-control-expose-headers": "Retry-After",
            "vary": "Origin"}


def preflight_headers(origin: str | None, methods: tuple[str, ...]) -> dict[str, str]:
    """The answer to a preflight for a route that accepts ``methods``."""
    return {**cors_headers(origin), "access-control-allow-methods": ", ".join(methods),
            "access-control-allow-headers": "content-type", "access-control-max-age": str(MAX_AGE_S)}
