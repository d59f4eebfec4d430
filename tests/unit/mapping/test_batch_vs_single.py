"""§8: what an empty string does in batch mode (kept on string fields) versus single mode (removed).

Each row of the §8 table is one parametrised case, run in both modes: the batch result and the single result.
"""

from __future__ import annotations

import pytest

from cio_browser import InvalidEvent, Settings, requests_for
from cio_browser.constants import BATCH_PATH, ENTITY_PATH

SETTINGS = Settings.from_dict({"siteId": "site123", "apiKey": "key456"})
T = "2023-06-01T08:00:00.000Z"
TS = 1685606400


def ev(kind: str, **kw) -> dict:
    return {"type": kind, "messageId": "m-1", "timestamp": T, **kw}


def outcome(event: dict, batch: bool) -> dict | str:
    """The one body sent (unwrapped from the batch envelope), or the error text."""
    try:
        (request,) = requests_for(event, SETTINGS, batch=batch, now_ms=0)
    except InvalidEvent as exc:
        return str(exc)
    if batch:
        assert request.url.endswith(BATCH_PATH)
        (entity,) = request.body["batch"]
        return entity
    assert request.url.endswith(ENTITY_PATH)
    return request.body


def missing(key: str) -> str:
    return f"The root value is missing the required field '{key}'."


