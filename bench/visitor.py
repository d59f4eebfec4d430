"""What a visitor lives with (issue 9): bytes, ready, first event, the page's own image, memory, bounces.

Run by ``python bench/run.py --visitor`` (alone, about 10-15 minutes on the shared 2-core machine). Side by side,
in one run, on the same server: cio_browser (default worker boot), Customer.io's JS SDK
(@customerio/cdp-analytics-browser) and the same page without a destination, each with a 500 KB image, on
localhost and on two links emulated with CDP ``Network.emulateNetworkConditions`` (applied to the page's session;
Chromium applies it to the page's dedicated workers as well, which the 1.6 Mbit/s wasm download time confirms).

* **Bytes**: ``request.sizes()`` (body as received, i.e. compressed, plus response headers) of every response the
  page *and its workers* got, from navigation to ready + 10 s, without the HTML document and the image. For
  cio_browser that includes analytics.js itself (the JS SDK bundles its own copy) and the snapshot-making worker.
* **Ready**: the destination's mark (``cio-browser:ready`` / the SDK's ``bench:ready``) from navigation start.
* **First event**: the harness calls ``analytics.page()`` as soon as the page has parsed (DOMContentLoaded); time
  from navigation start to the request's arrival at the local endpoint (both read the system clock).
* **Image**: resource timing ``responseEnd`` of the page's 500 KB image (a BMP of noise: incompressible).
* **Memory**: renderer process RSS (page + its workers share the process) at ready + 10 s, from /proc.
* **Visitors**: every visitor is a Chromium of its own with a fresh profile *on disk*, as a real visitor's browser
  has. Playwright's ``browser.new_context()`` is an incognito profile, which keeps no V8 code cache: its return
  visits compile every script and the whole wasm again, and so measured warm starts about twice as slow as a
  visitor lives them.
* **Warm**: a second page in the same profile after the first visit's snapshot was stored (cio_browser).
* **Next page**: a fresh visitor's first visit, then, 2 s after its first event arrived, the site's next page in
  the same tab (a link followed). cio_browser runs with the worker this Chromium gives it (a SharedWorker the next
  page takes over); that worker's requests are not throttled by the emulation, the page's are.
* **Bounce**: a fresh visitor (cold) navigates away 0.3/1/2/4 s after ``analytics.page()``; delivered means the
  endpoint had the event 5 s later, with no return visit.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: name -> (download bytes/s, upload bytes/s, latency ms); None = no emulation (localhost).
PROFILES: dict[str, tuple[float, float, float] | None] = {
    "localhost": None,
    "9 Mbit/s, 60 ms": (9e6 / 8, 1.5e6 / 8, 60.0),
    "1.6 Mbit/s, 150 ms": (1.6e6 / 8, 0.75e6 / 8, 150.0),
}
IMAGE = "/bench/photo-500k.bmp"
AFTER_READY_S = 10.0
BOUNCE_DELAYS_S = (0.3, 1.0, 2.0, 4.0)
PAGE_CALL = """() => new Promise((resolve) => {
  const go = () => { const t = Date.now(); window.analytics.page('Visit', {}, {messageId: window.__benchId});
                     resolve(t); };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go); else go();
})"""


def make_pages(site: Path, cdp_version: str) -> None:
    """The three visit pages: the same content and image, with cio_browser, with the JS SDK, with neither."""
    bench = site / "bench"
    # A real, decodable image (Chromium cancels an image whose bytes do not decode): a 24-bit BMP of noise,
    # 410 x 410 px = 505 KB that no transfer coding can shrink.
    width = height = 410
    row = (width * 3 + 3) & ~3
    pixels = os.urandom(row * height)
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    (bench / "photo-500k.bmp").write_bytes(header + pixels)
    img = f'<img src="{IMAGE}" alt="" width="400" height="300">'
    head = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>visit</title></head><body>'
    body = "<h1>A shop page</h1><p>" + "Some copy. " * 200 + "</p>" + img
    ajs = '<script src="/vendor/analytics-next-1.84.3/index.js"></script><script src="/test-setup.js"></script>'
    pages = {
        "visit-cio.html": ajs + '<script src="/cio-browser.js"></script>',
        "visit-none.html": ajs + '<script src="/bench/ajs-ready.js"></script>',
        # The machine's yardstick: Pyodide started the textbook way (npm package defaults: the full standard
        # library as source, the source wheel), no analytics.js (the harness's page() call lands on a stub).
        "visit-bare.html": '<script>window.analytics = {page() {}};</script>'
                           '<script type="module" src="/bench/bare.mjs"></script>',
        "visit-cdp.html": f'<script src="/vendor/cdp-analytics-browser-{cdp_version}/index.js"></script>'
                          '<script src="/bench/cdp-setup.js"></script>',
    }
    for name, scripts in pages.items():
        (bench / name).write_text(head + body + scripts + "</body></html>\n")


#: After a browser starts, its own start-up work (Chromium's built-in pages) finishes before the visit begins.
SETTLE_S = 2.0


@contextmanager
def fresh_visitor(launch: Callable[[str], Any]) -> Iterator[tuple[Any, str]]:
    """A new visitor: ``launch(folder)`` starts a persistent Chromium context in a new profile folder; yields the
    context and the folder."""
    folder = tempfile.mkdtemp(prefix="cio-visitor-")
    context = launch(folder)
    try:
        time.sleep(SETTLE_S)
        yield context, folder
    finally:
        context.close()
        shutil.rmtree(folder, ignore_errors=True)


def _proc(pid: str, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return ""


def _renderer_rss(folder: str) -> float | None:
    """Largest renderer RSS (bytes) of the Chromium using profile ``folder``: the open page's process (page + its
    dedicated workers). Renderers descend from the browser process whose command line names the folder."""
    parent: dict[str, str] = {}
    browser = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        status = _proc(entry.name, "status")
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        parent[entry.name] = ppid
        cmd = _proc(entry.name, "cmdline")
        if f"--user-data-dir={folder}" in cmd and "--type=" not in cmd:
            browser = entry.name
    best = None
    for pid in parent:
        if "--type=renderer" not in _proc(pid, "cmdline"):
            continue
        up = pid
        while up in parent and up != browser:
            up = parent[up]
        if up != browser:
            continue
        for line in _proc(pid, "status").splitlines():
            if line.startswith("VmRSS:"):
                rss = float(line.split()[1]) * 1024
                best = rss if best is None else max(best, rss)
    return best


class Visit:
    """One visit in a context: network emulation, every response, the destination's marks."""

    def __init__(self, context: Any, env: Any, kind: str, profile: tuple[float, float, float] | None) -> None:
        self.context, self.env, self.kind, self.profile = context, env, kind, profile
        self.responses: list[tuple[float, Any]] = []
        context.on("response", lambda r: self.responses.append((time.time(), r)))

    def open(self, bench_id: str) -> dict[str, Any]:
        page = self.context.new_page()
        page.set_default_timeout(180_000)
        if self.profile is not None:
            down, up, latency = self.profile
            cdp = self.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency,
                                                          "downloadThroughput": down, "uploadThroughput": up})
        page.add_init_script(f"window.__benchId = {json.dumps(bench_id)};")
        self.page = page
        page.goto(f"{self.env.sink.url}/bench/visit-{self.kind}.html", wait_until="commit")
        called = page.evaluate(PAGE_CALL)
        origin = page.evaluate("() => performance.timeOrigin")
        return {"origin": origin, "called": called}

    def follow(self, bench_id: str) -> dict[str, Any]:
        """The visitor's next page of the site, in the same tab (a link followed)."""
        page = self.page
        page.add_init_script(f"window.__benchId = {json.dumps(bench_id)};")   # runs after the first visit's
        page.goto(f"{self.env.sink.url}/bench/visit-{self.kind}.html?next", wait_until="commit")
        called = page.evaluate(PAGE_CALL)
        return {"origin": page.evaluate("() => performance.timeOrigin"), "called": called}

    def ready_ms(self) -> float | None:
        mark = "cio-browser:ready" if self.kind == "cio" else "bench:ready"
        return self.page.evaluate(f"""() => new Promise((resolve) => {{
          const find = () => performance.getEntriesByName({json.dumps(mark)})[0];
          const poll = () => {{ const m = find(); if (m) resolve(m.startTime); else setTimeout(poll, 20); }};
          poll(); }})""")

    def image_ms(self) -> float | None:
        return self.page.evaluate(f"""() => new Promise((resolve) => {{
          const poll = () => {{
            const e = performance.getEntriesByType('resource').find((r) => r.name.endsWith({json.dumps(IMAGE)}));
            if (e && e.responseEnd > 0) resolve(e.responseEnd); else setTimeout(poll, 20); }};
          poll(); }})""")

    def bytes_until(self, until: float) -> tuple[int, int]:
        total, count = 0, 0
        for at, response in self.responses:
            url = response.url
            if at > until or url.endswith(IMAGE) or "/bench/visit-" in url or "/api/" in url or "/v1/" in url:
                continue
            try:
                sizes = response.request.sizes()
            except Exception:
                continue
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            count += 1
        return total, count


