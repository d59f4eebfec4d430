"""Each action's field table and transform (docs/mapping.md §6, §7), action by action."""

from __future__ import annotations

import pytest

from cio_browser import InvalidEvent, Settings, requests_for
from cio_browser.constants import ENTITY_PATH, METRICS_PATH
from cio_browser.mapping import map_event
from cio_browser.mapping.actions import ACTIONS
from cio_browser.mapping.report_delivery_event import metric_timestamp

SETTINGS = Settings.from_dict({"siteId": "site123", "apiKey": "key456"})
T = "2023-06-01T08:00:00.000Z"
TS = 1685606400
NOW = 1700000000000


def ev(kind: str, **kw) -> dict:
    return {"type": kind, "messageId": "m-1", "timestamp": T, **kw}


def body(action: str, event: dict, mapping=None, batch: bool = False) -> dict:
    """The single body ``action`` produces for ``event`` (whatever the presets would have picked)."""
    (request,) = requests_for(event, SETTINGS, [{"action": action, "subscribe": None, "mapping": mapping}],
                              batch, NOW)
    return request.body["batch"][0] if batch and request.url.endswith("/batch") else request.body


def error(action: str, event: dict, mapping=None, batch: bool = False) -> str:
    with pytest.raises(InvalidEvent) as info:
        requests_for(event, SETTINGS, [{"action": action, "subscribe": None, "mapping": mapping}], batch, NOW)
    return str(info.value)


# ---- the registry -----------------------------------------------------------------------------------------------
FIELD_ORDER = {
    "createUpdatePerson": ("id", "anonymous_id", "email", "created_at", "group_id", "custom_attributes",
                           "relationship_attributes", "timestamp", "convert_timestamp", "object_type_id"),
    "trackEvent": ("id", "anonymous_id", "name", "event_id", "timestamp", "data", "convert_timestamp"),
    "trackPageView": ("id", "anonymous_id", "event_id", "url", "timestamp", "data", "convert_timestamp"),
    "trackScreenView": ("id", "anonymous_id", "event_id", "name", "timestamp", "data", "convert_timestamp"),
    "createUpdateDevice": ("person_id", "device_id", "app_version", "platform", "last_used", "attributes",
                           "convert_timestamp"),
    "deleteDevice": ("person_id", "device_id"),
    "createUpdateObject": ("id", "created_at", "custom_attributes", "relationship_attributes", "user_id",
                           "anonymous_id", "object_type_id", "convert_timestamp"),
    "deleteObject": ("object_id", "object_type_id"),
    "deleteRelationship": ("person_id", "anonymous_id", "object_id", "object_type_id"),
    "mergePeople": ("primary", "secondary"),
    "deletePerson": ("person_id",),
    "suppressPerson": ("person_id",),
    "unsuppressPerson": ("person_id",),
    "reportContentEvent": ("anonymous_id", "actionType", "timestamp", "data", "convert_timestamp"),
    "reportDeliveryEvent": ("delivery_id", "metric", "recipient", "reason", "href", "action_name",
                            "action_value", "timestamp"),
}
REQUIRED = {
    "createUpdatePerson": (), "trackEvent": ("name",), "trackPageView": ("url",), "trackScreenView": ("name",),
    "createUpdateDevice": ("person_id", "device_id", "platform"), "deleteDevice": ("person_id", "device_id"),
    "createUpdateObject": ("id",), "deleteObject": (), "deleteRelationship": ("person_id", "object_id"),
    "mergePeople": ("primary", "secondary"), "deletePerson": ("person_id",), "suppressPerson": ("person_id",),
    "unsuppressPerson": ("person_id",), "reportContentEvent": ("actionType",),
    "reportDeliveryEvent": ("delivery_id", "metric"),
}


def test_there_are_fifteen_actions():
    assert set(ACTIONS) == set(FIELD_ORDER)


@pytest.mark.parametrize("name", sorted(FIELD_ORDER))
def test_field_tables_in_definition_order_with_batching_fields_last(name):
    action = ACTIONS[name]
    keys = tuple(f.key for f in action.fields)
    if name == "reportDeliveryEvent":
        assert keys == FIELD_ORDER[name]
        assert action.path == METRICS_PATH and not action.batchable and action.uses_clock
    else:
        assert keys == FIELD_ORDER[name] + ("enable_batching", "batch_size")
        assert action.path == ENTITY_PATH and action.batchable and not action.uses_clock
    assert action.required_keys == REQUIRED[name]


@pytest.mark.parametrize("name", sorted(FIELD_ORDER))
def test_default_mapping_is_derived_from_the_field_defaults(name):
    action = ACTIONS[name]
    assert action.default_mapping == {f.key: f.default for f in action.fields}
    assert action.default_mapping.get("convert_timestamp", True) is True
    if name != "reportDeliveryEvent":
        assert action.default_mapping["enable_batching"] is True and action.default_mapping["batch_size"] == 50


