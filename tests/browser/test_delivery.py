"""Never lose an event, in a real page: retries, Retry-After, offline, reloads, two tabs, batch rejections.

Each test counts what analytics.js was given against what the local Customer.io endpoint accepted (by entity
id = messageId) plus what the destination set aside, and asserts every event is accounted for exactly once.
"""

from __future__ import annotations

import time

from .conftest import API_KEY, open_page, settings_for, wait_until


def track_many(page, names: list[str]) -> None:
    page.evaluate("names => Promise.all(names.map((n, i) => analytics.track(n, {i}, {messageId: 'mid-' + n})))",
                  names)


def stored_keys(page) -> list[str]:
    return page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:'))")


def test_500_three_times_then_200_delivers_each_event_once(context, sink):
    page = open_page(context, sink)
    sink.fail_next(500, count=3)
    track_many(page, ["A", "B", "C"])
    wait_until(lambda: {"mid-A", "mid-B", "mid-C"} <= set(sink.delivered_ids()), timeout=30)
    assert sorted(sink.delivered_ids()) == ["mid-A", "mid-B", "mid-C"]
    assert [r.status for r in sink.requests[:3]] == [500, 500, 500]
    wait_until(lambda: stored_keys(page) == [])
    assert page.stats()["set_aside"] == {}


def test_429_with_retry_after_waits_that_long_then_delivers(context, sink):
    page = open_page(context, sink)
    sink.fail_next(429, count=1, headers={"Retry-After": "2"})
    track_many(page, ["Throttled"])
    wait_until(lambda: sink.delivered_ids() == ["mid-Throttled"], timeout=30)
    first, second = sink.requests[0], sink.requests[1]
    assert first.status == 429 and second.status == 200
    assert second.time - first.time >= 1.9, "the retry came before Retry-After allowed it"


def test_events_made_offline_are_delivered_when_back_online(context, sink):
    page = open_page(context, sink)
    context.set_offline(True)
    track_many(page, ["Off1", "Off2"])
    time.sleep(1.0)
    assert sink.delivered_ids() == []
    assert len(stored_keys(page)) == 2
    context.set_offline(False)
    wait_until(lambda: sorted(sink.delivered_ids()) == ["mid-Off1", "mid-Off2"], timeout=30)
    wait_until(lambda: stored_keys(page) == [])


def test_a_reload_while_events_are_queued_resumes_and_delivers_once(context, sink):
    page = open_page(context, sink)
    sink.fail_next(503, count=1000)
    track_many(page, ["R1", "R2", "R3"])
    wait_until(lambda: len(sink.requests) >= 1)
    assert len(stored_keys(page)) == 3
    page.reload()
    page.wait_ready()
    sink.reset_failures()
    page.evaluate("() => window.cioBrowser.flush()")
    wait_until(lambda: sorted(sink.delivered_ids()) == ["mid-R1", "mid-R2", "mid-R3"], timeout=40)
    time.sleep(0.5)
    assert sorted(sink.delivered_ids()) == ["mid-R1", "mid-R2", "mid-R3"]
    assert sink.duplicates == []


def test_two_tabs_of_one_site_never_send_the_same_event_twice(context, sink):
    a = open_page(context, sink)
    b = open_page(context, sink)
    names_a = [f"TabA-{i}" for i in range(15)]
    names_b = [f"TabB-{i}" for i in range(15)]
    track_many(a, names_a)
    track_many(b, names_b)
    expected = sorted(f"mid-{n}" for n in names_a + names_b)
    wait_until(lambda: sorted(sink.delivered_ids()) == expected, timeout=30)
    time.sleep(0.5)
    assert sorted(sink.delivered_ids()) == expected
    assert sink.duplicates == []
    leaders = [p.stats()["leader"] for p in (a, b)]
    assert sorted(leaders) == [False, True]


