"""Every error text (docs/mapping.md §3.5) and what InvalidEvent carries."""

from __future__ import annotations

import pytest

from cio_browser import InvalidEvent, Settings, requests_for
from cio_browser.mapping import map_event
from cio_browser.mapping.actions import ACTIONS

SETTINGS = Settings.from_dict({"siteId": "s", "apiKey": "k"})
METRIC_CHOICES = ('"delivered", "opened", "clicked", "converted", "spammed", "bounced", "dropped", or "deferred"')


def req(key: str) -> str:
    return f"The root value is missing the required field '{key}'."


def error_for(action: str, event: dict, mapping=None, batch: bool = False) -> InvalidEvent:
    result = map_event(event, SETTINGS, subscriptions=[{"action": action, "subscribe": None, "mapping": mapping}],
                       batch=batch, now_ms=0)
    assert result.items == []
    (err,) = result.errors
    return err


# Each action mapped against an event that carries nothing it needs: the message lists every required field,
# in field-definition order, joined by one space. Actions without required fields succeed.
EMPTY = {"type": "track", "event": "Nothing", "messageId": "m-1"}
EXPECTED_EMPTY = {
    "trackEvent": None,  # `name` comes from `event`, which is set
    "trackPageView": req("url"),
    "trackScreenView": req("name"),
    "createUpdateDevice": " ".join(req(k) for k in ("person_id", "device_id", "platform")),
    "deleteDevice": " ".join(req(k) for k in ("person_id", "device_id")),
    "createUpdateObject": req("id"),
    "deleteRelationship": " ".join(req(k) for k in ("person_id", "object_id")),
    "mergePeople": " ".join(req(k) for k in ("primary", "secondary")),
    "deletePerson": req("person_id"),
    "suppressPerson": req("person_id"),
    "unsuppressPerson": req("person_id"),
    "reportContentEvent": req("actionType"),
    "reportDeliveryEvent": " ".join(req(k) for k in ("delivery_id", "metric")),
    "createUpdatePerson": None,
    "deleteObject": None,
}


@pytest.mark.parametrize("action", sorted(EXPECTED_EMPTY))
def test_required_field_messages_for_every_action(action):
    expected = EXPECTED_EMPTY[action]
    result = map_event(EMPTY, SETTINGS, subscriptions=[{"action": action, "subscribe": None}], now_ms=0)
    if expected is None:
        assert result.errors == [] and len(result.items) == 1
    else:
        (err,) = result.errors
        assert str(err) == expected
        assert (err.action, err.rule) == (action, "required")
        assert err.field == ACTIONS[action].required_keys[0]


def test_choice_messages():
    err = error_for("reportContentEvent", {"type": "track", "properties": {"actionType": "VIEWED_CONTENT"}})
    assert str(err) == 'Action Type must be one of: "viewed_content" or "clicked_content".'
    assert (err.field, err.rule) == ("actionType", "choice")
    err = error_for("reportDeliveryEvent", {"type": "track", "properties": {"deliveryId": "d", "metric": "Opened"}})
    assert str(err) == f"Metric must be one of: {METRIC_CHOICES}."
    assert (err.field, err.rule) == ("metric", "choice")


def test_datetime_message():
    err = error_for("reportDeliveryEvent", {"type": "track", "timestamp": "someday",
                                            "properties": {"deliveryId": "d", "metric": "opened"}})
    assert str(err) == "Timestamp must be a valid date-like string but it was not."
    assert (err.field, err.rule) == ("timestamp", "datetime")


@pytest.mark.parametrize(
    "action, event, message",
    [
        ("trackEvent", {"type": "track", "event": "E", "userId": {"id": 1}},
         "Person ID must be a string but it was an object."),
        ("trackEvent", {"type": "track", "event": ["a", "b"]}, "Event Name must be a string but it was an array."),
        ("trackEvent", {"type": "track", "event": "E", "properties": "x"},
         "Event Attributes must be an object but it was a string."),
        ("createUpdatePerson", {"type": "identify", "traits": [1]},
         "Person Attributes must be an object but it was an array."),
        ("mergePeople", {"type": "alias", "userId": "u", "previousId": {}},
         "Secondary User must be a string but it was an object."),
        ("reportDeliveryEvent",
         {"type": "track", "timestamp": {}, "properties": {"deliveryId": "d", "metric": "opened"}},
         "Timestamp must be a string or number but it was an object."),
    ],
)
def test_type_messages(action, event, message):
    err = error_for(action, event)
    assert str(err) == message and err.rule == "type"


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"batch_size": 500}, "Batch Size must be equal to or less than 100."),
        ({"batch_size": 1}, "Batch Size must be equal to or greater than 2."),
        ({"batch_size": "lots"}, "Batch Size must be a number but it was a string."),
        ({"convert_timestamp": "yes"}, "Convert Timestamps must be a boolean but it was a string."),
        ({"enable_batching": {}}, "Enable Batching must be a boolean but it was an object."),
    ],
)
def test_control_fields_are_validated_too(mapping, message):
    full = dict(ACTIONS["suppressPerson"].default_mapping, **mapping)
    full_track = dict(ACTIONS["trackEvent"].default_mapping, **mapping)
    if "convert_timestamp" in mapping:
        assert str(error_for("trackEvent", {"type": "track", "event": "E"}, full_track)) == message
    else:
        assert str(error_for("suppressPerson", {"type": "track", "userId": "u"}, full)) == message