DEVICE = {"device": {"token": "tok", "type": "ios"}}
ROWS = [
    # (row, event, batch result, single result)
    ("trackEvent name", ev("track", event="", userId="u", properties={}),
     {"type": "person", "action": "event", "name": "", "id": "m-1", "attributes": {}, "timestamp": TS,
      "identifiers": {"id": "u"}},
     missing("name")),
    ("trackEvent event_id", ev("track", event="E", userId="u", messageId="", properties={}),
     {"type": "person", "action": "event", "name": "E", "id": "", "attributes": {}, "timestamp": TS,
      "identifiers": {"id": "u"}},
     {"type": "person", "action": "event", "name": "E", "attributes": {}, "timestamp": TS, "identifiers": {"id": "u"}}),
    ("page url", ev("page", userId="u", properties={"url": ""}),
     {"type": "person", "action": "page", "name": "", "id": "m-1", "attributes": {"url": ""}, "timestamp": TS,
      "identifiers": {"id": "u"}},
     missing("url")),
    ("page event_id is omitted when empty in both modes", ev("page", userId="u", messageId="", properties={"url": "x"}),
     {"type": "person", "action": "page", "name": "x", "attributes": {"url": "x"}, "timestamp": TS,
      "identifiers": {"id": "u"}},
     {"type": "person", "action": "page", "name": "x", "attributes": {"url": "x"}, "timestamp": TS,
      "identifiers": {"id": "u"}}),
    ("screen name", ev("screen", name="", userId="u"),
     {"type": "person", "action": "screen", "name": "", "id": "m-1", "timestamp": TS, "identifiers": {"id": "u"}},
     missing("name")),
    ("device device_id, platform, last_used",
     ev("track", event="Application Opened", userId="u", timestamp="",
        context={"device": {"token": "", "type": ""}, "app": {"version": ""}}),
     {"type": "person", "action": "add_device", "device": {"token": "", "platform": "", "last_used": "",
                                                           "attributes": {}}, "identifiers": {"id": "u"}},
     missing("device_id") + " " + missing("platform")),
    ("device person_id", ev("track", event="Application Installed", userId="", context=DEVICE),
     {"type": "person", "action": "add_device", "device": {"token": "tok", "platform": "ios", "last_used": TS,
                                                           "attributes": {}}},
     missing("person_id")),
    ("deleteDevice person_id", ev("track", event="Device Deleted", userId="", context=DEVICE),
     {"type": "person", "action": "delete_device", "device": {"token": "tok"}},
     missing("person_id")),
    ("deletePerson person_id", ev("track", event="User Deleted", userId=""),
     {"type": "person", "action": "delete"}, missing("person_id")),
    ("suppressPerson person_id", ev("track", event="User Suppressed", userId=""),
     {"type": "person", "action": "suppress"}, missing("person_id")),
    ("unsuppressPerson person_id", ev("track", event="User Unsuppressed", userId=""),
     {"type": "person", "action": "unsuppress"}, missing("person_id")),
    ("createUpdatePerson object_type_id", ev("identify", userId="u", traits={"objectId": "o", "object_type_id": ""}),
     {"type": "person", "action": "identify", "attributes": {"objectId": "o"},
      "cio_relationships": [{"identifiers": {"object_type_id": "", "object_id": "o"}}], "timestamp": TS,
      "identifiers": {"id": "u"}},
     {"type": "person", "action": "identify", "attributes": {"objectId": "o"},
      "cio_relationships": [{"identifiers": {"object_type_id": "1", "object_id": "o"}}], "timestamp": TS,
      "identifiers": {"id": "u"}}),
    ("createUpdateObject object_type_id", ev("group", groupId="g", anonymousId="a", traits={"object_type_id": ""}),
     {"type": "object", "action": "identify_anonymous", "attributes": {},
      "cio_relationships": [{"identifiers": {"anonymous_id": "a"}}], "identifiers": {"anonymous_id": "a"}},
     {"type": "object", "action": "identify_anonymous", "attributes": {"anonymous_id": "a"},
      "cio_relationships": [{"identifiers": {"anonymous_id": "a"}}],
      "identifiers": {"object_id": "g", "object_type_id": "1"}}),
    ("createUpdateObject object id", ev("group", groupId="", userId="cio_1"),
     {"type": "object", "action": "identify", "cio_relationships": [{"identifiers": {"cio_id": "1"}}],
      "identifiers": {"cio_id": "1"}},
     missing("id")),
    ("deleteRelationship object_type_id",
     ev("track", event="Relationship Deleted", userId="u", properties={"objectId": "o", "objectTypeId": ""}),
     {"type": "object", "action": "delete_relationships", "cio_relationships": [{"identifiers": {"id": "u"}}],
      "identifiers": {"id": "u"}},
     {"type": "object", "action": "delete_relationships", "cio_relationships": [{"identifiers": {"id": "u"}}],
      "identifiers": {"object_id": "o", "object_type_id": "1"}}),
    ("deleteRelationship object id",
     ev("track", event="Relationship Deleted", userId="u", anonymousId="a", properties={"objectId": ""}),
     {"type": "object", "action": "delete_relationships", "attributes": {"anonymous_id": "a"},
      "cio_relationships": [{"identifiers": {"id": "u"}}], "identifiers": {"id": "u"}},
     missing("object_id")),
    ("deleteObject object_type_id",
     ev("track", event="Object Deleted", properties={"objectId": "o", "objectTypeId": ""}),
     {"type": "object", "action": "delete"},
     {"type": "object", "action": "delete", "identifiers": {"object_id": "o", "object_type_id": "1"}}),
    ("mergePeople primary", ev("alias", userId="", previousId="p"),
     {"type": "person", "action": "merge", "secondary": {"id": "p"}}, missing("primary")),
    ("mergePeople secondary", ev("alias", userId="u", previousId=""),
     {"type": "person", "action": "merge", "primary": {"id": "u"}}, missing("secondary")),
    ("any: anonymous_id", ev("track", event="E", anonymousId="", properties={}),
     {"type": "person", "action": "event", "name": "E", "id": "m-1", "attributes": {}, "timestamp": TS},
     {"type": "person", "action": "event", "name": "E", "id": "m-1", "attributes": {}, "timestamp": TS}),
    # the email *field* is "" and ignored; the email *trait* is nested data and is kept as is
    ("any: email", ev("identify", anonymousId="a", traits={"email": ""}),
     {"type": "person", "action": "identify", "attributes": {"email": ""}, "timestamp": TS,
      "identifiers": {"anonymous_id": "a"}},
     {"type": "person", "action": "identify", "attributes": {"email": ""}, "timestamp": TS,
      "identifiers": {"anonymous_id": "a"}}),
    ("any: created_at", ev("identify", userId="u", traits={"created_at": ""}),
     {"type": "person", "action": "identify", "attributes": {}, "timestamp": TS, "identifiers": {"id": "u"}},
     {"type": "person", "action": "identify", "attributes": {}, "timestamp": TS, "identifiers": {"id": "u"}}),
    ("any: group_id", ev("identify", userId="u", traits={"objectId": ""}),
     {"type": "person", "action": "identify", "attributes": {"objectId": ""}, "timestamp": TS,
      "identifiers": {"id": "u"}},
     {"type": "person", "action": "identify", "attributes": {"objectId": ""}, "timestamp": TS,
      "identifiers": {"id": "u"}}),
    ("any: timestamp", ev("track", event="E", userId="u", timestamp="", properties={}),
     {"type": "person", "action": "event", "name": "E", "id": "m-1", "attributes": {}, "identifiers": {"id": "u"}},
     {"type": "person", "action": "event", "name": "E", "id": "m-1", "attributes": {}, "identifiers": {"id": "u"}}),
    ("identify with an empty userId: the email field identifies",
     ev("identify", userId="", traits={"email": "ada@example.org"}),
     {"type": "person", "action": "identify", "attributes": {"email": "ada@example.org"}, "timestamp": TS,
      "identifiers": {"email": "ada@example.org"}},
     {"type": "person", "action": "identify", "attributes": {"email": "ada@example.org"}, "timestamp": TS,
      "identifiers": {"email": "ada@example.org"}}),
]


@pytest.mark.parametrize("row, event, batch_result, single_result", ROWS, ids=[r[0] for r in ROWS])
def test_section_8_row(row, event, batch_result, single_result):
    assert outcome(event, batch=True) == batch_result
    assert outcome(event, batch=False) == single_result


def test_object_fields_drop_empty_strings_in_both_modes():
    event = ev("track", event="E", userId="u", properties="")
    for batch in (False, True):
        assert "attributes" not in outcome(event, batch)


def test_batch_request_shape():
    (request,) = requests_for(ev("track", event="E", userId="u"), SETTINGS, batch=True, now_ms=0)
    assert request.method == "POST"
    assert request.url == "https://track.customer.io/api/v2/batch"
    assert list(request.body) == ["batch"] and len(request.body["batch"]) == 1
