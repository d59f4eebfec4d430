"""Identifier resolution (§4.1), the email pattern (§4.2) and the common entity-body builder (§4)."""

from __future__ import annotations

import copy

import pytest

from cio_browser.mapping.common import build_entity_body, is_email, resolve_identifiers

# ---- §4.1 resolution order ------------------------------------------------------------------------------------
ALL = {"anonymous_id": "anon-3", "email": "mail@example.org", "object_id": "acct-9", "person_id": "user-7"}


@pytest.mark.parametrize(
    "inputs, expected",
    [
        # 1. object id + object type id (defaulting to "1") win over everything
        (ALL, {"object_id": "acct-9", "object_type_id": "1"}),
        ({**ALL, "object_type_id": "2"}, {"object_id": "acct-9", "object_type_id": "2"}),
        ({**ALL, "object_type_id": None}, {"object_id": "acct-9", "object_type_id": "1"}),
        # an empty object_type_id is not absent: it makes rule 1 fail
        ({**ALL, "object_type_id": ""}, {"id": "user-7"}),
        ({**ALL, "object_id": ""}, {"id": "user-7"}),
        # 2. cio_ prefix (case-sensitive), remainder may be empty
        ({"person_id": "cio_abc", "email": "x@example.org"}, {"cio_id": "abc"}),
        ({"person_id": "cio_"}, {"cio_id": ""}),
        ({"person_id": "CIO_abc"}, {"id": "CIO_abc"}),
        ({"person_id": "Cio_abc"}, {"id": "Cio_abc"}),
        # 3. person id that looks like an email
        ({"person_id": "Ada@Example.ORG", "anonymous_id": "anon-3"}, {"email": "Ada@Example.ORG"}),
        ({"person_id": "ops@intranet"}, {"id": "ops@intranet"}),
        # 4. any truthy person id
        ({"person_id": "user-7", "email": "mail@example.org"}, {"id": "user-7"}),
        # 5. the email field, unchecked
        ({"person_id": "", "email": "not an email", "anonymous_id": "anon-3"}, {"email": "not an email"}),
        # 6. anonymous id
        ({"email": "", "anonymous_id": "anon-3"}, {"anonymous_id": "anon-3"}),
        # 7. nothing
        ({}, None),
        ({"person_id": "", "email": "", "anonymous_id": ""}, None),
        ({"object_id": "acct-9", "object_type_id": ""}, None),
    ],
)
def test_resolution_order(inputs, expected):
    assert resolve_identifiers(**inputs) == expected


# ---- §4.2 email pattern ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, ok",
    [
        ("ada@example.org", True),
        ("ADA@EXAMPLE.ORG", True),
        ("first.last+tag@sub.example.co.uk", True),
        ("o'brien!#$%&*/=?^_`{|}~-@example.org", True),
        ("a@b.c", True),
        ("ops@intranet", False),  # the domain needs a dot
        (" ada@example.org", False),
        ("ada@example.org ", False),
        ("ada@example.org\n", False),  # Python's `$` would accept this; fullmatch does not
        ("ada@@example.org", False),
        (".ada@example.org", False),
        ("ada.@example.org", False),
        ("ada@-example.org", False),
        ("ada@example-.org", False),
        ("ada@exa_mple.org", False),
        ("ſ@example.org", False),  # JavaScript's /i does not fold the long s to "s"
        ("\u212a@example.org", False),  # ... nor the Kelvin sign to "k"
        ("ada@exämple.org", False),
        (42, False),
        (None, False),
    ],
)
def test_email_pattern(value, ok):
    assert is_email(value) is ok


# ---- §4 body builder -------------------------------------------------------------------------------------------
def test_identity_and_control_members_are_taken_out_and_the_rest_is_data():
    p = {"person_id": "user-7", "email": "e@example.org", "object_type_id": "1", "enable_batching": True,
         "batch_size": 50, "name": "X", "attributes": {"a": 1}}
    assert build_entity_body("person", "event", p) == {
        "type": "person", "action": "event", "name": "X", "attributes": {"a": 1}, "identifiers": {"id": "user-7"}}


def test_conversion_needs_convert_timestamp_present_and_not_false():
    data = {"attributes": {"at": "2023-06-01T08:00:00Z", "list": ["2023-06-01"]}, "name": "2023-06-01"}
    converted = build_entity_body("person", "event", {**data, "convert_timestamp": True})
    assert converted["attributes"] == {"at": 1685606400, "list": ["2023-06-01"]}  # never into arrays
    assert converted["name"] == 1685577600
    assert build_entity_body("person", "event", data)["attributes"]["at"] == "2023-06-01T08:00:00Z"
    off = build_entity_body("person", "event", {**data, "convert_timestamp": False})
    assert off["attributes"]["at"] == "2023-06-01T08:00:00Z"


@pytest.mark.parametrize(
    "timestamp, expected",
    [("2023-06-01T08:00:00.000Z", 1685606400), ("1685606400", "1685606400"), ("garbage", "garbage")],
)
def test_timestamp_is_converted_leniently_even_without_convert_timestamp(timestamp, expected):
    assert build_entity_body("person", "event", {"timestamp": timestamp})["timestamp"] == expected


def test_a_falsy_timestamp_leaves_no_timestamp_key():
    assert "timestamp" not in build_entity_body("person", "event", {"timestamp": ""})


def test_anonymous_id_goes_into_attributes_unless_it_is_the_identifier():
    known = build_entity_body("person", "event", {"person_id": "u", "anonymous_id": "a", "attributes": {"x": 1}})
    assert known["attributes"] == {"x": 1, "anonymous_id": "a"} and known["identifiers"] == {"id": "u"}
    anon = build_entity_body("person", "event", {"anonymous_id": "a"})
    assert anon["attributes"] == {} and anon["identifiers"] == {"anonymous_id": "a"}
    # a property that happens to be called anonymous_id is overwritten, then removed, as the reference does
    clash = build_entity_body("person", "event", {"anonymous_id": "a", "attributes": {"anonymous_id": "p"}})
    assert clash["attributes"] == {}


def test_no_identifiers_key_when_nothing_identifies_and_never_for_merge():
    assert "identifiers" not in build_entity_body("person", "event", {"name": "X"})
    assert "identifiers" not in build_entity_body("person", "merge", {"person_id": "user-7"})


def test_builder_never_mutates_its_input():
    p = {"anonymous_id": "a", "person_id": "u", "convert_timestamp": True,
         "attributes": {"at": "2023-06-01T08:00:00Z"}, "timestamp": "2023-06-01T08:00:00Z"}
    before = copy.deepcopy(p)
    build_entity_body("person", "event", p)
    assert p == before
