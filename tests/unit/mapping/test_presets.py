"""Presets and their triggers (docs/mapping.md §2), including every reserved event name."""

from __future__ import annotations

import pytest

from cio_browser import Settings
from cio_browser.mapping import map_event
from cio_browser.mapping.actions import ACTIONS
from cio_browser.presets import (
    EVENT_SPECIFIC_PRESETS,
    PRESETS,
    RESERVED_EVENT_NAMES,
    TRACK_EVENT_SUBSCRIPTION,
    default_subscription,
    matching_presets,
)

SETTINGS = Settings.from_dict({"siteId": "s", "apiKey": "k"})

#: The reserved event name -> the one action that handles it (and Track Event does not).
RESERVED = {
    "Application Installed": "createUpdateDevice",
    "Application Opened": "createUpdateDevice",
    "Application Uninstalled": "deleteDevice",
    "Device Created or Updated": "createUpdateDevice",
    "Device Deleted": "deleteDevice",
    "Relationship Deleted": "deleteRelationship",
    "User Deleted": "deletePerson",
    "User Suppressed": "suppressPerson",
    "User Unsuppressed": "unsuppressPerson",
    "Object Deleted": "deleteObject",
    "Report Delivery Event": "reportDeliveryEvent",
    "Report Content Event": "reportContentEvent",
}


def actions_for(event: dict) -> list[str]:
    return [p.action for p in matching_presets(event)]


def test_the_twelve_reserved_names():
    assert RESERVED_EVENT_NAMES == tuple(RESERVED)
    assert len(set(RESERVED_EVENT_NAMES)) == 12


def test_track_event_trigger_is_built_from_the_reserved_names():
    assert TRACK_EVENT_SUBSCRIPTION.startswith('type = "track" and ')
    for name in RESERVED_EVENT_NAMES:
        assert f'event != "{name}"' in TRACK_EVENT_SUBSCRIPTION
    (track,) = [p for p in PRESETS if p.action == "trackEvent"]
    assert track.subscribe == TRACK_EVENT_SUBSCRIPTION


@pytest.mark.parametrize("name", RESERVED_EVENT_NAMES)
def test_each_reserved_name_goes_to_its_own_action_and_not_to_track_event(name):
    assert actions_for({"type": "track", "event": name}) == [RESERVED[name]]


@pytest.mark.parametrize("name", RESERVED_EVENT_NAMES)
def test_reserved_names_are_case_sensitive(name):
    assert actions_for({"type": "track", "event": name.lower()}) == ["trackEvent"]
    assert actions_for({"type": "track", "event": name + " "}) == ["trackEvent"]


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"type": "identify"}, ["createUpdatePerson"]),
        ({"type": "track", "event": "Order Placed"}, ["trackEvent"]),
        ({"type": "track", "event": ""}, ["trackEvent"]),
        ({"type": "track", "event": "Group Deleted"}, ["trackEvent"]),  # §9.7: not a reserved name
        ({"type": "track"}, ["trackEvent"]),  # no event member: != holds; the field is then missing
        ({"type": "page"}, ["trackPageView"]),
        ({"type": "screen"}, ["trackScreenView"]),
        ({"type": "group"}, ["createUpdateObject"]),
        ({"type": "alias"}, ["mergePeople"]),
        ({"type": "Identify"}, []),
        ({"type": "unknown", "event": "Order Placed"}, []),
        ({}, []),
        # the device, relationship, person and object triggers test only `event` (§2, §9.8)
        ({"type": "identify", "event": "Application Opened"}, ["createUpdatePerson", "createUpdateDevice"]),
        ({"type": "screen", "event": "User Deleted"}, ["deletePerson", "trackScreenView"]),
        ({"event": "Object Deleted"}, ["deleteObject"]),
    ],
)
def test_preset_triggers(event, expected):
    assert sorted(actions_for(event)) == sorted(expected)
    result = map_event(event, SETTINGS, now_ms=0)  # every matched action yields an item or an error
    assert sorted([i.action for i in result.items] + [e.action for e in result.errors]) == sorted(expected)


def test_every_action_has_exactly_one_automatic_preset_and_its_default_subscription():
    assert sorted(p.action for p in PRESETS) == sorted(ACTIONS)
    for preset in PRESETS:
        assert preset.kind == "automatic" and preset.mapping is None
        assert default_subscription(preset.action) == preset.subscribe
    assert default_subscription("nope") is None


def test_preset_triggers_verbatim():
    triggers = {p.name: p.subscribe for p in PRESETS}
    assert triggers["Create or Update Device"] == (
        'event = "Application Installed" or event = "Application Opened" or event = "Device Created or Updated"')
    assert triggers["Delete Device"] == 'event = "Application Uninstalled" or event = "Device Deleted"'
    assert triggers["Report Content Event"] == 'event = "Report Content Event"'
    assert triggers["Merge People"] == 'type = "alias"'


def test_event_specific_presets_exist_but_never_match_in_the_browser():
    kinds = {p.event_kind: p.action for p in EVENT_SPECIFIC_PRESETS}
    assert kinds == {
        "warehouse_entity_added_track": "trackEvent",
        "warehouse_entity_removed_track": "trackEvent",
        "warehouse_audience_entered_track": "trackEvent",
        "warehouse_audience_exited_track": "trackEvent",
        "journeys_step_entered_track": "trackEvent",
        "warehouse_audience_membership_changed_identify": "createUpdatePerson",
    }
    assert all(p.matches is None and p.kind == "specificEvent" for p in EVENT_SPECIFIC_PRESETS)
    assert actions_for({"type": "warehouse_entity_added_track"}) == []


def test_matching_is_memoised_but_stays_correct_for_odd_values():
    first = matching_presets({"type": "track", "event": "Memo Test"})
    assert matching_presets({"type": "track", "event": "Memo Test", "userId": "x"}) is first
    assert actions_for({"type": "track", "event": 5}) == ["trackEvent"]
    assert actions_for({"type": "track", "event": {"x": 1}}) == ["trackEvent"]
    assert actions_for({"type": 5}) == []
    # a missing event member and an explicit null are different keys for the memo
    assert actions_for({"type": "track", "event": None}) == ["trackEvent"]
    assert actions_for({"type": "track"}) == ["trackEvent"]


@pytest.mark.parametrize("name", RESERVED_EVENT_NAMES)
def test_mapping_a_reserved_event_never_produces_a_track_event_body(name):
    event = {"type": "track", "event": name, "userId": "u", "context": {"device": {"token": "t", "type": "ios"}},
             "properties": {"objectId": "o", "deliveryId": "d", "metric": "opened", "actionType": "viewed_content"}}
    result = map_event(event, SETTINGS, now_ms=0)
    assert [i.action for i in result.items] == [RESERVED[name]]
    assert result.errors == []
    assert all(i.body.get("action") != "event" for i in result.items)