def _arrival(env: Any, kind: str, bench_id: str) -> float | None:
    """Wall-clock arrival (s) of the event with ``bench_id`` at its endpoint, or None."""
    if kind == "cio":
        offset = time.time() - time.monotonic()
        for r in env.sink.requests:
            if bench_id in r.raw.decode("utf-8", "replace"):
                return r.time + offset
        return None
    for hit in env.collector.hits():
        if bench_id in json.dumps(hit.body):
            return hit.time
    return None


def _wait_arrival(page: Any, env: Any, kind: str, bench_id: str, timeout: float) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (at := _arrival(env, kind, bench_id)) is not None:
            return at
        page.wait_for_timeout(50)
    return None


def one_visit(launch: Callable[[str], Any], env: Any, kind: str, profile_name: str, run: int) -> dict[str, Any]:
    """A cold first visit, then (cio_browser, once its snapshot is stored) a warm return visit."""
    with fresh_visitor(launch) as (context, folder):
        return _visit_twice(context, folder, env, kind, profile_name, run)


#: An init script for the timed visits: the page gets a dedicated worker, not the SharedWorker that may outlive it
#: (Chromium 148+). CDP's network emulation and Playwright's response events reach a page and its dedicated workers
#: but not a SharedWorker, whose downloads would go unthrottled and uncounted. Both run the same worker script,
#: download the same files and boot the same way; the bounce table measures the SharedWorker.
DEDICATED_WORKER = "delete window.SharedWorker;"


