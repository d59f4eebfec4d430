"""Rules every Customer.io action shares: identifier resolution (§4.1, §4.2) and the entity-body builder (§4).

Kept in one place so the fifteen action modules only rename payload fields. Everything here is pure and never
mutates its inputs: payload values may be the event's own objects (``@path $.properties`` returns the event's
dict), and the same event is mapped by several subscriptions.
"""

from __future__ import annotations

import re
from typing import Any

from ..timestamps import convert_attributes, convert_event_timestamp, days_from_civil, iso_attribute_seconds
from .directives import MISSING
from .fields import BOOLEAN, NUMBER, Field

__all__ = [
    "BATCHING",
    "CONVERT_TIMESTAMP",
    "EMAIL_PATTERN",
    "build_entity_body",
    "canonical_iso_seconds",
    "convert_attribute_values",
    "convert_timestamp_value",
    "copy_without",
    "is_email",
    "path",
    "path_or",
    "resolve_identifiers",
    "truthy",
]

#: §4.2, matched over the whole string, ASCII-only case folding (JavaScript's /i does not fold "ſ" or "K").
EMAIL_PATTERN = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?",
    re.IGNORECASE | re.ASCII,
)

#: Members of P the builder takes out before the rest becomes body data (§4 step 1).
_TAKEN = frozenset(
    {"convert_timestamp", "person_id", "anonymous_id", "email", "object_id", "object_type_id", "timestamp",
     "enable_batching", "batch_size"}
)


def truthy(value: Any) -> bool:
    """JavaScript truthiness for payload values (MISSING is undefined; ``{}`` and ``[]`` are truthy)."""
    if value is MISSING or value is None or value is False:
        return False
    t = type(value)
    if t is str:
        return value != ""
    if t is int or t is float:
        return value == value and value != 0  # NaN and 0 are falsy
    return True


def is_email(value: Any) -> bool:
    """Whether the reference would treat ``value`` as an email address when it is a person id."""
    return isinstance(value, str) and EMAIL_PATTERN.fullmatch(value) is not None


def resolve_identifiers(
    *,
    anonymous_id: Any = MISSING,
    email: Any = MISSING,
    object_id: Any = MISSING,
    object_type_id: Any = MISSING,
    person_id: Any = MISSING,
) -> dict[str, Any] | None:
    """§4.1: the first rule that applies wins; None when nothing identifies the entity."""
    if object_type_id is MISSING or object_type_id is None:
        object_type_id = "1"
    if truthy(object_id) and truthy(object_type_id):
        return {"object_id": object_id, "object_type_id": object_type_id}
    if isinstance(person_id, str):
        if person_id.startswith("cio_"):
            return {"cio_id": person_id[4:]}
        if EMAIL_PATTERN.fullmatch(person_id):
            return {"email": person_id}
    if truthy(person_id):
        return {"id": person_id}
    if truthy(email):
        return {"email": email}
    if truthy(anonymous_id):
        return {"anonymous_id": anonymous_id}
    return None


# ---- timestamp conversion, with a fast path for analytics.js's own format -------------------------------
# Date.prototype.toISOString() (what analytics.js puts in `timestamp`, and what most date properties look like)
# always has this shape. For it, both reference converters (§5.1 lenient, §5.2 strict) agree: it is an exact
# UTC instant. The general parsers in cio_browser.timestamps emulate V8's date parser and cost tens of
# microseconds per string, which would dominate the mapping; this path computes the same seconds directly and
# hands every other string (other shapes, day > 28, hour 24, > 3 fraction digits) to those parsers. A
# differential test pins it to them (tests/unit/mapping/test_common.py).
_CANONICAL_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,3})?Z")


def canonical_iso_seconds(s: str) -> int | None:
    """Unix seconds of a ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` string with unambiguous parts, else None."""
    m = _CANONICAL_ISO.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second = m.groups()
    mo, d, h, mi, sec = int(month), int(day), int(hour), int(minute), int(second)
    if not (1 <= mo <= 12 and 1 <= d <= 28 and h <= 23 and mi <= 59 and sec <= 59):
        return None  # roll-over and edge cases: leave them to the full parser
    # A fraction of a second never changes floor(ms / 1000): the seconds part is already integral.
    return days_from_civil(int(year), mo, d) * 86400 + h * 3600 + mi * 60 + sec


def convert_timestamp_value(value: Any) -> Any:
    """§5.1 lenient conversion of a truthy root ``timestamp`` (fast path, else the reference parser)."""
    if type(value) is str:
        secs = canonical_iso_seconds(value)
        if secs is not None:
            return secs
    return convert_event_timestamp(value)