def test_literal_control_values_are_coerced_like_any_value():
    mapping = dict(ACTIONS["trackEvent"].default_mapping, convert_timestamp="false", batch_size="20")
    (request,) = requests_for({"type": "track", "event": "E", "properties": {"at": "2023-06-01"}}, SETTINGS,
                              [{"action": "trackEvent", "subscribe": None, "mapping": mapping}])
    assert request.body["attributes"] == {"at": "2023-06-01"}  # "false" coerced to false: no conversion


def test_missing_fields_are_reported_before_other_problems():
    # Ajv checks `required` before the properties: every missing-field message comes first, then each
    # field's own problems in field order (here `name` is missing although `id` is defined before it).
    err = error_for("reportDeliveryEvent", {"type": "track", "timestamp": "someday", "properties": {"metric": "nope"}})
    assert str(err) == " ".join([
        req("delivery_id"),
        f"Metric must be one of: {METRIC_CHOICES}.",
        "Timestamp must be a valid date-like string but it was not.",
    ])
    assert (err.field, err.rule) == ("delivery_id", "required")
    err = error_for("trackEvent", {"type": "track", "userId": {}})
    assert str(err) == req("name") + " Person ID must be a string but it was an object."


def test_invalid_event_is_a_value_error_carrying_action_field_rule():
    with pytest.raises(ValueError) as info:
        requests_for({"type": "alias"}, SETTINGS)
    err = info.value
    assert isinstance(err, InvalidEvent)
    assert str(err) == req("primary") + " " + req("secondary")
    assert (err.action, err.field, err.rule) == ("mergePeople", "primary", "required")


def test_one_bad_action_never_hides_another():
    subs = [{"action": "trackEvent", "subscribe": None}, {"action": "trackPageView", "subscribe": None},
            {"action": "deletePerson", "subscribe": None}, {"action": "mergePeople", "subscribe": None}]
    result = map_event({"type": "track", "event": "E", "userId": "u"}, SETTINGS, subscriptions=subs)
    assert [i.action for i in result.items] == ["trackEvent", "deletePerson"]
    assert [(e.action, str(e)) for e in result.errors] == [
        ("trackPageView", req("url")), ("mergePeople", req("secondary"))]
    with pytest.raises(InvalidEvent, match="'url'"):  # requests_for raises the first
        requests_for({"type": "track", "event": "E", "userId": "u"}, SETTINGS, subs)


def test_batch_mode_reports_the_same_errors():
    err = error_for("mergePeople", {"type": "alias", "userId": "u"}, batch=True)
    assert str(err) == req("secondary")


@pytest.mark.parametrize("event, kind", [([1], "array"), (None, "null"), ("track", "string"), (5, "number")])
def test_an_event_that_is_not_an_object(event, kind):
    result = map_event(event, SETTINGS)
    (err,) = result.errors
    assert str(err) == f"data must be an object, got {kind}" and err.rule == "input"


