"""Every error text (actions-mapping.md §3.5) and what InvalidEvent carries."""

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
         "Person Attributes must be an object but it was a number."),
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
        ({"enable_batching": {}}, "Batch Data to Customer.io must be a boolean but it was an object."),
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
