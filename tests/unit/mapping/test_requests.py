"""requests_for / map_event / to_requests: hosts, auth, single vs batch addressing, subscriptions, purity."""

from __future__ import annotations

import copy
import json

import pytest

from cio_browser import InvalidEvent, Request, Settings, requests_for
from cio_browser.constants import ENTITY_PATH, METRICS_PATH
from cio_browser.mapping import MappingError, MapResult, compile_subscriptions, map_event, to_requests
from cio_browser.request import Item
from cio_browser.settings import SettingsError

US_LABEL = "US \U0001f1fa\U0001f1f8"
EU_LABEL = "EU \U0001f1ea\U0001f1fa"
AUTH = "Basic c2l0ZTEyMzprZXk0NTY="  # base64("site123:key456"), the spec's own example
TRACK = {"type": "track", "event": "E", "userId": "u", "messageId": "m-1", "timestamp": "2023-06-01T08:00:00.000Z"}
METRIC = {"type": "track", "event": "Report Delivery Event", "properties": {"deliveryId": "d", "metric": "opened"},
          "timestamp": "2023-06-01T08:00:00.000Z"}


def settings(**extra) -> Settings:
    return Settings.from_dict({"siteId": "site123", "apiKey": "key456", **extra})


# ---- hosts and headers (§1) -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, host",
    [({}, "https://track.customer.io"), ({"accountRegion": US_LABEL}, "https://track.customer.io"),
     ({"accountRegion": EU_LABEL}, "https://track-eu.customer.io")],
)
@pytest.mark.parametrize("batch, path", [(False, "/api/v2/entity"), (True, "/api/v2/batch")])
def test_region_host_method_and_basic_auth(extra, host, batch, path):
    (request,) = requests_for(TRACK, settings(**extra), batch=batch)
    assert isinstance(request, Request)
    assert (request.method, request.url) == ("POST", host + path)
    assert request.headers == {"content-type": "application/json", "authorization": AUTH}


@pytest.mark.parametrize("batch", [False, True])
def test_metrics_go_to_v1_metrics_on_the_regional_host(batch):
    (request,) = requests_for(METRIC, settings(accountRegion=EU_LABEL), batch=batch)
    assert (request.method, request.url) == ("POST", "https://track-eu.customer.io/api/v1/metrics")
    assert request.headers["authorization"] == AUTH
    assert request.body == {"delivery_id": "d", "metric": "opened", "timestamp": 1685606400}


@pytest.mark.parametrize("batch, path", [(False, "/api/v2/entity"), (True, "/api/v2/batch")])
def test_proxy_endpoint_replaces_the_host_and_sends_no_authorization(batch, path):
    proxy = Settings.from_dict({"endpoint": "https://cio.example.org/proxy/"})
    (request,) = requests_for(TRACK, proxy, batch=batch)
    assert request.url == "https://cio.example.org/proxy" + path
    assert request.headers == {"content-type": "application/json"}


def test_settings_may_be_given_as_a_dict():
    (request,) = requests_for(TRACK, {"siteId": "site123", "apiKey": "key456", "accountRegion": EU_LABEL})
    assert request.url == "https://track-eu.customer.io/api/v2/entity"


def test_headers_are_fresh_dicts_per_request():
    s = settings()
    first, second = requests_for(TRACK, s)[0], requests_for(TRACK, s)[0]
    first.headers["x"] = "y"
    assert "x" not in second.headers and "x" not in requests_for(TRACK, s)[0].headers


def test_request_body_is_json_ready():
    (request,) = requests_for(TRACK, settings())
    assert json.loads(request.json()) == request.body


def test_an_event_nothing_subscribes_to_gives_no_requests():
    assert requests_for({"type": "unknown"}, settings()) == []


# ---- to_requests grouping (§3.6, §7.7) --------------------------------------------------------------------
def item(action: str, body: dict, path: str = ENTITY_PATH) -> Item:
    return Item(action, "POST", path, body)


def test_batch_grouping_mixes_every_entity_action_in_one_batch_and_sends_metrics_alone():
    """The one batcher's decision (cio_browser.batching): one batch for every entity, whatever its action (the
    reference makes one per action and two for createUpdateObject); metrics go alone."""
    items = [
        item("trackEvent", {"type": "person", "action": "event", "name": "a"}),
        item("createUpdateObject", {"type": "object", "action": "identify", "n": 1}),
        item("reportDeliveryEvent", {"delivery_id": "d"}, METRICS_PATH),
        item("createUpdateObject", {"type": "object", "action": "identify_anonymous", "n": 2}),
        item("createUpdatePerson", {"type": "person", "action": "identify"}),
        item("createUpdateObject", {"type": "object", "action": "identify", "n": 3}),
    ]
    requests = to_requests(items, settings(), batch=True)
    assert [(r.url.rsplit("/api", 1)[1], r.body) for r in requests] == [
        ("/v2/batch", {"batch": [items[i].body for i in (0, 1, 3, 4, 5)]}),
        ("/v1/metrics", {"delivery_id": "d"}),
    ]


