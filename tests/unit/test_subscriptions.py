"""The subscription (trigger) language: docs/mapping.md §2 presets, FQL semantics, syntax errors."""

from __future__ import annotations

import pytest

from cio_browser.subscriptions import (
    ALWAYS,
    FIELDS,
    Subscription,
    SubscriptionSyntaxError,
    parse_subscription,
)

RESERVED = (
    "Application Installed",
    "Application Opened",
    "Application Uninstalled",
    "Device Created or Updated",
    "Device Deleted",
    "Relationship Deleted",
    "User Deleted",
    "User Suppressed",
    "User Unsuppressed",
    "Object Deleted",
    "Report Delivery Event",
    "Report Content Event",
)
TRACK_EVENT = 'type = "track" and ' + " and ".join(f'event != "{name}"' for name in RESERVED)

#: The preset triggers of §2, written out as the reference writes them.
PRESET_TRIGGERS = {
    "createUpdatePerson": 'type = "identify"',
    "createUpdateDevice": 'event = "Application Installed" or event = "Application Opened" '
    'or event = "Device Created or Updated"',
    "deleteDevice": 'event = "Application Uninstalled" or event = "Device Deleted"',
    "deleteRelationship": 'event = "Relationship Deleted"',
    "deletePerson": 'event = "User Deleted"',
    "deleteObject": 'event = "Object Deleted"',
    "trackEvent": TRACK_EVENT,
    "trackPageView": 'type = "page"',
    "trackScreenView": 'type = "screen"',
    "createUpdateObject": 'type = "group"',
    "mergePeople": 'type = "alias"',
    "suppressPerson": 'event = "User Suppressed"',
    "unsuppressPerson": 'event = "User Unsuppressed"',
    "reportDeliveryEvent": 'event = "Report Delivery Event"',
    "reportContentEvent": 'event = "Report Content Event"',
}


def track(name: str) -> dict:
    return {"type": "track", "event": name, "properties": {}, "messageId": "m-1"}


EVENTS = {
    "identify": {"type": "identify", "userId": "u1", "traits": {}},
    "page": {"type": "page", "name": "Home", "properties": {"url": "https://example.org"}},
    "screen": {"type": "screen", "name": "Home", "properties": {}},
    "group": {"type": "group", "groupId": "g1", "traits": {}},
    "alias": {"type": "alias", "userId": "u1", "previousId": "a1"},
    "track Order Placed": track("Order Placed"),
    "track user deleted (lower case)": track("user deleted"),
    **{f"track {name}": track(name) for name in RESERVED},
    # The device/person/object triggers test only `event`, with no `type` clause (§2), so an identify that
    # happens to carry an `event` member triggers them too, as in the reference.
    "identify with event member": {"type": "identify", "event": "User Deleted", "userId": "u1"},
}

EXPECTED_ACTIONS = {
    "identify": {"createUpdatePerson"},
    "page": {"trackPageView"},
    "screen": {"trackScreenView"},
    "group": {"createUpdateObject"},
    "alias": {"mergePeople"},
    "track Order Placed": {"trackEvent"},
    "track user deleted (lower case)": {"trackEvent"},
    "track Application Installed": {"createUpdateDevice"},
    "track Application Opened": {"createUpdateDevice"},
    "track Device Created or Updated": {"createUpdateDevice"},
    "track Application Uninstalled": {"deleteDevice"},
    "track Device Deleted": {"deleteDevice"},
    "track Relationship Deleted": {"deleteRelationship"},
    "track User Deleted": {"deletePerson"},
    "track User Suppressed": {"suppressPerson"},
    "track User Unsuppressed": {"unsuppressPerson"},
    "track Object Deleted": {"deleteObject"},
    "track Report Delivery Event": {"reportDeliveryEvent"},
    "track Report Content Event": {"reportContentEvent"},
    "identify with event member": {"createUpdatePerson", "deletePerson"},
}


@pytest.mark.parametrize("event_name", list(EVENTS), ids=list(EVENTS))
def test_preset_triggers_select_exactly_the_reference_actions(event_name):
    event = EVENTS[event_name]
    matched = {action for action, trigger in PRESET_TRIGGERS.items() if parse_subscription(trigger)(event)}
    assert matched == EXPECTED_ACTIONS[event_name]


@pytest.mark.parametrize("action", list(PRESET_TRIGGERS), ids=list(PRESET_TRIGGERS))
def test_every_preset_trigger_parses_and_keeps_its_source(action):
    sub = parse_subscription(PRESET_TRIGGERS[action])
    assert isinstance(sub, Subscription)
    assert sub.source == PRESET_TRIGGERS[action]
    assert sub.fields <= {"type", "event"}


