"""Delivery engine: every event is delivered once or set aside with its reason (CPython, fake ports)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from cio_browser.delivery.engine import Engine
from cio_browser.settings import Settings
from tests.fakes import T0, FakeArchive, FakePorts, Glue, NetworkError, Response, track

API_KEY = "sekret-key-never-logged"


def make(storage=None, leader=True, archive=None, **extra):
    settings = Settings.from_dict({"siteId": "s1", "apiKey": API_KEY, **extra})
    ports = FakePorts(storage, archive=archive)
    engine = Engine(settings, ports, leader=leader)
    return engine, ports, Glue(engine, ports)


def run(coro):
    """Run on a fresh loop in its own thread: Playwright's sync API may own this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def sent_ids(ports):
    return [e.get("id") for body in ports.bodies() for e in body.get("batch", [body])]


def stored_events(ports):
    return ports.storage.keys("cio_browser:v1:s1:in:")


def test_the_first_event_goes_at_once_and_later_ones_batch_while_it_is_in_flight():
    async def go():
        engine, ports, glue = make()
        glue.keep(*[track("Burst", f"m-{i}") for i in range(5)])
        assert len(ports.sent) == 1, "the first request must start before accept() returns"
        await ports.run()
        assert [len(b["batch"]) for b in ports.bodies()] == [1, 4]
    run(go())


def test_a_delivered_event_is_sent_in_one_batch_and_removed_from_storage():
    async def go():
        engine, ports, glue = make()
        glue.keep(track("Signed Up", "m-1", plan="Pro"))
        assert len(stored_events(ports)) == 1
        await ports.run()
        (req, keepalive), = ports.sent
        assert req.url == "https://track.customer.io/api/v2/batch" and not keepalive
        assert req.body["batch"][0]["name"] == "Signed Up" and req.body["batch"][0]["id"] == "m-1"
        assert stored_events(ports) == []
        assert engine.stats()["delivered"] == 1
    run(go())


def test_server_errors_are_retried_with_growing_backoff_until_accepted():
    async def go():
        engine, ports, glue = make()
        ports.answer(500, 502, 503, 200)
        glue.keep(track("Retry Me", "m-1"))
        await ports.run(advance_ms=60_000)
        assert sent_ids(ports) == ["m-1"] * 4
        # jitter is fixed at 0.5 by the fake: 0.5 s x 2^(n-1) x 1.5 after the n-th consecutive failure
        assert gaps(ports) == [750.0, 1500.0, 3000.0]
        assert stored_events(ports) == []
        assert engine.stats()["delivered"] == 1 and engine.stats()["set_aside"] == {}
        assert engine.stats()["failures"] == 0 and engine.stats()["retry_in_ms"] == 0
    run(go())


def gaps(ports):
    times = [t for t, _ in ports.timeline]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_backoff_doubles_between_attempts():
    async def go():
        engine, ports, glue = make()
        ports.answer(500, 500, 500, 200)
        glue.keep(track("Retry Me", "m-1"))
        await ports.run()
        send_times = [ports.clock]
        while len(ports.sent) < 4:
            await ports.run(advance_ms=min(t.at for t in ports.timers if not t.cancelled) - ports.clock)
            send_times.append(ports.clock)
        gaps = [b - a for a, b in zip(send_times, send_times[1:], strict=False)]
        # jitter is fixed at 0.5 by the fake: 0.5 s x 2^(n-1) x 1.5
        assert gaps == [750.0, 1500.0, 3000.0]
        assert engine.stats()["delivered"] == 1
    run(go())


def test_retry_after_pauses_every_send_for_that_long():
    async def go():
        engine, ports, glue = make()
        ports.answer(Response(429, {"Retry-After": "2"}, "{}"))
        glue.keep(track("Throttled", "m-1"))
        await ports.run()
        t429 = ports.clock
        glue.keep(track("Also Waits", "m-2"))
        await ports.run(advance_ms=1999)
        assert len(ports.sent) == 1, "nothing may be sent inside the Retry-After window"
        await ports.run(advance_ms=5000)
        assert sorted(sent_ids(ports)[1:]) == ["m-1", "m-2"]
        assert ports.sent[1][0] is not None and ports.clock >= t429 + 2000
        assert stored_events(ports) == []
    run(go())