def convert_attribute_values(value: Any) -> Any:
    """§5.2 strict conversion over plain objects (never into arrays); returns new dicts, never mutates.

    Same walk as :func:`cio_browser.timestamps.convert_attributes`, with the fast path above for strings and
    a cheap pre-check (an ISO date starts with four digits) so ordinary strings cost one comparison.
    """
    t = type(value)
    if t is dict:
        return _convert_dict(value)
    if t is str:
        return _convert_string(value)
    if t is list or t is int or t is float or t is bool or value is None:
        return value
    return convert_attributes(value)  # anything unusual (dates, dict subclasses): the reference walk


def _convert_dict(obj: dict[str, Any]) -> dict[str, Any]:
    # The walk's inner loop, with the common value types decided here: one call per object instead of one per
    # value is most of what an event's attribute conversion costs.
    out = {}
    for k, v in obj.items():
        t = type(v)
        if t is str:
            if len(v) >= 10 and "0" <= v[0] <= "9" and v[4] == "-":
                v = _convert_string(v)
        elif t is dict:
            v = _convert_dict(v)
        elif not (t is int or t is float or t is bool or t is list or v is None):
            v = convert_attributes(v)
        out[k] = v
    return out


def _convert_string(value: str) -> Any:
    if len(value) < 10 or not ("0" <= value[0] <= "9") or value[4] != "-":
        return value
    secs = canonical_iso_seconds(value)
    if secs is None:
        secs = iso_attribute_seconds(value)
    return value if secs is None else secs


def build_entity_body(entity_type: str, action: str, p: dict[str, Any]) -> dict[str, Any]:
    """§4: turn an action's flat payload P into a Track API v2 entity body.

    ``p`` holds only members that are set (an unset member is simply absent), so "P contained the key" in the
    specification is ``key in p``.
    """
    data = {k: v for k, v in p.items() if k not in _TAKEN}
    if "convert_timestamp" in p and p["convert_timestamp"] is not False:
        data = convert_attribute_values(data)
    timestamp = p.get("timestamp", MISSING)
    if truthy(timestamp):
        data["timestamp"] = convert_timestamp_value(timestamp)
    body: dict[str, Any] = {"type": entity_type, "action": action}
    body.update(data)

    anonymous_id = p.get("anonymous_id", MISSING)
    identifiers = None
    if action != "merge":
        identifiers = resolve_identifiers(
            anonymous_id=anonymous_id,
            email=p.get("email", MISSING),
            object_id=p.get("object_id", MISSING),
            object_type_id=p.get("object_type_id", MISSING),
            person_id=p.get("person_id", MISSING),
        )
    if truthy(anonymous_id):
        attributes = body.get("attributes")
        merged = dict(attributes) if isinstance(attributes, dict) else {}
        merged["anonymous_id"] = anonymous_id
        if identifiers is not None and "anonymous_id" in identifiers:
            del merged["anonymous_id"]  # §4 step 7: the identifier already carries it
        body["attributes"] = merged
    if identifiers is not None:
        body["identifiers"] = identifiers
    return body


# ---- field-table helpers shared by the action modules ------------------------------------------------------
def path(p: str) -> dict[str, str]:
    """``{"@path": p}``: the default-mapping shorthand the field tables use."""
    return {"@path": p}


def path_or(first: str, second: str) -> dict[str, Any]:
    """``@if exists A then A else B``: the reference's "snake_case, else camelCase" default."""
    return {"@if": {"exists": path(first), "then": path(first), "else": path(second)}}


def copy_without(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A shallow copy of an attributes object without ``keys`` (the event's own dict is never touched)."""
    return {k: v for k, v in obj.items() if k not in keys} if isinstance(obj, dict) else {}


#: §3.2: only switches attribute conversion on or off; never sent.
CONVERT_TIMESTAMP = Field("convert_timestamp", "Convert Timestamps", BOOLEAN, default=True)

#: §3.2: read by Segment's pipeline, stripped by the body builder. Still mapped, cleaned and validated like any
#: field (a custom ``batch_size`` of 500 fails with the reference's range message). Every action but
#: reportDeliveryEvent declares them, after its own fields.
BATCHING: tuple[Field, ...] = (
    Field("enable_batching", "Enable Batching", BOOLEAN, default=True),
    Field("batch_size", "Batch Size", NUMBER, default=50, minimum=2, maximum=100),
)
