"""The one place the relay talks to Customer.io: an ``httpx.AsyncClient`` with timeouts and a connection pool.

The client is created on first use, not in a lifespan hook: an app mounted inside FastAPI/Starlette or Django
gets no lifespan events of its own, and the relay must work there unchanged. Errors are reduced to what a
client may see (502 unreachable, 504 timed out): exception texts can hold URLs and never reach a response.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

__all__ = ["Answer", "Upstream", "UpstreamError"]


@dataclass(frozen=True)
class Answer:
    """Customer.io's answer, passed back to the page as is (status, body, content type, Retry-After)."""

    status: int
    body: bytes
    content_type: str | None
    retry_after: str | None


class UpstreamError(Exception):
    """No answer from Customer.io: ``status`` is what the relay answers instead (502 or 504)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _NoUpstreamURLs(logging.Filter):
    """Drops httpx's INFO line ``HTTP Request: POST <url> …`` for requests to the relay's upstream: Classic
    routes carry customer ids in the URL, and logs must not hold event data."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (record.msg.startswith("HTTP Request:") if isinstance(record.msg, str) else False) or not any(
            str(arg).startswith(self.base) for arg in args)


class Upstream:
    """Pooled HTTP client for one event loop; ``timeout_s`` bounds every phase of every request."""

    def __init__(self, base: str, timeout_s: float, user_agent: str):
        self.timeout = httpx.Timeout(timeout_s)
        self.user_agent = user_agent
        httpx_log = logging.getLogger("httpx")
        if not any(isinstance(f, _NoUpstreamURLs) and f.base == base for f in httpx_log.filters):
            httpx_log.addFilter(_NoUpstreamURLs(base))
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, headers={"user-agent": self.user_agent},
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
            self._loop = loop
        return self._client

    async def send(self, method: str, url: str, headers: dict[str, str], content: bytes | None) -> Answer:
        try:
            resp = await self._get().request(method, url, headers=headers, content=content)
        except httpx.TimeoutException:
            raise UpstreamError(504, "Customer.io did not answer in time") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"Customer.io could not be reached ({type(exc).__name__})") from None
        return Answer(resp.status_code, resp.content, resp.headers.get("content-type"),
                      resp.headers.get("retry-after"))

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
