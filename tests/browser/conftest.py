"""Browser test harness: the built site, the local Customer.io-compatible endpoint, Debian's Chromium.

Every request that would leave 127.0.0.1 is aborted and recorded; a test that caused one fails (offline is a
feature). Each test gets its own endpoint on a fresh port, hence a fresh origin and empty localStorage.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
SITE_ID = "site123"
API_KEY = "key456-secret-apikey"
#: The strictest policy a site could reasonably run: no inline script, no eval, only WebAssembly compilation.
STRICT_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'self'; "
              "img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
CHROMIUM = os.environ.get("CIO_BROWSER_CHROMIUM", "/usr/bin/chromium")
#: A loopback port with nothing listening (the discard port): the dead proxy of CHROMIUM_ARGS.
DEAD_PORT = 9
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 # Chromium preloads its omnibox popup pages (chrome://omnibox-popup.top-chrome) at launch: 1-2.5 s
                 # of renderer CPU that a visitor's long-running browser spent long ago, but that lands on the first
                 # page of a freshly launched one and, on 2 cores, slowed a cold start by ~0.8 s (median of 4).
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
                 # Playwright's routes (the Offline guard) do not see a SharedWorker's requests: at the network
                 # level, whatever is not for 127.0.0.1 goes to a proxy nobody listens on, and fails.
                 f"--proxy-server=http://127.0.0.1:{DEAD_PORT}", "--proxy-bypass-list=127.0.0.1"]
BOOT_TIMEOUT_MS = 60_000

BROWSER_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark every test in tests/browser as ``browser`` (a ``pytestmark`` in a conftest marks nothing), so
    ``pytest -m browser`` selects exactly these and ``-m "not browser"`` the CPython ones."""
    for item in items:
        if BROWSER_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site; built once per session if missing (build.py caches its downloads)."""
    if not (DIST / "manifest.json").exists() or os.environ.get("CIO_BROWSER_REBUILD"):
        subprocess.run([sys.executable, str(ROOT / "build.py"), "--quiet"], check=True, cwd=ROOT)
    return DIST


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set CIO_BROWSER_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def sink(site: Path):
    from cio_browser.sink import Sink

    s = Sink(root=str(site), site_id=SITE_ID, api_key=API_KEY, port=0, share_file_cache=True,
             csp={"/csp.html": STRICT_CSP}).start()
    yield s
    s.stop()


#: Every URL that is not on 127.0.0.1. The regex is matched inside Playwright's driver, so local traffic is
#: never held up waiting for this (synchronous) test process to answer a route callback.
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/])")


class Offline:
    """Aborts and remembers every request whose host is not 127.0.0.1."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def route(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort("blockedbyclient")


@pytest.fixture
def context(browser):
    guard = Offline()
    ctx = browser.new_context()
    ctx.route(NOT_LOCAL, guard.route)
    yield ctx
    ctx.close()
    assert not guard.blocked, f"requests tried to leave 127.0.0.1: {guard.blocked}"


def settings_for(sink: Any, **extra: Any) -> dict[str, Any]:
    """Destination settings that send to the local endpoint with test credentials."""
    return {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": sink.url, **extra}


class Page:
    """A test page plus the console lines it printed."""

    def __init__(self, page: Any):
        self.page = page
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("console", lambda msg: self.console.append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)

    def console_errors(self) -> list[str]:
        self.page.evaluate("0")  # a round trip lets Playwright deliver the console events it has queued
        return [text for kind, text in self.console if kind == "error"]

    def console_text(self) -> str:
        self.page.evaluate("0")
        return " ".join(text for _, text in self.console)

    def wait_ready(self) -> float:
        """Wait for the Python destination; returns its boot time in ms as the page measured it."""
        return self.page.evaluate("() => window.cioBrowser.ready.then(api => api.bootMs)")

    def flush(self) -> dict[str, Any]:
        return json.loads(self.page.evaluate("() => window.cioBrowser.flush()"))

    def stats(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.cioBrowser.stats()")


def open_page(context: Any, sink: Any, settings: dict[str, Any] | None = None, *, path: str = "/test.html",
              wait: bool = True, integrations: dict[str, Any] | None = None) -> Page:
    page = Page(context.new_page())
    # Settings go in through an init script, not the URL: a key in the URL would leak into page events.
    chosen = settings if settings is not None else settings_for(sink)
    page.page.add_init_script(f"window.cioBrowserSettings = {json.dumps(chosen)};")
    url = f"{sink.url}{path}"
    if integrations is not None:
        url += f"?integrations={quote(json.dumps(integrations))}"
    page.page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(url)
    if wait:
        page.wait_ready()
    return page


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


#: An init script: a browser whose workers die with their page (no SharedWorker, as before Chromium 148's
#: extendedLifetime, or Safari and Firefox), so the page-side leave paths run.
NO_OUTLIVING_WORKERS = "delete window.SharedWorker;"

#: The strict policy minus 'wasm-unsafe-eval': Python cannot run on the page's own thread.
NO_WASM_CSP = STRICT_CSP.replace(" 'wasm-unsafe-eval'", "")


@pytest.fixture
def demo(site):
    """The site as the README's demo command serves it: the relay at /cio, the local endpoint behind it."""
    pytest.importorskip("starlette")
    from cio_browser.relay.demo import DemoServer

    server = DemoServer(str(site), environ={"CIO_SITE_ID": SITE_ID, "CIO_API_KEY": API_KEY, "CIO_RATE_LIMIT": "0"},
                        site_id=SITE_ID, api_key=API_KEY, strict_timestamps=True, share_file_cache=True,
                        csp={"/csp.html": NO_WASM_CSP})
    # what reaches /cio on the wire (requests from the worker are not Playwright page/context events)
    server.seen = []
    server.paths = []   # and where it went
    server.missing = set()  # paths answered 404, to make Python's start fail
    inner = server.app

    async def recording(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/cio/"):
            server.seen.append({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]})
            server.paths.append(scope["path"])
        if scope["type"] == "http" and scope["path"] in server.missing:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await inner(scope, receive, send)

    server.app = recording
    server.start()
    yield server
    server.stop()


def open_relay_page(context: Any, demo: Any, settings: dict[str, Any], *, path: str = "/test.html",
                    init: str = "") -> Page:
    """A page of the demo site (``init``: script run before the page's own)."""
    page = Page(context.new_page())
    page.page.add_init_script(init + f"window.cioBrowserSettings = {json.dumps(settings)};")
    page.page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(demo.url + path)
    return page
