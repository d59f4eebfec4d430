"""``POST /events``: raw analytics.js events mapped on the relay exactly as the page maps them.

The shared mapping fixtures (tests/fixtures/mapping_cases.json, the same file the CPython and Pyodide mapping
tests run) go through a real relay, one event per request, and the local endpoint records what arrives: method,
path, Authorization and the body, byte for byte. Errors must be the reference's own text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cio_browser import requests_for
from cio_browser.constants import REGION_HOSTS

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "mapping_cases.json").read_text("utf-8"))
#: Cases that pin the mapping's clock (``now_ms``) cannot be compared: the relay maps with the server's clock.
COMPARABLE = [c for c in CASES if "now_ms" not in c]
#: Settings that the relay takes from its own variables rather than from CIO_SETTINGS.
_RELAY_VARIABLES = {"siteId", "apiKey", "accountRegion", "endpoint"}


def _groups() -> dict[str, list[dict[str, Any]]]:
    """Cases by the relay configuration they need (mapping settings + batching)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in COMPARABLE:
        page = {k: v for k, v in case["settings"].items() if k not in _RELAY_VARIABLES}
        page["batching"] = case["batch"]
        groups.setdefault(json.dumps(page, sort_keys=True), []).append(case)
    return groups


def _base(case: dict[str, Any]) -> str:
    s = case["settings"]
    if "endpoint" in s:
        return s["endpoint"].rstrip("/")
    return REGION_HOSTS["EU" if str(s.get("accountRegion", "")).startswith("EU") else "US"]


def test_the_fixture_cases_use_the_endpoints_credentials():
    with_key = [c for c in CASES if "endpoint" not in c["settings"]]
    assert all((c["settings"]["siteId"], c["settings"]["apiKey"]) == ("site123", "key456") for c in with_key)
    assert len(COMPARABLE) >= 70


@pytest.mark.parametrize("group", list(_groups()), ids=lambda g: g[:60])
def test_fixture_events_through_the_relay_arrive_byte_for_byte_as_the_page_maps_them(relay, sink, group):
    r = relay(CIO_SETTINGS=group)
    for case in _groups()[group]:
        sink.reset()
        answer = r.post("/events", json=[case["event"]])
        [result] = answer.json()["results"]
        if isinstance(case["expect"], dict):  # the reference refuses the event: same text, nothing sent
            assert result["status"] == "invalid", case["name"]
            assert result["errors"][0]["message"] == case["expect"]["error"], case["name"]
            assert sink.requests == [], case["name"]
            continue
        base = _base(case)
        # the reference's requests (the relay adds the key even where a proxy-endpoint case expects none) …
        got = [(x.method, x.path, x.credentials, json.loads(x.raw)) for x in sink.requests]
        want = [(e["method"], e["url"][len(base):], "valid", e["body"]) for e in case["expect"]]
        assert all(e["headers"].get("authorization") in (None, sink.authorization) for e in case["expect"])
        assert got == want, case["name"]
        # … and byte for byte the bodies the page itself would send for this event
        page = requests_for(case["event"], case["settings"], batch=case["batch"])
        assert [x.raw for x in sink.requests] == [p.json().encode() for p in page], case["name"]
        accepted = all(x.status == 200 for x in sink.requests)  # the endpoint may refuse what the reference sends
        assert result["status"] == ("ignored" if not want else "delivered" if accepted else "rejected"), case["name"]
        assert all(x.headers.get("content-type") == "application/json" for x in sink.requests if x.raw)


def test_a_repeat_carries_the_same_entity_id(relay, sink):
    r = relay()
    event = {"type": "track", "event": "Paid", "userId": "u1", "messageId": "ajs-repeat",
             "timestamp": "2024-05-01T10:00:00.000Z", "properties": {"amount": 5}}
    for _ in range(2):
        assert r.post("/events", json=[event]).json()["results"][0]["status"] == "delivered"
    assert sink.delivered_ids() == ["ajs-repeat", "ajs-repeat"]
    assert sink.requests[0].raw == sink.requests[1].raw