def test_a_400_for_one_batch_item_sets_that_item_aside_and_delivers_the_rest_once():
    async def go():
        engine, ports, glue = make()
        bad = json.dumps({"meta": {"error": "batch item 1: bad"},
                          "errors": [{"batch_index": 1, "field": "identifiers", "message": "must not be empty"}]})
        ports.answer(Response(400, {}, bad))
        ports.is_online = False  # queue the three so they travel together
        glue.keep(track("A", "m-1"), track("B", "m-2"), track("C", "m-3"))
        ports.is_online = True
        engine.kick()
        await ports.run()
        assert sent_ids(ports) == ["m-1", "m-2", "m-3", "m-1", "m-3"]
        aside = engine.aside
        assert [a["label"] for a in aside] == ['track "B" (messageId m-2)']
        assert "identifiers: must not be empty" in aside[0]["message"] and aside[0]["reason"] == "rejected"
        assert stored_events(ports) == []
        assert ports.storage.keys("cio_browser:v1:s1:aside:"), "the set-aside item is kept in storage"
        assert any("m-2" in e and "not sent" in e for e in ports.errors())
    run(go())


def test_an_unattributed_400_splits_the_batch_to_find_the_culprit():
    async def go():
        engine, ports, glue = make()
        ports.answer(Response(400, {}, '{"meta":{"error":"nope"}}'), 200, Response(400, {}, '{"meta":{"error":"x"}}'),
                     200)
        ports.is_online = False
        glue.keep(track("A", "m-1"), track("B", "m-2"), track("C", "m-3"))
        ports.is_online = True
        engine.kick()
        await ports.run()
        assert [len(b.get("batch", [b])) for b in ports.bodies()] == [3, 1, 1, 1]
        assert [a["label"] for a in engine.aside] == ['track "B" (messageId m-2)']
        assert engine.stats()["delivered"] == 2 and stored_events(ports) == []
    run(go())


def test_refused_credentials_pause_delivery_with_one_error_and_keep_every_event():
    async def go():
        engine, ports, glue = make()
        ports.answer(401)
        glue.keep(track("A", "m-1"), track("B", "m-2"))
        await ports.run(advance_ms=600_000)
        glue.keep(track("C", "m-3"))
        await ports.run(advance_ms=600_000)
        assert len(ports.sent) == 1
        errors = ports.errors()
        assert len(errors) == 1 and "credentials" in errors[0] and "HTTP 401" in errors[0]
        assert len(stored_events(ports)) == 3
        assert API_KEY not in errors[0]
    run(go())


def test_refused_settings_are_tried_again_once_unblocked_and_pause_again_if_still_refused():
    async def go():
        engine, ports, glue = make()
        ports.answer(401, 401)
        glue.keep(track("A", "m-1"))
        await ports.run(advance_ms=600_000)
        assert len(ports.sent) == 1 and engine.blocked
        engine.unblock()   # the tab's next page took the worker over
        await ports.run(advance_ms=600_000)
        assert len(ports.sent) == 2 and engine.blocked
        engine.unblock()
        await ports.run(advance_ms=600_000)
        assert sent_ids(ports)[-1] == "m-1" and not engine.blocked and stored_events(ports) == []
    run(go())


def test_an_event_that_keeps_failing_is_set_aside_after_max_attempts():
    async def go():
        engine, ports, glue = make(maxAttempts=3)
        ports.answer(NetworkError("Failed to fetch"), 503, 503)
        glue.keep(track("Doomed", "m-1"))
        await ports.run(advance_ms=3_600_000)
        assert len(ports.sent) == 3
        (rec,) = engine.aside
        assert rec["reason"] == "max_attempts" and "gave up after 3 attempt(s)" in rec["message"]
        assert "HTTP 503" in rec["message"]
        assert stored_events(ports) == []
    run(go())


def test_an_invalid_event_is_set_aside_with_the_reference_error_and_not_sent():
    async def go():
        engine, ports, glue = make()
        glue.keep({"type": "page", "messageId": "m-9", "anonymousId": "a", "properties": {"title": "x"}})
        await ports.run()
        assert ports.sent == []
        (rec,) = engine.aside
        assert rec["message"] == "The root value is missing the required field 'url'."
        assert rec["field"] == "url" and rec["rule"] == "required"
        (err,) = ports.errors()
        assert "page (messageId m-9)" in err and "'url'" in err and "required" in err
    run(go())