@pytest.mark.parametrize(
    "name, key, mapping",
    [
        ("createUpdatePerson", "id", {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"},
                                              "else": {"@path": "$.traits.email"}}}),
        ("createUpdatePerson", "email", {"@template": "{{traits.email}}"}),
        ("createUpdatePerson", "object_type_id", {"@if": {"exists": {"@path": "$.traits.object_type_id"},
                                                          "then": {"@path": "$.traits.object_type_id"},
                                                          "else": {"@path": "$.traits.objectTypeId"}}}),
        ("trackScreenView", "name", {"@path": "$.name"}),
        ("createUpdateDevice", "device_id", {"@path": "$.context.device.token"}),
        ("createUpdateDevice", "app_version", {"@path": "$.context.app.version"}),
        ("createUpdateObject", "custom_attributes", {"@path": "$.traits.objectAttributes"}),
        ("deleteObject", "object_id", {"@path": "$.properties.objectId"}),
        ("deleteRelationship", "object_id", {"@path": "$.properties.objectId"}),
        ("mergePeople", "secondary", {"@path": "$.previousId"}),
        ("reportDeliveryEvent", "action_value", {"@path": "$.properties.actionValue"}),
    ],
)
def test_some_default_mappings_verbatim(name, key, mapping):
    assert ACTIONS[name].default_mapping[key] == mapping


# ---- createUpdatePerson (§7.1) ----------------------------------------------------------------------------------
def test_person_traits_become_attributes_minus_the_mapped_ones():
    traits = {"email": "ada@example.org", "objectId": "acct-9", "object_type_id": "2", "objectTypeId": "3",
              "created_at": "2023-05-20T10:00:00Z", "createdAt": "ignored", "relationshipAttributes": {"r": 1},
              "plan": "team"}
    got = body("createUpdatePerson", ev("identify", userId="user-7", traits=traits))
    assert got == {
        "type": "person", "action": "identify",
        "attributes": {"email": "ada@example.org", "objectId": "acct-9", "plan": "team", "created_at": 1684576800},
        "cio_relationships": [{"identifiers": {"object_type_id": "2", "object_id": "acct-9"},
                               "relationship_attributes": {"r": 1}}],
        "timestamp": TS, "identifiers": {"id": "user-7"}}


def test_person_created_at_prefers_snake_case_even_when_empty():
    # `@if exists` holds for "", which single mode then removes: createdAt is not used as a fallback.
    got = body("createUpdatePerson", ev("identify", userId="u", traits={"created_at": "", "createdAt": T}))
    assert got["attributes"] == {}
    got = body("createUpdatePerson", ev("identify", userId="u", traits={"created_at": None, "createdAt": T}))
    assert got["attributes"] == {"created_at": TS}


def test_person_empty_relationship_attributes_count_as_present():
    got = body("createUpdatePerson", ev("identify", userId="u", traits={"objectId": "o", "relationshipAttributes": {}}))
    assert got["cio_relationships"] == [{"identifiers": {"object_type_id": "1", "object_id": "o"},
                                         "relationship_attributes": {}}]


def test_person_relationship_attributes_are_not_converted_inside_the_array():
    got = body("createUpdatePerson", ev("identify", userId="u", traits={
        "objectId": "o", "relationshipAttributes": {"since": T}}))
    assert got["cio_relationships"][0]["relationship_attributes"] == {"since": T}


def test_person_without_traits_still_has_attributes():
    got = body("createUpdatePerson", ev("identify", userId="u"))
    assert got == {"type": "person", "action": "identify", "attributes": {}, "timestamp": TS,
                   "identifiers": {"id": "u"}}


def test_person_with_userid_null_falls_back_to_traits_email_as_person_id():
    got = body("createUpdatePerson", ev("identify", userId=None, traits={"email": "ada@example.org"}))
    assert got["identifiers"] == {"email": "ada@example.org"}


def test_person_without_convert_timestamp_keeps_iso_attributes_but_converts_the_timestamp():
    mapping = dict(ACTIONS["createUpdatePerson"].default_mapping)
    del mapping["convert_timestamp"]
    got = body("createUpdatePerson", ev("identify", userId="u", traits={"createdAt": T}), mapping)
    assert got["attributes"] == {"created_at": T} and got["timestamp"] == TS


# ---- trackEvent / page / screen (§7.2-§7.4) ---------------------------------------------------------------------
def test_track_event_without_message_id_or_properties():
    got = body("trackEvent", {"type": "track", "event": "X", "userId": "u"})
    assert got == {"type": "person", "action": "event", "name": "X", "identifiers": {"id": "u"}}


