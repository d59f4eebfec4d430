"""JavaScript value semantics the reference destination relies on, reproduced for plain Python values.

The reference runs on Node.js, so its "is this set?" tests use JavaScript truthiness and its string coercion
uses ``Number#toString`` / ``String(value)``. Python's own rules differ in exactly the places that show up in
request bodies (``{}`` is falsy in Python, ``str(42.0)`` is ``"42.0"``, ``str(1e16)`` is ``"1e+16"``), so the
mapping must never use ``bool()``/``str()`` on event values directly. Everything here is pure and
deterministic; Date rendering is done in UTC (the host zone the reference expectations were recorded in).

Values are the JSON shapes an analytics.js event becomes in Python: ``None`` (null), ``bool``, ``int``/``float``
(JS numbers, always IEEE doubles), ``str``, ``list`` (arrays) and ``dict`` (objects). ``datetime`` is accepted
where a JS ``Date`` could appear.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = [
    "js_date_string",
    "js_number_to_string",
    "js_to_string",
    "js_truthy",
    "template_render_value",
]


def js_truthy(v: Any) -> bool:
    """JavaScript ``Boolean(v)``.

    Falsy: ``None`` (null/undefined), ``False``, ``0``, ``-0``, ``NaN`` and ``""``. Everything else is truthy,
    including ``{}``, ``[]``, ``"0"`` and ``"false"``; that is why this exists instead of ``bool(v)``.
    """
    if v is None or v is False:
        return False
    if v is True:
        return True
    if isinstance(v, str):
        return v != ""
    if isinstance(v, (int, float)):
        # NaN != NaN, and 0 == -0.0 == 0: both falsy.
        return v == v and v != 0
    return True


def js_number_to_string(x: int | float) -> str:
    """JavaScript ``Number.prototype.toString()`` (radix 10), per ECMA-262 Number::toString.

    * integral values print without a decimal point (``42.0`` -> ``"42"``), ``-0`` -> ``"0"``;
    * otherwise the shortest decimal that round-trips (Python's ``repr`` digits, which are the same digits);
    * exponent form only when the decimal exponent is >= 21 or the value is < 1e-6: ``1e+21``, ``1.5e-7``;
    * ``NaN`` / ``Infinity`` / ``-Infinity``.

    A Python ``int`` is first rounded to a double, as JavaScript would store it (``2**53 + 1`` prints
    ``9007199254740992``); an int too large for a double is ``Infinity``. ``bool`` counts as 1/0 (``Number(true)``).
    """
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, int):
        try:
            x = float(x)
        except OverflowError:
            return "Infinity" if x > 0 else "-Infinity"
    if not isinstance(x, float):
        raise TypeError(f"js_number_to_string() needs an int or float, got {type(x).__name__}")
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() is the shortest round-tripping representation (David Gay), the same digit string JS picks.
    _, digit_tuple, exp = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple))  # no leading zeros for a non-zero Decimal
    stripped = digits.rstrip("0")  # "42.0" -> digits "420", exp -1 -> "42", exp 0
    exponent = int(exp) + len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = k + exponent  # value = 0.d1d2...dk * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def js_date_string(d: date) -> str:
    """``String(date)`` for a JavaScript Date, with the host zone fixed to UTC.

    e.g. ``Thu Jun 01 2023 08:00:00 GMT+0000 (Coordinated Universal Time)``. An aware datetime is first moved
    to UTC; a naive one is taken as UTC already (the bridge hands UTC instants).
    """
    if isinstance(d, datetime):
        if d.tzinfo is not None and d.utcoffset() is not None:
            d = (d - d.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    else:
        d = datetime(d.year, d.month, d.day)
    year = f"{d.year:04d}"
    return (
        f"{_WEEKDAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day:02d} {year} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} GMT+0000 (Coordinated Universal Time)"
    )


def _join_element(v: Any) -> str:
    # Array.prototype.join renders null/undefined elements as "" (not "null").
    return "" if v is None else js_to_string(v)


def js_to_string(v: Any) -> str:
    """JavaScript ``String(v)``: ``null`` -> ``"null"``, booleans ``"true"``/``"false"``, numbers as
    :func:`js_number_to_string`, arrays comma-joined (recursively; null elements render ``""``), objects
    ``"[object Object]"``, dates in JS ``Date#toString`` form (UTC)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return js_number_to_string(v)
    if isinstance(v, (list, tuple)):
        return ",".join(_join_element(e) for e in v)
    if isinstance(v, dict):
        return "[object Object]"
    if isinstance(v, date):
        return js_date_string(v)
    if isinstance(v, timedelta):  # not a JS type; render something stable rather than fail
        return js_number_to_string(v.total_seconds())
    return str(v)


def template_render_value(v: Any) -> str:
    """How Segment's ``@template`` renders a placeholder's value.

    Missing and ``None`` render as ``""`` (unlike ``String(null)``); everything else as :func:`js_to_string`.
    """
    if v is None:
        return ""
    return js_to_string(v)
