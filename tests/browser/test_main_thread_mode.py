"""boot: "idle" runs Pyodide on the page's main thread (the default is a Web Worker); the guarantees are the same.

The rest of the browser suite runs in the default worker mode; these pin the main-thread mode down too.
"""

from __future__ import annotations

from .conftest import open_page, settings_for, wait_until


def main_thread(sink, **extra):
    return settings_for(sink, boot="idle", **extra)


def test_main_thread_mode_maps_and_delivers_the_same_request(context, sink):
    page = open_page(context, sink, main_thread(sink))
    assert not page.evaluate("() => window.cioBrowser.bootMode").startswith("worker-")
    page.evaluate("() => analytics.identify('u1', {email: 'ada@example.org'}, {anonymousId: 'anon-3', "
                  "timestamp: new Date('2023-06-01T08:00:00.000Z'), messageId: 'm-1'})")
    (entity,) = sink.wait_for(1)
    assert entity == {"type": "person", "action": "identify",
                      "attributes": {"email": "ada@example.org", "anonymous_id": "anon-3"},
                      "timestamp": 1685606400, "identifiers": {"id": "u1"}}
    wait_until(lambda: page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:')).length") == 0)


def test_main_thread_mode_keeps_events_across_a_reload_and_sets_invalid_ones_aside(context, sink):
    page = open_page(context, sink, main_thread(sink))
    sink.fail_next(503, count=1000)
    page.evaluate("() => Promise.all([analytics.track('W1', {}, {messageId: 'w-1'}), "
                  "analytics.track('User Deleted', {}, {messageId: 'w-bad'})])")
    wait_until(lambda: len(sink.requests) >= 1)
    page.reload()
    page.wait_ready()
    sink.reset_failures()
    page.evaluate("() => window.cioBrowser.flush()")
    wait_until(lambda: sink.delivered_ids() == ["w-1"], timeout=30)
    aside = page.evaluate("() => window.cioBrowser.setAside()")
    assert [a["label"] for a in aside] == ['track "User Deleted" (messageId w-bad)']
    assert any("'person_id'" in e for e in page.console_errors())
    assert sink.duplicates == []


def test_main_thread_mode_two_tabs_send_each_event_once(context, sink):
    a = open_page(context, sink, main_thread(sink))
    b = open_page(context, sink, main_thread(sink))
    for page, tab in ((a, "A"), (b, "B")):
        page.evaluate("t => Promise.all([0,1,2,3,4].map(i => analytics.track('Tab ' + t, {i}, "
                      "{messageId: t + '-' + i})))", tab)
    expected = sorted(f"{t}-{i}" for t in "AB" for i in range(5))
    wait_until(lambda: sorted(sink.delivered_ids()) == expected, timeout=30)
    assert sink.duplicates == []