def test_track_event_properties_array_is_a_type_error():
    assert error("trackEvent", ev("track", event="X", properties=[1, 2])) == (
        "Event Attributes must be an object but it was an array.")


def test_page_view_name_is_the_url_and_page_name_is_not_used():
    got = body("trackPageView", ev("page", name="Pricing", userId="u", properties={"url": "https://e.org/p"},
                                   context={"page": {"url": "https://e.org/other"}}))
    assert got == {"type": "person", "action": "page", "name": "https://e.org/p", "id": "m-1",
                   "attributes": {"url": "https://e.org/p"}, "timestamp": TS, "identifiers": {"id": "u"}}


def test_screen_view():
    got = body("trackScreenView", ev("screen", name="Home", anonymousId="a"))
    assert got == {"type": "person", "action": "screen", "name": "Home", "id": "m-1", "attributes": {},
                   "timestamp": TS, "identifiers": {"anonymous_id": "a"}}


# ---- devices (§7.5, §7.6) ---------------------------------------------------------------------------------------
DEVICE_CONTEXT = {"device": {"token": "tok", "type": "ios"}, "app": {"version": "2.1.0"}}


def test_device_app_version_overrides_a_property_of_the_same_name():
    got = body("createUpdateDevice", ev("track", event="Application Opened", userId="u", context=DEVICE_CONTEXT,
                                        properties={"app_version": "old", "at": T}))
    assert got["device"] == {"token": "tok", "platform": "ios", "last_used": TS,
                             "attributes": {"app_version": "2.1.0", "at": TS}}
    assert "timestamp" not in got and "attributes" not in got


def test_device_last_used_is_only_converted_by_the_attribute_conversion():
    mapping = dict(ACTIONS["createUpdateDevice"].default_mapping)
    del mapping["convert_timestamp"]
    got = body("createUpdateDevice", ev("track", event="Application Opened", userId="u", context=DEVICE_CONTEXT),
               mapping)
    assert got["device"]["last_used"] == T
    numeric = body("createUpdateDevice", ev("track", event="Application Opened", userId="u",
                                            context=DEVICE_CONTEXT, timestamp=1685606400))
    assert numeric["device"]["last_used"] == "1685606400"


def test_device_conversion_reaches_the_token_if_it_looks_like_a_date():
    got = body("createUpdateDevice", ev("track", userId="u", context={"device": {"token": "2023-06-01", "type": "x"}}))
    assert got["device"]["token"] == 1685577600


def test_device_ignores_anonymous_id():
    got = body("createUpdateDevice", ev("track", userId="cio_9", anonymousId="a", context=DEVICE_CONTEXT))
    assert got["identifiers"] == {"cio_id": "9"} and "attributes" not in got


def test_delete_device():
    got = body("deleteDevice", ev("track", userId="ada@example.org", context=DEVICE_CONTEXT, properties={"x": T}))
    assert got == {"type": "person", "action": "delete_device", "device": {"token": "tok"},
                   "identifiers": {"email": "ada@example.org"}}


# ---- objects and relationships (§7.7-§7.9) --------------------------------------------------------------------
def test_object_created_at_is_at_the_root_and_only_object_attributes_are_sent():
    got = body("createUpdateObject", ev("group", groupId="g", userId="u", traits={
        "createdAt": "2021-01-01", "name": "Initrode",
        "objectAttributes": {"tier": "gold", "object_type_id": "9", "objectTypeId": "9",
                             "relationshipAttributes": {"x": 1}}}))
    assert got == {"type": "object", "action": "identify", "created_at": 1609459200, "attributes": {"tier": "gold"},
                   "cio_relationships": [{"identifiers": {"id": "u"}}],
                   "identifiers": {"object_id": "g", "object_type_id": "1"}}


def test_object_created_at_of_1970_converts_to_zero_and_stays():
    got = body("createUpdateObject", ev("group", groupId="g", traits={"created_at": "1970-01-01T00:00:00Z"}))
    assert got["created_at"] == 0


def test_object_without_any_person_has_no_relationship():
    got = body("createUpdateObject", ev("group", groupId="g", traits={"relationshipAttributes": {"r": 1}}))
    assert got == {"type": "object", "action": "identify", "identifiers": {"object_id": "g", "object_type_id": "1"}}


def test_object_numeric_group_id_is_a_string():
    got = body("createUpdateObject", ev("group", groupId=12345, userId="u"))
    assert got["identifiers"] == {"object_id": "12345", "object_type_id": "1"}


def test_delete_object_type_from_snake_case_first():
    got = body("deleteObject", ev("track", properties={"objectId": "o", "object_type_id": "4", "objectTypeId": "5"}))
    assert got == {"type": "object", "action": "delete", "identifiers": {"object_id": "o", "object_type_id": "4"}}


