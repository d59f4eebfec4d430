#!/usr/bin/env python3
"""Benchmark cio_browser against Customer.io's own browser SDK and a page with no analytics (issue 6, item 1).

Usage::

    python bench/run.py [--runs 5] [--out bench/results/latest.md] [--variants cio,cdp,...] [--no-profile]

Why it is built this way:

* **Same machine, same server, same page.** Every variant is served by one :class:`cio_browser.sink.Sink`
  (gzip, cache headers, the real Track API rules) from a site this script assembles in a temporary folder:
  ``build.py --out`` of the *current* tree (so the numbers describe the code in front of you, and a rebuild of
  ``dist/`` by someone else mid-run cannot change them), plus the pages in ``bench/pages`` and the UMD build of
  ``@customerio/cdp-analytics-browser`` (``npm pack`` of the registry's latest, cached in ``bench/.cache/npm``).
  ``--site dist`` serves an already built site instead.
* **Only local traffic, without switching the HTTP cache off.** Chromium runs behind ``bench/endpoint.py``'s
  black-hole proxy (loopback bypassed): whatever is not for 127.0.0.1 is refused there and recorded, and the page's
  own requests are also checked against the ``NOT_LOCAL`` regex of ``tests/browser/conftest.py``. Playwright's
  ``route()`` (the tests' guard) is not used because any route disables Chromium's HTTP cache, so every "warm"
  reload would download all 6.5 MB again. The CDP SDK is pointed at ``bench/endpoint.py``'s collector.
* **Cold vs warm.** Cold = a fresh browser context (empty HTTP cache, storage and code cache) per run; warm =
  a reload of that page in the same tab (in worker mode, where the worker outlives the page, the reloaded page
  takes the tab's worker over: ``bootMode`` ``worker-reused``).
* **What the page measures itself.** ``bench/pages/instrument.js`` is an init script: buffered ``longtask`` and
  ``long-animation-frame`` observers (for script attribution). Times come from performance marks
  (``cio-browser:runtime|imported|ready`` set by the loader, ``bench:*`` by the bench pages) and resource timing,
  all relative to navigation start.
* **And what Chromium saw.** The ``longtask`` observer misses tasks: on a warm reload the multi-second task that
  boots Pyodide (it starts in a wasm streaming-compile callback) is not reported at all. So each load and burst is
  also traced (``disabled-by-default-devtools.timeline``: the ``RunTask`` events DevTools draws as long tasks, on
  the page's main thread, aligned to the page's clock through a performance mark) and both figures are reported.
* **Latency across processes.** The page stamps ``Date.now()`` just before each ``analytics.track``; the
  endpoints record arrival with ``time.time()`` (the sink's ``time.monotonic()`` is converted): both read the
  system clock of this machine, so the difference is call → request received (1 ms resolution).
* **Variants interleave** (run 1 of every variant, then run 2, …) so a burst of load from other work on the
  machine spreads over all columns instead of skewing one.
* **Waiting never sleeps.** The Playwright sync API only delivers routes and console events while we call into
  it, so every wait is ``page.wait_for_function`` or ``page.wait_for_timeout``.

One extra cold load of cio_browser (and of the bare baseline) runs under the V8 sampling profiler (CDP
``Profiler``) to say *what* the long tasks are made of (Pyodide's wasm has no function names, so time is
attributed to the JS frames that called into it). It is not part of the medians: the profiler slows pages down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from endpoint import Blackhole, Collector  # noqa: E402

from cio_browser.sink import Sink  # noqa: E402

CACHE = BENCH / ".cache"
NPM_CACHE = CACHE / "npm"
PAGES = BENCH / "pages"
CDP_PACKAGE = "@customerio/cdp-analytics-browser"

CHROMIUM = os.environ.get("CIO_BROWSER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 # Chromium preloads its omnibox popup pages (chrome://omnibox-popup.top-chrome) at launch: 1-2.5 s
                 # of renderer CPU that a visitor's long-running browser spent long ago, but that lands on the first
                 # page of a freshly launched one and, on 2 cores, slowed a cold start by ~0.8 s (median of 4).
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup"]
#: Every URL that is not on 127.0.0.1, matched inside Playwright's driver (as in tests/browser/conftest.py) so
#: local traffic never waits for this synchronous process to answer a route callback.
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/])")

SITE_ID = "bench-site"
API_KEY = "bench-key-not-a-secret"
CDP_WRITE_KEY = "bench-write-key"
#: Generous: a cold Pyodide boot on a shared 2-core machine has been seen to take >10 s.
READY_TIMEOUT_MS = 120_000
DELIVERY_TIMEOUT_S = 120.0
#: Long tasks are counted until plugin ready + this, so work right after "ready" is not hidden.
AFTER_READY_MS = 1000.0
#: After the last event of the burst arrived, wait this long before reading long tasks (trailing bookkeeping).
AFTER_BURST_MS = 500.0

#: Properties of every benchmark track call; ``bench_id`` is added per call (the latency key).
TRACK_PROPS = {"product_id": "sku-1234", "name": "Blue T-shirt", "price": 19.99, "currency": "USD",
               "quantity": 2, "category": "apparel", "coupon": None}

#: A typical analytics.js 2.0 track event, as the destination receives it (for the map_event throughput).
TYPICAL_TRACK_EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Product Added",
    "properties": dict(TRACK_PROPS),
    "anonymousId": "7f1b2c1e-4a55-4a4b-9d3c-2d0f5b3a6e11",
    "userId": "user-42",
    "messageId": "ajs-next-4f0c1e9f2b8d4a7e9c3b5d6a7e8f9a0b",
    "timestamp": "2026-11-23T10:00:00.000Z",
    "sentAt": "2026-11-23T10:00:00.120Z",
    "integrations": {},
    "context": {
        "page": {"path": "/shop/blue-t-shirt", "referrer": "https://www.example.com/shop", "search": "?ref=home",
                 "title": "Blue T-shirt | Example shop", "url": "https://www.example.com/shop/blue-t-shirt?ref=home"},
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 "
                     "Safari/537.36",
        "userAgentData": {"brands": [{"brand": "Chromium", "version": "156"}], "mobile": False, "platform": "Linux"},
        "locale": "en-US",
        "library": {"name": "analytics.js", "version": "npm:next-1.84.3"},
        "campaign": {"name": "winter", "source": "newsletter", "medium": "email"},
    },
}

#: Runs unchanged under CPython and in the page's Pyodide, so the two throughputs are comparable.
RATE_CODE = r'''
import json as _json
import time as _time

from cio_browser import Settings as _Settings, map_event as _map_event


def _bench_map_rate(event_json, settings_json, seconds):
    """map_event calls per second on one event, after a warm-up, timed for at least `seconds`."""
    event = _json.loads(event_json)
    settings = _Settings.from_dict(_json.loads(settings_json))
    result = _map_event(event, settings, batch=settings.batching, now_ms=1_795_428_000_000)
    if not result.items or result.errors:
        raise AssertionError(f"the benchmark event does not map cleanly: {result}")
    for _ in range(50):
        _map_event(event, settings, batch=settings.batching, now_ms=1_795_428_000_000)
    n = 0
    t0 = _time.perf_counter()
    while True:
        for _ in range(100):
            _map_event(event, settings, batch=settings.batching, now_ms=1_795_428_000_000)
        n += 100
        elapsed = _time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed
'''

#: Reads what the page measured: marks, navigation + resource timing, long tasks, long animation frames.
COLLECT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    now: performance.now(),
    marks: Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime])),
    nav: { transfer: nav.transferSize, decoded: nav.decodedBodySize, load: nav.loadEventEnd,
           dcl: nav.domContentLoadedEventEnd },
    res: performance.getEntriesByType('resource').map(r => ({
      name: r.name, start: r.startTime, end: r.responseEnd, transfer: r.transferSize,
      encoded: r.encodedBodySize, decoded: r.decodedBodySize })),
    longtasks: window.__bench.longtasks, loafs: window.__bench.loafs, unsupported: window.__bench.unsupported,
  };
}"""

