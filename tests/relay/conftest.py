"""Relay tests: the relay under uvicorn on 127.0.0.1 (real HTTP), the local Customer.io endpoint as upstream.

``relay(**env)`` starts a relay configured from ``CIO_*`` variables (defaults: the endpoint's credentials and
URL, one allowed origin); every request goes through a real socket, both to the relay and from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("starlette")

import httpx  # noqa: E402

from cio_browser.relay import RelayConfig, create_app  # noqa: E402
from cio_browser.relay.serve import ServerThread  # noqa: E402
from cio_browser.sink import Sink  # noqa: E402

SITE_ID = "site123"
API_KEY = "key456"
ORIGIN = "https://www.example.com"


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink(root=None, site_id=SITE_ID, api_key=API_KEY, port=0, strict_timestamps=True).start()
    yield s
    s.stop()


class Relay:
    """A running relay and an HTTP client for it."""

    def __init__(self, server: ServerThread, config: RelayConfig):
        self.server = server
        self.config = config
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.answers: list[httpx.Response] = []

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"origin": ORIGIN, **kw.pop("headers", {})}
        response = self.http.request(method, path, headers={k: v for k, v in headers.items() if v is not None},
                                     **kw)
        self.answers.append(response)
        return response

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)


@pytest.fixture
def relay(sink: Sink, caplog: pytest.LogCaptureFixture) -> Iterator[Callable[..., Relay]]:
    caplog.set_level(logging.DEBUG)
    started: list[Relay] = []

    def start(**env: str) -> Relay:
        values = {"CIO_SITE_ID": SITE_ID, "CIO_API_KEY": API_KEY, "CIO_UPSTREAM": sink.url,
                  "CIO_ALLOWED_ORIGINS": ORIGIN, **env}
        config = RelayConfig.from_env({k: v for k, v in values.items() if v is not None})
        r = Relay(ServerThread(create_app(config)).start(), config)
        started.append(r)
        return r

    yield start
    for r in started:
        r.http.close()
        r.server.stop()


def entity(name: str = "Signed Up", mid: str = "m-1", **extra: Any) -> dict[str, Any]:
    """A valid v2 event entity, as the destination sends it."""
    return {"type": "person", "identifiers": {"id": "user-1"}, "action": "event", "name": name, "id": mid,
            "timestamp": 1700000000, "attributes": {"plan": "pro"}, **extra}
