"""Local endpoints for the benchmark: a stand-in for Customer.io's CDP API, and a black-hole proxy.

:class:`Collector` stands in for Customer.io's CDP ingestion API (``cdp.customer.io/v1``) and only records
arrival times.

Why it exists: ``bench/run.py`` compares cio_browser with Customer.io's own browser SDK,
``@customerio/cdp-analytics-browser``, which posts every call to ``<apiHost>/t``, ``/p``, ``/i``… (or
``/b`` for batches). The benchmark needs those requests to land on this machine, be answered at once (so the
SDK's own behaviour is measured, not a server's), and carry a wall-clock arrival time that can be compared with
``Date.now()`` taken in the page when ``analytics.track`` was called. ``time.time()`` and the browser's
``Date.now()`` read the same system clock, so the difference is the call → request-received latency.

It answers 200 ``{}`` with permissive CORS to every POST, 204 to preflights, keeps connections alive (as a real
HTTPS/2 endpoint would, so the SDK is not penalised with a TCP handshake per event) and listens on 127.0.0.1 only.

:class:`Blackhole` is the proxy Chromium is started with (``--proxy-server``, loopback bypassed): every request
that is not for 127.0.0.1 reaches it instead of the network, is answered 403 and recorded, so a run can report
exactly what tried to leave the machine. Why not Playwright's ``route()`` as in tests/browser/conftest.py: any
route turns Chromium's HTTP cache off, which makes a "warm" reload download everything again.

Standard library only.
"""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Blackhole", "Collector", "Hit"]

#: Refuse absurd bodies; the SDK's largest batch is 500 KB.
MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Hit:
    """One request as it arrived: wall-clock ``time`` (``time.time()``, seconds), method, path, parsed body."""

    time: float
    method: str
    path: str
    body: Any
    size: int


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        super().__init__((collector.host, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host name (getfqdn), which can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # browsers drop keep-alive sockets whenever they like; that is not an error worth printing


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "bench-endpoint/1"
    sys_version = ""
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        wanted = self.headers.get("Access-Control-Request-Headers")
        self.send_header("Access-Control-Allow-Headers", wanted or "content-type, authorization")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self._cors()
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def do_OPTIONS(self) -> None:
        arrived = time.time()
        self._read()
        self.server.collector._add(Hit(arrived, "OPTIONS", self.path, None, 0))
        self._answer(204, b"")

    def do_POST(self) -> None:
        arrived = time.time()  # before reading the body: what the latency should end on
        raw = self._read()
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        self.server.collector._add(Hit(arrived, "POST", self.path, body, len(raw)))
        self._answer(200, b"{}")

    def do_GET(self) -> None:
        self._read()
        self._answer(404, b'{"error":"not found"}')


class _Background:
    """A local HTTP server on a daemon thread: ``start()`` binds a free 127.0.0.1 port, ``stop()`` joins it."""

    name = "bench-server"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> Any:
        raise NotImplementedError

    def start(self) -> Any:
        self._server = self._make_server()
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class Collector(_Background):
    """Records every request with its arrival time; ``start()`` binds a free port on 127.0.0.1."""

    name = "bench-endpoint"

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self._hits: list[Hit] = []

    def _make_server(self) -> Any:
        return _Server(self)

    @property
    def api_host(self) -> str:
        """What the SDK's ``apiHost`` setting wants: host, port and path, no scheme."""
        return f"{self.host}:{self.port}/v1"

    def _add(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)

    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _ProxyServer
    timeout = 10

    def handle(self) -> None:
        try:
            line = self.rfile.readline(8192).decode("latin-1").strip()
            while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                pass  # headers: not needed
        except (OSError, TimeoutError):
            return
        method, _, rest = line.partition(" ")
        target = rest.rsplit(" ", 1)[0] if " " in rest else rest
        if method.upper() == "CONNECT":
            target = f"https://{target}"  # TLS tunnel: the host and port are all a proxy sees
        self.server.blackhole._add(f"{method} {target}".strip())
        try:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, blackhole: Blackhole) -> None:
        self.blackhole = blackhole
        super().__init__((blackhole.host, 0), _ProxyHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Blackhole(_Background):
    """An HTTP proxy that refuses (403) and records every request; ``start()`` binds a free 127.0.0.1 port."""

    name = "bench-blackhole"

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self._seen: list[str] = []

    def _make_server(self) -> Any:
        return _ProxyServer(self)

    @property
    def chromium_args(self) -> list[str]:
        """Send everything through this proxy except 127.0.0.1 (Chromium also never proxies loopback itself)."""
        return [f"--proxy-server=http://{self.host}:{self.port}", "--proxy-bypass-list=127.0.0.1"]

    def _add(self, what: str) -> None:
        with self._lock:
            self._seen.append(what)

    def take(self) -> list[str]:
        """What was refused since the last call (and forget it)."""
        with self._lock:
            seen, self._seen = self._seen, []
        return seen