def test_batches_hold_at_most_batch_size_items_in_arrival_order():
    items = [item("trackEvent", {"type": "person", "action": "event", "name": str(i)}) for i in range(5)]
    requests = to_requests(items, settings(batchSize=2), batch=True)
    assert [[e["name"] for e in r.body["batch"]] for r in requests] == [["0", "1"], ["2", "3"], ["4"]]


def test_single_mode_sends_each_item_alone():
    items = [item("trackEvent", {"a": 1}), item("reportDeliveryEvent", {"d": 1}, METRICS_PATH)]
    requests = to_requests(items, settings(), batch=False)
    assert [r.url for r in requests] == ["https://track.customer.io/api/v2/entity",
                                         "https://track.customer.io/api/v1/metrics"]


def test_an_item_without_a_body_gets_no_content_type():
    (request,) = to_requests([Item("x", "DELETE", "/api/v1/customers/u", None)], settings())
    assert request.headers == {"authorization": AUTH} and request.body is None


# ---- map_event ----------------------------------------------------------------------------------------------
def test_map_event_returns_items_relative_to_the_base():
    result = map_event(TRACK, settings())
    assert isinstance(result, MapResult) and result.errors == []
    (it,) = result.items
    assert (it.action, it.method, it.path, it.batchable) == ("trackEvent", "POST", ENTITY_PATH, True)
    assert it.body["name"] == "E"


def test_batch_flag_only_changes_cleaning_not_the_items():
    single, batch = map_event(TRACK, settings()), map_event(TRACK, settings(), batch=True)
    assert single.items == batch.items


def test_classic_mode_maps_with_the_classic_rules():
    result = map_event(TRACK, settings(mode="classic"))
    assert [(i.action, i.method) for i in result.items] == [("classic.track", "POST")] and result.errors == []


def test_mapping_never_mutates_the_event():
    events = [
        TRACK,
        {"type": "identify", "userId": "u", "anonymousId": "a", "timestamp": "2023-06-01T08:00:00Z",
         "traits": {"email": "e@example.org", "createdAt": "2023-06-01", "objectId": "o", "objectTypeId": "2",
                    "relationshipAttributes": {"since": "2023-06-01"}, "object_type_id": "3"}},
        {"type": "group", "groupId": "g", "userId": "u", "anonymousId": "a",
         "traits": {"objectAttributes": {"at": "2023-06-01", "object_type_id": "x"}, "created_at": "2023-06-01",
                    "relationshipAttributes": {"at": "2023-06-01"}}},
        {"type": "track", "event": "Report Content Event", "anonymousId": "a",
         "properties": {"actionType": "viewed_content", "at": "2023-06-01"}},
        {"type": "track", "event": "Application Opened", "userId": "u", "properties": {"app_version": "1"},
         "context": {"device": {"token": "t", "type": "ios"}, "app": {"version": "2"}}},
        {"type": "track", "event": "Relationship Deleted", "userId": "u", "anonymousId": "a",
         "properties": {"objectId": "o", "anonymous_id": "p"}},
    ]
    for event in events:
        before = copy.deepcopy(event)
        for batch in (False, True):
            requests_for(event, settings(), batch=batch, now_ms=0)
        assert event == before


def test_bodies_do_not_share_mutable_attribute_dicts_with_the_event():
    event = {"type": "track", "event": "E", "anonymousId": "a", "userId": "u", "properties": {"x": 1}}
    (request,) = requests_for(event, settings())
    request.body["attributes"]["y"] = 2
    assert event["properties"] == {"x": 1}


# ---- custom subscriptions ------------------------------------------------------------------------------------
def test_settings_subscriptions_replace_the_presets():
    s = settings(subscriptions=[{"action": "deletePerson", "subscribe": 'event = "Bye"'}])
    assert requests_for(TRACK, s) == []
    (request,) = requests_for(dict(TRACK, event="Bye"), s)
    assert request.body == {"type": "person", "action": "delete", "identifiers": {"id": "u"}}


