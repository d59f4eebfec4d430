"""The Event Tester's examples (www/tester-examples.json): one per call type and per reserved event name, and each
maps under the presets exactly to the action its name is reserved for (or is refused, when it says so)."""

from __future__ import annotations

import json
from pathlib import Path

from cio_browser.presets import PRESETS, RESERVED_EVENT_NAMES
from cio_browser.preview import preview
from cio_browser.settings import Settings

EXAMPLES = json.loads((Path(__file__).resolve().parents[2] / "www" / "tester-examples.json").read_text())["examples"]
SETTINGS = Settings.from_dict({"siteId": "s1", "apiKey": "k1"})


def as_event(example: dict) -> dict:
    """What analytics.js makes of the tester's call (the fields the mapping reads)."""
    return {"type": example["type"], "messageId": "m-1", "anonymousId": "anon-1",
            "timestamp": "2024-05-20T10:00:00.000Z", **example["event"]}


def test_every_call_type_and_reserved_event_has_an_example() -> None:
    assert {e["type"] for e in EXAMPLES} == {"track", "identify", "page", "screen", "group", "alias"}
    named = {e["event"].get("event") for e in EXAMPLES if e["type"] == "track"}
    assert set(RESERVED_EVENT_NAMES) <= named


def test_each_example_maps_to_the_action_its_name_is_reserved_for() -> None:
    reserved_action = {name: p.name for p in PRESETS for name in RESERVED_EVENT_NAMES
                       if p.matches({"type": "track", "event": name}) and p.action != "trackEvent"}
    for example in EXAMPLES:
        result = preview(as_event(example), SETTINGS, now_ms=1_716_199_200_000)
        matched = [s["name"] for s in result["subscriptions"] if s["matched"]]
        if "refused" in example["label"]:
            assert result["errors"] and not result["requests"], example["label"]
            continue
        assert result["errors"] == [] and result["requests"], (example["label"], result["errors"])
        name = example["event"].get("event")
        if name in reserved_action:
            assert matched == [reserved_action[name]], example["label"]