#: Isolated calls, one every `gap` ms: the latency an event sees when nothing is queued ahead of it.
PACED_JS = """async ({n, gap, tag, props}) => {
  const sent = [];
  for (let i = 0; i < n; i++) {
    const id = tag + '-' + i;
    sent.push([id, Date.now()]);
    window.analytics.track('Bench Event', Object.assign({bench_id: id}, props));
    await new Promise(r => setTimeout(r, gap));
  }
  return sent;
}"""

#: 1 000 calls in one synchronous loop, as a busy page (or a replayed queue) would make them. The loop runs in a
#: task of the page's own (setTimeout), not in the DevTools task of page.evaluate, so it is observed like any
#: other page work; the mark anchors the trace to the page's clock.
BURST_JS = """({n, tag, props}) => new Promise(resolve => setTimeout(() => {
  performance.mark('bench:burst');
  const sent = new Array(n);
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    sent[i] = Date.now();
    promises[i] = window.analytics.track('Bench Event', Object.assign({bench_id: tag + '-' + i}, props));
  }
  const t1 = performance.now();
  window.__benchResolved = null;
  Promise.all(promises).then(() => { window.__benchResolved = performance.now(); });
  const marks = performance.getEntriesByName('bench:burst');
  resolve({sent, t0, t1, mark: marks[marks.length - 1].startTime});
}, 0))"""

#: What DevTools draws as tasks (RunTask) plus the performance marks (blink.user_timing) that align the trace clock
#: with the page's. Nothing heavier: tracing must not change what it measures.
TRACE_CATEGORIES = ["disabled-by-default-devtools.timeline", "blink.user_timing"]


# ----------------------------------------------------------------------------------------------------------------
# Variants
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """The servers every variant talks to."""

    sink: Sink
    collector: Collector
    blackhole: Blackhole
    cdp_version: str
    #: The init script (bench/pages/instrument.js).
    instrument: str
    #: Trace loads and bursts (--no-trace turns it off).
    trace: bool
    #: The command line (workload sizes).
    args: argparse.Namespace


@dataclass(frozen=True)
class Variant:
    """One column of the table: a page, the mark that means "ready", and what the harness must inject."""

    key: str
    title: str
    path: str
    ready_mark: str
    init: Callable[[Env], str]
    #: Where its events go: "sink" (cio_browser), "collector" (CDP SDK), "none" (analytics.js alone), or None
    #: (no analytics object: no track workload).
    delivery: str | None = None
    #: The page exposes a Pyodide (window.cioBrowser.pyodide) and the loader's marks.
    cio: bool = False


