"""A local stand-in for Customer.io's Track API, plus a static file server for the built site.

Why it exists: the browser tests and the demo must run with no internet, yet they need to see exactly what the
client would send to Customer.io and how it reacts to Customer.io's answers (400 for invalid items, 401, 429 with
``Retry-After``, 5xx, dropped connections, slow answers). One small stdlib server does both jobs on one origin:
it serves ``dist/`` (Pyodide, the wheel, the pages) and answers the Track API endpoints with Customer.io's
documented validation rules and limits. The rules themselves (routes, credentials, validation, limits, error
texts) are pure functions in :mod:`cio_browser.trackapi`; this module is only the HTTP server around them: the
Track API part (recording, scripted faults, ``/__sink/*`` controls) and, separately, the static-file part.

What it records never contains the API key (the ``Authorization`` header is masked), and ``/__sink/*`` answers
only its own origin (or ``--allow-origin``): the recorded traffic is not readable by other sites.

Run it with ``python -m cio_browser.sink [--root dist] [--port 8000] …`` or in-process from tests::

    with Sink(root="dist", site_id="site123", api_key="key456") as sink:   # port 0: a free port
        ...  # point the page at sink.url
        sink.wait_for(3)

Importing this module has no side effects; it uses the standard library only (plus :mod:`cio_browser.trackapi`).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.server
import json
import mimetypes
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .trackapi import (
    BODY_LIMITS,
    Verdict,
    authorized,
    compact_json,
    error_body,
    evaluate,
    mask_authorization,
    oversized_body_error,
    validate_entity,
)

#: BODY_LIMITS, oversized_body_error and validate_entity are re-exported for callers written before
#: cio_browser.trackapi existed; import them from there.
__all__ = ["BODY_LIMITS", "Recorded", "Sink", "main", "oversized_body_error", "validate_entity"]

# --------------------------------------------------------------------------------------------------------------
# Routes and HTTP plumbing constants (the Track API's own limits live in cio_browser.trackapi)
# --------------------------------------------------------------------------------------------------------------

#: A site owner's first-party proxy forwards ``/cio-proxy/<api path>`` and adds the key server-side.
PROXY_PREFIX = "/cio-proxy"
#: Test/demo controls; never recorded as Track API traffic.
CONTROL_PREFIX = "/__sink/"

MAX_READ_BYTES = 16 * 1024 * 1024
CORS_ALLOW_HEADERS = "authorization, content-type"
CORS_ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"

#: Explicit types for what the built site holds; ``mimetypes`` varies by platform (.mjs, .wasm, .whl).
MIME_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".map": "application/json",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".tar": "application/x-tar",
    ".py": "text/x-python; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".data": "application/octet-stream",
}
#: Already-compressed formats: gzipping them again costs CPU and saves nothing.
INCOMPRESSIBLE = frozenset({
    ".zip", ".whl", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".gz", ".tgz", ".br", ".bz2", ".xz",
    ".zst", ".woff", ".woff2", ".mp3", ".mp4", ".webm",
})
#: Versioned directories whose contents never change under the same URL (wheel names carry a content hash).
IMMUTABLE_PREFIX = "/vendor/"
IMMUTABLE_PREFIXES = (IMMUTABLE_PREFIX, "/wheels/")
#: Pre-compressed siblings build.py writes, in the order the server prefers them.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))

Predicate = Callable[[Any], "str | None"]


# --------------------------------------------------------------------------------------------------------------
# Recorded traffic
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """One Track API request as the sink saw it, and what it answered (``status`` 0: connection dropped)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    status: int
    time: float
    #: Path with the proxy prefix removed (equal to ``path`` for direct calls).
    api_path: str = ""
    proxied: bool = False
    #: Parsed JSON answer (None for a dropped connection).
    response: Any = None
    #: Entity bodies this request got accepted (empty unless status 200).
    accepted: list[Any] = field(default_factory=list)
    #: What the ``Authorization`` header proved: ``valid`` (this workspace's key), ``wrong`` or ``none``.
    #: The header itself is recorded masked (:func:`cio_browser.trackapi.mask_authorization`): nothing the
    #: sink records or hands out over HTTP contains the key.
    credentials: str = "none"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe view for ``GET /__sink/requests`` (raw bytes are summarised by their size)."""
        return {
            "method": self.method,
            "path": self.path,
            "api_path": self.api_path,
            "proxied": self.proxied,
            "headers": self.headers,
            "body": self.body,
            "size": len(self.raw),
            "status": self.status,
            "time": self.time,
            "response": self.response,
            "accepted": len(self.accepted),
            "credentials": self.credentials,
        }


@dataclass
class _Failure:
    """A scripted answer queued by :meth:`Sink.fail_next`."""

    status: int
    remaining: int
    headers: dict[str, str]
    body: Any
    path: str | None

    def matches(self, path: str, api_path: str) -> bool:
        return self.path is None or self.path in (path, api_path)


def _split_api_path(path: str) -> tuple[str, bool] | None:
    """Return ``(api path, proxied)`` when ``path`` addresses the Track API, else None (static or control)."""
    if path == PROXY_PREFIX or path.startswith(PROXY_PREFIX + "/"):
        return (path[len(PROXY_PREFIX):] or "/"), True
    if path.startswith("/api/") or path in ("/api", "/auth"):
        return path, False
    return None


# --------------------------------------------------------------------------------------------------------------
# Static files
# --------------------------------------------------------------------------------------------------------------


def _safe_relative(url_path: str) -> str | None:
    """The file path under the root that a URL path names, or None if it tries to leave the root."""
    decoded = urllib.parse.unquote(url_path)
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in MIME_TYPES:
        return MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _accepts_gzip(header: str | None) -> bool:
    """True when ``Accept-Encoding`` allows gzip (an explicit ``gzip;q=0`` refuses it)."""
    return _accepts(header, "gzip")


def _accepts(header: str | None, wanted: str) -> bool:
    """True when ``Accept-Encoding`` allows the content coding ``wanted`` (``br;q=0`` refuses it)."""
    if not header:
        return False
    star = False
    for token in header.split(","):
        coding, _, params = token.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            pname, _, pvalue = param.strip().partition("=")
            if pname.strip().lower() == "q":
                try:
                    q = float(pvalue)
                except ValueError:
                    q = 0.0
        if coding == wanted:
            return q > 0
        if coding == "*":
            star = q > 0
    return star


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires (RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class _FileCache:
    """Per-file digests and gzip bodies keyed by (path, mtime, size), so each version is hashed/compressed once.

    Why: Pyodide's wasm and stdlib are megabytes; compressing them on every page load would make the browser
    tests slow and their timings noisy.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, int, int], threading.Lock] = {}
        self._etags: dict[str, tuple[tuple[str, int, int], str]] = {}
        self._gzipped: dict[str, tuple[tuple[str, int, int], bytes]] = {}
        #: How many times a file was gzip-compressed (tests check that a file is compressed once).
        self.compressions = 0

    def _key_lock(self, key: tuple[str, int, int]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def etag(self, key: tuple[str, int, int], read: Callable[[], bytes]) -> str:
        cached = self._etags.get(key[0])
        if cached and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256(read()).hexdigest()[:32]
        etag = f'"{digest}"'
        with self._lock:
            self._etags[key[0]] = (key, etag)
        return etag

    def gzipped(self, key: tuple[str, int, int], read: Callable[[], bytes]) -> bytes:
        cached = self._gzipped.get(key[0])
        if cached and cached[0] == key:
            return cached[1]
        with self._key_lock(key):
            cached = self._gzipped.get(key[0])
            if cached and cached[0] == key:
                return cached[1]
            data = gzip.compress(read(), compresslevel=6, mtime=0)
            with self._lock:
                self._gzipped[key[0]] = (key, data)
                self.compressions += 1
                self._key_locks.pop(key, None)
            return data

    def clear(self) -> None:
        with self._lock:
            self._etags.clear()
            self._gzipped.clear()
            self._key_locks.clear()


#: One cache for every Sink that opts in (test sessions start many sinks over the same built site).
_SHARED_FILES = _FileCache()


# --------------------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    """Threading server that knows its :class:`Sink` and stays quiet about clients that hang up."""

    daemon_threads = True
    allow_reuse_address = True
    #: socketserver's default backlog of 5 overflows (and resets connections) when a page opens many
    #: connections at once, as every answer closes its connection.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sink: Sink) -> None:
        self.sink = sink
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for seconds offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) and not self.sink.verbose:
            return  # browsers abort requests and close sockets all the time; that is not a sink error
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Dispatches to preflight, control, Track API or static handling.

    Every answer carries ``Connection: close``: a browser silently re-sends a request whose *reused* connection
    closes without an answer, which would hide the scripted connection drops (status 0) from the client.
    """

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "cio-browser-sink/1"
    sys_version = ""
    #: Idle sockets (browser pre-connects) must not pin a thread forever.
    timeout = 30

    # ---- entry points -------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sink.verbose:
            super().log_message(format, *args)

    # ---- dispatch -----------------------------------------------------------------------------------------

    @property
    def sink(self) -> Sink:
        return self.server.sink

    def _dispatch(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path or "/"
        self._public = _split_api_path(path) is not None
        try:
            if path.startswith(CONTROL_PREFIX) and not self._origin_allowed():
                # Recorded traffic and fault switches are for this site's own pages (and named tools) only.
                self._drain_body()
                self._send_json(403, error_body("cross-origin requests to /__sink/ are refused "
                                                "(start the sink with --allow-origin ORIGIN to permit one)"))
            elif self.command == "OPTIONS":
                # Preflights are answered for any path and never recorded: they are the browser's, not the client's.
                self._drain_body()
                self._send(204, b"")
            elif path.startswith(CONTROL_PREFIX):
                self._control(path)
            elif (api := _split_api_path(path)) is not None:
                self._track(path, api[0], api[1])
            elif self.command in ("GET", "HEAD"):
                self._static(path, split.query)
            else:
                self._drain_body()
                self._send_json(405, error_body("method not allowed"))
        except _BodyError as exc:
            self._send_json(exc.status, error_body(exc.message))

    # ---- responses ----------------------------------------------------------------------------------------

    def _origin_allowed(self) -> bool:
        """No Origin (same-origin GET, curl), this server's own origin, or one named with --allow-origin.

        A browser's ``Sec-Fetch-Site: same-origin`` (a header pages cannot set) also counts, so the controls keep
        working behind a same-origin pass-through such as the relay demo, where Host names the private port.
        """
        origin = self.headers.get("Origin")
        if origin is None or self.headers.get("Sec-Fetch-Site") == "same-origin":
            return True
        host = self.headers.get("Host")
        return (host is not None and origin == f"http://{host}") or origin in self.sink.allow_origins

    def _cors_headers(self) -> dict[str, str]:
        """The Track API is public (any site may call it, without cookies): ``*``, never an echoed Origin.
        Everything else (recorded traffic, controls, files) is readable cross-origin only by allowed origins."""
        origin = self.headers.get("Origin")
        if getattr(self, "_public", False):
            allow = "*"
        elif origin is not None and origin in self.sink.allow_origins:
            allow = origin
        else:
            return {}
        headers = {
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
            "Access-Control-Max-Age": "600",
            "Access-Control-Expose-Headers": "Retry-After",
        }
        if allow != "*":
            headers["Vary"] = "Origin"
        return headers

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        # Header names are case-insensitive: later layers (extra headers, then per-answer headers) replace
        # earlier ones whatever their spelling, except Vary, whose values accumulate.
        merged: dict[str, tuple[str, str]] = {}
        for layer in (self._cors_headers(), self.sink.extra_headers, headers or {}):
            for name, value in layer.items():
                key = name.lower()
                if key == "vary" and key in merged:
                    value = f"{merged[key][1]}, {value}"
                merged[key] = (name, value)
        self.send_response(status)
        for name, value in merged.values():
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        merged = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        merged.update(headers or {})
        self._send(status, compact_json(payload), merged)

    # ---- request bodies -----------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise _BodyError(411, "chunked request bodies are not supported; send Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BodyError(400, "invalid Content-Length") from None
        if length < 0:
            raise _BodyError(400, "invalid Content-Length")
        if length > MAX_READ_BYTES:
            self.close_connection = True
            raise _BodyError(413, f"request body exceeds {MAX_READ_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _drain_body(self) -> None:
        try:
            self._read_body()
        except _BodyError:
            self.close_connection = True

    # ---- controls -----------------------------------------------------------------------------------------

    def _control(self, path: str) -> None:
        raw = self._read_body()
        name = path[len(CONTROL_PREFIX):].strip("/")
        sink = self.sink
        if self.command == "GET" and name == "requests":
            self._send_json(200, [r.to_json() for r in sink.requests])
        elif self.command == "GET" and name == "entities":
            self._send_json(200, sink.entities())
        elif self.command == "GET" and name == "faults":
            self._send_json(200, sink.faults())
        elif self.command == "POST" and name == "reset":
            sink.reset()
            self._send_json(200, {})
        elif self.command == "POST" and name == "clear-faults":
            sink.reset_failures()
            self._send_json(200, {})
        elif self.command == "POST" and name in ("fail", "delay"):
            try:
                spec = json.loads(raw.decode("utf-8") or "{}")
                if not isinstance(spec, dict):
                    raise ValueError("expected a JSON object")
                if name == "fail":
                    sink.fail_next(
                        int(spec["status"]),
                        count=int(spec.get("count", 1)),
                        headers=spec.get("headers"),
                        body=spec.get("body"),
                        path=spec.get("path"),
                    )
                else:
                    sink.set_delay(float(spec.get("ms", 0)))
            except (ValueError, KeyError, TypeError) as exc:
                self._send_json(400, error_body(f"invalid control request: {exc}"))
                return
            self._send_json(200, {})
        else:
            self._send_json(404, error_body("not found"))

    # ---- Track API ----------------------------------------------------------------------------------------

    def _track(self, path: str, api_path: str, proxied: bool) -> None:
        sink = self.sink
        arrived = time.monotonic()
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body()
        credentials, shown = sink._credentials(headers)
        failure = sink._take_failure(path, api_path)
        if failure is not None:
            body_bytes, answer = _scripted_body(failure.body)
            record = Recorded(
                method=self.command, path=path, headers=shown, body=_try_json(raw), raw=raw,
                status=failure.status, time=arrived, api_path=api_path, proxied=proxied,
                response=answer if failure.status else None, credentials=credentials,
            )
            sink._record(record)
            sink._pause()
            if failure.status == 0:
                # Emulate a network error: hang up without a status line.
                self.close_connection = True
                return
            hdrs = {"Content-Type": "application/json", "Cache-Control": "no-store"}
            hdrs.update(failure.headers)
            self._send(failure.status, body_bytes, hdrs)
            return
        try:
            verdict = evaluate(
                self.command, api_path, headers, raw,
                credentials=None if proxied else (sink.site_id, sink.api_key),
                strict_timestamps=sink.strict_timestamps, reject=sink._rejection,
            )
        except Exception as exc:  # a bug here (or in a test predicate) must show up as a failing answer
            self.server.handle_error(self.request, self.client_address)
            verdict = Verdict(500, error_body(f"sink error: {exc!r}"))
        record = Recorded(
            method=self.command, path=path, headers=shown, body=_try_json(raw), raw=raw,
            status=verdict.status, time=arrived, api_path=api_path, proxied=proxied,
            response=verdict.body, accepted=verdict.accepted, credentials=credentials,
        )
        # Record before answering: once the client sees 200, the entities are already visible to tests.
        sink._record(record)
        sink._pause()
        self._send_json(verdict.status, verdict.body, verdict.headers)

    # ---- static files -------------------------------------------------------------------------------------

    def _static(self, path: str, query: str) -> None:
        sink = self.sink
        rel = _safe_relative(path)
        if rel is None:
            self._send(403, b"forbidden\n", {"Content-Type": "text/plain; charset=utf-8"})
            return
        root = sink.root
        if root is None:
            self._not_found()
            return
        target = root / rel if rel else root
        if target.is_dir():
            if not path.endswith("/"):
                location = path + "/" + (f"?{query}" if query else "")
                self._send(301, b"", {"Location": location, "Cache-Control": "no-cache"})
                return
            target = target / "index.html"
            rel = f"{rel}/index.html" if rel else "index.html"
        try:
            st = target.stat()
        except OSError:
            self._not_found()
            return
        if not target.is_file():
            self._not_found()
            return

        def read() -> bytes:
            return target.read_bytes()

        suffix = target.suffix.lower()
        # build.py writes <file>.br / <file>.gz next to what compresses (archives included: their entries are
        # stored); those are sent as they are, with Content-Encoding. Other compressible files are gzipped here.
        accept = self.headers.get("Accept-Encoding")
        variants = [(coding, target.with_name(target.name + ext)) for coding, ext in PRECOMPRESSED]
        present = [(coding, file) for coding, file in variants if file.is_file()]
        chosen = next(((coding, file) for coding, file in present if _accepts(accept, coding)), None)
        compressible = bool(present) or suffix not in INCOMPRESSIBLE
        headers: dict[str, str] = {
            "Content-Type": _content_type(target.name),
            "Cache-Control": (
                "public, max-age=31536000, immutable" if path.startswith(IMMUTABLE_PREFIXES) else "no-cache"
            ),
        }
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        policy = sink.csp.get(path) or sink.csp.get("/" + rel)
        if policy:
            headers["Content-Security-Policy"] = policy
        key = (str(target), st.st_mtime_ns, st.st_size)
        use_gzip = chosen is None and compressible and _accepts_gzip(accept)
        base_etag = sink._files.etag(key, read)
        coding = chosen[0] if chosen else ("gzip" if use_gzip else None)
        etag = base_etag[:-1] + f'-{coding}"' if coding else base_etag
        headers["ETag"] = etag
        inm = self.headers.get("If-None-Match")
        if inm and _etag_matches(inm, etag):
            self._send(304, b"", headers)
            return
        if chosen is not None:
            body = chosen[1].read_bytes()
            headers["Content-Encoding"] = chosen[0]
        elif use_gzip:
            body = sink._files.gzipped(key, read)
            headers["Content-Encoding"] = "gzip"
        else:
            body = read()
        with sink._cond:
            sink._served.append((path, headers.get("Content-Encoding"), time.time()))
        self._send(200, body, headers)

    def _not_found(self) -> None:
        self._send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"})


class _BodyError(Exception):
    """A request body that cannot be read at all (answered before any routing)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _try_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _scripted_body(body: Any) -> tuple[bytes, Any]:
    if body is None:
        payload = error_body("scripted failure")
        return compact_json(payload), payload
    if isinstance(body, bytes):
        return body, _try_json(body)
    if isinstance(body, str):
        return body.encode("utf-8"), _try_json(body.encode("utf-8"))
    return compact_json(body), body


