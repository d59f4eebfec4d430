"""Nothing kept is ever cut or orphaned, in a real page: whole set-aside events (IndexedDB), namespaces the settings
no longer use, counters with broken settings, malformed data-settings, a calm console during an outage, page
leave in the default worker mode, opt-out on the PyScript path."""

from __future__ import annotations

import json

import pytest

from .conftest import API_KEY, SITE_ID, Page, open_page, settings_for, wait_until

EVENT = {"type": "track", "event": "Stored Earlier", "userId": "u-1", "anonymousId": "a-1",
         "timestamp": "2023-06-01T08:00:00.000Z", "properties": {}}


def aside_keys_in_local_storage(page) -> list[str]:
    return page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':aside:'))")


def test_a_huge_event_set_aside_is_kept_whole_in_indexeddb_across_a_reload(context, sink):
    page = open_page(context, sink)
    page.evaluate("() => analytics.track('Huge', {blob: 'x'.repeat(300000)}, {messageId: 'huge-1'})")
    aside = wait_until(lambda: page.evaluate("() => window.cioBrowser.setAside()"), timeout=20)
    (record,) = aside
    assert record["reason"] == "too_large"
    event = json.loads(record["event"])
    assert event["properties"]["blob"] == "x" * 300000 and event["messageId"] == "huge-1"
    assert aside_keys_in_local_storage(page) == [], "a large record belongs in IndexedDB, not localStorage"
    wait_until(lambda: page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))") == [])
    page.reload()
    page.wait_ready()
    (again,) = page.evaluate("() => window.cioBrowser.setAside()")
    assert again["event"] == record["event"]


def seed(page, key: str, event: dict) -> None:
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(event)])


def test_events_under_a_spaced_site_id_are_delivered_and_other_sites_are_reported(context, sink):
    page = open_page(context, sink, settings_for(sink, siteId=f"  {SITE_ID} "))
    seed(page, f"cio_browser:v1: {SITE_ID} :in:00000001-0000-a", {**EVENT, "messageId": "spaced-1"})
    seed(page, "cio_browser:v1:old-site:in:00000002-0000-b", {**EVENT, "messageId": "old-1"})
    page.reload()
    page.wait_ready()
    page.evaluate("() => analytics.track('Now', {}, {messageId: 'now-1'})")
    wait_until(lambda: sorted(sink.delivered_ids()) == ["now-1", "spaced-1"], timeout=20)
    stats = wait_until(lambda: (s := page.stats())["stored"] == 0 and s)
    assert stats["orphaned"] == {"cio_browser:v1:old-site": 1}
    (orphan,) = page.evaluate("() => window.cioBrowser.setAside()")
    assert orphan["reason"] == "orphaned" and "old-site" in orphan["message"]
    assert json.loads(orphan["event"])["messageId"] == "old-1"
    assert "old-1" not in sink.delivered_ids(), "another site's events are never sent to this one"


def test_stats_count_kept_events_even_when_the_settings_are_invalid(context, sink):
    page = open_page(context, sink, {"siteId": SITE_ID, "apiKey": API_KEY, "batchSize": 0})
    page.evaluate("() => analytics.track('Kept', {})")
    stats = wait_until(lambda: (s := page.stats()).get("stored") == 1 and s)
    assert "batchSize must be a whole number" in stats["error"]
    assert stats["delivered"] == 0 and stats["set_aside"] == {} and stats["orphaned"] == {}


MALFORMED_PAGE = f"""<!doctype html><meta charset="utf-8"><title>malformed</title>
<script src="/vendor/analytics-next-1.84.3/index.js"></script>
<script src="/test-setup.js"></script>
<script src="/cio-browser.js" data-settings='{{siteId: "{SITE_ID}", apiKey: {API_KEY}}}'></script>
"""


def test_malformed_data_settings_are_reported_once_without_echoing_them(context, sink):
    context.route("**/malformed.html", lambda route: route.fulfill(body=MALFORMED_PAGE, content_type="text/html"))
    page = Page(context.new_page())
    page.goto(sink.url + "/malformed.html")
    page.wait_ready()
    page.evaluate("() => analytics.track('Kept', {})")
    stats = wait_until(lambda: (s := page.stats()).get("stored") == 1 and s)
    assert "data-settings is not valid JSON" in stats["error"]
    errors = page.console_errors()
    assert len(errors) == 1 and "not valid JSON" in errors[0], errors
    text = page.console_text()
    assert API_KEY[:4] not in text and "siteId:" not in text, "the console echoed the settings text"
    assert "__invalid" not in text and "unknown setting" not in text
    assert sink.requests == []


