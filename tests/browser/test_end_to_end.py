"""The whole path: analytics.js call in a real page -> Python in Pyodide -> Customer.io Track API request."""

from __future__ import annotations

import base64

from .conftest import API_KEY, SITE_ID, open_page, settings_for, wait_until

AUTH = "Basic " + base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()
TS = "new Date('2023-06-01T08:00:00.000Z')"


def _call_and_wait(page, sink, js: str) -> dict:
    before = len(sink.requests)
    page.evaluate(f"async () => {{ await {js}; }}")
    wait_until(lambda: len(sink.requests) > before)
    assert len(sink.requests) == before + 1, "one analytics call must produce exactly one request"
    return sink.requests[before]


def test_plugin_registers_as_a_destination_named_customer_io(context, sink):
    page = open_page(context, sink)
    names = page.evaluate("() => window.analytics.instance.queue.plugins.map(p => [p.name, p.type])")
    assert ["Customer.io", "destination"] in names


def test_identify_track_page_each_send_the_expected_customer_io_request(context, sink):
    page = open_page(context, sink, settings_for(sink))
    opts = "{anonymousId: 'anon-3', timestamp: %s, messageId: '%s'}"

    req = _call_and_wait(page, sink, "analytics.identify('u1', {email: 'ada@example.org'}, %s)" % (opts % (TS, "m-1")))
    assert (req.method, req.path) == ("POST", "/api/v2/batch")
    # the sink checked the header against site123:key456 and recorded it masked
    assert req.credentials == "valid" and API_KEY not in req.headers["authorization"]
    assert req.headers["content-type"].startswith("application/json")
    assert req.body == {"batch": [{
        "type": "person", "action": "identify",
        "attributes": {"email": "ada@example.org", "anonymous_id": "anon-3"},
        "timestamp": 1685606400, "identifiers": {"id": "u1"}}]}

    req = _call_and_wait(page, sink, "analytics.track('Signed Up', {plan: 'Pro'}, %s)" % (opts % (TS, "m-2")))
    assert (req.method, req.path, req.status) == ("POST", "/api/v2/batch", 200)
    assert req.body == {"batch": [{
        "type": "person", "action": "event", "name": "Signed Up", "id": "m-2",
        "attributes": {"plan": "Pro", "anonymous_id": "anon-3"},
        "timestamp": 1685606400, "identifiers": {"id": "u1"}}]}

    req = _call_and_wait(page, sink, "analytics.page({}, %s)" % (opts % (TS, "m-3")))
    loc = page.evaluate("() => ({href: location.href, path: location.pathname, search: location.search,"
                        " title: document.title})")
    assert req.body == {"batch": [{
        "type": "person", "action": "page", "name": loc["href"], "id": "m-3",
        "attributes": {"path": loc["path"], "referrer": "", "search": loc["search"], "title": loc["title"],
                       "url": loc["href"], "anonymous_id": "anon-3"},
        "timestamp": 1685606400, "identifiers": {"id": "u1"}}]}
    assert page.console_errors() == []


def test_events_made_before_python_is_ready_are_delivered_in_order(context, sink):
    page = open_page(context, sink, settings_for(sink), wait=False)
    page.evaluate("() => Promise.all([1,2,3,4,5].map(i => analytics.track('Early ' + i, {i})))")
    booted = page.evaluate("() => window.cioBrowser.stats().then(s => s.booting === true)")
    page.wait_ready()
    entities = sink.wait_for(5)
    assert [e["name"] for e in entities] == [f"Early {i}" for i in range(1, 6)]
    assert booted, "the calls were meant to happen before Pyodide was ready"


def test_analytics_call_resolves_without_waiting_for_customer_io(context, sink):
    page = open_page(context, sink)
    sink.set_delay(3000)
    took = page.evaluate("async () => { const t = performance.now(); await analytics.track('Fast'); "
                         "return performance.now() - t; }")
    assert took < 1000, f"analytics.track waited {took:.0f} ms for the destination"
    assert sink.wait_for(1, timeout=10)[0]["name"] == "Fast"


def test_proxy_endpoint_mode_sends_no_api_key_from_the_page(context, sink):
    page = open_page(context, sink, {"endpoint": sink.url + "/cio-proxy"})
    page.evaluate("() => analytics.track('Via Proxy', {ok: true})")
    entities = sink.wait_for(1)
    assert entities[0]["name"] == "Via Proxy"
    req = sink.requests[-1]
    assert req.path == "/cio-proxy/api/v2/batch" and "authorization" not in req.headers
    assert API_KEY not in page.content()
