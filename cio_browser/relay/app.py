"""The relay as an ASGI application (Starlette): origin check, routing, limits, then forward or map.

Order of checks for every request, each answered without calling Customer.io:

1. ``Origin`` not in ``CIO_ALLOWED_ORIGINS`` -> 403 (no CORS headers, so the foreign page cannot even read it);
2. unknown path -> 404; ``OPTIONS`` -> the CORS preflight answer; a method the route does not take -> 405;
3. the client's rate limit -> 429 with ``Retry-After``;
4. a body over Customer.io's limit -> the 400 Customer.io gives (``sink.oversized_body_error``), other bodies
   over the relay's own cap -> 413.

Then a Track API route is forwarded with the ``Authorization`` header added here, and Customer.io's status and
body go back unchanged (so the page's retry / set-aside logic works as without a relay); ``/events`` maps raw
events (:mod:`.events`) and sends the result. The access log names the route template, the status and the
time: never a path (customer ids are data), a body, a header or the key.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from .. import __version__
from ..constants import MAX_BATCH_BYTES
from ..trackapi import BODY_LIMITS, oversized_body_error
from .config import RelayConfig
from .cors import cors_headers, preflight_headers
from .events import plan_events
from .ratelimit import RateLimiter
from .routes import EVENTS_PATH, HEALTH_PATH, match
from .upstream import Upstream, UpstreamError

__all__ = ["MAX_EVENTS_PER_REQUEST", "RELAY_MAX_BODY", "Relay", "create_app"]

#: Largest body the relay reads on a route Customer.io sets no size limit for here (v1 routes, ``/events``).
RELAY_MAX_BODY = MAX_BATCH_BYTES
#: Most events one ``/events`` request may carry (the page sends at most 60 KB at a time, far fewer).
MAX_EVENTS_PER_REQUEST = 1000
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

access_log = logging.getLogger("cio_browser.relay.access")
log = logging.getLogger("cio_browser.relay")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An answer in Customer.io's error shape, so the page reads relay errors like Customer.io's."""
    body = json.dumps({"meta": {"error": message}}).encode()
    return Response(body, status, {"content-type": "application/json", "cache-control": "no-store",
                                   **(headers or {})})


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, {"content-type": "application/json", "cache-control": "no-store",
                                   **(headers or {})})


def api_path(request: HttpRequest) -> str:
    """The raw (still percent-encoded) path below the relay's mount point: what routes match and what is sent on.

    ``raw_path`` keeps ``%2F`` inside an id as it is; a mount (FastAPI ``app.mount``, Starlette ``Mount``) puts its
    prefix in ``root_path``, which is removed here.
    """
    scope = request.scope
    raw = scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else scope.get("path", "/")
    root = scope.get("root_path", "") or ""
    if root and path.startswith(root):
        path = path[len(root):]
    return path or "/"