def test_a_reload_resumes_stored_events_with_the_same_ids():
    async def go():
        engine, ports, glue = make()
        ports.answer(503, 503)
        glue.keep(track("A", "m-1"), track("B", "m-2"))
        await ports.run()
        assert len(stored_events(ports)) == 2
        # the page goes away; a new page on the same origin boots over the same storage
        engine2, ports2, _ = make(storage=ports.storage)
        ports2.clock = ports.clock + 10
        engine2.resume()
        await ports2.run(advance_ms=60_000)
        assert sent_ids(ports2) == ["m-1", "m-2"]
        assert stored_events(ports2) == []
    run(go())


def test_an_item_over_32_kb_is_set_aside_naming_its_largest_field():
    async def go():
        engine, ports, glue = make()
        glue.keep(track("Huge", "m-1", blob="x" * 40_000), track("Small", "m-2"))
        await ports.run()
        assert sent_ids(ports) == ["m-2"]
        (rec,) = engine.aside
        assert rec["reason"] == "too_large" and "attributes.blob" in rec["message"] and "32768" in rec["message"]
    run(go())


@pytest.mark.parametrize(("count", "sizes"), [(120, [50, 50, 20]), (50, [50]), (3, [3])])
def test_batches_hold_at_most_batch_size_items(count, sizes):
    async def go():
        engine, ports, glue = make()
        ports.is_online = False
        glue.keep(*[track("E", f"m-{i}") for i in range(count)])
        ports.is_online = True
        engine.kick()
        await ports.run()
        assert [len(b["batch"]) for b in ports.bodies()] == sizes
        assert sorted(sent_ids(ports)) == sorted(f"m-{i}" for i in range(count))
    run(go())


def test_batches_stay_under_customer_io_500_kb_limit():
    async def go():
        engine, ports, glue = make()
        ports.is_online = False
        glue.keep(*[track("Big", f"m-{i}", blob="y" * 30_000) for i in range(40)])
        ports.is_online = True
        engine.kick()
        await ports.run()
        sizes = [len(r.json().encode()) for r, _ in ports.sent]
        assert max(sizes) <= 500 * 1024 and sum(len(b["batch"]) for b in ports.bodies()) == 40
    run(go())


def test_only_the_leader_tab_sends_and_a_new_leader_picks_up_stored_events():
    async def go():
        follower, ports, glue = make(leader=False)
        glue.keep(track("From Tab B", "m-1"))
        await ports.run()
        assert ports.sent == []
        follower.become_leader()
        await ports.run()
        assert sent_ids(ports) == ["m-1"]
    run(go())


def test_a_leader_that_steps_down_sends_nothing_more_and_leads_again_from_what_is_stored():
    """A worker whose page left gives the delivery lock back: a batch still waiting for its interval must not go
    out from it while another tab may lead, and what that tab delivered meanwhile is not sent again when this one
    leads again (the tab's next page took it over); what is still stored goes then."""
    async def go():
        engine, ports, glue = make(flushInterval=5000)
        delivered_elsewhere, = glue.keep(track("Waiting", "m-1"))
        glue.keep(track("Also Waiting", "m-2"))
        engine.step_down()
        glue.keep(track("Stored Meanwhile", "m-3"))
        await ports.run(advance_ms=10_000)
        assert ports.sent == []
        ports.storage.remove(delivered_elsewhere)   # the tab that led meanwhile delivered it
        engine.become_leader()
        await ports.run(advance_ms=10_000)
        assert sorted(sent_ids(ports)) == ["m-2", "m-3"]
        assert stored_events(ports) == []
    run(go())


def test_page_leave_sends_untried_items_with_keepalive_within_64_kb():
    async def go():
        engine, ports, glue = make(flushInterval=5000)
        glue.keep(*[track("Leaving", f"m-{i}", blob="z" * 10_000) for i in range(10)])
        engine.on_page_leave()
        await ports.run()
        assert ports.sent and all(keepalive for _, keepalive in ports.sent)
        assert sum(len(r.json().encode()) for r, _ in ports.sent) <= 60 * 1024
        await ports.run(advance_ms=10_000)
        assert sorted(set(sent_ids(ports))) == sorted(f"m-{i}" for i in range(10))
        assert stored_events(ports) == []
    run(go())


def test_opt_out_forgets_set_aside_records_in_storage_and_in_the_archive():
    async def go():
        archive = FakeArchive()
        engine, ports, glue = make(archive=archive)
        glue.keep(track("Huge", "m-1", blob="x" * 1_049_000), {"type": "track", "messageId": "m-2"})
        await ports.run()
        assert len(await engine.set_aside_records()) == 2 and archive.data
        engine.clear()
        await ports.run()
        assert await engine.set_aside_records() == [] and archive.data == {}
        assert ports.storage.keys("cio_browser:v1:s1:") == []
    run(go())


