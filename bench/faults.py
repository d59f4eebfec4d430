#!/usr/bin/env python3
"""Fault injection: how calm is delivery when Customer.io is down? (A measurement, not a test.)

Usage::

    python bench/faults.py [--site dist] [--modes worker,idle,eager] [--events 200] [--outage 20] [--runs 1]

For each boot mode: a real page (analytics.js + cio-browser.js, headless Chromium) sends to the local
Customer.io-compatible endpoint (:class:`cio_browser.sink.Sink`). Once the destination is ready the endpoint
starts answering every Track API request with 503; the page makes ``--events`` ``analytics.track`` calls; after
``--outage`` seconds the endpoint recovers. Reported per run:

* requests during the outage (and how many of them carried a single event),
* the largest number of requests in any one second of the outage,
* after recovery: requests until every event was delivered, and the recovery time (endpoint back → last event
  accepted), with the bound the issue sets (ceil(n / batchSize) + 1 requests),
* duplicates (an entity id accepted twice; a repeat must carry the same id, so this counts ids),
* console errors and warnings on the host page (Chromium's own "Failed to load resource" lines included).

``--site`` serves any built site, so the same script measures an older build ("before") against this one.
Requests that would leave 127.0.0.1 are aborted (as in the tests).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from run import CHROMIUM_ARGS  # noqa: E402  (bench/run.py: one set of browser flags for every benchmark)

from cio_browser.sink import Sink  # noqa: E402

SITE_ID = "faults-site"
API_KEY = "faults-key"
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/])")
BATCH_SIZE = 50


def one_run(browser: Any, site: Path, mode: str, events: int, outage_s: float) -> dict[str, Any]:
    sink = Sink(root=str(site), site_id=SITE_ID, api_key=API_KEY, port=0).start()
    ctx = browser.new_context()
    ctx.route(NOT_LOCAL, lambda route: route.abort("blockedbyclient"))
    page = ctx.new_page()
    console: list[tuple[str, str]] = []
    page.on("console", lambda msg: console.append((msg.type, msg.text)))
    settings = {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": sink.url, "boot": mode}
    page.add_init_script(f"window.cioBrowserSettings = {json.dumps(settings)};")
    page.set_default_timeout(90_000)
    try:
        page.goto(sink.url + "/test.html")
        page.evaluate("() => window.cioBrowser.ready")
        console.clear()
        sink.fail_next(503, count=10**9)
        down = time.monotonic()
        page.evaluate("n => Promise.all(Array.from({length: n}, (_, i) => "
                      "analytics.track('Fault ' + i, {i}, {messageId: 'fault-' + i})))", events)
        page.wait_for_timeout(max(0.0, down + outage_s - time.monotonic()) * 1000)
        sink.reset_failures()
        up = time.monotonic()
        expected = {f"fault-{i}" for i in range(events)}
        deadline = up + 120
        while not expected <= set(sink.delivered_ids()) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        page.wait_for_timeout(1000)  # anything still trickling in is counted too
        reqs = [r for r in sink.requests if r.time >= down]
        during = [r for r in reqs if r.time < up]
        after = [r for r in reqs if r.time >= up]
        accepted_at = [r.time for r in after if r.status == 200 and r.accepted]
        per_second: dict[int, int] = {}
        for r in during:
            per_second[int(r.time - down)] = per_second.get(int(r.time - down), 0) + 1
        delivered = set(sink.delivered_ids())
        return {
            "mode": mode,
            "events": events,
            "outage_s": outage_s,
            "requests_during_outage": len(during),
            "single_event_requests_during_outage": sum(_items(r) == 1 for r in during),
            "max_requests_per_second": max(per_second.values(), default=0),
            "requests_after_recovery": len(after),
            "bound_after_recovery": math.ceil(events / BATCH_SIZE) + 1,
            "recovery_s": round(max(accepted_at) - up, 2) if accepted_at else None,
            "all_delivered": expected <= delivered,
            "lost": len(expected - delivered),
            "duplicate_ids": len(sink.duplicates),
            "console_errors": sum(kind == "error" for kind, _ in console),
            "console_warnings": sum(kind == "warning" for kind, _ in console),
            "console_error_sample": [text for kind, text in console if kind == "error"][:3],
            "console_warning_sample": [text for kind, text in console if kind == "warning"][:3],
        }
    finally:
        ctx.close()
        sink.stop()


def _items(record: Any) -> int:
    body = record.body
    if isinstance(body, dict) and isinstance(body.get("batch"), list):
        return len(body["batch"])
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "dist")
    parser.add_argument("--modes", default="worker,idle,eager")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--outage", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.runs):
                for mode in args.modes.split(","):
                    result = one_run(browser, args.site, mode, args.events, args.outage)
                    results.append(result)
                    print(json.dumps(result), flush=True)
        finally:
            browser.close()
    cols = ["mode", "requests_during_outage", "single_event_requests_during_outage", "max_requests_per_second",
            "requests_after_recovery", "bound_after_recovery", "recovery_s", "lost", "duplicate_ids",
            "console_errors", "console_warnings"]
    print()
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