# --------------------------------------------------------------------------------------------------------------
# The sink
# --------------------------------------------------------------------------------------------------------------


class Sink:
    """An in-process Customer.io Track API + static server, controllable from tests.

    Construct, then :meth:`start` (or use ``with``); ``port=0`` binds a free port. All state accessors return
    snapshots, so tests can iterate while the browser keeps sending.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = "dist",
        *,
        site_id: str = "demo-site",
        api_key: str = "demo-key",
        host: str = "127.0.0.1",
        port: int = 0,
        extra_headers: Mapping[str, str] | None = None,
        csp: Mapping[str, str] | None = None,
        strict_timestamps: bool = False,
        share_file_cache: bool = False,
        verbose: bool = False,
        allow_origins: Iterable[str] = (),
    ) -> None:
        self.root: Path | None = Path(root) if root is not None else None
        self.site_id = site_id
        self.api_key = api_key
        self.host = host
        self.port = port
        self.extra_headers: dict[str, str] = dict(extra_headers or {})
        self.csp: dict[str, str] = dict(csp or {})
        self.strict_timestamps = strict_timestamps
        self.verbose = verbose
        #: Origins (besides the sink's own) that may read ``/__sink/*`` and the static files cross-origin.
        self.allow_origins: frozenset[str] = frozenset(o.rstrip("/") for o in allow_origins)

        self._cond = threading.Condition(threading.RLock())
        self._requests: list[Recorded] = []
        self._served: list[tuple[str, str | None, float]] = []
        self._entities: list[Any] = []
        self._ids: list[str] = []
        self._seen_ids: set[str] = set()
        self._duplicates: list[str] = []
        self._failures: list[_Failure] = []
        self._predicates: list[Predicate] = []
        self._delay_s = 0.0
        self._stopping = threading.Event()
        self._files = _SHARED_FILES if share_file_cache else _FileCache()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> Sink:
        """Bind and serve on a daemon thread; returns self so ``Sink(...).start()`` reads naturally."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"cio-sink:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice. Delayed answers are cut short."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` (from a signal handler) or KeyboardInterrupt."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (the Track API lives at ``url + "/api/v2/…"``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def proxy_url(self) -> str:
        """Base URL of the emulated first-party proxy (no Authorization header needed)."""
        return self.url + PROXY_PREFIX

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value a correctly configured client sends."""
        token = base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode("ascii")
        return f"Basic {token}"

    # ---- observations -------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Track API requests received (not static files, controls or preflights), in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def served(self) -> list[tuple[str, str | None, float]]:
        """Static files answered with 200: (path, Content-Encoding or None, wall-clock time). Why: a page's
        SharedWorker fetches out of the browser automation's sight, so what a visitor downloaded, and when, is
        read here."""
        with self._cond:
            return list(self._served)

    @property
    def duplicates(self) -> list[str]:
        """Ids accepted more than once (Customer.io de-duplicates them; the client should not send them)."""
        with self._cond:
            return list(self._duplicates)

    @property
    def compressions(self) -> int:
        """How many times a static file was gzip-compressed (each file version should be compressed once)."""
        return self._files.compressions

    def entities(self) -> list[Any]:
        """Accepted bodies: single entities, each item of accepted batches and v1 bodies, in arrival order."""
        with self._cond:
            return list(self._entities)

    def delivered_ids(self) -> list[str]:
        """``id`` (or ``messageId``) of every accepted body that has one, repeats included."""
        with self._cond:
            return list(self._ids)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Any]:
        """Block until at least ``n`` entities were accepted and return them; TimeoutError says what arrived."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._entities) >= n, timeout=timeout):
                raise TimeoutError(
                    f"waited {timeout}s for {n} accepted entities, got {len(self._entities)}; "
                    f"requests: {self._summary()}"
                )
            return list(self._entities)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[Recorded]:
        """Block until at least ``n`` Track API requests arrived (whatever their answer) and return them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout=timeout):
                raise TimeoutError(
                    f"waited {timeout}s for {n} requests, got {len(self._requests)}; requests: {self._summary()}"
                )
            return list(self._requests)

    def _summary(self) -> str:
        return ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self._requests[-10:]) or "none"

    # ---- controls -----------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` Track API requests (matching ``path``, if given) with ``status``.

        Queued failures are used first-in, first-out; one with a ``path`` that does not match the request is
        skipped. ``path`` matches the request path with or without the proxy prefix. Status 0 hangs up
        without answering (a network error). The default body is ``{"meta":{"error":"scripted failure"}}``.
        """
        if status != 0 and not 100 <= status <= 599:
            raise ValueError(f"status must be 0 or an HTTP status, got {status}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._cond:
            self._failures.append(_Failure(status, count, dict(headers or {}), body, path))

    def set_delay(self, ms: float) -> None:
        """Delay every Track API answer by ``ms`` milliseconds (the request is processed first, then answered)."""
        if ms < 0:
            raise ValueError("delay must not be negative")
        with self._cond:
            self._delay_s = ms / 1000.0

    def reject_item(self, predicate: Predicate) -> None:
        """Reject (400) any entity for which ``predicate`` returns a reason, and any batch containing one."""
        with self._cond:
            self._predicates.append(predicate)

    def faults(self) -> dict[str, Any]:
        """The scripted behaviour still to come, for ``GET /__sink/faults`` (the demo shows it)."""
        with self._cond:
            return {
                "failures": [{"status": f.status, "remaining": f.remaining, "path": f.path} for f in self._failures],
                "delay_ms": round(self._delay_s * 1000),
                "rules": len(self._predicates),
            }

    def reset_failures(self) -> None:
        """Drop scripted failures, delay and predicates, keeping the recorded traffic."""
        with self._cond:
            self._failures.clear()
            self._predicates.clear()
            self._delay_s = 0.0

    def reset(self) -> None:
        """Forget all traffic and all scripted behaviour (failures, delay, predicates)."""
        with self._cond:
            self._requests.clear()
            self._served.clear()
            self._entities.clear()
            self._ids.clear()
            self._seen_ids.clear()
            self._duplicates.clear()
            self._failures.clear()
            self._predicates.clear()
            self._delay_s = 0.0
            self._cond.notify_all()

    # ---- internals used by the handler --------------------------------------------------------------------

    def _take_failure(self, path: str, api_path: str) -> _Failure | None:
        with self._cond:
            for failure in self._failures:
                if failure.matches(path, api_path):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _pause(self) -> None:
        delay = self._delay_s
        if delay > 0:
            self._stopping.wait(delay)

    def _record(self, record: Recorded) -> None:
        with self._cond:
            self._requests.append(record)
            for entity in record.accepted:
                self._entities.append(entity)
                ident = _entity_id(entity)
                if ident is not None:
                    self._ids.append(ident)
                    if ident in self._seen_ids:
                        self._duplicates.append(ident)
                    self._seen_ids.add(ident)
            self._cond.notify_all()


    def _credentials(self, headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """What the request's credentials prove, and its headers with the ``Authorization`` value masked."""
        value = headers.get("authorization")
        if value is None:
            return "none", dict(headers)
        verdict = "valid" if authorized(headers, self.site_id, self.api_key) else "wrong"
        return verdict, {**headers, "authorization": mask_authorization(value)}

    def _rejection(self, entity: Any) -> str | None:
        with self._cond:
            predicates = list(self._predicates)
        for predicate in predicates:
            reason = predicate(entity)
            if reason:
                return str(reason)
        return None

def _entity_id(entity: Any) -> str | None:
    if isinstance(entity, dict):
        for key in ("id", "messageId"):
            value = entity.get(key)
            if isinstance(value, str) and value:
                return value
    return None


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def _pairs(values: list[str] | None, what: str) -> Iterator[tuple[str, str]]:
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"--{what} expects NAME=VALUE, got {value!r}")
        yield name, rest


HELP_EPILOG = """\
Track API (what Customer.io answers, same rules and error texts: cio_browser.trackapi):
  POST /api/v2/entity, /api/v2/batch, /api/v1/metrics, /api/v1/events, /api/v1/customers/{id}/events,
  PUT|DELETE /api/v1/customers/{id}, GET /auth
  credentials: Authorization: Basic base64(SITE_ID:API_KEY), by default demo-site:demo-key
  (--site-id/--api-key); wrong or missing -> 401 {"meta":{"error":"Unauthorized request"}}.
  /cio-proxy/<path>: the same API behind an emulated first-party proxy; needs no Authorization.
  Any origin may call the Track API (Access-Control-Allow-Origin: *, no cookies).

Inspection and fault controls (same origin only, or --allow-origin; never recorded as traffic):
  GET  /__sink/requests      every Track API request: method, path, headers (Authorization masked, plus
                             "credentials": valid|wrong|none), body, status, response, accepted count
  GET  /__sink/entities      every accepted entity/body, in arrival order
  GET  /__sink/faults        scripted failures still queued and the current delay
  POST /__sink/fail          {"status": 503, "count": 1, "headers": {"Retry-After": "2"}, "body": ..., "path":
                             "/api/v2/batch"}: the next COUNT requests get STATUS (0 = drop the connection)
  POST /__sink/delay         {"ms": 3000}: answer every request that much later (0 turns it off)
  POST /__sink/clear-faults  drop queued failures and the delay, keep the recorded traffic
  POST /__sink/reset         forget traffic and every scripted fault

Everything else is a static file under --root (gzip when the browser accepts it).
"""


def main(argv: list[str] | None = None) -> int:
    """``python -m cio_browser.sink``: serve the built site and a fake Track API until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m cio_browser.sink",
        description="Serve the built site and a local Customer.io Track API (for the demo and browser tests).",
        epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default="dist", help="directory to serve (default: dist)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    parser.add_argument("--site-id", default="demo-site")
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--csp", action="append", metavar="PATH=POLICY",
                        help="serve Content-Security-Policy POLICY on PATH (repeatable)")
    parser.add_argument("--header", action="append", metavar="NAME=VALUE",
                        help="extra response header on every answer (repeatable)")
    parser.add_argument("--lenient-timestamps", action="store_true",
                        help="accept non-integer timestamps (Customer.io replaces them with now())")
    parser.add_argument("--allow-origin", action="append", metavar="ORIGIN", default=[],
                        help="let ORIGIN (e.g. http://localhost:3000) read /__sink/* and the files cross-origin "
                             "(repeatable; the Track API answers any origin with '*')")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    sink = Sink(
        root=args.root, site_id=args.site_id, api_key=args.api_key, host=args.host, port=args.port,
        extra_headers=dict(_pairs(args.header, "header")), csp=dict(_pairs(args.csp, "csp")),
        strict_timestamps=not args.lenient_timestamps, verbose=args.verbose, allow_origins=args.allow_origin,
    )
    if sink.root is not None and not sink.root.is_dir():
        print(f"warning: root {str(sink.root)!r} is not a directory; static files will 404", file=sys.stderr)
    try:
        sink.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # The key is a secret even in a demo: print only the site id.
    print(f"cio_browser sink serving {sink.root} at {sink.url}/", flush=True)
    print(f"  Track API {sink.url}/api/v2/…  proxy {sink.proxy_url}/api/v2/…  site id {sink.site_id}", flush=True)
    try:
        sink.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