def test_one_refused_event_in_a_batch_does_not_cost_the_others(relay, sink):
    r = relay()
    sink.reject_item(lambda e: "poisoned" if e.get("name") == "Poison" else None)
    events = [{"type": "track", "event": n, "userId": "u1", "messageId": f"m-{n}",
               "timestamp": "2024-05-01T10:00:00.000Z"} for n in ("Good", "Poison", "Fine")]
    answer = r.post("/events", json=events)
    assert answer.status_code == 200  # a refusal is final: nothing for the page to retry
    statuses = [x["status"] for x in answer.json()["results"]]
    assert statuses == ["delivered", "rejected", "delivered"]
    assert "poisoned" in answer.json()["results"][1]["upstream"]["error"]
    assert sorted(sink.delivered_ids()) == ["m-Fine", "m-Good"]


def test_events_the_page_could_not_serialise_or_that_are_not_objects_get_the_pages_text(relay, sink):
    r = relay()
    stored = [{"__cio_unserializable": "properties.n: BigInt is not JSON", "event": {"type": "track"}}, 7, None]
    results = r.post("/events", json=stored).json()["results"]
    assert [x["errors"][0]["message"] for x in results] == [
        "the event cannot be sent as JSON: properties.n: BigInt is not JSON",
        "an event must be a JSON object", "an event must be a JSON object"]
    assert results[0]["errors"][0]["field"] == "properties.n" and results[0]["errors"][0]["rule"] == "json"
    assert sink.requests == []


def test_malformed_or_non_array_bodies_are_refused_before_mapping(relay, sink):
    r = relay()
    for body, text in ((b"[{", "request body is not valid JSON"), (b"\xff\xfe", "request body is not valid JSON"),
                       (b'{"type": "track"}', "request body must be a JSON array of analytics.js events")):
        answer = r.post("/events", content=body)
        assert (answer.status_code, answer.json()) == (400, {"meta": {"error": text}})
    assert r.post("/events", content=b"[]").json() == {"results": []}
    too_many = r.post("/events", content=b"[" + b",".join([b"{}"] * 1001) + b"]")
    assert (too_many.status_code, too_many.json()) == (413, {"meta": {"error": "at most 1000 events per request"}})
    assert sink.requests == []


def test_a_beacon_body_sent_as_text_plain_is_accepted(relay, sink):
    r = relay()
    event = {"type": "page", "name": "Home", "userId": "u1", "messageId": "beacon-1",
             "timestamp": "2024-05-01T10:00:00.000Z", "properties": {"url": "https://www.example.com/"}}
    answer = r.post("/events", content=json.dumps([event]).encode(), headers={"content-type": "text/plain"})
    assert answer.json()["results"][0]["status"] == "delivered"
    assert sink.delivered_ids() == ["beacon-1"]


def test_upstream_failures_are_reported_per_event_with_the_upstream_status(relay, sink):
    r = relay()
    event = {"type": "track", "event": "Later", "userId": "u1", "messageId": "m-later"}
    sink.fail_next(503, headers={"Retry-After": "3"})
    answer = r.post("/events", json=[event])
    assert answer.status_code == 503 and answer.headers["retry-after"] == "3"
    assert answer.json()["results"][0]["status"] == "failed"
    assert answer.json()["results"][0]["upstream"]["status"] == 503
    assert r.post("/events", json=[event]).json()["results"][0]["status"] == "delivered"


def test_classic_mode_settings_map_events_to_v1_routes(relay, sink):
    r = relay(CIO_SETTINGS=json.dumps({"mode": "classic", "relay": "/cio", "boot": "idle", "debug": True}))
    event = {"type": "track", "event": "Classic", "userId": "u 1", "messageId": "m-c",
             "timestamp": "2024-05-01T10:00:00.000Z", "properties": {}}
    assert r.post("/events", json=[event]).json()["results"][0]["status"] == "delivered"
    assert [x.path for x in sink.requests] == ["/api/v1/customers/u%201/events"]
