"""§9: where Segment's/Customer.io's documentation and the reference differ. Each row is pinned by a test that
follows the reference (and names the documented behaviour it deliberately does not follow)."""

from __future__ import annotations

from cio_browser import Settings, requests_for
from cio_browser.mapping import map_event
from cio_browser.presets import RESERVED_EVENT_NAMES, matching_presets

SETTINGS = Settings.from_dict({"siteId": "s", "apiKey": "k"})
T = "2023-06-01T08:00:00.000Z"


def body(event: dict, now_ms: int = 0) -> dict:
    (request,) = requests_for(event, SETTINGS, now_ms=now_ms)
    return request.body


def attributes(props: dict) -> dict:
    return body({"type": "track", "event": "E", "userId": "u", "properties": props})["attributes"]


def test_9_1_conversion_example_is_not_off_by_eight_hours():
    got = body({"type": "identify", "userId": "u", "traits": {"createdAt": "2006-01-02T18:04:07Z"}})
    assert got["attributes"]["created_at"] == 1136225047  # the docs say 1136253847 (read as UTC-8)


def test_9_2_created_at_has_no_javascript_date_exception():
    for value in ("June 1, 2023", "06/01/2023", "1 Jun 2023", "2023-06-01 08:00:00"):
        got = body({"type": "identify", "userId": "u", "traits": {"created_at": value}})
        assert got["attributes"]["created_at"] == value  # stays a string: the strict ISO gate applies
    # ... while the event timestamp *is* parsed leniently
    assert body({"type": "identify", "userId": "u", "timestamp": "June 1, 2023"})["timestamp"] == 1685577600


def test_9_3_up_to_nine_fraction_digits_convert():
    got = attributes({"ns7": "2023-06-01T08:00:00.1234567Z", "ns9": "2023-06-01T08:00:00.123456789Z",
                      "ns10": "2023-06-01T08:00:00.1234567891Z"})
    assert got == {"ns7": 1685606400, "ns9": 1685606400, "ns10": "2023-06-01T08:00:00.1234567891Z"}


def test_9_4_numbers_on_string_fields_become_strings():
    got = body({"type": "identify", "userId": 7, "timestamp": 1685606400, "traits": {"created_at": 1685606400}})
    assert got["identifiers"] == {"id": "7"}
    assert got["timestamp"] == "1685606400"  # a digit string is never date-converted
    assert got["attributes"]["created_at"] == "1685606400"


def test_9_5_offset_less_strings_are_read_in_utc():
    assert attributes({"d": "2023-06-01", "dt": "2023-06-01T08:00:00", "hm": "2023-06-01T08:00"}) == {
        "d": 1685577600, "dt": 1685606400, "hm": 1685606400}
    assert body({"type": "track", "event": "E", "timestamp": "2023-06-01 08:00:00"})["timestamp"] == 1685606400


def test_9_6_convert_timestamps_reaches_every_iso_string_outside_arrays():
    got = body({"type": "track", "event": "2023-06-01", "messageId": "2023-06-01T08:00:00Z", "userId": "u",
                "properties": {"nested": {"at": T}, "list": [T, {"at": T}]}})
    assert got["name"] == 1685577600 and got["id"] == 1685606400
    assert got["attributes"] == {"nested": {"at": 1685606400}, "list": [T, {"at": T}]}


def test_9_7_track_event_excludes_exactly_the_twelve_reserved_names():
    assert len(RESERVED_EVENT_NAMES) == 12 and "Object Deleted" in RESERVED_EVENT_NAMES
    assert "Group Deleted" not in RESERVED_EVENT_NAMES
    assert [p.action for p in matching_presets({"type": "track", "event": "Group Deleted"})] == ["trackEvent"]


def test_9_8_device_triggers_have_no_type_clause_and_include_device_events():
    for name in ("Application Installed", "Application Opened", "Device Created or Updated"):
        assert [p.action for p in matching_presets({"event": name})] == ["createUpdateDevice"]
    for name in ("Application Uninstalled", "Device Deleted"):
        assert [p.action for p in matching_presets({"event": name})] == ["deleteDevice"]


def test_9_9_report_content_event_exists():
    got = body({"type": "track", "event": "Report Content Event", "anonymousId": "a",
                "properties": {"actionType": "clicked_content"}})
    assert got["action"] == got["name"] == "clicked_content"


def test_9_10_screen_events_are_supported():
    got = body({"type": "screen", "name": "Home", "userId": "u"})
    assert (got["action"], got["name"]) == ("screen", "Home")


def test_9_11_group_traits_other_than_object_attributes_are_not_sent_and_type_id_is_a_string():
    got = body({"type": "group", "groupId": "g", "userId": "u", "traits": {"name": "Initrode", "industry": "Paper",
                                                                       "objectTypeId": 2}})
    assert "attributes" not in got
    assert got["identifiers"] == {"object_id": "g", "object_type_id": "2"}
    assert body({"type": "group", "groupId": "g"})["identifiers"]["object_type_id"] == "1"


def test_9_12_missing_timestamp_and_last_used_are_omitted_not_defaulted_to_now():
    assert "timestamp" not in body({"type": "track", "event": "E", "userId": "u"}, now_ms=1700000000000)
    device = body({"type": "track", "event": "Application Opened", "userId": "u",
                   "context": {"device": {"token": "t", "type": "ios"}}}, now_ms=1700000000000)
    assert "last_used" not in device["device"]
    # only reportDeliveryEvent fills in the current time itself
    metric = map_event({"type": "track", "event": "Report Delivery Event",
                        "properties": {"deliveryId": "d", "metric": "opened"}}, SETTINGS, now_ms=1700000000000)
    assert metric.items[0].body["timestamp"] == 1700000000