# ---------------------------------------------------------------------------------------------------------
# Semantics
# ---------------------------------------------------------------------------------------------------------
EVENT = {
    "type": "track",
    "event": "Order Placed",
    "userId": "u1",
    "anonymousId": None,
    "messageId": "m-1",
    "properties": {
        "total": 5,
        "price": 4.5,
        "paid": True,
        "coupon": None,
        "plan": "Team Plan",
        "tags": ["a", "b", 3],
        "items": [{"sku": "X"}],
        "nested": {"deep": {"value": "v"}},
        "with space": "yes",
        "five": "5",
    },
    "traits": {"email": "ada@example.org"},
    "context": {"page": {"path": "/checkout"}, "device": {"type": "ios"}},
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param('type = "track"', True, id="equal"),
        pytest.param('type = "Track"', False, id="case-sensitive-values"),
        pytest.param('type != "track"', False, id="not-equal-false"),
        pytest.param('type != "page"', True, id="not-equal-true"),
        pytest.param('name = "x"', False, id="missing-never-equals"),
        pytest.param('name != "x"', True, id="not-equal-on-missing-is-true"),
        pytest.param('groupId = ""', False, id="missing-does-not-equal-empty-string"),
        pytest.param("anonymousId = null", True, id="present-null-equals-null"),
        pytest.param("groupId = null", False, id="missing-does-not-equal-null"),
        pytest.param("properties.coupon = null", True, id="nested-null"),
        pytest.param("properties.total = 5", True, id="number-equals-number"),
        pytest.param("properties.total = 5.0", True, id="number-equals-float-form"),
        pytest.param('properties.total = "5"', False, id="number-not-equal-string-strict"),
        pytest.param("properties.five = 5", False, id="string-not-equal-number-strict"),
        pytest.param("properties.price = 4.5", True, id="float"),
        pytest.param("properties.price = -4.5", False, id="negative-literal"),
        pytest.param("properties.paid = true", True, id="boolean"),
        pytest.param("properties.paid = 1", False, id="boolean-not-equal-number"),
        pytest.param("properties.total = true", False, id="number-not-equal-boolean"),
        pytest.param("properties.paid = TRUE", True, id="literal-keywords-case-insensitive"),
        pytest.param('properties.nested.deep.value = "v"', True, id="deep-path"),
        pytest.param('properties.nested.missing.value = "v"', False, id="deep-path-missing"),
        pytest.param('properties."with space" = "yes"', True, id="quoted-segment"),
        pytest.param('properties.items.0.sku = "X"', True, id="array-index-segment"),
        pytest.param('properties.items.1.sku = "X"', False, id="array-index-out-of-range"),
        pytest.param('traits.email = "ada@example.org"', True, id="traits"),
        pytest.param('context.page.path = "/checkout"', True, id="context"),
        pytest.param('properties.plan contains "Team"', True, id="contains-substring"),
        pytest.param('properties.plan contains "team"', False, id="contains-is-case-sensitive"),
        pytest.param('properties.tags contains "a"', True, id="contains-array-member"),
        pytest.param("properties.tags contains 3", True, id="contains-array-number"),
        pytest.param('properties.tags contains "3"', False, id="contains-array-strict"),
        pytest.param('properties.total contains "5"', False, id="contains-on-number-is-false"),
        pytest.param('properties.nope contains "x"', False, id="contains-on-missing-is-false"),
        pytest.param('properties.plan not contains "Free"', True, id="not-contains"),
        pytest.param('contains(properties.plan, "Plan")', True, id="fql-function-form"),
        pytest.param('CONTAINS(event, "Order")', True, id="fql-function-form-case-insensitive"),
        pytest.param("properties.plan exists", True, id="exists"),
        pytest.param("properties.coupon exists", False, id="null-does-not-exist"),
        pytest.param("properties.nope exists", False, id="missing-does-not-exist"),
        pytest.param("properties.nope not exists", True, id="not-exists"),
        pytest.param("properties exists", True, id="root-object-exists"),
        pytest.param('type = "page" or type = "track"', True, id="or"),
        pytest.param('type = "track" and event = "Nope"', False, id="and"),
        pytest.param('type = "page" and event = "x" or type = "track"', True, id="and-binds-tighter-than-or"),
        pytest.param('type = "page" and (event = "x" or type = "track")', False, id="parentheses"),
        pytest.param('type = "track" AND event = "Order Placed"', True, id="and-case-insensitive"),
        pytest.param('type = "x" Or type = "track"', True, id="or-case-insensitive"),
        pytest.param('not type = "page"', True, id="not-prefix"),
        pytest.param('!(type = "track")', False, id="bang-prefix"),
        pytest.param('not not type = "track"', True, id="double-negation"),
        pytest.param('  type   =   "track"  ', True, id="whitespace-anywhere"),
        pytest.param('type="track"and event!="x"', True, id="no-whitespace-needed-around-operators"),
        pytest.param('event = "Order\\u0020Placed"', True, id="unicode-escape"),
        pytest.param('messageId = "m-1" and userId = "u1"', True, id="other-top-level-fields"),
    ],
)
def test_expression_semantics(expr, expected):
    assert parse_subscription(expr)(EVENT) is expected


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        pytest.param(r'properties.s = "a\"b"', 'a"b', True, id="escaped-quote"),
        pytest.param(r'properties.s = "a\\b"', "a\\b", True, id="escaped-backslash"),
        pytest.param(r'properties.s = "a\nb"', "a\nb", True, id="escaped-newline"),
        pytest.param(r'properties.s = "a\/b"', "a/b", True, id="escaped-slash"),
        pytest.param('properties.s = "é ü"', "é ü", True, id="unicode-literal"),
        pytest.param('properties.s = ""', "", True, id="empty-string-literal"),
        pytest.param("properties.s = 1e3", 1000, True, id="exponent-number"),
        pytest.param("properties.s = -0", 0, True, id="negative-zero-equals-zero"),
    ],
)
def test_string_and_number_literals(expr, value, expected):
    assert parse_subscription(expr)({"properties": {"s": value}}) is expected


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(None, id="none"),
        pytest.param("track", id="string"),
        pytest.param([], id="list"),
        pytest.param({"properties": "not an object"}, id="properties-not-an-object"),
        pytest.param({"properties": None}, id="properties-null"),
    ],
)
def test_odd_events_never_match_and_never_raise(event):
    assert parse_subscription('properties.a = "x" or type = "track"')(event) is False


