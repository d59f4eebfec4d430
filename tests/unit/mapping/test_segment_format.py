"""Segment's configuration format (docs/mapping.md §2.1): subscriptions as Segment stores them, settings names.

The shared fixture cases (tests/fixtures/mapping_cases.json) must map identically through a Segment-format
subscription list (tests/fixtures/segment_subscriptions.json: a Quick Setup with every default mapping written
out, plus a disabled subscription), through the equivalent cio_browser list, and through the presets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cio_browser import InvalidEvent, Settings, requests_for
from cio_browser.config import load
from cio_browser.errors import SettingsError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CASES = json.loads((FIXTURES / "mapping_cases.json").read_text(encoding="utf-8"))
SEGMENT = json.loads((FIXTURES / "segment_subscriptions.json").read_text(encoding="utf-8"))["subscriptions"]
#: The same subscriptions in cio_browser's own format: default mappings, disabled ones left out.
OWN = [{"action": s["partnerAction"], "subscribe": s["subscribe"], "name": s["name"]} for s in SEGMENT if s["enabled"]]
PRESET_CASES = [c for c in CASES if "subscriptions" not in c["settings"]]


def run(case: dict, subscriptions: object) -> object:
    raw = dict(case["settings"])
    if subscriptions is not None:
        raw["subscriptions"] = subscriptions
    settings = load(raw).settings if subscriptions is not None else Settings.from_dict(raw)
    try:
        requests = requests_for(case["event"], settings, batch=case["batch"], now_ms=case.get("now_ms"))
    except InvalidEvent as exc:
        return {"error": str(exc)}
    return [{"method": r.method, "url": r.url, "headers": r.headers, "body": r.body} for r in requests]


def test_the_segment_list_is_what_segment_stores():
    assert len(SEGMENT) >= 16 and any(not s["enabled"] for s in SEGMENT)
    for sub in SEGMENT:
        assert set(sub) == {"id", "partnerAction", "name", "enabled", "subscribe", "mapping"}


@pytest.mark.parametrize("case", PRESET_CASES, ids=[c["name"] for c in PRESET_CASES])
@pytest.mark.parametrize("form", ["segment-list", "segment-json-string", "cio-browser-list"])
def test_segment_subscriptions_map_the_fixture_cases_like_the_equivalent_own_ones(case, form):
    subscriptions = {"segment-list": SEGMENT, "segment-json-string": json.dumps(SEGMENT),
                     "cio-browser-list": OWN}[form]
    assert run(case, subscriptions) == run(case, OWN) == case["expect"]


def test_a_disabled_segment_subscription_is_skipped():
    event = {"type": "track", "event": "E", "userId": "u"}
    on = [dict(SEGMENT[-1], enabled=True)]
    assert requests_for(event, {}, subscriptions=on)[0].body["action"] == "delete"
    assert requests_for(event, {}, subscriptions=[SEGMENT[-1]]) == []


def test_segment_mapping_absent_is_an_empty_mapping_as_in_segment():
    sub = {"partnerAction": "deletePerson", "name": "x", "enabled": True, "subscribe": 'type = "track"'}
    with pytest.raises(InvalidEvent, match="missing the required field 'person_id'"):
        requests_for({"type": "track", "event": "E", "userId": "u"}, {}, subscriptions=[sub])


@pytest.mark.parametrize(("sub", "problem"), [
    ({"partnerAction": "sendFax", "subscribe": "type = \"track\""}, "subscriptions[0].partnerAction 'sendFax'"),
    ({"partnerAction": "trackEvent", "subscribe": ""}, "subscriptions[0].subscribe must be a trigger expression"),
    ({"partnerAction": "trackEvent"}, "subscriptions[0].subscribe must be a trigger expression"),
    ({"partnerAction": "trackEvent", "subscribe": "type =", "enabled": True}, "subscriptions[0].subscribe:"),
    ({"partnerAction": "trackEvent", "subscribe": "type = \"track\"", "enabled": "yes"},
     "subscriptions[0].enabled must be true or false"),
    ({"partnerAction": "trackEvent", "action": "trackEvent", "subscribe": "type = \"track\""},
     "has both action and partnerAction"),
])
def test_bad_segment_subscriptions_are_settings_errors(sub, problem):
    with pytest.raises(SettingsError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load({"siteId": "s", "apiKey": "k", "subscriptions": [sub]})


def test_subscriptions_as_a_json_string_that_is_not_json():
    with pytest.raises(SettingsError, match="subscriptions is a string but not valid JSON"):
        load({"siteId": "s", "apiKey": "k", "subscriptions": "[{"})


# ---- settings objects as Segment stores them ----------------------------------------------------------------
ACTIONS_SETTINGS = {"apiKey": "k", "siteId": "s", "accountRegion": "EU \U0001f1ea\U0001f1fa",
                    "subscriptions": json.dumps(SEGMENT), "versionSettings": {"componentTypes": []}}
CLASSIC_SETTINGS = {"apiKey": "k", "siteId": "s", "datacenter": "eu", "type": "browser",
                    "versionSettings": {"version": "2.2.3", "componentTypes": ["browser"]},
                    "bundlingStatus": "unbundled"}


def test_an_actions_settings_object_from_segment_is_used_as_is():
    config = load(ACTIONS_SETTINGS)
    assert config.settings.base_url == "https://track-eu.customer.io"
    assert [s.name for s in config.subscriptions][:2] == ["Create or Update Person", "Create or Update Device"]
    assert config.notes == ["Customer.io: ignoring Segment's own settings keys (versionSettings): they say how "
                            "Segment loads a destination and do not apply here."]


def test_a_classic_settings_object_from_segment_is_accepted_with_a_note():
    config = load(CLASSIC_SETTINGS)
    assert (config.settings.region, config.settings.site_id) == ("EU", "s")
    assert config.settings.ignored == ("versionSettings", "type", "bundlingStatus")
    (note,) = config.notes
    assert "versionSettings, type, bundlingStatus" in note


def test_other_unknown_keys_are_still_refused():
    with pytest.raises(SettingsError, match="unknown setting"):
        load({**CLASSIC_SETTINGS, "colour": "red"})
