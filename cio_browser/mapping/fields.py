"""Action fields: the schema the reference validates a resolved payload against (docs/mapping.md §3.3-§3.5).

Segment turns an action's field table into a JSON schema and validates with Ajv (``coerceTypes: 'array'``,
``allErrors``, ``removeAdditional``), then words the errors with ``@segment/ajv-human-errors`` using each field's
label. This module reproduces the parts that matter for Customer.io's fields:

* **clean** (§3.3): ``null``/undefined at field level is dropped; ``""`` is dropped in single mode, and in batch
  mode only from fields whose type does not include ``string``. Nested values are never touched.
* **coerce** (§3.4): Ajv's scalar coercions (number/boolean -> string with JavaScript's number formatting,
  ``"true"``/``1`` -> boolean, numeric strings -> number), including unwrapping a one-element array.
* **validate** (§3.5): required fields, choices, the ``date-like`` format, minimum/maximum; the messages are the
  reference's. Ajv checks ``required`` before the properties, so every missing-field message comes first (in
  field order), then each field's own problems (in field order): type, then choice, then range/format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..jsvalues import js_number_to_string
from ..timestamps import datetime_to_ms, js_iso_string, parse_lenient_ms
from .directives import JS_WHITESPACE, MISSING

__all__ = [
    "BOOLEAN",
    "DATETIME",
    "INTEGER",
    "NUMBER",
    "OBJECT",
    "STRING",
    "Field",
    "Problem",
    "clean",
    "coerce",
    "is_date_like",
    "js_string_to_number",
    "validate",
]

STRING = "string"
OBJECT = "object"
BOOLEAN = "boolean"
DATETIME = "datetime"
INTEGER = "integer"
NUMBER = "number"
_TYPES = (STRING, OBJECT, BOOLEAN, DATETIME, INTEGER, NUMBER)

#: Ajv's wording for the expected type, by field type.
_EXPECTED = {
    STRING: "a string",
    OBJECT: "an object",
    BOOLEAN: "a boolean",
    DATETIME: "a string or number",  # the JSON schema type of a datetime field is ["string", "number"]
    INTEGER: "an integer",
    NUMBER: "a number",
}


@dataclass(frozen=True)
class Field:
    """One payload field of an action, as the reference's field table declares it.

    ``default`` is the default mapping value in the directive language (what a preset maps); ``label`` is what
    the reference names the field in type/choice/format errors (required errors use ``key``).
    """

    key: str
    label: str
    type: str = STRING
    required: bool = False
    default: Any = MISSING
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: Derived: whether ``""`` survives batch-mode cleaning (the schema type includes "string").
    keeps_empty_string: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"field {self.key!r}: unknown type {self.type!r}")
        object.__setattr__(self, "keeps_empty_string", self.type in (STRING, DATETIME))


@dataclass(frozen=True)
class Problem:
    """One validation failure: which field, which rule (required/type/choice/datetime/range), the message."""

    field: str
    rule: str
    message: str


# ---- JavaScript number parsing ---------------------------------------------------------------------------
_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.ASCII)
_JS_RADIX = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))", re.ASCII)


def js_string_to_number(text: str) -> float:
    """JavaScript ``Number(text)`` for a string: NaN when it is not a numeric literal, 0 for blank."""
    s = text.strip(JS_WHITESPACE)  # StringToNumber trims like String#trim
    if not s:
        return 0.0
    if _JS_DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))
    m = _JS_RADIX.fullmatch(s)
    if m:
        digits, base = next((g, b) for g, b in zip(m.groups(), (16, 8, 2), strict=True) if g)
        return float(int(digits, base))
    return math.nan


def _as_number(x: float) -> int | float:
    """A JavaScript number as Python writes it in JSON: integral values as int (``1685606400``, not ``.0``)."""
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


# ---- coercion ---------------------------------------------------------------------------------------------
class _Uncoercible(Exception):
    """Raised by a coercer; ``value`` is what Ajv reports as "but it was …" (the unwrapped element if any)."""

    def __init__(self, value: Any):
        super().__init__()
        self.value = value


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def _to_string(v: Any, unwrapped: bool = False) -> str:
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return js_number_to_string(v)
    if v is None:
        return ""
    if isinstance(v, date):  # a JS Date reaches the reference as its JSON form, an ISO string
        return js_iso_string(datetime_to_ms(v))
    if not unwrapped and isinstance(v, (list, tuple)) and len(v) == 1:
        return _to_string(v[0], True)
    raise _Uncoercible(v)


def _to_number(v: Any, unwrapped: bool = False, integer: bool = False) -> int | float:
    t = type(v)
    if t is int or t is float:
        if integer and not float(v).is_integer():
            raise _Uncoercible(v)
        return v
    if t is bool:
        return 1 if v else 0
    if v is None:
        return 0
    if t is str and v:
        n = js_string_to_number(v)
        if not math.isnan(n) and (not integer or (math.isfinite(n) and n.is_integer())):
            return _as_number(n)
        raise _Uncoercible(v)
    if not unwrapped and isinstance(v, (list, tuple)) and len(v) == 1:
        return _to_number(v[0], True, integer)
    raise _Uncoercible(v)


def _to_integer(v: Any) -> int | float:
    return _to_number(v, integer=True)


def _to_boolean(v: Any, unwrapped: bool = False) -> bool:
    if v is True or v is False:
        return v
    if v == "false" or v is None or (_is_number(v) and v == 0):
        return False
    if v == "true" or (_is_number(v) and v == 1):
        return True
    if not unwrapped and isinstance(v, (list, tuple)) and len(v) == 1:
        return _to_boolean(v[0], True)
    raise _Uncoercible(v)


def _to_object(v: Any) -> dict[str, Any]:
    """Ajv coerces only to scalar types (and to arrays): nothing, not even a one-element array, becomes an object,
    and the error names the value as it was (``[5]`` is "an array", not "a number")."""
    if isinstance(v, dict):
        return v
    raise _Uncoercible(v)


def _to_datetime(v: Any) -> str | int | float:
    if isinstance(v, str) or _is_number(v):
        return v
    return _to_string(v)  # booleans (and an unwrapped null) become strings, then face the date-like format


_COERCERS: dict[str, Callable[[Any], Any]] = {
    STRING: _to_string,
    OBJECT: _to_object,
    BOOLEAN: _to_boolean,
    DATETIME: _to_datetime,
    INTEGER: _to_integer,
    NUMBER: _to_number,
}


def coerce(f: Field, value: Any) -> Any:
    """Coerce ``value`` to ``f``'s type as Ajv would; raise ValueError with the reference's type message."""
    try:
        return _COERCERS[f.type](value)
    except _Uncoercible as exc:
        raise ValueError(_type_message(f, exc.value)) from None


# ---- messages ---------------------------------------------------------------------------------------------
def _actual(value: Any) -> str:
    """Ajv-human-errors' wording of the type a value actually had."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    return "an object"