def test_opt_out_clears_the_stored_queue():
    async def go():
        engine, ports, glue = make()
        ports.is_online = False
        glue.keep(track("A", "m-1"))
        engine.clear()
        ports.is_online = True
        engine.kick()
        await ports.run()
        assert ports.sent == [] and stored_events(ports) == []
    run(go())


def test_the_api_key_never_reaches_storage_or_logs():
    async def go():
        engine, ports, glue = make(debug=True)
        ports.answer(400, 503)
        glue.keep(track("A", "m-1"), {"type": "track", "messageId": "m-2"})
        await ports.run(advance_ms=60_000)
        blob = json.dumps(ports.storage.data) + json.dumps(ports.logs) + json.dumps(engine.aside)
        assert API_KEY not in blob
        assert ports.logs, "debug logging was on, something must have been logged"
    run(go())


def test_leave_plan_hands_over_never_tried_items_within_64_kb_with_the_keys_a_2xx_settles():
    """Worker mode: what the page sends itself on pagehide (the worker dies with the page)."""
    async def go():
        engine, ports, glue = make(flushInterval=5000)
        told = []
        engine.leave_listener = lambda: told.append(1)
        glue.keep(*[track("Leaving", f"m-{i}", blob="z" * 10_000) for i in range(10)])
        assert told, "the listener hears about new items"
        plan = engine.leave_plan()
        assert plan and sum(len(r["body"].encode()) for r in plan) <= 64 * 1024
        ids = [e["id"] for r in plan for e in json.loads(r["body"])["batch"]]
        assert ids == [f"m-{i}" for i in range(len(ids))] and 3 <= len(ids) < 10  # arrival order, budget-bound
        first = plan[0]
        assert first["method"] == "POST" and first["url"].endswith("/api/v2/batch")
        assert first["headers"]["authorization"].startswith("Basic ")
        stored = stored_events(ports)
        assert [k for k in first["remove"] if ":in:" in k] == stored[:len(json.loads(first["body"])["batch"])]
        # nothing was sent or removed by planning
        assert ports.sent == [] and stored_events(ports) == stored
        await ports.run(advance_ms=10_000)
        assert engine.leave_plan() == [] and stored_events(ports) == []  # delivered: nothing left to hand over
    run(go())


def test_leave_plan_leaves_out_items_already_tried_and_everything_while_paused():
    async def go():
        engine, ports, glue = make()
        ports.script.append(Response(503, {}, "{}"))
        glue.keep(track("Once", "m-1"))
        await ports.run()
        ports.clock += 600_000  # its backoff is over, but the retry has not gone yet
        assert engine.leave_plan() == []  # tried once: it waits for the worker's (or the next page's) retry
        ports.script.append(Response(429, {"retry-after": "30"}, "{}"))
        glue.keep(track("Fresh", "m-2"))
        await ports.run()
        glue.keep(track("Later", "m-3"))
        assert engine.leave_plan() == []  # paused by Retry-After: nothing goes, not even never-tried items
    run(go())


# ---- calm under failure: the queue backs off, not each event ---------------------------------------------------
def outage(ports, until_ms):
    """The endpoint answers 503 until ``until_ms`` (fake clock), then 200."""
    ports.responder = lambda request: Response(503 if ports.clock < until_ms else 200, {}, "{}")


