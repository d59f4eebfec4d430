"""A stand-in for Customer.io's CDP ingestion API (``cdp.customer.io/v1``) that only records arrival times.

Why it exists: ``bench/run.py`` compares cio_browser with Customer.io's own browser SDK,
``@customerio/cdp-analytics-browser``, which posts every call to ``<apiHost>/t``, ``/p``, ``/i``… (or
``/b`` for batches). The benchmark needs those requests to land on this machine, be answered at once (so the
SDK's own behaviour is measured, not a server's), and carry a wall-clock arrival time that can be compared with
``Date.now()`` taken in the page when ``analytics.track`` was called. ``time.time()`` and the browser's
``Date.now()`` read the same system clock, so the difference is the call → request-received latency.

It answers 200 ``{}`` with permissive CORS to every POST, 204 to preflights, keeps connections alive (as a real
HTTPS/2 endpoint would, so the SDK is not penalised with a TCP handshake per event) and listens on 127.0.0.1 only.
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

__all__ = ["Collector", "Hit"]

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


class Collector:
    """Records every request with its arrival time; ``start()`` binds a free port on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Collector:
        self._server = _Server(self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"bench-endpoint:{self.port}", daemon=True)
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
