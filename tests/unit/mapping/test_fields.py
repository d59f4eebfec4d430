"""Field cleaning (§3.3), coercion (§3.4) and validation messages (§3.5)."""

from __future__ import annotations

import math

import pytest

from cio_browser.mapping.directives import MISSING
from cio_browser.mapping.fields import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    Field,
    clean,
    coerce,
    is_date_like,
    js_string_to_number,
    validate,
)

S = Field("s", "Some Text")
OBJ = Field("o", "Some Object", OBJECT)
B = Field("b", "Some Flag", BOOLEAN)
N = Field("n", "Batch Size", NUMBER, minimum=2, maximum=100)
INT = Field("i", "Count", INTEGER)
D = Field("d", "Timestamp", DATETIME)
C2 = Field("c", "Action Type", choices=("viewed_content", "clicked_content"))
C3 = Field("m", "Metric", choices=("a", "b", "c"))


# ---- §3.3 cleaning -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("f", [S, OBJ, B, N, D])
@pytest.mark.parametrize("batch", [False, True])
def test_null_and_undefined_are_always_removed(f, batch):
    assert clean(f, None, batch) is MISSING
    assert clean(f, MISSING, batch) is MISSING


@pytest.mark.parametrize(
    "f, single, batch",
    [(S, MISSING, ""), (D, MISSING, ""), (OBJ, MISSING, MISSING), (B, MISSING, MISSING), (N, MISSING, MISSING)],
)
def test_empty_string_removal_depends_on_mode_and_type(f, single, batch):
    assert clean(f, "", False) is single
    assert clean(f, "", True) is batch if batch is MISSING else clean(f, "", True) == batch


@pytest.mark.parametrize("value", [{}, [], {"a": None, "b": "", "c": {}, "d": []}, 0, False, "0", "false"])
@pytest.mark.parametrize("batch", [False, True])
def test_nothing_else_is_removed_and_nested_values_are_untouched(value, batch):
    assert clean(OBJ, value, batch) is value


# ---- §3.4 coercion ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        ("x", "x"),
        (42, "42"),
        (42.0, "42"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1685606400.5, "1685606400.5"),
        (1e16, "10000000000000000"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (True, "true"),
        (False, "false"),
        (["a"], "a"),  # a one-element array is unwrapped...
        ([5], "5"),  # ... and its element converted
        ([True], "true"),
        ([None], ""),
    ],
)
def test_string_coercion(value, expected):
    assert coerce(S, value) == expected


@pytest.mark.parametrize(
    "value, actual",
    [({}, "an object"), ({"a": 1}, "an object"), ([], "an array"), (["a", "b"], "an array"),
     ([{}], "an object"), ([[1]], "an array")],
)
def test_string_coercion_failures_use_the_reference_wording(value, actual):
    with pytest.raises(ValueError) as info:
        coerce(S, value)
    assert str(info.value) == f"Some Text must be a string but it was {actual}."


@pytest.mark.parametrize(
    "value, expected", [(True, True), (False, False), ("true", True), ("false", False), (1, True), (0, False),
                        (1.0, True), ([True], True), (["false"], False)]
)
def test_boolean_coercion(value, expected):
    assert coerce(B, value) is expected


@pytest.mark.parametrize("value, actual", [("yes", "a string"), (2, "a number"), ({}, "an object"), ([], "an array")])
def test_boolean_coercion_failures(value, actual):
    with pytest.raises(ValueError, match=f"^Some Flag must be a boolean but it was {actual}.$"):
        coerce(B, value)


def test_object_fields_take_objects_only():
    value = {"a": None}
    assert coerce(OBJ, value) is value
    # Ajv unwraps one-element arrays only into scalar types: never into an object, and "[5]" is "an array"
    bad_values = (("x", "a string"), ([], "an array"), ([1, 2], "an array"), (5, "a number"), (True, "a boolean"),
                  ([value], "an array"), ([5], "an array"))
    for bad, actual in bad_values:
        with pytest.raises(ValueError, match=f"^Some Object must be an object but it was {actual}.$"):
            coerce(OBJ, bad)


@pytest.mark.parametrize("value, expected", [(50, 50), (2.5, 2.5), ("50", 50), ("2.5", 2.5), (" 7 ", 7), (True, 1),
                                             (["9"], 9), ("0x10", 16)])