class Relay:
    """One relay: its config, its upstream client and its rate limiter (all state is per process)."""

    def __init__(self, config: RelayConfig):
        self.config = config
        self.upstream = Upstream(config.upstream, config.timeout_s, f"cio_browser-relay/{__version__}")
        self.limiter = RateLimiter(config.rate_limit)

    # ---- entry point -------------------------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> Response:
        started = time.perf_counter()
        path = api_path(request)
        route = match(path)
        name = path if path in (EVENTS_PATH, HEALTH_PATH) else (route.name if route else "(no route)")
        try:
            response = await self._dispatch(request, path, route)
        except Exception as exc:  # never a traceback with request data in it, never a half answer
            log.error("relay error %s on %s %s", type(exc).__name__, request.method, name)
            response = _error(500, "relay error", cors_headers(self._allowed_origin(request)))
        access_log.info("%s %s %d %.1fms", request.method, name, response.status_code,
                        (time.perf_counter() - started) * 1000)
        return response

    def _allowed_origin(self, request: HttpRequest) -> str | None:
        origin = request.headers.get("origin")
        return origin if origin is not None and self.config.origin_allowed(origin) else None

    def _client(self, request: HttpRequest) -> str:
        if self.config.trust_forwarded:
            forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
            if forwarded:
                return forwarded
        return request.client.host if request.client else "unknown"

    async def _dispatch(self, request: HttpRequest, path: str, route: Any) -> Response:
        origin = request.headers.get("origin")
        if not self.config.origin_allowed(origin):
            return _error(403, "origin not allowed")
        cors = cors_headers(origin)
        if path == HEALTH_PATH:
            methods: tuple[str, ...] = ("GET", "HEAD")
        elif path == EVENTS_PATH:
            methods = ("POST",)
        elif route is not None:
            methods = route.methods
        else:
            return _error(404, "not found", cors)
        if request.method == "OPTIONS":
            return Response(None, 204, preflight_headers(origin, methods))
        if request.method not in methods:
            return _error(405, "method not allowed", {**cors, "allow": ", ".join(methods)})
        if path == HEALTH_PATH:
            return _json(200, {"ok": True}, cors)
        wait = self.limiter.check(self._client(request))
        if wait is not None:
            return _error(429, "rate limit exceeded", {**cors, "retry-after": str(max(1, math.ceil(wait)))})
        limit = BODY_LIMITS.get(path, RELAY_MAX_BODY)
        body = await _read_body(request, limit)
        if body is None:
            too_big = oversized_body_error(path, limit + 1)
            if too_big is not None:
                return _json(400, too_big, cors)
            return _error(413, f"request body exceeds the relay's {limit // 1024}KB limit", cors)
        if path == EVENTS_PATH:
            return await self._events(body, cors)
        return await self._forward(request, path, body, cors)

    # ---- Track API routes --------------------------------------------------------------------------------
    async def _forward(self, request: HttpRequest, path: str, body: bytes, cors: dict[str, str]) -> Response:
        headers = {"authorization": self.config.authorization, "accept": "application/json"}
        if body:
            headers["content-type"] = request.headers.get("content-type", "application/json")
        try:
            answer = await self.upstream.send(request.method, self.config.upstream + path, headers, body or None)
        except UpstreamError as exc:
            return _error(exc.status, exc.message, cors)
        out = dict(cors)
        if answer.content_type:
            out["content-type"] = answer.content_type
        if answer.retry_after:
            out["retry-after"] = answer.retry_after
        out["cache-control"] = "no-store"
        return Response(answer.body, answer.status, out)

    # ---- raw events --------------------------------------------------------------------------------------
    async def _events(self, body: bytes, cors: dict[str, str]) -> Response:
        try:
            events = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return _error(400, "request body is not valid JSON", cors)
        if not isinstance(events, list):
            return _error(400, "request body must be a JSON array of analytics.js events", cors)
        if len(events) > MAX_EVENTS_PER_REQUEST:
            return _error(413, f"at most {MAX_EVENTS_PER_REQUEST} events per request", cors)
        now_ms = int(time.time() * 1000)
        # mapping is CPU work: off the event loop, so other requests keep being answered meanwhile
        plan = await run_in_threadpool(plan_events, events, self.config.settings, self.config.subscriptions, now_ms)
        failure = await self._send_plan(plan, events, now_ms, split=True)
        headers = dict(cors)
        if failure is not None and failure[1]:
            headers["retry-after"] = failure[1]
        return _json(failure[0] if failure else 200, {"results": plan.outcomes}, headers)

    async def _send_plan(self, plan: Any, events: list[Any], now_ms: int, *, split: bool
                         ) -> tuple[int, str | None] | None:
        """Send a plan's requests in order and settle its outcomes; the first retryable failure's (status,
        Retry-After), which becomes the answer's status (200 when every event is settled for good).

        A batch Customer.io refuses (400) refuses every item in it for the sake of one, so its events are then
        sent again one by one, as the page's engine does: only the culprit ends up ``rejected``.
        """
        failure: tuple[int, str | None] | None = None
        resent: set[int] = set()
        for send in plan.sends:
            if resent.issuperset(send.events):
                continue
            r = send.request
            try:
                answer = await self.upstream.send(r.method, r.url, dict(r.headers),
                                                  None if r.body is None else r.json().encode("utf-8"))
                status, retry_after, detail = answer.status, answer.retry_after, _cio_error(answer.body)
            except UpstreamError as exc:
                status, retry_after, detail = exc.status, None, exc.message
            if status == 400 and split and len(send.events) > 1:
                for index in send.events:
                    single = plan_events([events[index]], self.config.settings, self.config.subscriptions, now_ms)
                    failed = await self._send_plan(single, [events[index]], now_ms, split=False)
                    plan.outcomes[index] = single.outcomes[0]
                    failure = failure or failed
                resent.update(send.events)
                continue
            ok = 200 <= status < 300
            for index in send.events:
                outcome = plan.outcomes[index]
                if ok:
                    if outcome["status"] == "pending":
                        outcome["status"] = "delivered"
                    continue
                outcome["status"] = "rejected" if status == 400 else "failed"
                outcome["upstream"] = {"status": status, "error": detail}
            if not ok and status != 400 and failure is None:  # a refusal is final; the rest is retried later
                failure = (status, retry_after)
        return failure

    # ---- lifecycle ---------------------------------------------------------------------------------------
    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.upstream.aclose()


async def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be over ``limit`` bytes (never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def _cio_error(body: bytes) -> str | None:
    """Customer.io's error text from an answer body (``meta.error``), for the per-event result."""
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        return body[:300].decode("utf-8", "replace") or None
    if isinstance(data, dict) and isinstance(data.get("meta"), dict):
        return str(data["meta"].get("error"))
    return None


def create_app(config: RelayConfig | None = None) -> Starlette:
    """The relay as an ASGI app; ``config`` defaults to :meth:`RelayConfig.from_env` (raises on bad settings).

    Mount it at a path of your site (``app.mount("/cio", create_app())``) and set the page's ``relay`` to it.
    """
    relay = Relay(config if config is not None else RelayConfig.from_env())
    app = Starlette(routes=[StarletteRoute("/{path:path}", relay.handle, methods=ALL_METHODS)],
                    lifespan=relay.lifespan)
    app.state.relay = relay
    return app
