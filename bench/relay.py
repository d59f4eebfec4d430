#!/usr/bin/env python3
"""Benchmark the relay (not a test): throughput, added latency and memory, forwarding and ``/events``.

Usage::

    python bench/relay.py [--requests 2000] [--concurrency 16] [--events-per-request 10] [--out bench/results/relay.md]

How it measures:

* **Real processes, real sockets.** The local Customer.io endpoint (:class:`cio_browser.sink.Sink`) runs in this
  process; the relay runs as its own process exactly as documented (``python -m cio_browser.relay``, one uvicorn
  worker, rate limit off), so its memory is its own. Clients are asyncio + httpx on 127.0.0.1 with a bounded number
  of requests in flight (``--concurrency``), each client keeping its connections alive as a browser does.
* **Added latency** is the relay's cost: the same requests are sent once straight to the endpoint (with the key,
  as a page holding the key would) and once through the relay; the table gives both and the difference of the
  percentiles. For ``/events`` the direct baseline is the one batch request the page itself would send for the
  same events (mapped in the page), so the difference includes the relay's mapping.
* **Memory** is the relay process's resident set (``VmRSS``) after start and after the runs, and its peak
  (``VmHWM``), from ``/proc`` (Linux).
* Each scenario starts with a short warm-up that is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from cio_browser import Settings, map_event  # noqa: E402
from cio_browser.mapping import to_requests  # noqa: E402
from cio_browser.sink import Sink  # noqa: E402

SITE_ID, API_KEY, ORIGIN = "bench-site", "bench-key", "https://www.example.com"


def track_event(i: int) -> dict[str, Any]:
    """A typical analytics.js track event, as the page stores it."""
    return {"type": "track", "event": "Product Viewed", "userId": f"user-{i % 500}", "anonymousId": f"anon-{i}",
            "messageId": f"ajs-bench-{i}", "timestamp": "2026-11-28T12:00:00.000Z",
            "properties": {"product_id": f"p-{i}", "price": 19.99, "currency": "EUR", "category": "shoes"},
            "context": {"page": {"url": "https://www.example.com/p", "title": "Shoes"}, "library": {
                "name": "analytics.js", "version": "next-1.84.3"}}}


def rss_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0])
    return fields


async def drive(base: str, make: Any, n: int, concurrency: int, headers: dict[str, str]) -> tuple[float, list[float],
                                                                                                    dict[int, int]]:
    """Send ``n`` requests made by ``make(i) -> (path, body bytes)`` with at most ``concurrency`` in flight."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        async def worker() -> None:
            for i in counter:
                path, body = make(i)
                t0 = time.perf_counter()
                r = await client.post(path, content=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return n / elapsed, latencies, statuses


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--events-per-request", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "relay.md"))
    args = parser.parse_args()

    sink = Sink(root=None, site_id=SITE_ID, api_key=API_KEY, port=0, strict_timestamps=True).start()
    env = {**os.environ, "CIO_SITE_ID": SITE_ID, "CIO_API_KEY": API_KEY, "CIO_UPSTREAM": sink.url,
           "CIO_ALLOWED_ORIGINS": ORIGIN, "CIO_RATE_LIMIT": "0",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "cio_browser.relay", "--port", "0", "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        relay = re.search(r"listening on (http://\S+)", proc.stdout.readline()).group(1)
        for _ in range(100):
            try:
                httpx.get(relay + "/healthz")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        mem_start = rss_kb(proc.pid)
        settings = Settings.from_dict({"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": sink.url})
        k = args.events_per_request

        def entity_body(i: int) -> tuple[str, bytes]:
            [req] = to_requests(map_event(track_event(i), settings).items, settings)
            return "/api/v2/entity", req.json().encode()

        bodies = [entity_body(i) for i in range(args.requests)]
        raw = [json.dumps([track_event(i * k + j) for j in range(k)]).encode() for i in range(args.requests)]

        def mapped_batch(i: int) -> tuple[str, bytes]:
            items = [item for j in range(k) for item in map_event(track_event(i * k + j), settings,
                                                                    batch=True).items]
            [req] = to_requests(items, settings, batch=True)
            return "/api/v2/batch", req.json().encode()

        batches = [mapped_batch(i) for i in range(args.requests)]
        direct_headers = {"authorization": sink.authorization, "content-type": "application/json"}
        relay_headers = {"origin": ORIGIN, "content-type": "application/json"}
        scenarios = [
            ("forward `POST /api/v2/entity` (1 event)", sink.url, lambda i: bodies[i], direct_headers,
             relay, lambda i: bodies[i], relay_headers),
            (f"`POST /events` ({k} raw events → 1 batch)", sink.url, lambda i: batches[i], direct_headers,
             relay, lambda i: ("/events", raw[i]), relay_headers),
        ]
        rows = []
        for name, dbase, dmake, dhead, rbase, rmake, rhead in scenarios:
            asyncio.run(drive(rbase, rmake, min(200, args.requests), args.concurrency, rhead))  # warm-up
            sink.reset()
            d_rps, d_lat, d_st = asyncio.run(drive(dbase, dmake, args.requests, args.concurrency, dhead))
            sink.reset()
            r_rps, r_lat, r_st = asyncio.run(drive(rbase, rmake, args.requests, args.concurrency, rhead))
            assert set(d_st) == {200} and set(r_st) == {200}, (d_st, r_st)
            rows.append((name, d_rps, d_lat, r_rps, r_lat))
            sink.reset()
        mem_end = rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        sink.stop()

    lines = [
        f"Relay benchmark ({time.strftime('%Y-%m-%d')}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores shared with other work, 127.0.0.1, "
        f"{args.requests} requests per run, {args.concurrency} concurrent clients, one uvicorn worker; the local "
        "endpoint answers each request on a new connection):",
        "",
        "| path | requests/s via relay | requests/s direct | p50 via relay | p50 added | p99 via relay | p99 added |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, d_rps, d_lat, r_rps, r_lat in rows:
        lines.append(f"| {name} | {r_rps:,.0f} | {d_rps:,.0f} | {pct(r_lat, 50):.1f} ms | "
                     f"{pct(r_lat, 50) - pct(d_lat, 50):+.1f} ms | {pct(r_lat, 99):.1f} ms | "
                     f"{pct(r_lat, 99) - pct(d_lat, 99):+.1f} ms |")
    lines += ["", f"Relay process memory: {mem_start['VmRSS'] / 1024:.0f} MB resident after start, "
                  f"{mem_end['VmRSS'] / 1024:.0f} MB after the runs, peak {mem_end['VmHWM'] / 1024:.0f} MB."]
    report = "\n".join(lines) + "\n"
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