def test_explicit_subscriptions_override_settings_subscriptions():
    s = settings(subscriptions=[{"action": "deletePerson", "subscribe": None}])
    (request,) = requests_for(TRACK, s, subscriptions=[{"action": "suppressPerson", "subscribe": None}])
    assert request.body["action"] == "suppress"


def test_a_mapping_is_complete_not_merged_with_the_defaults():
    subs = [{"action": "trackEvent", "subscribe": 'type = "track"', "mapping": {"name": {"@path": "$.event"}}}]
    (request,) = requests_for(TRACK, settings(), subs)
    assert request.body == {"type": "person", "action": "event", "name": "E"}


def test_unknown_mapping_keys_are_ignored_like_the_reference_but_recorded():
    (sub,) = compile_subscriptions([{"action": "trackEvent", "mapping": {"name": "x", "nmae": "y"}}])
    assert sub.mapping.ignored == ("nmae",)
    assert sub.name == "trackEvent" and sub.matches is None


def test_compiled_subscriptions_are_used_as_they_are():
    compiled = compile_subscriptions([{"action": "deletePerson", "subscribe": None}])
    s = settings(subscriptions=[{"action": "suppressPerson", "subscribe": None}])
    (request,) = requests_for(TRACK, s, subscriptions=compiled)
    assert request.body["action"] == "delete"


@pytest.mark.parametrize(
    "subs, problem",
    [
        ([{"action": "nope"}], "subscriptions[0].action 'nope' is not one of"),
        ([{"action": "trackEvent", "subscribe": "type = "}], "subscriptions[0].subscribe:"),
        ([{"action": "trackEvent", "subscribe": 5}], "subscriptions[0].subscribe must be a string"),
        ([{"action": "trackEvent", "mapping": []}], "subscriptions[0].mapping must be an object"),
        ([{"action": "trackEvent"}, {"action": "trackEvent", "mapping": {"name": {"@path": 1}}}],
         "subscriptions[1].mapping.name.@path: @path expects a string, got number"),
        (["x"], "subscriptions[0] must be an object"),
        ({"action": "trackEvent"}, "must be a list"),
    ],
)
def test_invalid_subscriptions_raise_one_mapping_error(subs, problem):
    with pytest.raises(MappingError) as info:
        map_event(TRACK, settings(), subscriptions=subs)
    assert isinstance(info.value, SettingsError)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_an_invalid_event_still_raises_invalid_event_not_mapping_error():
    with pytest.raises(InvalidEvent):
        requests_for({"type": "page", "properties": {}}, settings())


# ---- requests that are not event subscriptions (§7.14, §7.15) ------------------------------------------------
def test_user_deletion_request_uses_v1_customers_without_encoding_or_resolution():
    from cio_browser.mapping import user_deletion_request

    request = user_deletion_request("ada@example.org/x y", settings(accountRegion=EU_LABEL))
    assert (request.method, request.url, request.body) == (
        "DELETE", "https://track-eu.customer.io/api/v1/customers/ada@example.org/x y", None)
    assert request.headers == {"authorization": AUTH}


def test_credential_test_always_uses_the_us_host():
    from cio_browser.mapping import credential_test_request

    request = credential_test_request(settings(accountRegion=EU_LABEL))
    assert (request.method, request.url, request.body) == ("GET", "https://track.customer.io/auth", None)
    assert request.headers == {"authorization": AUTH}


def test_classic_invalid_event_is_reported_not_raised():
    result = map_event({"type": "track", "userId": "u", "event": " "}, settings(mode="classic"))
    assert result.items == [] and [str(e) for e in result.errors] == [
        "Classic track: Customer.io needs an event name and this event has none."]


# ---- mapping never needs credentials (docs/mapping.md §1.3) ---------------------------------------------------
def test_requests_for_works_with_no_settings_at_all():
    (request,) = requests_for({"type": "track", "event": "E", "userId": "u"}, {})
    assert request.url == "https://track.customer.io/api/v2/entity"
    assert request.headers == {"content-type": "application/json"}
    assert request.body == {"type": "person", "action": "event", "name": "E", "identifiers": {"id": "u"}}


@pytest.mark.parametrize("event", ["Report Delivery Event", "Report Content Event"])
def test_metrics_requests_go_without_authorization_when_there_are_no_credentials(event):
    props = {"deliveryId": "d", "metric": "opened", "actionType": "viewed_content"}
    for batch in (False, True):
        (request,) = requests_for({"type": "track", "event": event, "anonymousId": "a", "properties": props}, {},
                                  batch=batch, now_ms=1_700_000_000_000)
        assert "authorization" not in request.headers and request.headers["content-type"] == "application/json"