def _cio_settings(env: Env, **extra: Any) -> str:
    settings = {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": env.sink.url, **extra}
    return f"window.cioBrowserSettings = {json.dumps(settings)};"


def _cdp_settings(env: Env) -> str:
    return f"window.benchCdp = {json.dumps({'writeKey': CDP_WRITE_KEY, 'apiHost': env.collector.api_host})};"


VARIANTS: list[Variant] = [
    Variant("cio", "(a) cio_browser, boot: idle", "/test.html", "cio-browser:ready",
            lambda env: _cio_settings(env, boot="idle"), delivery="sink", cio=True),
    # After "ready" the eager variant runs exactly the same code, so it skips the track workload (saves time).
    Variant("cio-eager", "(a') cio_browser, boot: eager", "/test.html", "cio-browser:ready",
            lambda env: _cio_settings(env, boot="eager"), cio=True),
    Variant("cio-worker", "(a'') cio_browser, boot: worker (default)", "/test.html", "cio-browser:ready",
            lambda env: _cio_settings(env, boot="worker"), delivery="sink", cio=True),
    Variant("cdp", "(b) cdp-analytics-browser", "/bench/cdp.html", "bench:ready", lambda env: _cdp_settings(env),
            delivery="collector"),
    Variant("ajs", "analytics.js 2.0 alone", "/bench/ajs.html", "bench:ready",
            lambda env: "window.cioBrowserSettings = {};", delivery="none"),
    Variant("floor", "(c) no analytics (floor)", "/bench/floor.html", "bench:load", lambda env: ""),
    Variant("bare", "baseline: bare loadPyodide + import", "/bench/bare.html", "bench:ready", lambda env: ""),
]


# ----------------------------------------------------------------------------------------------------------------
# Preparing the site
# ----------------------------------------------------------------------------------------------------------------


def _npm(*args: str) -> str:
    out = subprocess.run(["npm", *args], check=True, capture_output=True, text=True, cwd=CACHE)
    return out.stdout.strip()


def fetch_cdp(version: str | None) -> tuple[str, Path]:
    """The CDP SDK tarball: ``npm pack`` of the registry's latest (or ``version``), cached in bench/.cache/npm.

    Offline (npm fails at once), the newest cached tarball is used, so a second run needs no registry.
    """
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    cached = sorted(NPM_CACHE.glob("customerio-cdp-analytics-browser-*.tgz"), key=lambda p: p.stat().st_mtime)
    if version is None:
        try:
            version = _npm("view", CDP_PACKAGE, "version")
        except (OSError, subprocess.CalledProcessError) as exc:
            if not cached:
                raise SystemExit(f"cannot ask the npm registry for {CDP_PACKAGE} and nothing is cached: {exc}") from exc
            tarball = cached[-1]
            version = tarball.name.removeprefix("customerio-cdp-analytics-browser-").removesuffix(".tgz")
            print(f"npm registry unreachable; using cached {tarball.name}", file=sys.stderr)
            return version, tarball
    tarball = NPM_CACHE / f"customerio-cdp-analytics-browser-{version}.tgz"
    if not tarball.exists():
        subprocess.run(["npm", "pack", f"{CDP_PACKAGE}@{version}", "--pack-destination", str(NPM_CACHE)],
                       check=True, capture_output=True, text=True, cwd=CACHE)
    return version, tarball


def _extract_umd(tarball: Path, dest: Path) -> None:
    """Copy ``package/dist/umd/*.js`` out of the tarball (the .gz twins are not needed: the sink gzips)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            name = member.name
            if not (member.isfile() and name.startswith("package/dist/umd/") and name.endswith(".js")):
                continue
            leaf = Path(name).name
            if "/" in name.removeprefix("package/dist/umd/") or leaf.startswith("."):
                continue
            source = tar.extractfile(member)
            if source is not None:
                (dest / leaf).write_bytes(source.read())


def prepare_site(out: Path, site: Path | None, cdp_version: str, cdp_tarball: Path) -> dict[str, Any]:
    """Assemble the served site in ``out`` (a temporary folder: 20 MB of generated files, a new Pyodide snapshot
    per build, have no business in the work tree): a fresh ``build.py`` of this tree (or links to the built
    ``site``), the bench pages under /bench/, and the CDP SDK's UMD build under /vendor/ (immutable caching, like
    analytics.js). Returns the site's manifest.
    """
    if site is None:
        cmd = [sys.executable, str(ROOT / "build.py"), "--out", str(out), "--quiet"]
        if subprocess.run([*cmd, "--offline"], cwd=ROOT).returncode != 0:
            print("offline build failed (cold .cache/?); building with registry access", file=sys.stderr)
            subprocess.run(cmd, check=True, cwd=ROOT)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for entry in site.resolve().iterdir():
            (out / entry.name).symlink_to(entry)
    bench_dir = out / "bench"
    if bench_dir.is_symlink() or bench_dir.exists():
        raise SystemExit(f"{site or out} already has a bench/ folder; refusing to mix it with bench/pages")
    bench_dir.mkdir()
    for page in PAGES.iterdir():
        if page.suffix == ".in":
            text = page.read_text().replace("@VERSION@", cdp_version)
            (bench_dir / page.stem).write_text(text)
        elif page.name != "instrument.js":
            shutil.copy2(page, bench_dir / page.name)
    _extract_umd(cdp_tarball, out / "vendor" / f"cdp-analytics-browser-{cdp_version}")
    return json.loads((out / "manifest.json").read_text())


def prewarm(sink: Sink, site: Path) -> None:
    """HEAD every file with gzip accepted, so the sink compresses each once *before* anything is timed."""
    for path in sorted(site.rglob("*")):
        if path.is_file():
            url = f"{sink.url}/{path.relative_to(site).as_posix()}"
            request = urllib.request.Request(url, method="HEAD", headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()


# ----------------------------------------------------------------------------------------------------------------
# Statistics and small helpers
# ----------------------------------------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no data."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Iterable[float | None]) -> float | None:
    data = [v for v in values if v is not None]
    return statistics.median(data) if data else None


def overlap(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


def busy(tasks: list[dict[str, float]], lo: float, hi: float) -> tuple[float, float, int]:
    """Long-task time inside [lo, hi]: (total ms, longest single task's share, number of tasks touching it)."""
    parts = [overlap(t["start"], t["start"] + t["duration"], lo, hi) for t in tasks]
    parts = [p for p in parts if p > 0]
    return sum(parts), max(parts, default=0.0), len(parts)


def bench_ids(body: Any) -> list[str]:
    """Every ``bench_id`` anywhere in a request body (single events, CDP batches, Customer.io v2 batches)."""
    found: list[str] = []
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            value = node.get("bench_id")
            if isinstance(value, str):
                found.append(value)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return found


def trace_long_tasks(raw: bytes, anchor: str, anchor_ms: float) -> list[dict[str, float]] | None:
    """Top-level main-thread tasks over 50 ms from a Chromium trace, in the page's clock (ms from navigation).

    The page's main thread is the one that recorded the ``anchor`` performance mark, whose page time is
    ``anchor_ms``; None when the mark is not in the trace.
    """
    data = json.loads(raw)
    events = data["traceEvents"] if isinstance(data, dict) else data
    mark = next((e for e in events if e.get("name") == anchor and "user_timing" in e.get("cat", "")), None)
    if mark is None:
        return None
    thread = (mark["pid"], mark["tid"])
    offset = mark["ts"] / 1000.0 - anchor_ms
    spans = sorted((e["ts"] / 1000.0 - offset, e["dur"] / 1000.0) for e in events
                   if e.get("ph") == "X" and e.get("name") == "RunTask" and (e["pid"], e["tid"]) == thread
                   and e.get("dur", 0) > 50_000)
    tasks: list[dict[str, float]] = []
    for start, duration in spans:
        if tasks and start < tasks[-1]["start"] + tasks[-1]["duration"]:
            continue  # nested in the previous task (a nested run loop): already counted
        tasks.append({"start": start, "duration": duration})
    return tasks


class Tracer:
    """Chromium tracing around one load or burst; a no-op when tracing is off. Always stopped, even on errors."""

    def __init__(self, browser: Any, enabled: bool) -> None:
        self.browser = browser
        self.enabled = enabled
        self.active = False

    def start(self) -> None:
        if self.enabled:
            self.browser.start_tracing(categories=TRACE_CATEGORIES)
            self.active = True

    def stop(self) -> bytes | None:
        if not self.active:
            return None
        self.active = False
        return self.browser.stop_tracing()


class Arrivals:
    """Wall-clock arrival (ms since the epoch) of each bench_id at the variant's endpoint."""

    #: Converts the sink's time.monotonic() stamps to the wall clock the page's Date.now() reads.
    MONO_TO_WALL = time.time() - time.monotonic()

    def __init__(self, env: Env, delivery: str) -> None:
        self.env = env
        self.delivery = delivery
        self.first: dict[str, float] = {}
        self._seen = 0

    def reset(self) -> None:
        if self.delivery == "sink":
            self.env.sink.reset()
        elif self.delivery == "collector":
            self.env.collector.reset()
        self.first.clear()
        self._seen = 0

    def requests(self) -> list[tuple[float, str, Any]]:
        """(wall ms, method + path, body) of every API request since the last reset (preflights excluded)."""
        if self.delivery == "sink":
            return [((r.time + self.MONO_TO_WALL) * 1000.0, f"{r.method} {r.path}", r.body)
                    for r in self.env.sink.requests]
        if self.delivery == "collector":
            return [(h.time * 1000.0, f"{h.method} {h.path}", h.body)
                    for h in self.env.collector.hits() if h.method != "OPTIONS"]
        return []

    def preflights(self) -> int:
        if self.delivery == "collector":
            return sum(1 for h in self.env.collector.hits() if h.method == "OPTIONS")
        return 0  # the sink answers preflights without recording them; cio_browser's endpoint is same-origin here

    def update(self) -> int:
        reqs = self.requests()
        for wall, _, body in reqs[self._seen:]:
            for ident in bench_ids(body):
                self.first.setdefault(ident, wall)
        self._seen = len(reqs)
        return len(self.first)

    def wait(self, page: Any, ids: list[str], timeout: float = DELIVERY_TIMEOUT_S) -> None:
        """Poll (through Playwright, so the page keeps running) until every id arrived."""
        deadline = time.monotonic() + timeout
        wanted = set(ids)
        while not wanted.issubset(self.first):
            self.update()
            if wanted.issubset(self.first):
                break
            if time.monotonic() > deadline:
                missing = len(wanted - set(self.first))
                raise TimeoutError(f"{missing} of {len(wanted)} events never reached the endpoint")
            page.wait_for_timeout(20)


# ----------------------------------------------------------------------------------------------------------------
# Measuring one page load, the track workloads, the mapping throughput
# ----------------------------------------------------------------------------------------------------------------


def wait_ready(page: Any, mark: str) -> float:
    """Navigation → ``mark`` (ms), then wait until ``AFTER_READY_MS`` later so trailing work is observed."""
    ready = page.wait_for_function(
        "mark => { const m = performance.getEntriesByName(mark); return m.length ? m[0].startTime : null; }",
        arg=mark, polling=20, timeout=READY_TIMEOUT_MS,
    ).json_value()
    page.wait_for_function("t => performance.now() >= t", arg=ready + AFTER_READY_MS, polling=50,
                           timeout=READY_TIMEOUT_MS)
    return float(ready)


def _path(url: str) -> str:
    return re.sub(r"^https?://127\.0\.0\.1:\d+", "", url)


def phases_of(snap: dict[str, Any], ready: float) -> list[tuple[str, float, float]]:
    """Boot phases of a Pyodide page, from the loader's marks and resource timing (ms from navigation)."""
    marks = snap["marks"]
    res = {_path(r["name"]).rsplit("/", 1)[-1]: r for r in snap["res"]}
    boot = res["manifest.json"]["start"] if "manifest.json" in res else None
    wasm = res["pyodide.asm.wasm"]["end"] if "pyodide.asm.wasm" in res else None
    runtime = marks.get("cio-browser:runtime", marks.get("bench:runtime"))
    imported = marks.get("cio-browser:imported", ready)  # the bare page's import ends at its ready mark
    if boot is None or wasm is None or runtime is None:
        return []
    return [
        ("1. page: HTML, analytics.js, loader (until boot starts)", 0.0, boot),
        ("2. boot → wasm downloaded (pyodide.mjs + pyodide.asm.mjs evaluated)", boot, wasm),
        ("3. wasm downloaded → runtime mark (instantiate; snapshot restore or Python start; wheels)", wasm,
         runtime),
        ("4. import cio_browser.browser (bare page: import cio_browser)", runtime, imported),
        ("5. browser.start (engine)", imported, ready),
        ("6. first second after ready", ready, ready + AFTER_READY_MS),
    ]


def load_metrics(page: Any, variant: Variant, tracer: Tracer, navigate: Callable[[], Any]) -> dict[str, Any]:
    """Navigate (or reload), wait for ready + 1 s, and read bytes, times and long tasks of that load."""
    tracer.start()
    navigate()
    ready = wait_ready(page, variant.ready_mark)
    snap = page.evaluate(COLLECT_JS)
    raw = tracer.stop()
    traced = trace_long_tasks(raw, variant.ready_mark, ready) if raw else None
    end = ready + AFTER_READY_MS
    res = [r for r in snap["res"] if r["start"] < end]
    total, longest, count = busy(snap["longtasks"], 0.0, end)
    out: dict[str, Any] = {
        "ready": ready,
        "load": snap["nav"]["load"],
        "bytes": snap["nav"]["transfer"] + sum(r["transfer"] for r in res),
        "decoded": snap["nav"]["decoded"] + sum(r["decoded"] for r in res),
        "requests": 1 + len(res),
        "lt_total": total, "lt_max": longest, "lt_count": count,
        "longtasks": snap["longtasks"], "loafs": snap["loafs"], "unsupported": snap["unsupported"],
        "trace_tasks": traced,
        "marks": snap["marks"],
        "resources": [(_path(r["name"]), r["start"], r["end"], r["transfer"]) for r in res],
        "not_local": [r["name"] for r in snap["res"] if NOT_LOCAL.match(r["name"])],
    }
    if traced is not None:
        out["tr_total"], out["tr_max"], out["tr_count"] = busy(traced, 0.0, end)
    if variant.cio:
        out["boot_mode"] = page.evaluate("() => window.cioBrowser.bootMode || 'start'")
    if variant.cio or variant.key == "bare":
        tasks = traced if traced is not None else snap["longtasks"]
        out["phase_source"] = "trace" if traced is not None else "longtask"
        out["phases"] = [(name, lo, hi, busy(tasks, lo, hi)[0]) for name, lo, hi in phases_of(snap, ready)]
    return out


#: Resolves (ms waited) once no snapshot-making worker runs: the page restored one, or saving one has ended.
SNAPSHOT_SETTLED_JS = """() => new Promise((resolve) => {
  const t0 = performance.now();
  const done = () => resolve(performance.now() - t0);
  const api = window.cioBrowser;
  if (!api || !api.bootMode || api.bootMode.indexOf('snapshot') >= 0 || api.bootMode === 'external'
      || api.snapshotSaved !== undefined) return done();
  // a page that took the tab's worker over makes a snapshot only when the browser holds none (the boot hint)
  if (api.bootMode === 'worker-reused' && localStorage.getItem('cio_browser:snapshot') === '1') return done();
  addEventListener('cio-browser:snapshot', done);
  setTimeout(done, 60000);
})"""


def track_workloads(page: Any, env: Env, variant: Variant, run: int, tracer: Tracer) -> dict[str, Any]:
    """Isolated calls (latency without queueing), then a 1 000-call burst (throughput, long tasks, requests)."""
    assert variant.delivery is not None
    args = env.args
    arrivals = Arrivals(env, variant.delivery)
    out: dict[str, Any] = {}
    endpoint = variant.delivery in ("sink", "collector")

    if variant.key.startswith("cio"):
        # Steady state: after a boot without a stored snapshot the page makes one in a second worker (a whole
        # Python start, 1 s after ready); on two cores the calls would otherwise measure that, once per visitor.
        out["snapshot_wait_ms"] = page.evaluate(SNAPSHOT_SETTLED_JS)
    if endpoint and args.paced:
        arrivals.reset()
        sent = page.evaluate(PACED_JS, {"n": args.paced, "gap": 80, "tag": f"p{run}", "props": TRACK_PROPS})
        arrivals.wait(page, [ident for ident, _ in sent])
        lat = [arrivals.first[ident] - at for ident, at in sent]
        out["paced_p50"], out["paced_p95"] = percentile(lat, 50), percentile(lat, 95)

    arrivals.reset()
    tag = f"b{run}"
    tracer.start()
    burst = page.evaluate(BURST_JS, {"n": args.events, "tag": tag, "props": TRACK_PROPS})
    ids = [f"{tag}-{i}" for i in range(args.events)]
    t0 = burst["t0"]
    out["loop_ms"] = burst["t1"] - t0
    if endpoint:
        arrivals.wait(page, ids)
        lat = [arrivals.first[ident] - at for ident, at in zip(ids, burst["sent"], strict=True)]
        out["burst_p50"], out["burst_p95"] = percentile(lat, 50), percentile(lat, 95)
        out["delivered_ms"] = max(arrivals.first[i] for i in ids) - burst["sent"][0]
    page.wait_for_function("() => window.__benchResolved !== null", polling=20, timeout=READY_TIMEOUT_MS)
    page.wait_for_timeout(AFTER_BURST_MS)
    tail = page.evaluate("t0 => ({now: performance.now(), resolved: window.__benchResolved,"
                         " tasks: window.__bench.longtasks.filter(t => t.start + t.duration > t0)})", t0)
    raw = tracer.stop()
    out["resolved_ms"] = tail["resolved"] - t0
    out["burst_lt_total"], out["burst_lt_max"], _ = busy(tail["tasks"], t0, tail["now"])
    traced = trace_long_tasks(raw, "bench:burst", burst["mark"]) if raw else None
    if traced is not None:
        out["burst_tr_total"], out["burst_tr_max"], _ = busy(traced, t0, tail["now"])
    if endpoint:
        arrivals.update()
        reqs = arrivals.requests()
        out["burst_requests"] = len(reqs)
        out["burst_preflights"] = arrivals.preflights()
        out["burst_paths"] = dict(Counter(label for _, label, _ in reqs))
        # Lost or duplicated events would make the comparison meaningless: count them.
        received = Counter(i for _, _, body in reqs for i in bench_ids(body) if i.startswith(tag + "-"))
        out["burst_missing"] = sum(1 for i in ids if i not in received)
        out["burst_duplicates"] = sum(c - 1 for c in received.values() if c > 1)
    return out


def pyodide_rate(page: Any, seconds: float) -> float:
    """map_event calls/s inside the page's own Pyodide (the one the destination runs in)."""
    page.evaluate("code => window.cioBrowser.pyodide.runPython(code)", RATE_CODE)
    return float(page.evaluate(
        "([e, s, t]) => window.cioBrowser.pyodide.globals.get('_bench_map_rate')(e, s, t)",
        [json.dumps(TYPICAL_TRACK_EVENT), json.dumps({"siteId": SITE_ID, "apiKey": API_KEY}), seconds],
    ))


def cpython_rate(seconds: float, repeats: int = 3) -> float:
    """The same loop under this CPython, in-process (median of ``repeats``)."""
    namespace: dict[str, Any] = {}
    exec(RATE_CODE, namespace)  # our own constant, shared verbatim with the Pyodide measurement
    fn = namespace["_bench_map_rate"]
    event, settings = json.dumps(TYPICAL_TRACK_EVENT), json.dumps({"siteId": SITE_ID, "apiKey": API_KEY})
    return statistics.median(fn(event, settings, seconds) for _ in range(repeats))


class Probe:
    """A fresh browser context + page for one variant, with its console errors and non-local requests."""

    def __init__(self, browser: Any, env: Env, variant: Variant) -> None:
        self.env = env
        self.errors: list[str] = []
        self.not_local: list[str] = []
        env.blackhole.take()  # what was refused before this context opened belongs to someone else
        self.context = browser.new_context()
        self.context.add_init_script(env.instrument)
        script = variant.init(env)
        if script:
            self.context.add_init_script(script)
        # Events only (no route): a route would switch the HTTP cache off.
        self.context.on("request", lambda req: self.not_local.append(req.url) if NOT_LOCAL.match(req.url) else None)
        self.page = self.context.new_page()
        self.page.set_default_timeout(READY_TIMEOUT_MS)
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def close(self) -> dict[str, list[str]]:
        """Close the context; returns what tried to leave the machine while it was open."""
        self.context.close()
        return {"blocked": self.env.blackhole.take(), "not_local": self.not_local}


def measure(browser: Any, env: Env, variant: Variant, run: int, *, map_seconds: float) -> dict[str, Any]:
    """One run of one variant: cold load (fresh context), warm reload, then the track workloads."""
    probe = Probe(browser, env, variant)
    page = probe.page
    tracer = Tracer(browser, env.trace)
    result: dict[str, Any] = {}
    try:
        result["cold"] = load_metrics(page, variant, tracer, lambda: page.goto(env.sink.url + variant.path))
        result["warm"] = load_metrics(page, variant, tracer, page.reload)
        if variant.delivery is not None:
            result.update(track_workloads(page, env, variant, run, tracer))
        if variant.key == "cio" and map_seconds > 0:
            result["pyodide_rate"] = pyodide_rate(page, map_seconds)
        page.evaluate("0")  # one more round trip: lets Playwright hand over console events still queued
    except Exception as exc:  # keep the other runs: one failed run is reported, not fatal
        result["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    finally:
        if tracer.active:
            tracer.stop()
        result.update(probe.close())
    result["errors"] = probe.errors
    return result


# ----------------------------------------------------------------------------------------------------------------
# The profiled diagnostic load
# ----------------------------------------------------------------------------------------------------------------

#: (bucket, predicate on a JS frame), by priority: the first bucket any frame of a sample's stack matches wins.
PROFILE_BUCKETS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("pyimport (cio_browser.browser; bare page: cio_browser)", lambda fn, url: fn == "pyimport"),
    ("unpack the cio_browser wheel after a snapshot restore (unpackArchive)", lambda fn, url: fn == "unpackArchive"),
    ("install wheels (loadPackage)", lambda fn, url: fn in ("installPackage", "loadPackageInner",
                                                             "downloadAndInstall")),
    ("link Pyodide's shared libraries (loadDylibs)", lambda fn, url: fn == "loadDylibs"),
    ("Python interpreter start (callMain)", lambda fn, url: fn == "callMain"),
    ("Pyodide bootstrap: stdlib + pyodide imports (finalizeBootstrap)",
     lambda fn, url: fn == "API.finalizeBootstrap"),
    ("wasm instantiate, snapshot restore (receiveInstance)",
     lambda fn, url: fn in ("receiveInstance", "instantiateAsync")),
    ("browser.start + loader glue (cio-browser.js)", lambda fn, url: url.endswith("/cio-browser.js")),
    ("analytics.js 2.0", lambda fn, url: "/analytics-next-" in url or url.endswith("/test-setup.js")),
    ("other Pyodide JS (module evaluation, loader)", lambda fn, url: "/pyodide-" in url),
    ("garbage collection", lambda fn, url: fn == "(garbage collector)"),
    ("native, no JS on the stack: JS parse/compile, wasm compile, gzip inflate (DecompressionStream), copies",
     lambda fn, url: fn == "(program)"),
]


def profile_cold_load(browser: Any, env: Env, variant: Variant) -> dict[str, Any]:
    """One cold load under the V8 sampling profiler: main-thread time per boot bucket until ready + 1 s."""
    probe = Probe(browser, env, variant)
    try:
        cdp = probe.context.new_cdp_session(probe.page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
        probe.page.goto(env.sink.url + variant.path)
        ready = wait_ready(probe.page, variant.ready_mark)
        profile = cdp.send("Profiler.stop")["profile"]
    finally:
        leaks = probe.close()
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", [])}
    buckets: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frames = []
        node: int | None = sample
        while node is not None:
            frame = nodes[node]["callFrame"]
            if not frame["functionName"].startswith("wasm-function"):
                frames.append((frame["functionName"], frame["url"]))
            node = parent.get(node)
        if frames and frames[0][0] in ("(idle)", "(root)"):
            continue
        bucket = next((name for name, match in PROFILE_BUCKETS if any(match(fn, url) for fn, url in frames)),
                      "other")
        buckets[bucket] += delta / 1000.0
        for fn, url in set(frames):
            if fn not in ("(root)", "(program)", "js-to-wasm", "wasm-to-js", ""):
                inclusive[f"{fn} ({_path(url).rsplit('/', 1)[-1] or 'native'})"] += delta / 1000.0
    return {"ready": ready, "buckets": dict(buckets), "inclusive": dict(inclusive.most_common(15)),
            "errors": probe.errors, **leaks}


# ----------------------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1e6:.2f} MB" if value >= 100_000 else f"{value / 1e3:.1f} kB"


def fmt_num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_range(values: list[float], fmt: Callable[[float | None], str]) -> str:
    if not values:
        return "—"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def machine_info(browser_version: str, manifest: dict[str, Any], cdp_version: str) -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        commit += " + uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    from importlib.metadata import PackageNotFoundError, version

    try:
        playwright_version = version("playwright")
    except PackageNotFoundError:
        playwright_version = "?"
    versions = manifest.get("versions", {})
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.platform()}",
        f"- browser: Chromium {browser_version} ({CHROMIUM}), headless, driven by Playwright {playwright_version}",
        f"- Python {platform.python_version()} (CPython, host); Pyodide {versions.get('pyodide', '?')} "
        f"(Python {versions.get('python', '?')})",
        f"- cio_browser {manifest.get('version', '?')} (build {manifest.get('build', '?')}, git {commit}); "
        f"analytics.js 2.0 (@segment/analytics-next) {versions.get('analytics_next', '?')}; "
        f"{CDP_PACKAGE} {cdp_version} (npm latest)",
    ]