def test_delete_relationship_with_an_email_person_and_no_anonymous_id():
    got = body("deleteRelationship", ev("track", userId="ada@example.org", properties={"objectId": "o"}))
    assert got == {"type": "object", "action": "delete_relationships",
                   "cio_relationships": [{"identifiers": {"email": "ada@example.org"}}],
                   "identifiers": {"object_id": "o", "object_type_id": "1"}}


# ---- merge / delete / suppress (§7.10, §7.11) ------------------------------------------------------------------
def test_merge_resolves_each_side_with_the_person_rules():
    got = body("mergePeople", ev("alias", userId="cio_1", previousId="prev@example.org", anonymousId="a"))
    assert got == {"type": "person", "action": "merge", "primary": {"cio_id": "1"},
                   "secondary": {"email": "prev@example.org"}}


@pytest.mark.parametrize("name, verb", [("deletePerson", "delete"), ("suppressPerson", "suppress"),
                                        ("unsuppressPerson", "unsuppress")])
def test_person_lifecycle_actions(name, verb):
    got = body(name, ev("track", userId="u", anonymousId="a", properties={"x": 1}))
    assert got == {"type": "person", "action": verb, "identifiers": {"id": "u"}}
    assert error(name, ev("track", anonymousId="a")) == "The root value is missing the required field 'person_id'."


# ---- reportContentEvent (§7.12) ---------------------------------------------------------------------------------
def test_content_event_action_type_is_removed_from_attributes_only_when_truthy():
    mapping = dict(ACTIONS["reportContentEvent"].default_mapping, actionType={"@path": "$.properties.kind"})
    got = body("reportContentEvent", ev("track", anonymousId="a", properties={"kind": "clicked_content",
                                                                              "actionType": ""}), mapping)
    assert got["attributes"] == {"kind": "clicked_content", "actionType": ""}
    got = body("reportContentEvent", ev("track", anonymousId="a", properties={"kind": "clicked_content",
                                                                              "actionType": "x"}), mapping)
    assert got["attributes"] == {"kind": "clicked_content"}


# ---- reportDeliveryEvent (§7.13) --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        (T, TS),
        ("2023-06-01", 1685577600),
        ("1685606400", 1685606400),
        ("1685606400.25", 1685606400.25),
        ("1685606400.0", 1685606400),
        (1685606400123, 1685606400123),
        (1.5, 1.5),
        (None, NOW // 1000),
        ("never", NOW // 1000),
    ],
)
def test_metric_timestamp(value, expected):
    got = metric_timestamp(value, NOW)
    assert got == expected and type(got) is type(expected)


def test_delivery_metadata_only_for_truthy_values_and_other_properties_ignored():
    got = body("reportDeliveryEvent", ev("track", userId="u", properties={
        "deliveryId": "d", "metric": "converted", "actionName": "", "href": "", "extra": 1}))
    assert got == {"delivery_id": "d", "metric": "converted", "timestamp": TS}
    # the truthiness test sees the coerced value: the number 0 became the (truthy) string "0"
    got = body("reportDeliveryEvent", ev("track", properties={"deliveryId": 7, "metric": "opened", "actionValue": 0}))
    assert got == {"delivery_id": "7", "metric": "opened", "timestamp": TS, "metadata": {"action_value": "0"}}


def test_delivery_never_reads_the_clock_when_now_is_given(monkeypatch):
    import cio_browser.mapping as mapping

    monkeypatch.setattr(mapping, "_now_ms", lambda: pytest.fail("clock read"))
    result = map_event(ev("track", event="Report Delivery Event", timestamp=None,
                          properties={"deliveryId": "d", "metric": "opened"}), SETTINGS, now_ms=NOW)
    assert result.items[0].body["timestamp"] == NOW // 1000


def test_delivery_reads_the_clock_only_when_now_is_not_given(monkeypatch):
    import cio_browser.mapping as mapping

    monkeypatch.setattr(mapping, "_now_ms", lambda: 1234567890123)
    result = map_event({"type": "track", "event": "Report Delivery Event",
                        "properties": {"deliveryId": "d", "metric": "opened"}}, SETTINGS)
    assert result.items[0].body["timestamp"] == 1234567890
    assert result.items[0].path == METRICS_PATH


def test_other_actions_never_read_the_clock(monkeypatch):
    import cio_browser.mapping as mapping

    monkeypatch.setattr(mapping, "_now_ms", lambda: pytest.fail("clock read"))
    for event in (ev("track", event="X", userId="u"), ev("identify", userId="u"), ev("page", properties={"url": "u"}),
                  ev("group", groupId="g"), ev("alias", userId="a", previousId="b")):
        assert map_event(event, SETTINGS).items
