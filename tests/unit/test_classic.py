"""Classic mode: the reference's acceptance cases (docs/mapping.md §11) and the Track API v1 delivery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cio_browser.classic import cio_calls, classic_items, classic_map, event_ulid
from cio_browser.errors import InvalidEvent
from cio_browser.request import Item

SETTINGS = {"siteId": "1e5932b3d9de5078ccf9"}

# Test dates: `d` as analytics.js serialises a Date (ISO string) and D69 = new Date('1069-11-25').
D = "2023-06-01T08:00:00.000Z"
D_SECONDS = 1685606400
D69 = "1069-11-25T00:00:00.000Z"
PAGE_DEFAULTS = {"path": "/", "referrer": "", "search": "", "title": "Home", "url": "https://shop.example/"}


def identify(user_id, traits=None, **extra):
    return {"type": "identify", "userId": user_id, "anonymousId": "anon-3", "traits": traits or {},
            "messageId": "ajs-next-1-m", "timestamp": D, **extra}  # fmt: skip


def group(group_id, traits=None, user_id="id"):
    return {"type": "group", "userId": user_id, "anonymousId": "anon-3", "groupId": group_id,
            "traits": traits or {}, "messageId": "ajs-next-2-m", "timestamp": D}  # fmt: skip


def track(name, properties=None, user_id="id"):
    return {"type": "track", "event": name, "properties": properties or {}, "userId": user_id,
            "anonymousId": "anon-3", "messageId": "ajs-next-3-m", "timestamp": D}  # fmt: skip


def page(name=None, properties=None, user_id="id", category=None):
    props = {**PAGE_DEFAULTS, **(properties or {})}
    if name is not None:
        props["name"] = name
    event = {"type": "page", "name": name, "properties": props, "userId": user_id, "anonymousId": "anon-3",
             "messageId": "ajs-next-4-m", "timestamp": D}  # fmt: skip
    if category is not None:
        event["category"] = category
    return event


# ---------------------------------------------------------------------------------------------------------
# Acceptance cases: identify (ID1-ID6), group (G1-G5), track (T1-T4)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(identify("id"), [("identify", [{"id": "id"}])], id="ID1-identify-with-id"),
        pytest.param(identify(None, {"trait": True}), [], id="ID2-no-user-id-no-call"),
        pytest.param(
            identify("id", {"trait": True, "email": "blackwidow@shield.gov"}),
            [("identify", [{"id": "id", "trait": True, "email": "blackwidow@shield.gov"}])],
            id="ID3-traits-plus-id",
        ),
        pytest.param(identify("id", {"date": D}), [("identify", [{"id": "id", "date": D_SECONDS}])],
                     id="ID4-date-as-unix-seconds"),  # fmt: skip
        pytest.param(identify("id", {"date": D69}), [("identify", [{"id": "id", "date": D69}])],
                     id="ID5-pre-1970-date-as-iso-string"),  # fmt: skip
        pytest.param(identify("id", {"created": D}), [("identify", [{"id": "id", "created_at": D_SECONDS}])],
                     id="ID6-created-renamed-created-at"),  # fmt: skip
        pytest.param(group("id"), [("identify", [{"id": "id", "Group id": "id"}])], id="G1-group-id"),
        pytest.param(group(None, {"trait": True}), [("identify", [{"id": "id", "Group trait": True}])],
                     id="G2-group-traits-prefixed"),  # fmt: skip
        pytest.param(
            group("id", {"trait": True}),
            [("identify", [{"id": "id", "Group id": "id", "Group trait": True}])],
            id="G3-group-id-and-traits",
        ),
        pytest.param(group(None, {"date": D}), [("identify", [{"id": "id", "Group date": D_SECONDS}])],
                     id="G4-group-date-seconds"),  # fmt: skip
        pytest.param(group(None, {"date": D69}), [("identify", [{"id": "id", "Group date": D69}])],
                     id="G5-group-pre-1970-date-iso"),  # fmt: skip
        pytest.param(track("event"), [("track", ["event", {}])], id="T1-track-event-name"),
        pytest.param(track("event", {"property": True}), [("track", ["event", {"property": True}])],
                     id="T2-track-properties"),  # fmt: skip
        pytest.param(track("event", {"date": D}), [("track", ["event", {"date": D_SECONDS}])],
                     id="T3-track-date-seconds"),  # fmt: skip
        pytest.param(track("event", {"date": D69}), [("track", ["event", {"date": D69}])],
                     id="T4-track-pre-1970-date-iso"),  # fmt: skip
    ],
)
def test_acceptance_cases(event, expected):
    assert cio_calls(event, SETTINGS) == expected


# ---------------------------------------------------------------------------------------------------------
# Acceptance cases: page (P1-P4)
# ---------------------------------------------------------------------------------------------------------
def test_P1_page_without_name_calls_page_with_the_url():
    calls = cio_calls(page(), SETTINGS)
    assert [method for method, _ in calls] == ["page"]
    assert calls[0][1][0] == "https://shop.example/"


def test_P2_named_page_uses_the_name():
    [(method, args)] = cio_calls(page("home"), SETTINGS)
    assert (method, args[0]) == ("page", "home")
    assert args[1]["name"] == "home"


def test_P3_page_url_from_properties():
    [(_, args)] = cio_calls(page(properties={"url": "http://www.segment.com"}), SETTINGS)
    assert args[0] == "http://www.segment.com"


def test_P4_page_properties_are_passed():
    [(_, args)] = cio_calls(page("home", {"visitNumber": 42}), SETTINGS)
    assert args[1]["visitNumber"] == 42
    assert args[1] == {**PAGE_DEFAULTS, "visitNumber": 42, "name": "home"}


def test_page_properties_are_not_date_converted():
    [(_, args)] = cio_calls(page("home", {"when": D, "old": D69}), SETTINGS)
    assert args[1]["when"] == D
    assert args[1]["old"] == D69


def test_page_category_and_name_are_added_to_properties():
    [(_, args)] = cio_calls(page("Pricing", category="Docs"), SETTINGS)
    assert args[1]["category"] == "Docs" and args[1]["name"] == "Pricing"


def test_page_url_lookup_is_case_insensitive_like_obj_case():
    event = page(properties={"url": None})
    event["properties"] = {"URL": "https://upper.example/"}
    assert cio_calls(event)[0][1][0] == "https://upper.example/"


def test_page_datetime_properties_become_their_json_iso_strings():
    event = page("home", {"when": datetime(2023, 6, 1, 8, tzinfo=UTC)})
    assert cio_calls(event)[0][1][1]["when"] == D


# ---------------------------------------------------------------------------------------------------------
# Derived from the code: created_at aliasing, id override, nested dates, no-ops
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        pytest.param({"createdAt": D}, {"created_at": D_SECONDS}, id="createdAt-moved"),
        pytest.param({"created_at": D}, {"created_at": D_SECONDS}, id="created_at-stays"),
        pytest.param({"CreatedAt": D}, {"CreatedAt": D_SECONDS, "created_at": D_SECONDS},
                     id="case-insensitive-lookup-only-literal-createdAt-removed"),  # fmt: skip
        pytest.param({"Created At": D}, {"Created At": D_SECONDS, "created_at": D_SECONDS},
                     id="lookup-ignores-punctuation"),  # fmt: skip
        pytest.param({"created": 1685606400}, {"created_at": 1685606400}, id="number-not-reparsed"),
        pytest.param({"created": "June 1, 2023"}, {"created_at": "June 1, 2023"}, id="non-iso-string-stays"),
        pytest.param({"created": "x", "createdAt": D}, {"created_at": D_SECONDS}, id="createdAt-wins-over-created"),
        pytest.param({"createdAt": None, "created_at": D}, {"createdAt": None, "created_at": D_SECONDS},
                     id="first-match-null-means-no-alias"),  # fmt: skip
        pytest.param({"created": None}, {"created_at": None}, id="null-created-still-renamed"),
    ],
)
def test_identify_created_at_aliasing(traits, expected):
    [(_, [sent])] = cio_calls(identify("u1", traits))
    assert sent == {"id": "u1", **expected}


def test_identify_id_overrides_an_id_trait():
    assert cio_calls(identify("u1", {"id": "other"})) == [("identify", [{"id": "u1"}])]


def test_identify_converts_nested_dates_including_arrays():
    traits = {"profile": {"born": D69, "joined": D}, "visits": [D, {"at": D}], "note": "2023"}
    [(_, [sent])] = cio_calls(identify("u1", traits))
    assert sent == {"id": "u1", "profile": {"born": D69, "joined": D_SECONDS},
                    "visits": [D_SECONDS, {"at": D_SECONDS}], "note": "2023"}  # fmt: skip


def test_identify_accepts_datetime_objects_from_the_bridge():
    [(_, [sent])] = cio_calls(identify("u1", {"when": datetime(2023, 6, 1, 8, tzinfo=UTC)}))
    assert sent["when"] == D_SECONDS


@pytest.mark.parametrize("user_id", [None, ""], ids=["null", "empty-string"])
def test_group_without_a_known_user_sends_nothing(user_id):
    assert cio_calls(group("acct-9", {"plan": "gold"}, user_id=user_id)) == []


def test_group_example_from_the_spec():
    event = group("acct-9", {"plan": "gold"}, user_id="user-7")
    assert cio_calls(event) == [("identify", [{"id": "user-7", "Group id": "acct-9", "Group plan": "gold"}])]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"type": "alias", "userId": "u1", "previousId": "a1"}, id="alias"),
        pytest.param({"type": "unknown"}, id="unknown-type"),
        pytest.param({}, id="empty"),
    ],
)
def test_alias_and_unknown_events_are_no_ops(event):
    assert cio_calls(event) == []
    assert classic_items(event) == []


def test_track_is_called_even_without_a_user_like_the_classic_integration():
    assert cio_calls(track("Clicked", user_id=None)) == [("track", ["Clicked", {}])]


def test_cio_calls_never_mutates_the_event():
    event = identify("u1", {"createdAt": D, "nested": {"d": D}})
    snapshot = repr(event)
    cio_calls(event)
    classic_items(event)
    assert repr(event) == snapshot


# ---------------------------------------------------------------------------------------------------------
# Delivery through the Track API v1
# ---------------------------------------------------------------------------------------------------------
def test_identify_becomes_put_customer_without_id_with_anonymous_id():
    items = classic_items(identify("user 7/a", {"email": "ada@example.org", "createdAt": D}), SETTINGS)
    assert items == [
        Item("classic.identify", "PUT", "/api/v1/customers/user%207%2Fa",
             {"email": "ada@example.org", "created_at": D_SECONDS, "anonymous_id": "anon-3"}),
    ]  # fmt: skip


def test_identify_keeps_an_explicit_anonymous_id_trait():
    [item] = classic_items(identify("u1", {"anonymous_id": "mine"}))
    assert item.body == {"anonymous_id": "mine"}


def test_identify_without_anonymous_id_sends_only_traits():
    event = identify("id")
    event["anonymousId"] = None
    assert classic_items(event) == [Item("classic.identify", "PUT", "/api/v1/customers/id", {})]


def test_identify_without_user_id_sends_nothing():
    assert classic_items(identify(None, {"trait": True})) == []


def test_numeric_user_id_is_written_in_the_path_as_javascript_would():
    [item] = classic_items(identify(42.0))
    assert item.path == "/api/v1/customers/42"


def test_group_becomes_put_of_the_current_user():
    [item] = classic_items(group("acct-9", {"plan": "gold"}, user_id="user-7"))
    assert item == Item("classic.identify", "PUT", "/api/v1/customers/user-7",
                        {"Group id": "acct-9", "Group plan": "gold", "anonymous_id": "anon-3"})  # fmt: skip


def test_known_user_track_posts_customer_event():
    [item] = classic_items(track("Order Placed", {"total": 42.5, "at": D}, user_id="user-7"))
    assert item.action == "classic.track"
    assert (item.method, item.path) == ("POST", "/api/v1/customers/user-7/events")
    assert item.body == {
        "name": "Order Placed",
        "data": {"total": 42.5, "at": D_SECONDS},
        "id": event_ulid("ajs-next-3-m", D_SECONDS * 1000),
        "timestamp": D_SECONDS,
    }


def test_anonymous_track_posts_anonymous_event():
    [item] = classic_items(track("Clicked", {"x": 1}, user_id=None))
    assert (item.method, item.path) == ("POST", "/api/v1/events")
    assert item.body["anonymous_id"] == "anon-3"
    assert item.body["name"] == "Clicked" and item.body["data"] == {"x": 1}
    assert "type" not in item.body


def test_page_posts_a_page_event_named_by_name_or_url():
    [named] = classic_items(page("home", user_id="user-7"))
    [unnamed] = classic_items(page(user_id=None))
    assert (named.action, named.path, named.body["type"], named.body["name"]) == (
        "classic.page", "/api/v1/customers/user-7/events", "page", "home")  # fmt: skip
    assert named.body["data"]["url"] == "https://shop.example/"
    assert (unnamed.path, unnamed.body["name"], unnamed.body["anonymous_id"]) == (
        "/api/v1/events", "https://shop.example/", "anon-3")  # fmt: skip


def test_events_without_any_identity_send_nothing():
    event = track("Clicked", user_id=None)
    event["anonymousId"] = None
    assert classic_items(event) == []


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param(D, D_SECONDS, id="iso-string"),
        pytest.param(datetime(2023, 6, 1, 8, tzinfo=UTC), D_SECONDS, id="datetime"),
        pytest.param(1685606400, None, id="number-left-out"),
        pytest.param("not a date", None, id="unparseable-left-out"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_event_timestamp_is_sent_as_unix_seconds(timestamp, expected):
    event = track("Clicked")
    event["timestamp"] = timestamp
    [item] = classic_items(event)
    assert item.body.get("timestamp") == expected


def test_event_without_message_id_has_no_dedup_id():
    event = track("Clicked")
    del event["messageId"]
    [item] = classic_items(event)
    assert "id" not in item.body


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(track(""), id="track-empty-name"),
        pytest.param(track("   "), id="track-blank-name"),
        pytest.param({**track("x"), "event": None}, id="track-null-name"),
        pytest.param({"type": "page", "name": None, "properties": {}, "userId": "u1"}, id="page-no-name-no-url"),
    ],
)
def test_nameless_events_are_invalid(event):
    with pytest.raises(InvalidEvent) as info:
        classic_items(event)
    assert info.value.field == "name" and info.value.rule == "required"


def test_event_ulid_is_a_deterministic_ulid_carrying_the_event_time():
    a = event_ulid("ajs-next-1685606400000-abc", 1685606400000)
    assert a == event_ulid("ajs-next-1685606400000-abc", 1685606400000)
    assert a != event_ulid("ajs-next-1685606400000-abd", 1685606400000)
    assert len(a) == 26 and set(a) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") and a[0] <= "7"
    decoded = 0
    for ch in a[:10]:
        decoded = decoded * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(ch)
    assert decoded == 1685606400000
    assert event_ulid("m", None)[:10] == "0000000000"
    assert event_ulid("m", -5)[:10] == "0000000000"


# ---------------------------------------------------------------------------------------------------------
# What the Classic destination documents beyond the device-mode integration (docs/mapping.md §11)
# ---------------------------------------------------------------------------------------------------------
def screen(name, properties=None, user_id="id"):
    event = {"type": "screen", "properties": properties or {}, "userId": user_id, "anonymousId": "anon-3",
             "messageId": "ajs-next-5-m", "timestamp": D}
    if name is not None:
        event["name"] = name
    return event


def test_screen_is_an_event_named_viewed_name_screen():
    (item,) = classic_items(screen("Home", {"at": D}))
    assert (item.action, item.method, item.path) == ("classic.screen", "POST", "/api/v1/customers/id/events")
    assert item.body == {"name": "Viewed Home Screen", "data": {"at": D_SECONDS},
                         "id": event_ulid("ajs-next-5-m", D_SECONDS * 1000), "timestamp": D_SECONDS}


@pytest.mark.parametrize("name", [None, ""])
def test_screen_without_a_name_is_viewed_undefined_screen(name):
    (item,) = classic_items(screen(name, user_id=None))
    assert item.path == "/api/v1/events"
    assert (item.body["name"], item.body["anonymous_id"]) == ("Viewed Undefined Screen", "anon-3")


def app(name, device=None, user_id="id"):
    event = track(name, {"version": "1.2.3"}, user_id=user_id)
    if device is not None:
        event["context"] = {"device": device}
    return event


@pytest.mark.parametrize("name", ["Application Installed", "Application Opened"])
def test_installed_and_opened_add_or_update_the_device_and_refresh_last_used(name):
    items, errors = classic_map(app(name, {"token": "tok/1", "type": "ios"}))
    assert errors == []
    event_item, device_item = items
    assert (event_item.action, event_item.body["name"]) == ("classic.track", name)  # still a custom event
    assert (device_item.method, device_item.path) == ("PUT", "/api/v1/customers/id/devices")
    assert device_item.body == {"device": {"id": "tok/1", "platform": "ios", "last_used": D_SECONDS}}


def test_uninstalled_removes_the_device():
    items, errors = classic_map(app("Application Uninstalled", {"token": "tok/1", "type": "ios"}))
    assert errors == [] and len(items) == 2
    assert (items[1].method, items[1].path, items[1].body) == (
        "DELETE", "/api/v1/customers/id/devices/tok%2F1", None)


@pytest.mark.parametrize("event", [
    pytest.param(app("Application Opened"), id="no-token"),
    pytest.param(app("Application Opened", {"token": "", "type": "ios"}), id="empty-token"),
    pytest.param(app("Application Opened", {"token": "t", "type": "ios"}, user_id=None), id="anonymous"),
    pytest.param(app("Order Completed", {"token": "t", "type": "ios"}), id="other-event"),
])
def test_no_device_request_without_token_user_or_device_event(event):
    items, errors = classic_map(event)
    assert errors == [] and [i.action for i in items] == ["classic.track"]


def test_a_device_without_a_platform_is_refused_but_its_event_still_goes():
    items, errors = classic_map(app("Application Installed", {"token": "t"}))
    assert [i.action for i in items] == ["classic.track"]
    (err,) = errors
    assert (err.field, err.rule) == ("context.device.type", "required")
    assert "device platform" in str(err)


@pytest.mark.parametrize("value", [True, False])
def test_unsubscribed_in_identify_traits_is_passed_through(value):
    (item,) = classic_items(identify("id", {"email": "a@b.co", "unsubscribed": value}))
    assert item.body == {"email": "a@b.co", "unsubscribed": value, "anonymous_id": "anon-3"}


def test_alias_stays_a_no_op_as_customer_io_documents():
    assert classic_map({"type": "alias", "userId": "u1", "previousId": "a1"}) == ([], [])