def _visit_twice(context: Any, folder: str, env: Any, kind: str, profile_name: str, run: int) -> dict[str, Any]:
    profile = PROFILES[profile_name]
    context.add_init_script(env.instrument)
    if kind == "cio":
        context.add_init_script(DEDICATED_WORKER)
    out: dict[str, Any] = {}
    try:
        visit = Visit(context, env, kind, profile)
        bench_id = f"visit-{kind}-{run}-{time.time_ns()}"
        opened = visit.open(bench_id)
        ready = visit.ready_ms() if kind != "none" else None
        out["image"] = visit.image_ms()
        if kind != "none":
            out["ready"] = ready
        if kind in ("cio", "cdp"):
            at = _wait_arrival(visit.page, env, kind, bench_id, 120)
            out["first_event"] = None if at is None else at * 1000 - opened["origin"]
        visit.page.wait_for_timeout(AFTER_READY_S * 1000)
        out["bytes"], out["requests"] = visit.bytes_until(time.time())
        out["rss"] = _renderer_rss(folder)
        if kind == "cio":
            out["mode"] = visit.page.evaluate("() => window.cioBrowser.bootMode")
            out["phases"] = visit.page.evaluate("() => window.cioBrowser.bootPhases")
            saved = visit.page.evaluate("""() => new Promise((resolve) => {
              if (window.cioBrowser.snapshotSaved !== undefined) resolve(window.cioBrowser.snapshotSaved);
              addEventListener('cio-browser:snapshot', (e) => resolve(e.detail.saved));
              setTimeout(() => resolve('timeout'), 120000); })""")
            out["snapshot_saved"] = saved
        if kind != "none":
            visit.page.close()
            warm = Visit(context, env, kind, profile)
            warm_id = bench_id + "-warm"
            opened = warm.open(warm_id)
            out["warm_ready"] = warm.ready_ms()
            if kind == "bare":
                return out
            at = _wait_arrival(warm.page, env, kind, warm_id, 120)
            out["warm_first_event"] = None if at is None else at * 1000 - opened["origin"]
            if kind == "cio":
                out["warm_mode"] = warm.page.evaluate("() => window.cioBrowser.bootMode")
                out["warm_phases"] = warm.page.evaluate("() => window.cioBrowser.bootPhases")
    except Exception as exc:  # one failed visit must not cost the run
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


#: How long the visitor reads the first page (after its first event arrived) before following a link.
READ_S = 2.0