def test_failed_requests_print_no_console_error_in_main_thread_mode(context, sink):
    page = open_page(context, sink, settings_for(sink, boot="idle"))
    sink.fail_next(503, count=3)
    page.evaluate("() => analytics.track('Through An Outage', {}, {messageId: 'calm-1'})")
    wait_until(lambda: sink.delivered_ids() == ["calm-1"], timeout=30)
    assert [r.status for r in sink.requests] == [503, 503, 503, 200]
    assert page.console_errors() == []
    warnings = [t for kind, t in page.console if kind == "warning" and "Customer.io" in t]
    assert len(warnings) == 1 and "HTTP 503" in warnings[0]


def test_main_thread_mode_still_delivers_when_its_request_worker_cannot_load(context, sink):
    context.route("**/cio-fetch.mjs", lambda route: route.fulfill(status=404, body="not here"))
    page = open_page(context, sink, settings_for(sink, boot="idle"))
    page.evaluate("() => analytics.track('Without Worker', {}, {messageId: 'direct-1'})")
    wait_until(lambda: sink.delivered_ids() == ["direct-1"], timeout=30)


def test_worker_mode_page_leave_loses_nothing_and_repeats_only_the_same_id(context, sink):
    page = open_page(context, sink, settings_for(sink, flushInterval=30_000))
    page.evaluate("() => analytics.track('Leaving Soon', {}, {messageId: 'leave-w1'})")
    page.wait_for_timeout(300)
    assert sink.delivered_ids() == []
    page.goto("about:blank")      # pagehide: the page asks the worker to send with keepalive (best effort)
    page.wait_for_timeout(1500)
    at_leave = sink.delivered_ids()
    assert at_leave in ([], ["leave-w1"])
    back = open_page(context, sink, settings_for(sink, flushInterval=0))   # a return visit sends what was kept
    back.flush()
    wait_until(lambda: "leave-w1" in sink.delivered_ids(), timeout=20)
    wait_until(lambda: back.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))") == [])
    assert set(sink.delivered_ids()) == {"leave-w1"}
    assert set(sink.duplicates) <= {"leave-w1"}, "a repeat may only carry the same id"


def test_pyscript_install_honours_the_opt_out_flag(context, sink):
    context.add_init_script(f"localStorage.setItem('cio_browser:v1:{SITE_ID}:optout', '1');")
    page = open_page(context, sink, path="/pyscript.html", wait=False)
    page.wait_for_function("() => window.cioPyReady === true", timeout=60_000)
    page.wait_for_function("() => window.analytics.instance.queue.plugins.some(p => p.name === 'Customer.io')")
    page.evaluate("() => analytics.track('Opted Out', {}, {messageId: 'py-out'})")
    page.evaluate("() => window.cioBrowser.flush()")
    page.wait_for_timeout(500)
    assert sink.requests == []
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))") == []


FILL_STORAGE = """() => {
  let n = 0;
  for (let size = 1024 * 1024; size >= 1; size = Math.floor(size / 2)) {
    const chunk = 'f'.repeat(size);
    try { for (;;) localStorage.setItem('site-filler-' + (n++), chunk); } catch (e) { /* next, smaller size */ }
  }
  return n;
}"""


@pytest.mark.parametrize("boot", ["idle", "worker"])
def test_full_storage_is_said_once_loudly_and_events_are_still_delivered_from_memory(context, sink, boot):
    page = open_page(context, sink, settings_for(sink, boot=boot))
    assert page.evaluate(FILL_STORAGE) > 0, "localStorage never filled up"
    page.evaluate("() => Promise.all([1, 2, 3].map(i => analytics.track('Full ' + i, {}, {messageId: 'full-' + i})))")
    wait_until(lambda: sorted(sink.delivered_ids()) == ["full-1", "full-2", "full-3"], timeout=20)
    full = [e for e in page.console_errors() if "storage is full" in e]
    assert len(full) == 1 and "memory only" in full[0] and "1 so far" in full[0], full