def test_number_coercion(value, expected):
    got = coerce(N, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, actual", [("abc", "a string"), ({}, "an object"), ([1, 2], "an array")])
def test_number_coercion_failures(value, actual):
    with pytest.raises(ValueError, match=f"^Batch Size must be a number but it was {actual}.$"):
        coerce(N, value)


def test_integer_coercion():
    assert coerce(INT, "7") == 7
    assert coerce(INT, 7.0) == 7.0
    with pytest.raises(ValueError, match="^Count must be an integer but it was a number.$"):
        coerce(INT, 2.5)
    with pytest.raises(ValueError, match="^Count must be an integer but it was a string.$"):
        coerce(INT, "2.5")


@pytest.mark.parametrize("value, expected", [("2023-06-01", "2023-06-01"), (1685606400, 1685606400),
                                             (1.5, 1.5), (True, "true"), (["x"], "x")])
def test_datetime_accepts_strings_and_numbers(value, expected):
    assert coerce(D, value) == expected


def test_datetime_type_error_names_both_types():
    with pytest.raises(ValueError, match="^Timestamp must be a string or number but it was an object.$"):
        coerce(D, {})


# ---- the date-like format ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, ok",
    [
        ("2023-06-01T08:00:00.000Z", True),
        ("2023-06-01", True),
        ("2023/06/01", True),
        ("20230601T0800", True),
        ("Thu, 01 Jun 2023 08:00:00 GMT", True),
        ("June 1, 2023", True),
        ("1685606400", True),  # unix time (the numeric-string branch)
        ("1685606400.25", True),
        ("next tuesday", False),
        ("", False),
        ("NaN", False),
        ("Infinity", False),
        ("2023-06-01T08:00:00 PST", False),
    ],
)
def test_is_date_like(text, ok):
    assert is_date_like(text) is ok


@pytest.mark.parametrize(
    "text, expected",
    [("42", 42.0), (" 4.5 ", 4.5), ("", 0.0), ("  ", 0.0), ("1e3", 1000.0), (".5", 0.5), ("5.", 5.0),
     ("-Infinity", -math.inf), ("0x1F", 31.0), ("0b11", 3.0), ("0o17", 15.0)],
)
def test_js_string_to_number(text, expected):
    assert js_string_to_number(text) == expected


@pytest.mark.parametrize("text", ["abc", "1,5", "1_000", "0x", "infinity", "nan", "1e"])
def test_js_string_to_number_nan(text):
    assert math.isnan(js_string_to_number(text))


# ---- §3.5 validation and messages ----------------------------------------------------------------------------
def test_choices_message_two_and_three_plus():
    _, problems = validate([C2], {"c": "liked"})
    assert [p.message for p in problems] == ['Action Type must be one of: "viewed_content" or "clicked_content".']
    _, problems = validate([C3], {"m": "z"})
    assert [p.message for p in problems] == ['Metric must be one of: "a", "b", or "c".']
    one = Field("one", "Only", choices=("x",))
    assert validate([one], {"one": "y"})[1][0].message == 'Only must be one of: "x".'


def test_choices_are_checked_after_coercion():
    payload, problems = validate([C3], {"m": ["a"]})
    assert problems == [] and payload == {"m": "a"}


def test_a_type_failure_on_a_choice_field_also_fails_the_choice():
    _, problems = validate([C3], {"m": {}})
    assert [(p.rule, p.message) for p in problems] == [
        ("type", "Metric must be a string but it was an object."),
        ("choice", 'Metric must be one of: "a", "b", or "c".'),
    ]


def test_range_messages():
    assert validate([N], {"n": 500})[1][0].message == "Batch Size must be equal to or less than 100."
    assert validate([N], {"n": 1})[1][0].message == "Batch Size must be equal to or greater than 2."
    assert validate([N], {"n": "50"}) == ({"n": 50}, [])


def test_datetime_format_message():
    _, problems = validate([D], {"d": "next tuesday"})
    assert [(p.field, p.rule, p.message) for p in problems] == [
        ("d", "datetime", "Timestamp must be a valid date-like string but it was not.")]


def test_required_messages_come_first_then_each_fields_problems_in_field_order():
    fields = [Field("a", "A"), Field("req1", "R1", required=True), C3, Field("req2", "R2", required=True)]
    payload, problems = validate(fields, {"a": {}, "m": "z"})
    assert [p.message for p in problems] == [
        "The root value is missing the required field 'req1'.",
        "The root value is missing the required field 'req2'.",
        "A must be a string but it was an object.",
        'Metric must be one of: "a", "b", or "c".',
    ]


def test_validate_drops_keys_that_are_not_fields_and_keeps_only_valid_values():
    payload, problems = validate([S, OBJ], {"s": 5, "o": {"k": None}, "extra": 1})
    assert payload == {"s": "5", "o": {"k": None}} and problems == []


@pytest.mark.parametrize("batch, expected", [(False, ({}, ["The root value is missing the required field 'r'."])),
                                             (True, ({"r": ""}, []))])
def test_empty_string_on_a_required_string_field(batch, expected):
    payload, problems = validate([Field("r", "R", required=True)], {"r": ""}, batch)
    assert (payload, [p.message for p in problems]) == expected


def test_field_types_are_checked():
    with pytest.raises(ValueError, match="unknown type"):
        Field("x", "X", "date")
    assert Field("x", "X").keeps_empty_string and not Field("x", "X", OBJECT).keeps_empty_string
    assert {S.type, D.type} == {STRING, DATETIME}