def test_a_20_s_outage_costs_one_request_per_backoff_step_and_recovery_one_step_and_full_batches():
    async def go():
        engine, ports, glue = make()
        t0 = ports.clock
        outage(ports, t0 + 20_000)
        ids = [f"m-{i}" for i in range(200)]
        glue.keep(*[track("Outage", mid) for mid in ids])
        await ports.run(advance_ms=20_000)
        during = [(t, status) for t, status in ports.timeline]
        assert all(status == 503 for _, status in during)
        # failures at 0, 0.75, 2.25, 5.25, 11.25 s (backoff 0.75 s doubling): 5 requests in 20 s, never a storm
        assert [t - t0 for t, _ in during] == [0.0, 750.0, 2250.0, 5250.0, 11250.0]
        # every failed request was a whole batch, not a single event
        assert [len(b["batch"]) for b in ports.bodies()] == [1, 50, 50, 50, 50]
        await ports.run(advance_ms=60_000)
        after = ports.timeline[len(during):]
        # the probe fires one backoff step (12 s after the 11.25 s failure) after the failure before recovery
        assert after[0][0] - t0 == 11250.0 + 12_000
        assert [status for _, status in after] == [200] * 4 and len(after) <= -(-200 // 50) + 1
        assert {t for t, _ in after} == {after[0][0]}, "after the probe everything due goes at once"
        delivered = [e["id"] for b in ports.bodies()[len(during):] for e in b["batch"]]
        assert sorted(delivered) == sorted(ids), "every event exactly once after recovery"
        assert set(sent_ids(ports)) == set(ids), "a repeat only ever carries the same id"
        assert stored_events(ports) == []
        warnings = [m for level, m in ports.logs if level == "warn"]
        assert len(warnings) == 1 and "HTTP 503" in warnings[0] and ports.errors() == []
    run(go())


def test_new_events_wait_for_the_backoff_instead_of_adding_requests():
    async def go():
        engine, ports, glue = make()
        ports.answer(503)
        glue.keep(track("First", "m-1"))
        await ports.run()
        for i in range(30):
            glue.keep(track("Later", f"n-{i}"))
            await ports.run(advance_ms=10)
        assert len(ports.sent) == 1, "fresh events must not bypass the queue's backoff"
        await ports.run(advance_ms=1_000)
        assert [len(b["batch"]) for b in ports.bodies()] == [1, 31]
    run(go())


def test_a_retry_after_longer_than_the_backoff_is_the_wait():
    async def go():
        engine, ports, glue = make()
        ports.answer(Response(503, {"Retry-After": "30"}, "{}"))
        glue.keep(track("A", "m-1"))
        await ports.run(advance_ms=120_000)
        assert gaps(ports) == [30_000.0]
    run(go())


def test_coming_back_online_ends_a_backoff_caused_by_network_errors():
    async def go():
        engine, ports, glue = make()
        ports.answer(*[NetworkError("Failed to fetch")] * 5)
        glue.keep(track("A", "m-1"))
        await ports.run(advance_ms=20_000)
        assert len(ports.sent) == 5 and engine.stats()["retry_in_ms"] == 3_250
        engine.back_online()
        await ports.run()
        assert sent_ids(ports)[-1] == "m-1" and engine.stats()["delivered"] == 1
        assert ports.timeline[-1][0] == ports.clock
    run(go())


def test_coming_back_online_does_not_cut_a_backoff_the_server_asked_for():
    async def go():
        engine, ports, glue = make()
        ports.answer(503)
        glue.keep(track("A", "m-1"))
        await ports.run()
        engine.back_online()
        await ports.run()
        assert len(ports.sent) == 1
        await ports.run(advance_ms=750)
        assert len(ports.sent) == 2
    run(go())


def test_a_reload_keeps_the_queue_backoff():
    async def go():
        engine, ports, glue = make()
        ports.answer(503, 503, 503)
        glue.keep(track("A", "m-1"))
        await ports.run(advance_ms=2_300)
        assert len(ports.sent) == 3       # at 0, 0.75 s and 2.25 s; the next may go 3 s later, at 5.25 s
        engine2, ports2, _ = make(storage=ports.storage)
        ports2.clock = ports.clock + 100
        engine2.resume()
        await ports2.run(advance_ms=2_000)
        assert ports2.sent == [], "a reload must not send before the stored backoff allows"
        await ports2.run(advance_ms=2_000)
        assert sent_ids(ports2) == ["m-1"] and ports2.timeline[0][0] == T0 + 5_250
        assert ports2.storage.get("cio_browser:v1:s1:backoff") is None, "success clears the stored backoff"
    run(go())


# ---- nothing kept is ever cut or orphaned --------------------------------------------------------------------
def test_a_set_aside_record_keeps_the_whole_event_in_the_archive_and_storage_keeps_none_of_it():
    async def go():
        archive = FakeArchive()
        engine, ports, glue = make(archive=archive)
        (key,) = glue.keep(track("Huge", "m-1", blob="x" * 1_049_000))
        text = json.dumps(track("Huge", "m-1", blob="x" * 1_049_000))
        assert ports.storage.get(key) == text, "the event stays stored until its record is safe"
        await ports.run()
        (record,) = await engine.set_aside_records()
        assert record["event"] == text and record["reason"] == "too_large"
        assert list(archive.data) == [record["id"]] and json.loads(archive.data[record["id"]])["event"] == text
        assert ports.storage.get(key) is None and ports.storage.keys("cio_browser:v1:s1:aside:") == []
    run(go())


def test_a_record_the_archive_refuses_goes_to_storage_whole_and_the_event_is_never_dropped_unsaved():
    async def go():
        archive = FakeArchive()
        archive.fail = True
        engine, ports, glue = make(archive=archive)
        glue.keep(track("Huge", "m-1", blob="y" * 50_000))
        await ports.run()
        (record,) = await engine.set_aside_records()
        assert len(record["event"]) > 50_000 and "…" not in record["event"][-40:]
        assert ports.storage.get(record["id"]) == json.dumps(record, ensure_ascii=False)
    run(go())


def test_full_storage_is_reported_once_loudly_with_counts():
    async def go():
        from cio_browser.delivery.storage import MemoryStorage

        engine, ports, glue = make(storage=MemoryStorage(quota=60_000))
        glue.keep(track("Huge", "m-1", blob="z" * 40_000))
        glue.keep(track("Huge", "m-2", blob="z" * 40_000))
        await ports.run()
        full = [m for m in ports.errors() if "storage is full" in m]
        assert len(full) == 1 and "set-aside record(s)" in full[0] and "event(s)" in full[0]
        records = await engine.set_aside_records()
        assert sorted(r["label"] for r in records) == ['track "Huge" (messageId m-1)', 'track "Huge" (messageId m-2)']
    run(go())


def test_a_400_naming_a_field_keeps_that_field_on_the_set_aside_record():
    async def go():
        engine, ports, glue = make()
        ports.answer(Response(400, {}, json.dumps({"meta": {"error": "invalid"},
                                                   "errors": [{"field": "identifiers", "message": "bad id"}]})))
        glue.keep(track("A", "m-1"))
        await ports.run()
        (record,) = engine.aside
        assert record["field"] == "identifiers" and record["status"] == 400
        assert json.loads(ports.storage.get(record["id"]))["field"] == "identifiers"
    run(go())


def test_a_400_in_a_batch_keeps_the_field_of_the_item_it_names():
    async def go():
        engine, ports, glue = make()
        bad = json.dumps({"errors": [{"batch_index": 1, "field": "name", "message": "too long"}]})
        ports.answer(Response(400, {}, bad))
        ports.is_online = False
        glue.keep(track("A", "m-1"), track("B", "m-2"))
        ports.is_online = True
        engine.kick()
        await ports.run()
        (record,) = engine.aside
        assert record["label"] == 'track "B" (messageId m-2)' and record["field"] == "name"
    run(go())


def test_events_stored_under_a_spaced_site_id_are_delivered_and_other_sites_are_reported_not_sent():
    async def go():
        from cio_browser.delivery.storage import MemoryStorage

        storage = MemoryStorage()
        spaced = "cio_browser:v1: s1 :in:00000001-0000-a"
        other = "cio_browser:v1:another-site:in:00000002-0000-b"
        storage.set(spaced, json.dumps(track("Spaced", "m-spaced")))
        storage.set(other, json.dumps(track("Other", "m-other")))
        engine, ports, _ = make(storage=storage)
        engine.resume()
        await ports.run()
        assert sent_ids(ports) == ["m-spaced"] and storage.get(spaced) is None
        stats = engine.stats()
        assert stats["orphaned"] == {"cio_browser:v1:another-site": 1} and stats["delivered"] == 1
        (record,) = await engine.set_aside_records()
        assert record["reason"] == "orphaned" and "another-site" in record["message"]
        assert record["event"] == storage.get(other), "reported with the whole event, and still kept"
    run(go())


def test_stats_without_an_engine_still_count_what_is_kept():
    from cio_browser.delivery.inventory import Inventory
    from cio_browser.delivery.storage import MemoryStorage

    storage = MemoryStorage()
    storage.set("cio_browser:v1:s1:in:00000001-0000-a", "{}")
    storage.set("cio_browser:v1:s1:aside:00000000-0000-z:x", json.dumps({"reason": "invalid"}))
    storage.set("cio_browser:v1:old:in:00000002-0000-a", "{}")
    stats = {**Engine.idle_stats(), **Inventory(storage, "cio_browser:v1:s1").counts()}
    assert stats["stored"] == 1 and stats["set_aside"] == {"invalid": 1}
    assert stats["orphaned"] == {"cio_browser:v1:old": 1} and stats["delivered"] == 0
