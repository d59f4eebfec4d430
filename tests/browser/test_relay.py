"""The page behind cio_browser.relay, in real Chromium: no key in the page, and events Python never mapped still
arrive (a visit shorter than Python's start, a browser where Python cannot run).

The site is served the way the README's demo command serves it (:class:`cio_browser.relay.demo.DemoServer`):
one origin with the relay at ``/cio`` and the local Customer.io endpoint behind it, checking the credentials.
"""

from __future__ import annotations

import json

import pytest

from .conftest import API_KEY, DIST, NO_OUTLIVING_WORKERS, open_relay_page, wait_until

pytest.importorskip("starlette")
pytestmark = pytest.mark.browser


# Where a worker outlives its page, it boots and sends them through the relay itself; where it dies with the page,
# the page hands the stored events to the relay's /events on pagehide.
@pytest.mark.parametrize("worker", ["outlives the page", "dies with the page"])
def test_a_page_closed_300_ms_after_page_and_track_delivers_both_through_the_relay(context, demo, worker):
    if worker == "dies with the page":
        context.add_init_script(NO_OUTLIVING_WORKERS)
    page = open_relay_page(context, demo, {"relay": "/cio"})
    page.evaluate("() => { analytics.page('Home', {}, {messageId: 'bounce-page'}); "
                  "analytics.track('Bounced', {}, {messageId: 'bounce-track'}); }")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.cioBrowser.bootMs") is None, "Python was already ready: not a bounce"
    page.close(run_before_unload=True)
    wait_until(lambda: sorted(demo.sink.delivered_ids()) == ["bounce-page", "bounce-track"], timeout=30)
    raw = [path for path in demo.paths if path == "/cio/events"]   # stored events, as the page kept them
    assert bool(raw) == (worker == "dies with the page"), f"which path carried them: {demo.paths}"
    # the endpoint checked the relay's Authorization against the workspace key (it records the header masked)
    assert all(r.credentials == "valid" for r in demo.sink.requests)


def test_the_page_holds_no_key_and_the_endpoint_gets_the_authorization_header(context, demo):
    page = open_relay_page(context, demo, {"relay": "/cio"})
    page.wait_ready()
    page.evaluate("() => analytics.identify('user-1', {plan: 'pro'}, {messageId: 'key-id'})")
    page.evaluate("() => analytics.track('Key Check', {}, {messageId: 'key-track'})")
    wait_until(lambda: "key-track" in demo.sink.delivered_ids()
               and any(e.get("action") == "identify" for e in demo.sink.entities()))
    assert [r.api_path for r in demo.sink.requests if r.status == 200]
    for record in demo.sink.requests:
        assert record.credentials == "valid" and API_KEY not in record.headers.get("authorization", "")
        assert not record.proxied
    assert demo.seen and not any("authorization" in h for h in demo.seen)
    visible = page.evaluate("""() => JSON.stringify([document.documentElement.outerHTML, window.cioBrowser.settings,
        Object.entries(localStorage), performance.getEntries().map(e => e.name)])""")
    assert API_KEY not in visible and demo.sink.authorization.split()[1] not in visible
    assert page.console_errors() == []


def test_when_the_worker_fails_to_start_events_go_through_the_relay(context, demo):
    # The boot module carries the manifest (build.py), so Pyodide's loader is the first thing the worker fetches.
    pyodide = json.loads((DIST / "manifest.json").read_text())["pyodide"]
    demo.missing.add(pyodide + "pyodide.mjs")
    page = open_relay_page(context, demo, {"relay": "/cio"})
    page.evaluate("() => analytics.track('Worker Down', {}, {messageId: 'wd-1'})")
    wait_until(lambda: demo.sink.delivered_ids() == ["wd-1"])
    assert page.evaluate("() => window.cioBrowser.bootMode") == "relay"
    assert any("the worker failed to start" in text for _, text in page.console)


@pytest.mark.parametrize(("how", "path", "init"), [
    ("no WebAssembly (default worker boot)", "/test.html", "delete window.WebAssembly;"),
    ("CSP without 'wasm-unsafe-eval' (boot: idle)", "/csp.html", ""),
])
def test_when_python_cannot_run_every_event_goes_through_the_relay(context, demo, how, path, init):
    settings = {"relay": "/cio"} if "idle" not in how else {"relay": "/cio", "boot": "idle"}
    page = open_relay_page(context, demo, settings, path=path, init=init)
    page.evaluate("() => analytics.track('No Python', {n: 1}, {messageId: 'nopy-1'})")
    wait_until(lambda: "nopy-1" in demo.sink.delivered_ids())
    page.evaluate("() => analytics.track('Still No Python', {n: 2}, {messageId: 'nopy-2'})")
    wait_until(lambda: sorted(demo.sink.delivered_ids()) == ["nopy-1", "nopy-2"])
    assert page.evaluate("() => window.cioBrowser.bootMode") == "relay"
    # confirmed by the relay: nothing is left in the stored queue
    wait_until(lambda: page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))") == [])
    assert any("Python cannot run on this page" in text for _, text in page.console)


def test_upstream_down_429_and_5xx_through_the_relay_lose_nothing(context, demo):
    page = open_relay_page(context, demo, {"relay": "/cio"})
    page.wait_ready()
    demo.sink.fail_next(0, path="/api/v2/batch")       # connection dropped: the relay answers 502
    demo.sink.fail_next(503, path="/api/v2/batch")
    demo.sink.fail_next(429, headers={"Retry-After": "1"}, path="/api/v2/batch")
    page.evaluate("() => Promise.all(['A', 'B', 'C'].map(n => analytics.track(n, {}, {messageId: 'up-' + n})))")
    wait_until(lambda: {"up-A", "up-B", "up-C"} <= set(demo.sink.delivered_ids()), timeout=40)
    assert [r.status for r in demo.sink.requests[:3]] == [0, 503, 429]
    assert sorted(demo.sink.delivered_ids()) == ["up-A", "up-B", "up-C"]
    assert page.stats()["set_aside"] == {}
    wait_until(lambda: page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))") == [])
