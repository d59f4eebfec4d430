"""Property-based: whatever analytics.js (or buggy site code) hands over, only our own errors come out.

Over 10 000 generated events and settings: mapping returns items or raises InvalidEvent, settings parse or raise
SettingsError, and the delivery engine never raises and never loses an event (each is pending or set aside).
"""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_browser import InvalidEvent, Settings, SettingsError, map_event
from cio_browser.delivery.engine import Engine
from cio_browser.presets import RESERVED_EVENT_NAMES
from tests.fakes import FakePorts

SETTINGS = Settings.from_dict({"siteId": "s", "apiKey": "k"})
CLASSIC = Settings.from_dict({"siteId": "s", "apiKey": "k", "mode": "classic"})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "cio_", "cio_x", "a@b.co", "2023-06-01", "2023-06-01T08:00:00Z",
                     "2023-13-45T99:99",
                     "1685606400", "0099-01-01", "Thu, 01 Jun 2023 08:00:00 GMT", "\u0000", "x" * 2000,
                     "2023-06-01T08:00:00.000Z"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=8)
names = st.one_of(st.sampled_from(sorted(RESERVED_EVENT_NAMES)), st.text(max_size=20), json_values)
events = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]), json_values)},
    optional={
        "event": names, "name": names, "userId": scalars, "anonymousId": scalars, "previousId": scalars,
        "groupId": scalars, "messageId": scalars, "timestamp": scalars, "properties": json_values,
        "traits": json_values, "context": st.one_of(json_values, st.fixed_dictionaries({
            "device": st.dictionaries(st.sampled_from(["token", "type"]), scalars),
            "app": st.dictionaries(st.just("version"), scalars)})),
        "integrations": json_values,
    })
setting_keys = st.sampled_from(["siteId", "apiKey", "accountRegion", "region", "endpoint", "mode", "batching",
                                "batchSize", "flushInterval", "maxAttempts", "debug", "enabled", "subscriptions",
                                "site_id", "bogus"])
raw_settings = st.one_of(json_values, st.dictionaries(setting_keys, json_values, max_size=8))

def many(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)


# 5 000 events + 3 000 settings + 2 000 engine runs = 10 000 generated inputs.
@many(5000)
@given(event=events, batch=st.booleans())
def test_any_event_maps_or_raises_invalid_event(event, batch):
    for s in (SETTINGS, CLASSIC):
        try:
            result = map_event(event, s, batch=batch, now_ms=1_700_000_000_000)
        except InvalidEvent:
            continue
        for item in result.items:
            json.dumps(item.body, allow_nan=False)
        assert all(isinstance(e, InvalidEvent) for e in result.errors)


@many(3000)
@given(raw=raw_settings)
def test_any_settings_parse_or_raise_settings_error(raw):
    try:
        Settings.from_dict(raw)
    except SettingsError as exc:
        assert str(exc).startswith("Customer.io settings: ")


@many(2000)
@given(evs=st.lists(st.one_of(events, json_values, st.text(alphabet=string.printable, max_size=40)), max_size=4))
def test_the_engine_never_raises_and_accounts_for_every_event(evs):
    """Nothing is sent here (offline), so every event must still be stored and waiting, or set aside with its
    whole text; only an event that maps to nothing at all (no item, no error) may leave storage."""
    ports = FakePorts()
    ports.is_online = False  # only the intake is under test: nothing is sent, no event loop is needed
    engine = Engine(SETTINGS, ports)
    stored = []
    for ev in evs:
        key = f"{engine.ns}:in:{len(stored):09d}-0000-x"
        text = ev if isinstance(ev, str) else json.dumps(ev)
        ports.storage.set(key, text)
        engine.accept([(key, text, False)])
        stored.append((key, text))
    waiting = {p.key for p in engine.pending}
    aside = {}
    for record in engine.aside:
        aside.setdefault(record["key"], []).append(record)
    for key, text in stored:
        if key in waiting:
            assert ports.storage.get(key) == text, "a waiting event must stay stored, unchanged"
        if key in aside:
            for record in aside[key]:
                assert record["event"] == text, "a set-aside record keeps the whole event"
                stored_record = json.loads(ports.storage.get(record["id"]) or "null")
                assert stored_record == record, "the set-aside record is in storage"
        if key not in waiting and key not in aside:
            assert ports.storage.get(key) is None
            result = map_event(json.loads(text), SETTINGS, batch=True, now_ms=ports.now_ms())
            assert not result.items and not result.errors, f"event lost: {text[:200]}"
    assert engine.stats()["accepted"] == len(stored)