def test_always_matches_everything():
    assert ALWAYS({}) is True
    assert ALWAYS({"type": "track"}) is True
    assert isinstance(ALWAYS, Subscription)


def test_fields_lists_the_top_level_members_read():
    sub = parse_subscription('type = "track" and (properties.a exists or context.page.path = "/")')
    assert sub.fields == frozenset({"type", "properties", "context"})


def test_identical_expressions_are_parsed_once():
    assert parse_subscription('type = "page"') is parse_subscription('type = "page"')


def test_every_documented_field_is_accepted():
    for name in FIELDS:
        parse_subscription(f"{name} exists")


def test_non_string_expression_is_a_type_error():
    with pytest.raises(TypeError):
        parse_subscription(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Syntax errors: position and what was expected
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "position", "fragment"),
    [
        pytest.param("type = track", 7, "expected a quoted string", id="bare-word-value"),
        pytest.param("type = 'track'", 7, "double quotes", id="single-quoted-value"),
        pytest.param("", 0, "expected a condition", id="empty"),
        pytest.param("   ", 3, "expected a condition", id="blank"),
        pytest.param('type = "track" and', 18, "expected a condition", id="dangling-and"),
        pytest.param('type = "track" or ', 18, "expected a condition", id="dangling-or"),
        pytest.param('(type = "track"', 15, "expected ')'", id="unclosed-parenthesis"),
        pytest.param('type = "track")', 14, "expected 'and', 'or' or the end", id="stray-close-parenthesis"),
        pytest.param('type = "track" event = "x"', 15, "expected 'and', 'or' or the end", id="missing-and"),
        pytest.param('type "track"', 5, "expected an operator", id="missing-operator"),
        pytest.param('type == "track"', 6, "expected a quoted string", id="double-equals"),
        pytest.param('type = "track', 7, "unterminated string", id="unterminated-string"),
        pytest.param('evnt = "x"', 0, "unknown field 'evnt'", id="unknown-field"),
        pytest.param('Type = "track"', 0, "unknown field 'Type'", id="field-names-are-case-sensitive"),
        pytest.param('"type" = "track"', 0, "field names are not quoted", id="quoted-field"),
        pytest.param('= "track"', 0, "expected a field", id="missing-field"),
        pytest.param('event.name = "x"', 5, "has no sub-fields", id="scalar-field-with-path"),
        pytest.param('properties. = "x"', 11, "expected a field name after '.'", id="empty-segment"),
        pytest.param(r'event = "a\qb"', 10, "valid escape", id="bad-escape"),
        pytest.param(r'event = "\u12"', 9, "4 hex digits", id="short-unicode-escape"),
        pytest.param("properties.n = 5x", 15, "expected a quoted string", id="number-followed-by-letters"),
        pytest.param("properties.n = 1.", 17, "expected digits after '.'", id="number-trailing-dot"),
        pytest.param("properties.n = 1e", 17, "expected an exponent", id="number-bad-exponent"),
        pytest.param("properties.n not 5", 17, "expected 'contains' or 'exists'", id="not-without-operator"),
        pytest.param('contains(event "x")', 15, "expected ','", id="function-missing-comma"),
        pytest.param('contains(event, "x"', 19, "expected ')'", id="function-missing-paren"),
        pytest.param("type =", 6, "expected a quoted string", id="missing-value"),
        pytest.param("(" * 100 + 'type = "x"' + ")" * 100, 64, "nested deeper", id="nesting-limit"),
    ],
)
def test_syntax_errors_name_position_and_expectation(expr, position, fragment):
    with pytest.raises(SubscriptionSyntaxError) as info:
        parse_subscription(expr)
    err = info.value
    assert err.position == position
    assert fragment in str(err)
    assert f"at position {position} in {expr!r}" in str(err)
    assert err.source == expr
    assert isinstance(err, ValueError)


def test_syntax_error_message_format():
    with pytest.raises(SubscriptionSyntaxError) as info:
        parse_subscription("type = track")
    assert str(info.value) == "expected a quoted string at position 7 in 'type = track'"
    assert info.value.expected == "expected a quoted string"
