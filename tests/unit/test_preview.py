"""cioBrowser.preview(): the Event Tester's explanation of one event, and "send again" for set-aside events.

The preview must be the delivery's own mapping, so these tests compare it with :func:`requests_for` and with
what the engine really sends (CPython, fake ports), rather than with hand-written expectations only.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from cio_browser.delivery.engine import Engine
from cio_browser.mapping import requests_for
from cio_browser.preview import check_settings, preview, request_fingerprints
from cio_browser.settings import Settings
from tests.fakes import FakePorts, Glue, track

API_KEY = "sekret-key-never-shown"
SETTINGS = Settings.from_dict({"siteId": "s1", "apiKey": API_KEY})
NOW = 1_700_000_000_000


def run(coro):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_a_track_event_matches_track_event_only_and_says_why_the_others_do_not() -> None:
    event = track("Signed Up", "m-1", plan="Pro")
    result = preview(event, SETTINGS, now_ms=NOW)
    matched = [s["name"] for s in result["subscriptions"] if s["matched"]]
    assert matched == ["Track Event"]
    rows = {s["name"]: s for s in result["subscriptions"]}
    assert rows["Create or Update Person"]["why"] == 'trigger type = "identify" is false: type is "track"'
    assert rows["Delete Person"]["why"] == 'trigger event = "User Deleted" is false: event is "Signed Up"'
    [expected] = requests_for(event, SETTINGS, batch=True, now_ms=NOW)
    [request] = result["requests"]
    assert (request["method"], request["url"], request["body"]) == (expected.method, expected.url, expected.body)
    assert rows["Track Event"]["payload"] == expected.body["batch"][0]
    assert request["items"] == ["id:m-1"]


def test_the_key_never_appears_in_a_preview() -> None:
    text = json.dumps(preview(track("Signed Up", "m-1"), SETTINGS, now_ms=NOW))
    assert API_KEY not in text and "Basic [masked: site id 's1', API key hidden]" in text


def test_an_invalid_action_names_the_field_and_the_rule() -> None:
    event = {"type": "track", "event": "Relationship Deleted", "userId": "u1", "messageId": "m-2"}
    result = preview(event, SETTINGS, now_ms=NOW)
    [row] = [s for s in result["subscriptions"] if s["matched"]]
    assert row["name"] == "Delete Relationship" and row["error"]["field"] == "object_id"
    assert row["error"]["rule"] == "required" and result["requests"] == []


def test_custom_subscriptions_change_the_mapping() -> None:
    settings = Settings.from_dict({"siteId": "s1", "apiKey": API_KEY, "subscriptions": [
        {"action": "trackEvent", "name": "Orders only", "subscribe": 'event = "Order Completed"',
         "mapping": {"name": "Order!", "id": {"@path": "$.userId"}}},
    ]})
    other = preview(track("Signed Up", "m-1"), settings, now_ms=NOW)
    assert [s["matched"] for s in other["subscriptions"]] == [False] and other["requests"] == []
    order = preview(track("Order Completed", "m-3"), settings, now_ms=NOW)
    [row] = order["subscriptions"]
    assert row["custom"] and row["payload"]["name"] == "Order!"
    assert row["payload"]["identifiers"] == {"id": "u1"}


def test_classic_mode_previews_its_v1_requests() -> None:
    settings = Settings.from_dict({"siteId": "s1", "apiKey": API_KEY, "mode": "classic"})
    result = preview(track("Signed Up", "m-1", plan="Pro"), settings, now_ms=NOW)
    [request] = result["requests"]
    assert request["url"] == "https://track.customer.io/api/v1/customers/u1/events"
    assert request["body"]["name"] == "Signed Up" and result["subscriptions"] == []


def test_check_settings_lists_every_problem_like_start_up() -> None:
    import pytest

    from cio_browser.config import load
    from cio_browser.errors import SettingsError

    raw = {"siteId": "a:b", "batchSize": 0, "region": "Mars", "subscriptions": [{"action": "nope"}]}
    result = check_settings(raw)
    assert not result["ok"] and result["settings"] is None
    with pytest.raises(SettingsError) as start_up:
        load(raw)
    assert result["problems"] == start_up.value.problems and len(result["problems"]) == 5
    assert any("siteId must not contain ':'" in p for p in result["problems"])
    assert any("subscriptions[0].action 'nope'" in p for p in result["problems"])
    assert check_settings({"siteId": "s1"})["problems"] == [
        "apiKey is required (or set relay to a cio_browser relay, or endpoint to a proxy)"]
    ok = check_settings({"siteId": "s1", "apiKey": API_KEY, "versionSettings": {}})
    assert ok["ok"] and ok["problems"] == [] and API_KEY not in json.dumps(ok)
    assert ok["notes"] and "versionSettings" in ok["notes"][0]


def test_preview_names_the_items_the_engine_really_sends() -> None:
    """The tester links a call to its requests by these names: they must agree with what goes on the wire."""
    async def go():
        ports = FakePorts()
        engine = Engine(SETTINGS, ports)
        identify = {"type": "identify", "userId": "u1", "messageId": "m-10", "traits": {"a": 1}}
        Glue(engine, ports).keep(track("Signed Up", "m-9"), identify)
        await ports.run()
        sent = [name for req, _ in ports.sent for name in request_fingerprints(req.method, req.url, req.body)]
        assert sent[0] == "id:m-9"
        assert preview(track("Signed Up", "m-9"), SETTINGS, now_ms=NOW)["requests"][0]["items"] == ["id:m-9"]
        # an entity without an id (identify) is named by a digest of its content, the same on both sides
        assert preview(identify, SETTINGS, now_ms=NOW)["requests"][0]["items"] == [sent[1]]
        assert sent[1].startswith("sha:")
    run(go())


def test_a_set_aside_event_is_sent_again_once_the_settings_are_fixed() -> None:
    async def go():
        ports = FakePorts()
        broken = Settings.from_dict({"siteId": "s1", "apiKey": API_KEY, "subscriptions": [
            {"action": "trackEvent", "subscribe": 'type = "track"',
             "mapping": {"name": {"@path": "$.properties.missing"}, "id": {"@path": "$.userId"},
                         "event_id": {"@path": "$.messageId"}}}]})
        engine = Engine(broken, ports)
        Glue(engine, ports).keep(track("Signed Up", "m-5"))
        await ports.run()
        [record] = await engine.set_aside_records()
        assert record["reason"] == "invalid" and ports.sent == []
        fixed = Engine(SETTINGS, ports)             # the page reloaded with fixed settings
        text = await fixed.take_back(record["id"])
        assert json.loads(text)["messageId"] == "m-5" and await fixed.set_aside_records() == []
        assert await fixed.take_back(record["id"]) is None
        assert await fixed.take_back("cio_browser:v1:other:aside:x") is None
        Glue(fixed, ports).keep(json.loads(text))
        await ports.run()
        assert [b["batch"][0]["id"] for b in ports.bodies()] == ["m-5"]
    run(go())


def test_the_request_log_masks_the_key_and_is_bounded() -> None:
    from cio_browser.browser import RequestLog
    from cio_browser.mapping import requests_for

    log = RequestLog(size=3)
    [request] = requests_for(track("Signed Up", "m-1"), SETTINGS, batch=True, now_ms=NOW)
    for i in range(5):
        entry = log.sent(request, NOW + i, keepalive=False)
    entry.update(status=200, answer="{}")
    assert [e["seq"] for e in log.entries] == [3, 4, 5]
    assert [e["seq"] for e in log.since(4)] == [5]
    assert API_KEY not in json.dumps(log.entries)
    assert log.entries[-1]["headers"]["authorization"] == "Basic [masked: site id 's1', API key hidden]"
    assert log.entries[-1]["items"] == ["id:m-1"]
