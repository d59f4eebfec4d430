"""``python -m cio_browser.relay.demo``: the demo site with the relay in front of the local Customer.io endpoint.

One origin (default http://127.0.0.1:8000) serves:

* ``/cio/…`` -> the relay (:func:`~cio_browser.relay.create_app`), whose upstream is the local endpoint, so the
  demo page's settings are just ``{"relay": "/cio"}``: no key in the page, and the endpoint checks the
  ``Authorization`` header the relay adds;
* everything else -> the local endpoint itself (:class:`cio_browser.sink.Sink`, on a private port): the built
  site with its caching and CSP headers, its ``/__sink/…`` inspection and fault controls, its Track API.

The relay takes its usual ``CIO_*`` variables; the demo fills in the local endpoint's credentials, its URL and
the demo origin for whatever is not set.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ..sink import Sink
from .app import ALL_METHODS, create_app
from .config import RelayConfig, RelayConfigError
from .serve import ServerThread, bind, uvicorn_config

__all__ = ["demo_app", "main"]

#: Headers that describe one hop, not the message (RFC 9110 §7.6.1); never copied by the pass-through.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
RELAY_PATH = "/cio"


def demo_app(sink_url: str, config: RelayConfig) -> Starlette:
    """The relay at ``/cio`` plus a byte-for-byte pass-through to the local endpoint for every other path."""
    client: dict[str, httpx.AsyncClient] = {}

    async def passthrough(request: Request) -> Response:
        if "c" not in client:
            client["c"] = httpx.AsyncClient(base_url=sink_url, timeout=30.0)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        if "accept-encoding" not in request.headers:  # else httpx asks for gzip, and the bytes pass through as is
            headers.append(("accept-encoding", "identity"))
        url = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        if request.url.query:
            url += "?" + request.url.query
        upstream = await client["c"].send(
            client["c"].build_request(request.method, url, headers=headers, content=await request.body()),
            stream=True)
        try:
            raw = b"".join([chunk async for chunk in upstream.aiter_raw()])  # still encoded (gzip) as sent
        finally:
            await upstream.aclose()
        response = Response(raw if upstream.status_code not in (204, 304) else None, upstream.status_code)
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        if upstream.status_code not in (204, 304):
            response.raw_headers.append((b"content-length", str(len(raw)).encode()))
        return response

    return Starlette(routes=[Mount(RELAY_PATH, app=create_app(config)),
                             Route("/{path:path}", passthrough, methods=ALL_METHODS)])


def demo_config(sink: Sink, origins: list[str], environ: dict[str, str] | None = None) -> RelayConfig:
    """The relay's configuration from ``CIO_*`` with the local endpoint's values as defaults."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("CIO_SITE_ID", sink.site_id)
    if "CIO_API_KEY_FILE" not in env:
        env.setdefault("CIO_API_KEY", sink.api_key)
    env.setdefault("CIO_UPSTREAM", sink.url)
    env.setdefault("CIO_ALLOWED_ORIGINS", ",".join(origins))
    return RelayConfig.from_env(env)


class DemoServer:
    """Sink + relay + pass-through on one port, in this process (the tests use it as the demo runs)."""

    def __init__(self, root: str, host: str = "127.0.0.1", port: int = 0, environ: dict[str, str] | None = None,
                 **sink_options: Any):
        self.sink = Sink(root=root, host="127.0.0.1", port=0, **sink_options).start()
        self.sock = bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        origins = [self.url] + ([f"http://localhost:{self.port}"] if host == "127.0.0.1" else [])
        try:
            self.config = demo_config(self.sink, origins, environ)
        except RelayConfigError:
            self.sink.stop()
            raise
        self.app = demo_app(self.sink.url, self.config)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DemoServer:
        """Serve in a background thread (tests, benchmark); :meth:`stop` ends it and the endpoint."""
        self.thread = ServerThread(self.app, sock=self.sock).start()
        return self

    def stop(self) -> None:
        self.thread.stop()
        self.sink.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cio_browser.relay.demo",
                                     description="Serve the demo site with the relay (at /cio) in front of the "
                                                 "local Customer.io-compatible endpoint.")
    parser.add_argument("--root", default="dist", help="built site to serve (default: dist)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        demo = DemoServer(args.root, args.host, args.port, strict_timestamps=True)
    except RelayConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"cio_browser demo at {demo.url}/  (relay at {demo.url}{RELAY_PATH}, local Customer.io endpoint "
          f"behind it, site id {demo.sink.site_id})", flush=True)
    try:
        import uvicorn

        uvicorn.Server(uvicorn_config(demo.app)).run(sockets=[demo.sock])
    finally:
        demo.sink.stop()
    return 0




if __name__ == "__main__":
    sys.exit(main())