def build_report(results: dict[str, list[dict[str, Any]]], variants: list[Variant], meta: dict[str, Any]) -> str:
    ok = {v.key: [r for r in results[v.key] if "error" not in r] for v in variants}

    def vals(key: str, path: Callable[[dict[str, Any]], Any]) -> list[float]:
        out = []
        for r in ok.get(key, []):
            try:
                value = path(r)
            except (KeyError, TypeError):
                continue
            if value is not None:
                out.append(float(value))
        return out

    def row(label: str, path: Callable[[dict[str, Any]], Any], fmt: Callable[[float | None], str],
            spread: bool = False, only: Callable[[Variant], bool] = lambda v: True) -> str:
        cells = []
        for v in variants:
            data = vals(v.key, path) if only(v) else []
            cells.append((fmt_range(data, fmt) if spread else fmt(median(data))) if data else "—")
        return f"| {label} | " + " | ".join(cells) + " |"

    bare_cold = median(vals("bare", lambda r: r["cold"]["ready"])) if "bare" in ok else None
    bare_warm = median(vals("bare", lambda r: r["warm"]["ready"])) if "bare" in ok else None

    def ratio_row(label: str, which: str, base: float | None) -> str:
        cells = []
        for v in variants:
            mine = median(vals(v.key, lambda r: r[which]["ready"]))
            cells.append(f"{mine / base:.2f}" if v.cio and mine is not None and base else "—")
        return f"| {label} | " + " | ".join(cells) + " |"

    def mode_row() -> str:
        cells = []
        for v in variants:
            modes = Counter(f"{r[w].get('boot_mode')}" for r in ok[v.key] for w in ("cold", "warm")) if v.cio else {}
            cells.append(", ".join(f"{m} ×{c}" for m, c in modes.items()) or "—")
        return "| loader boot path, cold + warm loads (`cioBrowser.bootMode`) | " + " | ".join(cells) + " |"

    def pair_row(label: str, first: str, second: str) -> str:
        cells = []
        for v in variants:
            a = median(vals(v.key, lambda r: r["cold"][first]))
            b = median(vals(v.key, lambda r: r["cold"].get(second)))
            cells.append(f"{fmt_num(a)} / {fmt_num(b)}")
        return f"| {label} | " + " | ".join(cells) + " |"

    def has_endpoint(v: Variant) -> bool:
        return v.delivery in ("sink", "collector")

    def has_workload(v: Variant) -> bool:
        return v.delivery is not None

    head = "| metric (median of runs) | " + " | ".join(v.title for v in variants) + " |"
    lines = [
        f"# cio_browser benchmark — {meta['date']}",
        "",
        f"`{meta['command']}` — {meta['runs']} runs per variant, {meta['elapsed']:.0f} s in all. "
        f"Load average before/after: {meta['load_before']} / {meta['load_after']}.",
        "",
        head,
        "|" + "---|" * (len(variants) + 1),
        row("bytes transferred, cold (transferSize, to ready + 1 s)", lambda r: r["cold"]["bytes"], fmt_bytes),
        row("… decoded size of the same responses", lambda r: r["cold"]["decoded"], fmt_bytes),
        row("requests, cold (document + resources)", lambda r: r["cold"]["requests"], fmt_num),
        row("bytes transferred, warm reload", lambda r: r["warm"]["bytes"], fmt_bytes),
        row("navigation → load event, cold", lambda r: r["cold"]["load"], fmt_ms),
        row("**navigation → plugin ready, cold** (min–max)", lambda r: r["cold"]["ready"], fmt_ms, spread=True),
        row("**navigation → plugin ready, warm** (min–max)", lambda r: r["warm"]["ready"], fmt_ms, spread=True),
        mode_row(),
        ratio_row("ready ÷ bare loadPyodide+import, cold (target ≤ 0.5)", "cold", bare_cold),
        ratio_row("ready ÷ bare loadPyodide+import, warm (target ≤ 0.5)", "warm", bare_warm),
        row("long-task total during load (to ready + 1 s), cold — `longtask` observer",
            lambda r: r["cold"]["lt_total"], fmt_ms),
        row("… same window, Chromium trace (main-thread tasks > 50 ms)", lambda r: r["cold"].get("tr_total"), fmt_ms),
        row("… longest single task, cold (trace)", lambda r: r["cold"].get("tr_max"), fmt_ms),
        pair_row("… number of long tasks, cold (observer / trace)", "lt_count", "tr_count"),
        row("long-task total during load, warm — `longtask` observer", lambda r: r["warm"]["lt_total"], fmt_ms),
        row("… same window, Chromium trace", lambda r: r["warm"].get("tr_total"), fmt_ms),
        row("… longest single task, warm (trace)", lambda r: r["warm"].get("tr_max"), fmt_ms),
        row(f"long-task total during {meta['events']:,} track() calls (to all received + 0.5 s) — observer",
            lambda r: r["burst_lt_total"], fmt_ms, only=has_workload),
        row("… same window, Chromium trace", lambda r: r.get("burst_tr_total"), fmt_ms, only=has_workload),
        row("… longest single task (trace)", lambda r: r.get("burst_tr_max"), fmt_ms, only=has_workload),
        row(f"{meta['events']:,} track() calls: the synchronous loop itself", lambda r: r["loop_ms"], fmt_ms,
            only=has_workload),
        row(f"{meta['events']:,} track() promises all resolved after", lambda r: r["resolved_ms"], fmt_ms,
            only=has_workload),
        row(f"{meta['events']:,} events all received by the endpoint after", lambda r: r["delivered_ms"], fmt_ms,
            only=has_endpoint),
        row(f"requests for {meta['events']:,} events", lambda r: r["burst_requests"], fmt_num, only=has_endpoint),
        row(f"call → request received, isolated calls ({meta['paced']}, 80 ms apart), p50",
            lambda r: r["paced_p50"], fmt_ms, only=has_endpoint),
        row("… isolated calls, p95", lambda r: r["paced_p95"], fmt_ms, only=has_endpoint),
        row(f"call → request received, {meta['events']:,}-call burst, p50", lambda r: r["burst_p50"], fmt_ms,
            only=has_endpoint),
        row("… burst, p95", lambda r: r["burst_p95"], fmt_ms, only=has_endpoint),
        "",
        "— = not applicable (no destination, no endpoint, or the eager variant, whose code after ready is the idle "
        "variant's) or not measured. Ready = the loader's `cio-browser:ready` mark (a, a'), the analytics load "
        "promise (b, analytics.js alone), the `load` event (c), `import cio_browser` done (baseline).",
        "",
    ]

    # Mapping throughput.
    py_rates = vals("cio", lambda r: r.get("pyodide_rate"))
    cpy = meta.get("cpython_rate")
    lines += [
        "## `cio_browser.map_event` throughput (one typical track event, batch mode, presets)",
        "",
        "| where | events mapped per second | µs per event |",
        "|---|---|---|",
    ]
    if py_rates:
        rate = statistics.median(py_rates)
        lines.append(f"| Pyodide in Chromium (the destination's own interpreter; median of {len(py_rates)} runs) "
                     f"| {rate:,.0f} | {1e6 / rate:.0f} |")
    if cpy:
        lines.append(f"| CPython {platform.python_version()} in-process (median of 3) | {cpy:,.0f} | {1e6 / cpy:.0f} |")
    if py_rates and cpy:
        lines.append(f"| ratio CPython ÷ Pyodide | {cpy / statistics.median(py_rates):.1f}× | |")
    lines.append("")

    # Long-task breakdown by boot phase.
    phase_keys = [v for v in variants if v.cio or v.key == "bare"]
    if phase_keys:
        lines += ["## Where the main thread is blocked while cio_browser boots (cold, median of runs)", "",
                  "Long-task time inside each phase, from the Chromium trace (main-thread tasks > 50 ms; the "
                  "`longtask` observer where tracing was off). A task that spans a boundary is split at it. "
                  "Phase boundaries: `manifest.json` request start (boot starts), `pyodide.asm.wasm` response end, "
                  "the loader's marks `cio-browser:runtime`, `:imported`, `:ready` (bare page: `bench:runtime`, "
                  "`bench:ready`).", "",
                  "| phase | " + " | ".join(f"{v.title}: blocked / phase length" for v in phase_keys) + " |",
                  "|" + "---|" * (len(phase_keys) + 1)]
        names = []
        for v in phase_keys:
            for r in ok[v.key]:
                for name, *_ in r["cold"].get("phases", []):
                    if name not in names:
                        names.append(name)
        for name in names:
            cells = []
            for v in phase_keys:
                blocked = vals(v.key, lambda r, n=name: next(
                    (p[3] for p in r["cold"].get("phases", []) if p[0] == n), None))
                length = vals(v.key, lambda r, n=name: next(
                    (p[2] - p[1] for p in r["cold"].get("phases", []) if p[0] == n), None))
                cells.append(f"{fmt_ms(median(blocked))} / {fmt_ms(median(length))}" if blocked else "—")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += median_run_tasks(ok, variants)

    titles = {v.key: v.title for v in VARIANTS}
    for key, profile in meta.get("profiles", {}).items():
        total = sum(profile["buckets"].values())
        lines += [f"## What the blocked time is made of: one extra cold load of {titles[key]} under the V8 "
                  "sampling profiler", "",
                  "Non-idle main-thread time from navigation to ready + 1 s, bucketed by the JS frames on the stack "
                  "(Pyodide's wasm has no function names, so wasm time goes to the JS function that called it). "
                  f"The profiler slows the page down (ready took {fmt_ms(profile['ready'])} in this load): read the "
                  "shares, not the absolute numbers.", "",
                  "| bucket | main-thread time | share |", "|---|---|---|"]
        for name, ms in sorted(profile["buckets"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {fmt_ms(ms)} | {100 * ms / total:.0f}% |")
        lines += [f"| total | {fmt_ms(total)} | |", "",
                  "Top JS functions by inclusive time (wasm callees included): "
                  + "; ".join(f"{name} {fmt_ms(ms)}" for name, ms in list(profile["inclusive"].items())[:10]), ""]

    # Offline guard, errors, failed runs.
    lines += ["## Offline guard, console errors, failed runs", "",
              "Refused = reached the black-hole proxy (page or browser), page = requests the page itself made to a "
              "URL that is not 127.0.0.1 (seen by Playwright).", ""]
    if meta.get("startup_blocked"):
        lines.append("- **Chromium itself, at start-up (during the unmeasured warm-up load)** — refused: "
                     + ", ".join(sorted({u.split("?")[0] for u in meta["startup_blocked"]})))
    for v in variants:
        refused = sorted({u.split("?")[0] for r in results[v.key] for u in r.get("blocked", [])})
        page_urls = sorted({u for r in results[v.key] for u in r.get("not_local", [])})
        errors = Counter(e[:160] for r in results[v.key] for e in r.get("errors", []))
        failed = [r["error"] for r in results[v.key] if "error" in r]
        lost = sum(r.get("burst_missing", 0) for r in ok[v.key])
        dups = sum(r.get("burst_duplicates", 0) for r in ok[v.key])
        paths: Counter[str] = Counter()
        for r in ok[v.key]:
            paths.update(r.get("burst_paths", {}))
        parts = [f"{len(ok[v.key])}/{len(results[v.key])} runs ok",
                 f"refused: {len(refused)}" + (f" ({', '.join(refused[:4])})" if refused else ""),
                 f"page requests not to 127.0.0.1: {len(page_urls)}"
                 + (f" ({', '.join(page_urls[:4])})" if page_urls else "")]
        if v.delivery in ("sink", "collector"):
            parts.append(f"events lost/duplicated in bursts: {lost}/{dups}")
            parts.append("burst requests by endpoint: " + ", ".join(f"{k} ×{c}" for k, c in paths.most_common()))
        if errors:
            parts.append("console errors: " + "; ".join(f"{e!r} ×{c}" for e, c in errors.most_common(3)))
        if failed:
            parts.append("failed runs: " + "; ".join(failed))
        lines.append(f"- **{v.title}** — " + "; ".join(parts))
    for key, profile in meta.get("profiles", {}).items():
        if profile["blocked"] or profile["not_local"] or profile["errors"]:
            lines.append(f"- profiled load of {titles[key]}: refused {[u.split('?')[0] for u in profile['blocked']]}, "
                         f"page {profile['not_local']}, errors {profile['errors'][:3]}")
    lines.append("")

    lines += ["## Machine and versions", "", *meta["machine"], "",
              "## How it was measured", "", *METHOD_NOTES, ""]
    return "\n".join(lines)


def median_run_tasks(ok: dict[str, list[dict[str, Any]]], variants: list[Variant]) -> list[str]:
    """The long tasks of the median cold run of (a): phase, whether the page's observer saw them, and the
    long-animation-frame attribution (which callback started the task) when there is one."""
    runs = ok.get("cio") or []
    if not runs or not any(v.key == "cio" for v in variants):
        return []
    runs = sorted(runs, key=lambda r: r["cold"]["ready"])
    run = runs[len(runs) // 2]["cold"]
    traced = run.get("trace_tasks")
    tasks = traced if traced is not None else run["longtasks"]
    phases = run.get("phases", [])
    lines = [f"Long tasks of the median cold run of (a) (ready at {fmt_ms(run['ready'])}), "
             f"from the {'Chromium trace' if traced is not None else '`longtask` observer'}:", "",
             "| starts at | duration | phase(s) | `longtask` observer saw it | script that started it (LoAF) |",
             "|---|---|---|---|---|"]
    for task in sorted(tasks, key=lambda t: t["start"]):
        start, end = task["start"], task["start"] + task["duration"]
        if start > run["ready"] + AFTER_READY_MS or end < 0:
            continue
        names = [name.split(" ", 1)[0].rstrip(".") for name, lo, hi, _ in phases if overlap(start, end, lo, hi) > 0]
        seen = next((t for t in run["longtasks"] if abs(t["start"] - start) < 2.0), None)
        loaf = next((f for f in run["loafs"] if abs(f["start"] - start) < 2.0), None)
        scripts = [f"{_path(s['invoker'])} in {_path(s['source']).rsplit('/', 1)[-1] or '?'} "
                   f"({fmt_ms(s['duration'])})" for s in (loaf or {}).get("scripts", [])]
        what = "; ".join(scripts) or ("no script (browser-internal work or wasm/microtasks)" if loaf else "—")
        saw = f"yes ({fmt_ms(seen['duration'])})" if seen else "**no**"
        lines.append(f"| {fmt_ms(start)} | {fmt_ms(task['duration'])} | {', '.join(names) or '—'} | {saw} | {what} |")
    lines.append("")
    return lines


METHOD_NOTES = [
    "- Each run: a fresh browser context (cold: empty HTTP cache, code cache and storage), navigate, wait for the "
    "variant's ready mark + 1 s, read the page's own performance timeline; reload (warm) and read it again; then "
    "the track workloads on the warm page. Variants are interleaved run by run; one unmeasured cold load of (a') "
    "warms the OS file cache first.",
    "- Served by cio_browser's Sink from a fresh `build.py` of the work tree in a temporary folder (gzip, "
    "`immutable` for /vendor/, ETag revalidation elsewhere), after every file was compressed once. "
    "Bytes = `transferSize` of the document and every resource that started before ready + 1 s (headers "
    "included).",
    "- Long tasks: `PerformanceObserver({type: 'longtask', buffered: true})` installed by an init script, and a "
    "Chromium trace of the same load (`RunTask` > 50 ms on the page's main thread, clock aligned through the ready "
    "mark); totals are clipped to the window. Long animation frames only name the script behind a task. Tracing "
    "costs a little time itself; `--no-trace` turns it off.",
    "- Network guard: Chromium runs with `--proxy-server` pointing at a local black-hole proxy and "
    "`--proxy-bypass-list=127.0.0.1` (in addition to the flags of tests/browser/conftest.py), so anything not for "
    "127.0.0.1 is refused and recorded there; page requests are also matched against `NOT_LOCAL`. Playwright routes "
    "are not used: they disable the HTTP cache and would make warm loads cold.",
    "- (a) cio_browser sends to the Sink on the page's own origin (`endpoint` = sink URL, batching on, "
    "batchSize 50, flushInterval 0): no CORS preflight. (b) sends to `bench/endpoint.py` on another port "
    "(text/plain simple requests: no preflight either), default `standard` delivery (one request per event), "
    "over HTTP/1.1 keep-alive: Chromium opens at most 6 connections per host, where the real cdp.customer.io "
    "would multiplex over HTTP/2.",
    "- Latency: `Date.now()` in the page right before each `analytics.track` vs the endpoint's arrival time on "
    "the same system clock (`time.time()`; the Sink's `time.monotonic()` converted). 1 ms resolution.",
    "- map_event throughput: the same Python loop (`RATE_CODE` in bench/run.py) in the page's Pyodide via "
    "`cioBrowser.pyodide.runPython` and in this CPython; mapping only (no JSON parsing, batching or network).",
    "- The machine is shared with other engineers' test runs (see load average): absolute times are noisy; "
    "compare columns of the same report.",
]


# ----------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (default 5)")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest.md", help="markdown report path")
    parser.add_argument("--variants", default=",".join(v.key for v in VARIANTS),
                        help="comma-separated subset of: " + ", ".join(v.key for v in VARIANTS))
    parser.add_argument("--events", type=int, default=1000, help="track() calls in the burst (default 1000)")
    parser.add_argument("--paced", type=int, default=25, help="isolated track() calls for latency (default 25)")
    parser.add_argument("--map-seconds", type=float, default=1.0, help="time per map_event throughput measurement")
    parser.add_argument("--site", type=Path, help="use this built site (e.g. dist) instead of building the tree")
    parser.add_argument("--cdp-version", help=f"{CDP_PACKAGE} version (default: the registry's latest)")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled diagnostic load")
    parser.add_argument("--no-trace", action="store_true", help="do not trace loads and bursts (observer only)")
    parser.add_argument("--visitor", action="store_true",
                        help="run only what a visitor lives with (bench/visitor.py): bytes, ready and first event "
                             "on localhost and two emulated links, the page's image, memory, bounces")
    parser.add_argument("--visitor-runs", default="3,2,2",
                        help="cold+warm visits per variant on localhost, 9 Mbit/s, 1.6 Mbit/s (default 3,2,2)")
    parser.add_argument("--bounces", type=int, default=10, help="visits per bounce cell (default 10)")
    args = parser.parse_args(argv)
    known = {v.key for v in VARIANTS}
    chosen = [k.strip() for k in args.variants.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in known]
    if unknown or not chosen:
        parser.error(f"unknown variants {unknown}; choose from {sorted(known)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.variant_list = [v for v in VARIANTS if v.key in chosen]
    return args


def run_all(args: argparse.Namespace, site: Path, manifest: dict[str, Any], cdp_version: str) -> dict[str, Any]:
    """Start the servers and the browser, run every variant ``args.runs`` times (interleaved), profile, and
    return ``{"meta": …, "results": {variant: [run, …]}}``."""
    from playwright.sync_api import sync_playwright

    variants: list[Variant] = args.variant_list
    by_key = {v.key: v for v in VARIANTS}
    results: dict[str, list[dict[str, Any]]] = {v.key: [] for v in variants}
    meta: dict[str, Any] = {"profiles": {}}
    sink = Sink(root=str(site), site_id=SITE_ID, api_key=API_KEY, port=0, share_file_cache=True).start()
    collector = Collector().start()
    blackhole = Blackhole().start()
    env = Env(sink, collector, blackhole, cdp_version, (PAGES / "instrument.js").read_text(),
              trace=not args.no_trace, args=args)
    try:
        prewarm(sink, site)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + blackhole.chromium_args)
            try:
                print("warm-up load (not measured) …", file=sys.stderr, flush=True)
                warmup = measure(browser, env, by_key["cio-eager"], -1, map_seconds=0)
                meta["startup_blocked"] = warmup.get("blocked", [])
                for run in range(args.runs):
                    order = variants[run % len(variants):] + variants[:run % len(variants)]
                    for variant in order:
                        t0 = time.monotonic()
                        result = measure(browser, env, variant, run, map_seconds=args.map_seconds)
                        results[variant.key].append(result)
                        status = result.get("error") or (
                            f"cold ready {fmt_ms(result['cold']['ready'])}, warm {fmt_ms(result['warm']['ready'])}"
                            + (f", boot {result['cold'].get('boot_mode')}" if variant.cio else ""))
                        print(f"run {run + 1}/{args.runs} {variant.key:9s} {status} "
                              f"[{time.monotonic() - t0:.1f} s]", file=sys.stderr, flush=True)
                for key in ("cio", "bare"):
                    if args.no_profile or key not in results:
                        continue
                    print(f"profiled diagnostic load of {key} …", file=sys.stderr, flush=True)
                    try:
                        meta["profiles"][key] = profile_cold_load(browser, env, by_key[key])
                    except Exception as exc:  # diagnostic only: the report stands without it
                        print(f"profiled load failed: {exc}", file=sys.stderr)
                meta["machine"] = machine_info(browser.version, manifest, cdp_version)
            finally:
                browser.close()
    finally:
        blackhole.stop()
        collector.stop()
        sink.stop()
    return {"meta": meta, "results": results}


def main_visitor(args: argparse.Namespace) -> int:
    """``--visitor``: bench/visitor.py's measurements, written to bench/results/visitor.md (+ .json)."""
    import visitor
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    load_before = _load_average()
    cdp_version, tarball = fetch_cdp(args.cdp_version)
    site_dir = Path(tempfile.mkdtemp(prefix="cio-bench-site-"))
    counts = [int(n) for n in args.visitor_runs.split(",")]
    runs = dict(zip(visitor.PROFILES, counts, strict=True))
    try:
        manifest = prepare_site(site_dir, args.site, cdp_version, tarball)
        visitor.make_pages(site_dir, cdp_version)
        sink = Sink(root=str(site_dir), site_id=SITE_ID, api_key=API_KEY, port=0, share_file_cache=True).start()
        collector = Collector().start()
        blackhole = Blackhole().start()
        env = Env(sink, collector, blackhole, cdp_version, "", trace=False, args=args)
        # every visit's init script: the settings of cio_browser (default boot) and of the JS SDK
        env = Env(sink, collector, blackhole, cdp_version, _cio_settings(env) + _cdp_settings(env), False, args)
        try:
            with sync_playwright() as p:
                def launch(folder: str) -> Any:
                    return p.chromium.launch_persistent_context(
                        folder, executable_path=CHROMIUM, args=CHROMIUM_ARGS + blackhole.chromium_args)

                log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
                data = visitor.run_visitor(launch, env, runs, args.bounces, log)
                data["blocked"] = blackhole.take()
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                data["machine"] = machine_info(browser.version, manifest, cdp_version)
                browser.close()
        finally:
            blackhole.stop()
            collector.stop()
            sink.stop()
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    out = args.out.with_name("visitor.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(data, default=str) + "\n")
    text = (visitor.report(data) + f"\n\n{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; load average before "
            f"{load_before}, after {_load_average()}; {elapsed / 60:.1f} min.\n" + "\n".join(data["machine"]))
    print(text)
    out.write_text(text + "\n")
    print(f"\nwritten to {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.visitor:
        return main_visitor(args)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set CIO_BROWSER_CHROMIUM")
    started = time.monotonic()
    load_before = _load_average()
    CACHE.mkdir(parents=True, exist_ok=True)
    cdp_version, tarball = fetch_cdp(args.cdp_version)
    site_dir = Path(tempfile.mkdtemp(prefix="cio-bench-site-"))
    try:
        manifest = prepare_site(site_dir, args.site, cdp_version, tarball)
        data = run_all(args, site_dir, manifest, cdp_version)
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
    meta = data["meta"]
    if args.map_seconds > 0:
        meta["cpython_rate"] = cpython_rate(args.map_seconds)
    meta.update({
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "runs": args.runs, "events": args.events, "paced": args.paced,
        "load_before": load_before, "load_after": _load_average(), "elapsed": time.monotonic() - started,
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = args.out.with_suffix(".json")
    raw.write_text(json.dumps(data, default=str) + "\n")  # first, so a report bug never costs the measurements
    report = build_report(data["results"], args.variant_list, meta)
    print(report)
    args.out.write_text(report + "\n")
    print(f"\nwritten to {args.out} (raw data: {raw})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