def test_a_tab_that_takes_over_the_lead_finds_no_phantom_events(context, sink):
    """The leader delivers the other tab's events and removes them; the other tab's worker must forget them too.
    (JavaScript's null once became the text "jsnull" in that worker's copy of storage, and the tab set phantom
    events aside with a console error when it took the lead.)"""
    a = open_page(context, sink)
    b = open_page(context, sink)
    leader, other = (a, b) if a.stats()["leader"] else (b, a)
    track_many(other, ["Other-1", "Other-2"])
    wait_until(lambda: sorted(sink.delivered_ids()) == ["mid-Other-1", "mid-Other-2"])
    wait_until(lambda: stored_keys(other) == [])
    leader.close()
    wait_until(lambda: other.stats()["leader"])
    other.wait_for_timeout(500)
    assert other.evaluate("() => window.cioBrowser.setAside()") == []
    assert other.console_errors() == []
    assert sorted(sink.delivered_ids()) == ["mid-Other-1", "mid-Other-2"]


def test_a_400_for_one_item_in_a_batch_sets_only_that_one_aside(context, sink):
    sink.reject_item(lambda e: "name: must not contain 'poison'" if "poison" in e.get("name", "") else None)
    page = open_page(context, sink)
    context.set_offline(True)     # so the three go together in one batch
    track_many(page, ["ok-1", "poison", "ok-2"])
    context.set_offline(False)
    wait_until(lambda: sorted(sink.delivered_ids()) == ["mid-ok-1", "mid-ok-2"], timeout=30)
    aside = wait_until(lambda: page.evaluate("() => window.cioBrowser.setAside()"))
    assert [a["label"] for a in aside] == ['track "poison" (messageId mid-poison)']
    assert "must not contain 'poison'" in aside[0]["message"]
    assert any("poison" in e and "not sent" in e for e in page.console_errors())
    wait_until(lambda: stored_keys(page) == [])


def test_refused_credentials_pause_with_one_error_and_keep_events(context, sink):
    page = open_page(context, sink, settings_for(sink, apiKey="wrong-key"))
    track_many(page, ["K1", "K2"])
    wait_until(lambda: any("credentials" in e for e in page.console_errors()))
    time.sleep(0.5)
    assert [r.status for r in sink.requests] == [401]
    assert len(stored_keys(page)) == 2
    assert "wrong-key" not in " ".join(page.console_errors())


def test_integrations_opt_out_per_event_and_at_load(context, sink):
    page = open_page(context, sink)
    page.evaluate("() => analytics.track('Hidden', {}, {integrations: {'Customer.io': false}})")
    page.evaluate("() => analytics.track('Shown', {})")
    wait_until(lambda: [e["name"] for e in sink.entities()] == ["Shown"])
    other = open_page(context, sink, integrations={"Customer.io": False})
    other.evaluate("() => analytics.track('Also Hidden', {})")
    other.evaluate("() => window.cioBrowser.flush()")
    time.sleep(0.5)
    assert [e["name"] for e in sink.entities()] == ["Shown"]


def test_opt_out_switch_stops_delivery_and_clears_the_queue(context, sink):
    page = open_page(context, sink)
    context.set_offline(True)
    track_many(page, ["Q1", "Q2"])
    assert len(stored_keys(page)) == 2
    page.evaluate("() => window.cioBrowser.optOut()")
    assert stored_keys(page) == []
    track_many(page, ["Q3"])
    context.set_offline(False)
    time.sleep(1.0)
    assert sink.delivered_ids() == []


def test_the_api_key_is_absent_from_storage_console_and_dom(context, sink):
    page = open_page(context, sink, settings_for(sink, debug=True))
    sink.fail_next(400, count=1)
    track_many(page, ["S1", "S2"])
    page.evaluate("() => analytics.track('Relationship Deleted', {})")  # refused: no person_id, no object_id
    wait_until(lambda: len(sink.requests) >= 2)
    page.evaluate("() => window.cioBrowser.flush()")
    storage = page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    console = page.console_text()
    assert API_KEY not in storage and API_KEY not in console
    assert API_KEY not in page.evaluate("() => document.body.innerHTML")
    assert all(API_KEY.encode() not in r.raw for r in sink.requests), "the key leaked into a request body"
    assert 'track "S1"' in console and "-> POST /api/v2/entity" in console, "debug: true logs each mapping"
