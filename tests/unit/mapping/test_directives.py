"""The mapping directive language (docs/mapping.md §3.1): @path, @if, @template, literals, nested objects."""

from __future__ import annotations

import pytest

from cio_browser.errors import InvalidEvent
from cio_browser.mapping import map_event
from cio_browser.mapping.actions import ACTIONS, compile_action_mapping
from cio_browser.mapping.directives import (
    MISSING,
    DirectiveRuntimeError,
    MappingError,
    compile_mapping,
    compile_value,
    parse_path,
    render_template,
)
from cio_browser.settings import Settings, SettingsError

EVENT = {
    "type": "track",
    "event": "Order Placed",
    "userId": "user-7",
    "anonymousId": "",
    "count": 0,
    "flag": False,
    "nothing": None,
    "properties": {
        "total": 42.0,
        "big": 1e21,
        "tiny": 1.5e-7,
        "ok": True,
        "coupon": None,
        "tags": ["a", None, 3],
        "items": [{"sku": "s-1", "at": "2023-06-01"}, {"sku": "s-2"}],
        "nested": {"deep": {"x": 1}, "gone": None},
        "emoji": "a😀",
    },
}


def resolve(mapping, event=EVENT):
    return compile_value(mapping)(event)


# ---- @path --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, expected",
    [
        ("$.userId", "user-7"),
        ("$.properties.total", 42.0),
        ("$.properties.items[0].sku", "s-1"),
        ("$.properties.items[1].sku", "s-2"),
        ("$.properties.items.1.sku", "s-2"),  # a dot step indexes arrays too (JavaScript arr["1"])
        ("$.properties.items[2].sku", MISSING),
        ("$.properties.tags.length", 3),
        ("$.properties.emoji.length", 3),  # UTF-16 code units, as JavaScript counts
        ("$.properties.nested.gone", None),  # a null member is null, not missing
        ("$.properties.missing", MISSING),
        ("$.properties.missing.deeper", MISSING),
        ("$.nothing.deeper", None),  # JavaScript `a && a[k]`: a null step yields null
        ("$.anonymousId.deeper", ""),  # ... and an empty string yields ""
        ("$.count.deeper", 0),
        ("$.flag.deeper", False),
        ("userId", "user-7"),  # mapping-kit only strips a leading "$." when present
        ("$", MISSING),  # "$" is not the root; mapping-kit looks up a member named "$"
    ],
)
def test_path_lookup(path, expected):
    got = resolve({"@path": path})
    assert got is MISSING if expected is MISSING else (got == expected and type(got) is type(expected))


def test_path_returns_objects_whole_and_unchanged():
    value = resolve({"@path": "$.properties.nested"})
    assert value is EVENT["properties"]["nested"]  # no copy, nested nulls kept
    assert value == {"deep": {"x": 1}, "gone": None}


def test_parse_path_steps():
    assert parse_path("a.b[0].c") == ("a", "b", "0", "c")
    assert parse_path("") == ()
    assert parse_path("[]") is None


# ---- @if ------------------------------------------------------------------------------------------------------
def if_(exists, then=MISSING, otherwise=MISSING):
    body = {"exists": exists}
    if then is not MISSING:
        body["then"] = then
    if otherwise is not MISSING:
        body["else"] = otherwise
    return {"@if": body}


@pytest.mark.parametrize(
    "mapping, expected",
    [
        (if_({"@path": "$.userId"}, {"@path": "$.userId"}, "fallback"), "user-7"),
        (if_({"@path": "$.anonymousId"}, "then", "else"), "then"),  # "" counts as existing
        (if_({"@path": "$.count"}, "then", "else"), "then"),  # so does 0
        (if_({"@path": "$.nothing"}, "then", "else"), "else"),  # null does not
        (if_({"@path": "$.missing"}, "then", "else"), "else"),
        (if_({"@path": "$.missing"}, "then", {"@path": "$.event"}), "Order Placed"),
        (if_({"@path": "$.userId"}, MISSING, "else"), MISSING),  # no then: undefined
        (if_({"@path": "$.missing"}, "then"), MISSING),  # no else: undefined
        # mapping-kit uses `else` only when its raw mapping value is truthy
        (if_({"@path": "$.missing"}, "then", ""), MISSING),
        (if_({"@path": "$.missing"}, "then", 0), MISSING),
        (if_({"@path": "$.missing"}, "then", False), MISSING),
        (if_({"@path": "$.missing"}, "then", None), MISSING),
        (if_({"@path": "$.userId"}, None, "else"), None),  # a null then is null
    ],
)
def test_if_exists(mapping, expected):
    got = resolve(mapping)
    assert got is MISSING if expected is MISSING else got == expected


@pytest.mark.parametrize(
    "path, expected", [("$.userId", "yes"), ("$.anonymousId", "no"), ("$.count", "no"), ("$.flag", "no"),
                       ("$.nothing", "no"), ("$.properties", "yes")]
)
def test_if_blank(path, expected):
    assert resolve({"@if": {"blank": {"@path": path}, "then": "yes", "else": "no"}}) == expected


# ---- @template ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{userId}}", "user-7"),
        ("{{ userId }}", "user-7"),
        ("{{{ userId }}}", "user-7"),
        ("{{properties.missing}}", ""),
        ("{{properties.coupon}}", ""),
        ("{{properties.total}}", "42"),
        ("{{properties.big}}", "1e+21"),
        ("{{properties.tiny}}", "1.5e-7"),
        ("{{properties.ok}}", "true"),
        ("{{properties.tags}}", "a,,3"),
        ("{{properties.nested}}", "[object Object]"),
        ("{{$.userId}}", ""),  # no "$." stripping in templates
        ("{{event}} by {{userId}}!", "Order Placed by user-7!"),
        ("<{{properties.emoji}}>&", "<a😀>&"),  # no HTML escaping
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_template(template, expected):
    assert resolve({"@template": template}) == expected
    assert render_template(template, EVENT) == expected