def next_page(launch: Callable[[str], Any], env: Any, kind: str, profile_name: str, run: int) -> dict[str, Any]:
    """A fresh visitor's first visit, then the site's next page in the same tab."""
    with fresh_visitor(launch) as (context, _folder):
        context.add_init_script(env.instrument)
        out: dict[str, Any] = {}
        try:
            visit = Visit(context, env, kind, PROFILES[profile_name])
            first_id = f"first-{kind}-{run}-{time.time_ns()}"
            visit.open(first_id)
            visit.ready_ms()
            _wait_arrival(visit.page, env, kind, first_id, 120)
            visit.page.wait_for_timeout(READ_S * 1000)
            next_id = first_id + "-next"
            opened = visit.follow(next_id)
            out["next_ready"] = visit.ready_ms()
            at = _wait_arrival(visit.page, env, kind, next_id, 120)
            out["next_first_event"] = None if at is None else at * 1000 - opened["origin"]
            if kind == "cio":
                out["next_mode"] = visit.page.evaluate("() => window.cioBrowser.bootMode")
        except Exception as exc:  # one failed visit must not cost the run
            out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return out


#: Bounce rows: (key, page kind, init script). cio_browser twice: with the worker this Chromium gives it (a
#: SharedWorker that may outlive the page), and with the dedicated worker of browsers without that.
BOUNCE_KINDS = (("cio", "cio", ""), ("cio-dedicated", "cio", DEDICATED_WORKER), ("cdp", "cdp", ""))


def bounce(launch: Callable[[str], Any], env: Any, kind: str, delay: float, run: int, init: str = "") -> bool:
    with fresh_visitor(launch) as (context, _folder):
        return _bounce(context, env, kind, delay, run, init)


def _bounce(context: Any, env: Any, kind: str, delay: float, run: int, init: str = "") -> bool:
    context.add_init_script(env.instrument)
    if init:
        context.add_init_script(init)
    try:
        visit = Visit(context, env, kind, None)
        bench_id = f"bounce-{kind}-{delay}-{run}-{time.time_ns()}"
        visit.open(bench_id)
        visit.page.wait_for_timeout(delay * 1000)
        visit.page.goto("about:blank")
        return _wait_arrival(visit.page, env, kind, bench_id, 5) is not None
    except Exception:
        return False


def run_visitor(launch: Callable[[str], Any], env: Any, runs: dict[str, int], bounces: int, log: Any) -> dict[str, Any]:
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for profile_name in PROFILES:
        for run in range(runs[profile_name]):
            for kind in ("none", "cio", "cdp") + (("bare",) if PROFILES[profile_name] is None else ()):
                t0 = time.monotonic()
                r = one_visit(launch, env, kind, profile_name, run)
                results.setdefault(profile_name, {}).setdefault(kind, []).append(r)
                log(f"visitor {profile_name} {kind} run {run + 1}: "
                    f"{ {k: v for k, v in r.items() if k not in ('phases', 'warm_phases')} } "
                    f"[{time.monotonic() - t0:.0f} s]")
    for profile_name in PROFILES:
        for run in range(runs[profile_name]):
            for kind in ("cio", "cdp"):
                t0 = time.monotonic()
                r = next_page(launch, env, kind, profile_name, run)
                results[profile_name].setdefault(kind + "-next", []).append(r)
                log(f"next page {profile_name} {kind} run {run + 1}: {r} [{time.monotonic() - t0:.0f} s]")
    bounced: dict[str, dict[float, int]] = {}
    for delay in BOUNCE_DELAYS_S:
        for key, kind, init in BOUNCE_KINDS:
            got = sum(bounce(launch, env, kind, delay, i, init) for i in range(bounces))
            bounced.setdefault(key, {})[delay] = got
            log(f"bounce {key} {delay} s: {got}/{bounces}")
    return {"visits": results, "bounce": bounced, "bounces": bounces, "runs": runs}


def _med(values: list[Any]) -> float | None:
    nums = [v for v in values if isinstance(v, int | float)]
    return statistics.median(nums) if nums else None


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms"