def _type_message(f: Field, value: Any) -> str:
    return f"{f.label} must be {_EXPECTED[f.type]} but it was {_actual(value)}."


def _choices_text(choices: Iterable[str]) -> str:
    quoted = [json.dumps(c, ensure_ascii=False) for c in choices]
    if len(quoted) <= 1:
        return "".join(quoted)
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", or {quoted[-1]}"


def required_message(key: str) -> str:
    return f"The root value is missing the required field '{key}'."


def choice_message(f: Field) -> str:
    return f"{f.label} must be one of: {_choices_text(f.choices or ())}."


def datetime_message(f: Field) -> str:
    return f"{f.label} must be a valid date-like string but it was not."


# ---- the date-like format ---------------------------------------------------------------------------------
def is_date_like(text: str) -> bool:
    """Segment's ``date-like`` format: a numeric string (unix time) or anything dayjs can parse (§3.4)."""
    n = js_string_to_number(text)
    if not math.isnan(n) and js_number_to_string(n) == text:
        return math.isfinite(n)
    return parse_lenient_ms(text) is not None


# ---- clean + validate -------------------------------------------------------------------------------------
def clean(f: Field, value: Any, batch: bool) -> Any:
    """§3.3 for one field-level value: MISSING when the reference would drop it, else the value unchanged."""
    if value is None or value is MISSING:
        return MISSING
    if value == "" and type(value) is str and (not batch or not f.keeps_empty_string):
        return MISSING
    return value


def check_field(f: Field, value: Any, payload: dict[str, Any], problems: list[Problem]) -> None:
    """Coerce and check one cleaned, present value; store it in ``payload`` or record its problems."""
    if type(value) is str and f.type == STRING:  # the common case, no coercion needed
        coerced: Any = value
    else:
        try:
            coerced = _COERCERS[f.type](value)
        except _Uncoercible as exc:
            problems.append(Problem(f.key, "type", _type_message(f, exc.value)))
            if f.choices is not None:
                problems.append(Problem(f.key, "choice", choice_message(f)))
            return
    ok = True
    if f.choices is not None and coerced not in f.choices:
        problems.append(Problem(f.key, "choice", choice_message(f)))
        ok = False
    if f.minimum is not None and _is_number(coerced) and coerced < f.minimum:
        problems.append(Problem(f.key, "range",
                                f"{f.label} must be equal to or greater than {js_number_to_string(f.minimum)}."))
        ok = False
    if f.maximum is not None and _is_number(coerced) and coerced > f.maximum:
        problems.append(Problem(f.key, "range",
                                f"{f.label} must be equal to or less than {js_number_to_string(f.maximum)}."))
        ok = False
    if f.type == DATETIME and type(coerced) is str and not is_date_like(coerced):
        problems.append(Problem(f.key, "datetime", datetime_message(f)))
        ok = False
    if ok:
        payload[f.key] = coerced


def validate(fields: Iterable[Field], raw: dict[str, Any], batch: bool = False) -> tuple[dict[str, Any], list[Problem]]:
    """Clean, coerce and validate a resolved payload (§3.3-§3.5). Keys that are not fields are dropped.

    Returns the payload (only fields that are present and valid) and the problems, in the reference's order.
    """
    payload: dict[str, Any] = {}
    missing: list[Problem] = []
    problems: list[Problem] = []
    for f in fields:
        value = clean(f, raw.get(f.key, MISSING), batch)
        if value is MISSING:
            if f.required:
                missing.append(Problem(f.key, "required", required_message(f.key)))
            continue
        check_field(f, value, payload, problems)
    return payload, missing + problems if missing else problems