def test_template_triple_braces_are_rendered_first_and_the_result_is_scanned_again():
    event = {"a": "{{b}}", "b": "B"}
    assert resolve({"@template": "{{{a}}}-{{b}}"}, event) == "B-B"


def test_template_missing_placeholder_renders_empty_string():
    assert resolve({"@template": "{{traits.email}}"}, {"type": "identify"}) == ""


# ---- literals and objects ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("literal", [True, False, 50, 0, 1.5, "x", "", None])
def test_literals_resolve_to_themselves(literal):
    assert resolve(literal) == literal


def test_literal_directive_resolves_its_operand():
    assert resolve({"@literal": "{{userId}}"}) == "{{userId}}"
    assert resolve({"@literal": {"@path": "$.userId"}}) == "user-7"


def test_plain_objects_resolve_member_by_member_and_drop_undefined():
    mapping = {"id": {"@path": "$.userId"}, "nope": {"@path": "$.missing"}, "null": {"@path": "$.nothing"},
               "fixed": "browser", "inner": {"total": {"@path": "$.properties.total"}}}
    assert resolve(mapping) == {"id": "user-7", "null": None, "fixed": "browser", "inner": {"total": 42.0}}


def test_arrays_resolve_element_wise_undefined_becoming_null():
    assert resolve([{"@path": "$.userId"}, {"@path": "$.missing"}, 3]) == ["user-7", None, 3]


def test_static_literal_objects_are_fresh_for_every_event():
    resolver = compile_value({"a": {"b": [1]}})
    first, second = resolver(EVENT), resolver(EVENT)
    assert first == second == {"a": {"b": [1]}}
    first["a"]["b"].append(2)
    assert resolver(EVENT) == {"a": {"b": [1]}}


def test_compile_mapping_keeps_field_order():
    compiled = compile_mapping({"b": 1, "a": {"@path": "$.userId"}})
    assert list(compiled) == ["b", "a"]
    assert compiled["a"](EVENT) == "user-7"


# ---- dynamic operands ----------------------------------------------------------------------------------------
def test_path_operand_may_itself_be_a_directive():
    event = {"properties": {"key": "plan", "plan": "team"}}
    assert resolve({"@path": {"@template": "$.properties.{{properties.key}}"}}, event) == "team"


def test_a_dynamic_operand_that_is_not_a_string_fails_when_the_event_is_mapped():
    resolver = compile_value({"@path": {"@path": "$.properties.total"}})
    with pytest.raises(DirectiveRuntimeError, match="@path: expected string, got number"):
        resolver(EVENT)


def test_a_runtime_directive_failure_becomes_an_invalid_event_for_that_action_only():
    settings = Settings.from_dict({"siteId": "s", "apiKey": "k"})
    subs = [
        {"action": "trackEvent", "subscribe": None,
         "mapping": {"name": {"@path": {"@path": "$.properties.total"}}}},
        {"action": "suppressPerson", "subscribe": None, "mapping": None},
    ]
    result = map_event(EVENT, settings, subscriptions=subs)
    assert [i.action for i in result.items] == ["suppressPerson"]
    (error,) = result.errors
    assert isinstance(error, InvalidEvent)
    assert (error.action, error.field, error.rule) == ("trackEvent", "name", "input")


# ---- invalid directives ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"@foo": "$.x"}, "@foo is not supported"),
        ({"@Path": "$.x"}, "is not a valid directive name"),
        ({"@path": 5}, "@path expects a string, got number"),
        ({"@template": ["x"]}, "@template expects a string, got array"),
        ({"@if": "x"}, '@if requires an object with an "exists" key'),
        ({"@if": {"then": 1}}, '@if requires an "exists" key or a "blank" key'),
        ({"@if": {"exists": "", "then": 1}}, '@if requires an "exists" key or a "blank" key'),
        ({"@if": {"exists": {"@path": "$.a"}, "otherwise": 1}}, "unknown key"),
        ({"@path": "$.a", "extra": 1}, "cannot mix a directive"),
        ({"@path": "$.a", "@template": "x"}, "only one directive per object"),
        ({"a": {"@if": {"exists": {"@nope": 1}}}}, "@nope is not supported"),
    ],
)
def test_invalid_directives_raise_mapping_error(mapping, message):
    with pytest.raises(MappingError, match=message):
        compile_value(mapping)


def test_mapping_error_names_the_field_and_is_a_settings_error():
    with pytest.raises(MappingError) as info:
        compile_action_mapping(
            ACTIONS["trackEvent"], {"name": {"@path": 1}, "id": {"@bad": 1}}, "subscriptions[0].mapping"
        )
    err = info.value
    assert isinstance(err, SettingsError) and isinstance(err, ValueError)
    assert err.problems == [
        "subscriptions[0].mapping.id.@bad: @bad is not supported here (supported: @path, @if, @template, @literal)",
        "subscriptions[0].mapping.name.@path: @path expects a string, got number",
    ]
    assert "subscriptions[0].mapping.name" in str(err)


def test_metadata_key_is_allowed_next_to_a_directive():
    assert resolve({"@path": "$.userId", "_metadata": {"label": "x"}}) == "user-7"