def report(data: dict[str, Any]) -> str:
    visits = data["visits"]
    head = "| metric (median) | " + " | ".join(
        f"{p}: cio_browser | {p}: JS SDK" for p in visits) + " |"
    lines = [head, "|---|" + "---|---|" * len(visits)]

    def row(label: str, key: str, fmt: Any, suffix: str = "") -> None:
        cells = []
        for p in visits:
            for kind in ("cio", "cdp"):
                cells.append(fmt(_med([r.get(key) for r in visits[p].get(kind + suffix, [])])))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("bytes on the wire, first visit (page + worker, to ready + 10 s; no document/image)", "bytes",
        lambda v: "—" if v is None else f"{v / 1e6:.2f} MB")
    row("navigation → ready, cold (first visit)", "ready", _ms)
    row("navigation → first event received, cold", "first_event", _ms)
    row("navigation → ready, warm (return visit)", "warm_ready", _ms)
    row("navigation → first event received, warm", "warm_first_event", _ms)
    row("navigation → ready, the next page in the same tab", "next_ready", _ms, "-next")
    row("navigation → first event received, the next page in the same tab", "next_first_event", _ms, "-next")
    row("renderer RSS (page + workers) at ready + 10 s", "rss", lambda v: "—" if v is None else f"{v / 1e6:.0f} MB")
    cells = []
    for p in visits:
        base = _med([r.get("image") for r in visits[p].get("none", [])])
        for kind in ("cio", "cdp"):
            img = _med([r.get("image") for r in visits[p].get(kind, [])])
            cells.append("—" if img is None or base is None else f"{_ms(img)} ({(img / base - 1) * 100:+.0f} %)")
    lines.append("| the page's 500 KB image, responseEnd (vs the same page without a destination) | "
                 + " | ".join(cells) + " |")
    base_cells = [_ms(_med([r.get("image") for r in visits[p].get("none", [])])) for p in visits]
    lines.append("| … the same image without a destination | " + " | ".join(f"{c} | {c}" for c in base_cells) + " |")
    modes = []
    for p in visits:
        cio = visits[p].get("cio", [])
        modes.append(", ".join(sorted({str(r.get('mode')) for r in cio})) + " → "
                     + ", ".join(sorted({str(r.get('warm_mode')) for r in cio})))
        modes.append("—")
    lines.append("| boot path cold → warm (`cioBrowser.bootMode`) | " + " | ".join(modes) + " |")
    nexts = []
    for p in visits:
        nexts.append(", ".join(sorted({str(r.get('next_mode')) for r in visits[p].get("cio-next", [])})) or "—")
        nexts.append("—")
    lines.append("| boot path of the next page in the same tab | " + " | ".join(nexts) + " |")
    lines.append("")
    spread = []
    for p in visits:
        for kind, label in (("cio", "cio_browser"), ("bare", "bare Pyodide")):
            for key, what in (("ready", "cold"), ("warm_ready", "warm")):
                vals = [r[key] for r in visits[p].get(kind, []) if isinstance(r.get(key), int | float)]
                if vals:
                    spread.append(f"{p} {label} {what} {_ms(statistics.median(vals))} "
                                  f"({_ms(min(vals))}–{_ms(max(vals))})")
        vals = [r["next_ready"] for r in visits[p].get("cio-next", []) if isinstance(r.get("next_ready"), int | float)]
        if vals:
            spread.append(f"{p} cio_browser next page {_ms(statistics.median(vals))} "
                          f"({_ms(min(vals))}–{_ms(max(vals))})")
    lines.append("Ready, median (range): " + "; ".join(spread) + ". Bare Pyodide = the machine's yardstick: "
                 "`loadPyodide` from the npm package with its defaults (whole standard library as source, the "
                 "source wheel) + `import cio_browser`, no analytics.js, same page and image (bench/pages/bare.mjs).")
    lines.append("")
    n = data["bounces"]
    lines.append(f"Bounce, localhost, fresh visitor: page left N s after `analytics.page()`, delivered without a "
                 f"return visit (of {n}):")
    lines.append("")
    lines.append("| left after | " + " | ".join(f"{d:g} s" for d in BOUNCE_DELAYS_S) + " |")
    lines.append("|---|" + "---|" * len(BOUNCE_DELAYS_S))
    for kind, label in (("cio", "cio_browser (worker that outlives the page: SharedWorker, Chromium 148+)"),
                        ("cio-dedicated", "cio_browser (dedicated worker: browsers without that)"),
                        ("cdp", "JS SDK")):
        got = data["bounce"].get(kind, {})
        lines.append(f"| {label} | " + " | ".join(f"{got.get(d, 0)}/{n}" for d in BOUNCE_DELAYS_S) + " |")
    lines.append("")
    runs = ", ".join(f"{p}: {n}" for p, n in data["runs"].items())
    lines.append(f"Runs per cell (cold visit + warm return visit each): {runs}. The timed visits give cio_browser "
                 "a dedicated worker: CDP's network emulation and the byte count do not reach a SharedWorker "
                 "(same worker script, same downloads, same boot).")
    phases = [r.get("phases") for p in visits for r in visits[p].get("cio", []) if r.get("phases")]
    warm_phases = [r.get("warm_phases") for p in visits for r in visits[p].get("cio", []) if r.get("warm_phases")]
    if phases:
        lines.append(f"Worker boot phases, cold (ms from worker start, first run per profile): {phases[0]}; "
                     f"warm: {warm_phases[0] if warm_phases else '—'}.")
    return "\n".join(lines)