# ---- field labels: the reference's, for every field of every action (docs/mapping.md §3.5) ------------------
#: Each field's label as the reference's field tables declare it (Customer.io (Actions), August 2026). Written
#: out here rather than read from the code, so a wrong label in an action module fails this test.
REFERENCE_LABELS = {
    "createUpdatePerson": {"id": "Person ID", "anonymous_id": "Anonymous ID", "email": "Email Address",
                           "created_at": "Created At", "group_id": "Object ID",
                           "custom_attributes": "Person Attributes",
                           "relationship_attributes": "Relationship Attributes", "timestamp": "Timestamp",
                           "convert_timestamp": "Convert Timestamps", "object_type_id": "Object Type Id"},
    "trackEvent": {"id": "Person ID", "anonymous_id": "Anonymous ID", "name": "Event Name",
                   "event_id": "Event ID", "timestamp": "Timestamp", "data": "Event Attributes",
                   "convert_timestamp": "Convert Timestamps"},
    "trackPageView": {"id": "Person ID", "anonymous_id": "Anonymous ID", "event_id": "Event ID",
                      "url": "Page URL", "timestamp": "Timestamp", "data": "Event Attributes",
                      "convert_timestamp": "Convert Timestamps"},
    "trackScreenView": {"id": "Person ID", "anonymous_id": "Anonymous ID", "event_id": "Event ID",
                        "name": "Screen name", "timestamp": "Timestamp", "data": "Event Attributes",
                        "convert_timestamp": "Convert Timestamps"},
    "createUpdateDevice": {"person_id": "Person ID", "device_id": "Device ID", "app_version": "App Version",
                           "platform": "Platform", "last_used": "Last Used", "attributes": "Event Attributes",
                           "convert_timestamp": "Convert Timestamps"},
    "deleteDevice": {"person_id": "Person ID", "device_id": "Device ID"},
    "createUpdateObject": {"id": "Object ID", "created_at": "Created At", "custom_attributes": "Object Attributes",
                           "relationship_attributes": "Relationship Attributes", "user_id": "User ID",
                           "anonymous_id": "Anonymous ID", "object_type_id": "Object Type Id",
                           "convert_timestamp": "Convert Timestamps"},
    "deleteObject": {"object_id": "Object ID", "object_type_id": "Object Type ID"},
    "deleteRelationship": {"person_id": "Person ID", "anonymous_id": "Anonymous ID", "object_id": "Object ID",
                           "object_type_id": "Object Type ID"},
    "mergePeople": {"primary": "Primary User", "secondary": "Secondary User"},
    "deletePerson": {"person_id": "Person ID"},
    "suppressPerson": {"person_id": "Person ID"},
    "unsuppressPerson": {"person_id": "Person ID"},
    "reportContentEvent": {"anonymous_id": "Anonymous ID", "actionType": "Action Type", "timestamp": "Timestamp",
                           "data": "Event Attributes", "convert_timestamp": "Convert Timestamps"},
    "reportDeliveryEvent": {"delivery_id": "Delivery ID", "metric": "Metric", "recipient": "Recipient",
                            "reason": "Reason", "href": "Href", "action_name": "Action Name",
                            "action_value": "Action Value", "timestamp": "Timestamp"},
}
BATCH_LABELS = {"enable_batching": "Enable Batching", "batch_size": "Batch Size"}
FIELDS = [(a, k) for a in sorted(REFERENCE_LABELS) for k in REFERENCE_LABELS[a]]


def _only(action: str, key: str) -> dict:
    """A mapping of just ``key`` (read from properties.x) plus the required fields, so only ``key`` can fail."""
    mapping = {k: "r" for k in ACTIONS[action].required_keys if k != key}
    if action == "reportContentEvent" and key != "actionType":
        mapping["actionType"] = "viewed_content"
    if action == "reportDeliveryEvent" and key != "metric":
        mapping["metric"] = "opened"
    mapping[key] = {"@path": "$.properties.x"}
    return mapping


@pytest.mark.parametrize(("action", "key"), FIELDS)
def test_every_label_in_type_errors_is_the_references(action, key):
    f = next(f for f in ACTIONS[action].fields if f.key == key)
    wrong = "text" if f.type in ("object", "boolean") else {"an": "object"}
    err = error_for(action, {"type": "track", "event": "E", "properties": {"x": wrong}}, _only(action, key))
    assert str(err).startswith(REFERENCE_LABELS[action][key] + " must be "), str(err)


def test_the_field_tables_hold_exactly_the_references_fields():
    for name, action in ACTIONS.items():
        expected = dict(REFERENCE_LABELS[name])
        if name != "reportDeliveryEvent":  # the one action without a batch form (docs/mapping.md §3.2)
            expected.update(BATCH_LABELS)
        assert {f.key: f.label for f in action.fields} == expected, name


OBJECT_FIELDS = [(a, k) for a, k in FIELDS if next(f for f in ACTIONS[a].fields if f.key == k).type == "object"]


@pytest.mark.parametrize(("action", "key"), OBJECT_FIELDS)
@pytest.mark.parametrize("value", [[{"plan": "pro"}], [5], [], [{"a": 1}, {"b": 2}]],
                         ids=["one-object", "one-number", "empty", "two-objects"])
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_an_array_never_becomes_an_object(action, key, value, batch):
    """Ajv wraps scalars into arrays for array fields, but never unwraps an array into an object field."""
    event = {"type": "track", "event": "E", "properties": {"x": value}}
    err = error_for(action, event, _only(action, key), batch=batch)
    assert str(err) == f"{REFERENCE_LABELS[action][key]} must be an object but it was an array."
    assert (err.field, err.rule) == (key, "type")


def test_one_element_array_properties_are_refused_with_the_default_mapping():
    with pytest.raises(InvalidEvent, match=r"^Event Attributes must be an object but it was an array\.$"):
        requests_for({"type": "track", "event": "E", "userId": "u", "properties": [{"plan": "pro"}]}, SETTINGS)
    with pytest.raises(InvalidEvent, match=r"^Event Attributes must be an object but it was an array\.$"):
        requests_for({"type": "track", "event": "Application Opened", "userId": "u", "properties": [5],
                      "context": {"device": {"token": "t", "type": "ios"}}}, SETTINGS)
