"""The reference destination's date handling, reproduced exactly and deterministically.

Three unrelated converters exist (docs/mapping.md §5 and §11):

* :func:`convert_event_timestamp` — the body's root ``timestamp`` (§5.1). The reference runs ``dayjs.utc(value)``:
  a component pattern read in UTC with ``Date.UTC`` roll-over, otherwise JavaScript ``new Date(string)``.
* :func:`convert_attributes` — every other string reachable through plain objects (§5.2): a strict ISO-8601
  regex plus "V8 considers it a valid date", then ``dayjs(value)`` in *local* time.
* :func:`classic_convert_dates` — Classic mode (§11): Segment's ``isodate`` matcher, dates >= 1970 as seconds,
  earlier dates as ISO strings.

**Host time zone = UTC, always.** Wherever the reference reads "local time" (zone-less strings, the legacy
``June 1, 2023`` forms, the Classic space separator), this module uses UTC. The reference expectations were
recorded on a UTC host, and fixing the zone makes results identical under CPython, Pyodide and any visitor's
browser. No function reads the clock or the host zone (no ``time.mktime``/``localtime``/``datetime.now``).

``new Date(string)`` is emulated by :func:`_v8_parse`, a faithful port of V8's ``DateParser`` (the ES5 ISO
parser plus the legacy "Safari-compatible" fall-back that Node.js 20 uses), so strings such as
``Thu, 01 Jun 2023 08:00:00 GMT``, ``June 1, 2023 8:00 PM``, ``6/1/2023`` and even ``hello 1`` (2001-01-01)
parse as they do in Node, while ``2023-06-01T08:00:00 PST`` and ``next tuesday`` do not. python-dateutil is
deliberately not used: it accepts many strings JavaScript rejects (and vice versa), which would change bodies.

All calendar arithmetic is integer arithmetic on the proleptic Gregorian calendar (:func:`days_from_civil`),
so JavaScript's roll-over rules (month 13, day 00, hour 24/25, …) and years outside ``datetime``'s 1..9999
range behave as in JavaScript.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

__all__ = [
    "MS_PER_DAY",
    "classic_convert_dates",
    "classic_date_ms",
    "convert_attributes",
    "convert_event_timestamp",
    "datetime_to_ms",
    "days_from_civil",
    "iso_attribute_seconds",
    "is_classic_iso",
    "is_iso_attribute",
    "js_date_utc",
    "js_iso_string",
    "parse_lenient_ms",
]

MS_PER_DAY = 86_400_000
#: ECMAScript TimeClip: |t| above this is an invalid Date.
_MAX_TIME_MS = 8_640_000_000_000_000

# JavaScript's \s (WhiteSpace + LineTerminator), which the dayjs pattern uses; Python's \s differs slightly.
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


# ---------------------------------------------------------------------------------------------------------
# Calendar arithmetic (ECMA-262 MakeDay / MakeTime / Date.UTC)
# ---------------------------------------------------------------------------------------------------------
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to proleptic-Gregorian ``y-m-d`` (m 1..12, any d); exact for any integer year."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """Inverse of :func:`days_from_civil`."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _make_ms(year: int, month0: int, day: int, hour: int, minute: int, second: int, ms: int) -> int | None:
    """MakeDate(MakeDay(year, month0, day), MakeTime(...)) then TimeClip; out-of-range parts roll over."""
    ym = year + month0 // 12
    mn = month0 % 12
    days = days_from_civil(ym, mn + 1, 1) + day - 1
    t = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms
    return t if abs(t) <= _MAX_TIME_MS else None


def js_date_utc(
    year: int, month0: int = 0, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0, ms: int = 0
) -> int | None:
    """JavaScript ``Date.UTC`` (and ``new Date(y, m, …)`` on a UTC host): years 0..99 mean 1900..1999."""
    if 0 <= year <= 99:
        year += 1900
    return _make_ms(year, month0, day, hour, minute, second, ms)


def js_iso_string(ms: int) -> str:
    """``Date.prototype.toISOString()``: ``YYYY-MM-DDTHH:mm:ss.sssZ`` (``±YYYYYY`` outside 0000..9999)."""
    days, rem = divmod(ms, MS_PER_DAY)
    y, m, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3_600_000)
    mi, rem = divmod(rem, 60_000)
    ss, mss = divmod(rem, 1000)
    ys = f"{y:04d}" if 0 <= y <= 9999 else f"{'+' if y > 0 else '-'}{abs(y):06d}"
    return f"{ys}-{m:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}.{mss:03d}Z"


def datetime_to_ms(value: date) -> int:
    """Epoch milliseconds of a Python ``datetime``/``date`` as a JS Date would hold it.

    Aware datetimes are exact instants; naive ones (and plain dates) are read as UTC, consistent with the fixed
    UTC host zone. Sub-millisecond precision is dropped, as a JS Date cannot hold it.
    """
    if isinstance(value, datetime):
        ms = (
            days_from_civil(value.year, value.month, value.day) * MS_PER_DAY
            + ((value.hour * 60 + value.minute) * 60 + value.second) * 1000
            + value.microsecond // 1000
        )
        offset = value.utcoffset()
        if offset is not None:
            ms -= (offset.days * 86400 + offset.seconds) * 1000 + offset.microseconds // 1000
        return ms
    return days_from_civil(value.year, value.month, value.day) * MS_PER_DAY


# ---------------------------------------------------------------------------------------------------------
# V8's Date string parser (new Date(string) / Date.parse), ported from src/date/dateparser*.{h,cc}
# ---------------------------------------------------------------------------------------------------------
_NONE = 2**31 - 1  # V8's kNone (kMaxInt)
_MAX_SIGNIFICANT_DIGITS = 9

# Token tags; keyword tokens carry their KeywordType (>= 0) as tag.
_T_INVALID, _T_UNKNOWN, _T_WS, _T_NUMBER, _T_SYMBOL, _T_EOI = -6, -5, -4, -3, -2, -1
_K_INVALID, _K_MONTH, _K_ZONE, _K_TSEP, _K_AMPM = 0, 1, 2, 3, 4

# (three-letter lower-case prefix, type, value); a longer word matches only month names.
_KEYWORDS: tuple[tuple[str, int, int], ...] = (
    ("jan", _K_MONTH, 1), ("feb", _K_MONTH, 2), ("mar", _K_MONTH, 3), ("apr", _K_MONTH, 4),
    ("may", _K_MONTH, 5), ("jun", _K_MONTH, 6), ("jul", _K_MONTH, 7), ("aug", _K_MONTH, 8),
    ("sep", _K_MONTH, 9), ("oct", _K_MONTH, 10), ("nov", _K_MONTH, 11), ("dec", _K_MONTH, 12),
    ("am\0", _K_AMPM, 0), ("pm\0", _K_AMPM, 12),
    ("ut\0", _K_ZONE, 0), ("utc", _K_ZONE, 0), ("z\0\0", _K_ZONE, 0), ("gmt", _K_ZONE, 0),
    ("cdt", _K_ZONE, -5), ("cst", _K_ZONE, -6), ("edt", _K_ZONE, -4), ("est", _K_ZONE, -5),
    ("mdt", _K_ZONE, -6), ("mst", _K_ZONE, -7), ("pdt", _K_ZONE, -7), ("pst", _K_ZONE, -8),
    ("t\0\0", _K_TSEP, 0),
)  # fmt: skip


#: Code points of JavaScript WhiteSpace and LineTerminator (V8's IsWhiteSpaceOrLineTerminator).
_JS_WS_CODES = frozenset(
    [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF] + list(range(0x2000, 0x200B))
)


def _between(x: int, lo: int, hi: int) -> bool:
    return lo <= x <= hi


class _Token:
    __slots__ = ("tag", "length", "value")

    def __init__(self, tag: int, length: int, value: int):
        self.tag = tag
        self.length = length
        self.value = value

    def is_number(self, length: int | None = None) -> bool:
        return self.tag == _T_NUMBER and (length is None or self.length == length)

    def is_symbol(self, ch: str) -> bool:
        return self.tag == _T_SYMBOL and self.value == ord(ch)

    def is_sign(self) -> bool:
        return self.tag == _T_SYMBOL and self.value in (43, 45)

    def sign(self) -> int:
        return 44 - self.value  # '+' -> 1, '-' -> -1

    def is_keyword(self) -> bool:
        return self.tag >= 0

    def is_keyword_z(self) -> bool:
        return self.tag == _K_ZONE and self.length == 1 and self.value == 0


_EOI = _Token(_T_EOI, 0, -1)
_INVALID = _Token(_T_INVALID, 0, -1)


class _Scanner:
    """V8's InputReader + DateStringTokenizer. A NUL character ends the input, as in V8."""

    __slots__ = ("s", "i", "ch", "next")

    def __init__(self, s: str):
        self.s = s
        self.i = 0
        self.ch = 0
        self._advance()
        self.next = self._scan()

    def _advance(self) -> None:
        self.ch = ord(self.s[self.i]) if self.i < len(self.s) else 0
        self.i += 1

    def _scan(self) -> _Token:
        ch = self.ch
        if ch == 0:
            return _EOI
        if 48 <= ch <= 57:
            n = 0
            length = 0
            while self.ch == 48:  # leading zeros do not count against the 9 significant digits
                length += 1
                self._advance()
            significant = 0
            while 48 <= self.ch <= 57:
                if significant < _MAX_SIGNIFICANT_DIGITS:
                    n = n * 10 + self.ch - 48
                significant += 1
                length += 1
                self._advance()
            return _Token(_T_NUMBER, length, n)
        if ch in (58, 45, 43, 46, 41):  # : - + . )
            self._advance()
            return _Token(_T_SYMBOL, 1, ch)
        if ch >= 65 and ch not in _JS_WS_CODES:  # "word": a run of non-space characters >= 'A' ('_', 'é', …)
            prefix = []
            length = 0
            while self.ch >= 65 and self.ch not in _JS_WS_CODES:
                if length < 3:
                    prefix.append(chr(self.ch | 0x20))
                length += 1
                self._advance()
            pre = "".join(prefix).ljust(3, "\0")
            for word, kind, value in _KEYWORDS:
                if pre == word and (length <= 3 or kind == _K_MONTH):
                    return _Token(kind, length, value)
            return _Token(_K_INVALID, length, 0)
        if ch in _JS_WS_CODES:
            self._advance()
            return _Token(_T_WS, 1, -1)
        if ch == 40:  # '(' … balanced ')' is skipped
            balance = 0
            while True:
                if self.ch == 41:
                    balance -= 1
                elif self.ch == 40:
                    balance += 1
                self._advance()
                if not (balance > 0 and self.ch):
                    break
            return _Token(_T_UNKNOWN, 1, -1)
        self._advance()
        return _Token(_T_UNKNOWN, 1, -1)

    def take(self) -> _Token:
        tok = self.next
        self.next = self._scan()
        return tok

    def skip_symbol(self, ch: str) -> bool:
        if self.next.is_symbol(ch):
            self.next = self._scan()
            return True
        return False


class _Day:
    __slots__ = ("comp", "named_month", "iso")

    def __init__(self) -> None:
        self.comp: list[int] = []
        self.named_month = _NONE
        self.iso = False

    def add(self, n: int) -> bool:
        if len(self.comp) < 3:
            self.comp.append(n)
            return True
        return False

    def write(self) -> tuple[int, int, int] | None:
        if not self.comp:
            return None
        c = self.comp + [1] * (3 - len(self.comp))
        year = 0  # "Default year is 0 (=> 2000) for KJS compatibility."
        if self.named_month == _NONE:
            if self.iso or not _between(c[0], 1, 31):
                year, month, day = c[0], c[1], c[2]
            else:
                month, day, year = c[0], c[1], c[2]
        else:
            # V8 pads the components before testing "only one component", so that branch never runs.
            month = self.named_month
            if not _between(c[0], 1, 31):
                year, day = c[0], c[1]
            else:
                day, year = c[0], c[1]
        if not self.iso:
            if _between(year, 0, 49):
                year += 2000
            elif _between(year, 50, 99):
                year += 1900
        if not _between(month, 1, 12) or not _between(day, 1, 31):
            return None
        return year, month - 1, day


class _Time:
    __slots__ = ("comp", "hour_offset")

    def __init__(self) -> None:
        self.comp: list[int] = []
        self.hour_offset = _NONE

    def is_empty(self) -> bool:
        return not self.comp

    def is_expecting(self, n: int) -> bool:
        i = len(self.comp)
        return (i == 1 and 0 <= n <= 59) or (i == 2 and 0 <= n <= 59) or (i == 3 and 0 <= n <= 999)

    def add(self, n: int) -> bool:
        if len(self.comp) < 4:
            self.comp.append(n)
            return True
        return False

    def add_final(self, n: int) -> bool:
        if not self.add(n):
            return False
        self.comp += [0] * (4 - len(self.comp))
        return True

    def write(self) -> tuple[int, int, int, int] | None:
        hour, minute, second, ms = self.comp + [0] * (4 - len(self.comp))
        if self.hour_offset != _NONE:
            if not _between(hour, 0, 12):
                return None
            hour = hour % 12 + self.hour_offset
        if not (_between(hour, 0, 23) and _between(minute, 0, 59) and _between(second, 0, 59)
                and _between(ms, 0, 999)):
            if hour != 24 or minute or second or ms:
                return None
        return hour, minute, second, ms


class _Zone:
    __slots__ = ("sign", "hour", "minute")

    def __init__(self) -> None:
        self.sign = _NONE
        self.hour = _NONE
        self.minute = _NONE

    def set(self, offset_hours: int) -> None:
        self.sign = -1 if offset_hours < 0 else 1
        self.hour = offset_hours * self.sign
        self.minute = 0

    def is_expecting(self, n: int) -> bool:
        return self.hour != _NONE and self.minute == _NONE and 0 <= n <= 59

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def is_empty(self) -> bool:
        return self.hour == _NONE

    def write(self) -> int | None:
        """Offset in seconds east of UTC, or None for "no zone" (local time)."""
        if self.sign == _NONE:
            return None
        hour = 0 if self.hour == _NONE else self.hour
        minute = 0 if self.minute == _NONE else self.minute
        total = hour * 3600 + minute * 60
        return -total if self.sign < 0 else total


def _read_milliseconds(tok: _Token) -> int:
    n, length = tok.value, tok.length
    if length == 1:
        return n * 100
    if length == 2:
        return n * 10
    if length > 3:
        length = min(length, _MAX_SIGNIFICANT_DIGITS)
        return n // 10 ** (length - 3)
    return n


def _parse_es5(sc: _Scanner, day: _Day, time: _Time, tz: _Zone) -> _Token:
    """V8 ParseES5DateTime: consume an ISO prefix; return the first token the legacy parser must handle."""
    if sc.next.is_sign():
        sign_tok = sc.take()
        if not sc.next.is_number(6):
            return sign_tok
        year = sc.take().value
        if sign_tok.sign() < 0 and year == 0:
            return sign_tok
        day.add(sign_tok.sign() * year)
    elif sc.next.is_number(4):
        day.add(sc.take().value)
    else:
        return sc.take()
    if sc.skip_symbol("-"):
        if not sc.next.is_number(2) or not _between(sc.next.value, 1, 12):
            return sc.take()
        day.add(sc.take().value)
        if sc.skip_symbol("-"):
            if not sc.next.is_number(2) or not _between(sc.next.value, 1, 31):
                return sc.take()
            day.add(sc.take().value)
    if sc.next.tag != _K_TSEP:
        if sc.next.tag != _T_EOI:
            return sc.take()
    else:
        sc.take()
        if not sc.next.is_number(2) or not _between(sc.next.value, 0, 24):
            return _INVALID
        hour_is_24 = sc.next.value == 24
        time.add(sc.take().value)
        if not sc.skip_symbol(":"):
            return _INVALID
        if not sc.next.is_number(2) or not _between(sc.next.value, 0, 59) or (hour_is_24 and sc.next.value > 0):
            return _INVALID
        time.add(sc.take().value)
        if sc.skip_symbol(":"):
            if not sc.next.is_number(2) or not _between(sc.next.value, 0, 59) or (hour_is_24 and sc.next.value > 0):
                return _INVALID
            time.add(sc.take().value)
            if sc.skip_symbol("."):
                if not sc.next.is_number() or (hour_is_24 and sc.next.value > 0):
                    return _INVALID
                time.add(_read_milliseconds(sc.take()))
        if sc.next.is_keyword_z():
            sc.take()
            tz.set(0)
        elif sc.next.is_symbol("+") or sc.next.is_symbol("-"):
            tz.sign = 1 if sc.take().value == 43 else -1
            if sc.next.is_number(4):
                hourmin = sc.take().value
                hour, minute = divmod(hourmin, 100)
                if not _between(hour, 0, 23) or not _between(minute, 0, 59):
                    return _INVALID
                tz.hour, tz.minute = hour, minute
            else:
                if not sc.next.is_number(2) or not _between(sc.next.value, 0, 23):
                    return _INVALID
                tz.hour = sc.take().value
                if not sc.skip_symbol(":"):
                    return _INVALID
                if not sc.next.is_number(2) or not _between(sc.next.value, 0, 59):
                    return _INVALID
                tz.minute = sc.take().value
        if sc.next.tag != _T_EOI:
            return _INVALID
    # Date-only ISO forms are UTC; date-time forms without offset are local time.
    if tz.is_empty() and time.is_empty():
        tz.set(0)
    day.iso = True
    return _EOI


def _v8_parse(s: str) -> int | None:
    """``Date.parse(s)`` as Node.js 20 computes it on a UTC host: epoch ms, or None for NaN."""
    sc = _Scanner(s)
    day, time, tz = _Day(), _Time(), _Zone()
    tok = _parse_es5(sc, day, time, tz)
    if tok.tag == _T_INVALID:
        return None
    has_read_number = bool(day.comp)
    while tok.tag != _T_EOI:
        if tok.tag == _T_NUMBER:
            has_read_number = True
            n = tok.value
            if sc.skip_symbol(":"):
                if sc.skip_symbol(":"):
                    if not time.is_empty():
                        return None
                    time.add(n)
                    time.add(0)
                else:
                    if not time.add(n):
                        return None
                    if sc.next.is_symbol("."):
                        sc.take()
            elif sc.skip_symbol(".") and time.is_expecting(n):
                time.add(n)
                if not sc.next.is_number():
                    return None
                time.add_final(_read_milliseconds(sc.take()))
            elif tz.is_expecting(n):
                tz.minute = n
            elif time.is_expecting(n):
                time.add_final(n)
                peek = sc.next
                if not (peek.tag in (_T_EOI, _T_WS) or peek.is_keyword_z() or peek.is_sign()):
                    return None
            else:
                if not day.add(n):
                    return None
                sc.skip_symbol("-")
        elif tok.is_keyword():
            kind, value = tok.tag, tok.value
            if kind == _K_AMPM and not time.is_empty():
                time.hour_offset = value
            elif kind == _K_MONTH:
                day.named_month = value
                sc.skip_symbol("-")
            elif kind == _K_ZONE and has_read_number:
                tz.set(value)
            else:
                # Garbage words are fine only before the first number, and must be separated from it.
                if has_read_number or sc.next.is_number():
                    return None
        elif tok.is_sign() and (tz.is_utc() or not time.is_empty()):
            tz.sign = tok.sign()
            n = 0
            length = 0
            if sc.next.is_number():
                num = sc.take()
                n, length = num.value, num.length
            has_read_number = True
            if sc.next.is_symbol(":"):
                tz.hour = n
                tz.minute = _NONE
            elif length in (1, 2):
                tz.hour, tz.minute = n, 0
            elif length in (3, 4):
                tz.hour, tz.minute = divmod(n, 100)
            else:
                return None
        elif (tok.is_sign() or tok.is_symbol(")")) and has_read_number:
            return None
        tok = sc.take()

    ymd = day.write()
    if ymd is None:
        return None
    hms = time.write()
    if hms is None:
        return None
    offset = tz.write()
    # V8 clips only after applying the offset (no offset: local time, which is UTC here).
    t = (days_from_civil(ymd[0], ymd[1] + 1, 1) + ymd[2] - 1) * MS_PER_DAY
    t += ((hms[0] * 60 + hms[1]) * 60 + hms[2]) * 1000 + hms[3]
    if offset is not None:
        t -= offset * 1000
    return t if abs(t) <= _MAX_TIME_MS else None


# ---------------------------------------------------------------------------------------------------------
# §5.1 lenient event timestamp (dayjs.utc)
# ---------------------------------------------------------------------------------------------------------
_DIGITS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# dayjs's REGEX_PARSE with JavaScript's \d and \s.
_COMPONENT_RE = re.compile(
    r"([0-9]{4})[-/]?([0-9]{1,2})?[-/]?([0-9]{0,2})[Tt" + _JS_WS + r"]*"
    r"([0-9]{1,2})?:?([0-9]{1,2})?:?([0-9]{1,2})?[.:]?([0-9]+)?"
)

#: Linear pre-check: only these characters can appear in a match, and failing the full pattern on a long
#: string with a stray character costs heavy backtracking.
_COMPONENT_CHARS_RE = re.compile(r"[0-9\-/:.Tt" + _JS_WS + r"]*")


def _component_ms(m: re.Match[str]) -> int | None:
    """dayjs: ``Date.UTC(y, (M - 1) || 0, D || 1, h || 0, m || 0, s || 0, first 3 fraction digits)``."""
    year, month, day, hour, minute, second, frac = m.groups()
    # `d[2] - 1 || 0`: month "00" gives -1 (December of the year before); absent gives January.
    month0 = int(month) - 1 if month is not None else 0
    # Absent or "" day -> 1, while "00" (a truthy string) -> 0, the last day of the month before.
    day_n = int(day) if day else 1
    # The fraction's first three digits are read as a number: ".5" is 5 ms, not 500 (dayjs does this).
    ms = int(frac[:3]) if frac else 0
    return js_date_utc(int(year), month0, day_n, int(hour or 0), int(minute or 0), int(second or 0), ms)


def parse_lenient_ms(s: str) -> int | None:
    """Epoch ms of ``s`` as ``dayjs.utc(s)`` reads it (host zone UTC), or None when it is an invalid date.

    Strings not ending in ``Z``/``z`` that match the component pattern are built in UTC from their parts
    (with roll-over and the 0000–0099 -> 1900s quirk); everything else goes through JavaScript ``Date``
    parsing. Digit strings are *not* special here (``"20230601"`` parses via the pattern as JS does); the
    "digit strings stay strings" rule belongs to :func:`convert_event_timestamp`.
    """
    if not isinstance(s, str):
        return None
    if not s.endswith(("Z", "z")) and _COMPONENT_CHARS_RE.fullmatch(s):
        m = _COMPONENT_RE.fullmatch(s)
        if m is not None:
            return _component_ms(m)
    return _v8_parse(s)


def convert_event_timestamp(value: Any) -> Any:
    """§5.1: the lenient conversion of a body's root ``timestamp``.

    * non-strings are returned unchanged (a ``datetime`` from the browser bridge counts as the ISO string
      ``JSON.stringify`` would have produced, so it becomes unix seconds);
    * digit strings (``^\\d+(\\.\\d+)?$``) are returned unchanged, still strings;
    * a string that parses becomes ``floor(ms / 1000)`` (int; pre-1970 fractions floor toward −∞);
    * anything else is returned unchanged (``"next tuesday"``, ``"2023-06-01T08:00:00 PST"``).
    """
    if isinstance(value, date):
        return datetime_to_ms(value) // 1000
    if not isinstance(value, str) or _DIGITS_RE.fullmatch(value):
        return value
    ms = parse_lenient_ms(value)
    return value if ms is None else ms // 1000


# ---------------------------------------------------------------------------------------------------------
# §5.2 strict attribute conversion
# ---------------------------------------------------------------------------------------------------------
_ISO_ATTRIBUTE_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}((T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)(\.[0-9]{1,9})?(Z|(\+|-)[0-9]{2}:?[0-9]{2})?)?"
)


def is_iso_attribute(s: Any) -> bool:
    """§5.2 gate: the reference's ISO regex (full match, ASCII digits, upper-case ``T``/``Z`` only) **and**
    ``Date.parse`` accepts it (month 01–12, day 01–31 in any month, hour 24 only as 24:00[:00[.0…]],
    minutes/seconds 00–59, offsets 00–23 : 00–59, no fraction without seconds)."""
    return isinstance(s, str) and _ISO_ATTRIBUTE_RE.fullmatch(s) is not None and _v8_parse(s) is not None


def iso_attribute_seconds(s: Any) -> int | None:
    """Unix seconds of a string passing :func:`is_iso_attribute`, else None.

    The reference converts with ``dayjs(value)`` in host-local time: zone-less strings are built from their
    components (roll-over and the 0000–0099 quirk apply, e.g. ``2023-02-29`` is March 1st and ``0050-01-01``
    is 1950), strings with ``Z`` or an offset are exact instants. The host zone is UTC (module docstring).
    """
    if not is_iso_attribute(s):
        return None
    ms = parse_lenient_ms(s)
    return None if ms is None else ms // 1000


def convert_attributes(value: Any) -> Any:
    """§5.2 walk: ISO strings (see :func:`is_iso_attribute`) become int seconds, plain objects are walked
    into (returning new dicts; the input is never mutated), arrays are **never** entered, and every other
    value passes through unchanged. A ``datetime`` outside arrays becomes seconds (its JSON form is an ISO
    string that passes the gate)."""
    if isinstance(value, str):
        secs = iso_attribute_seconds(value)
        return value if secs is None else secs
    if isinstance(value, dict):
        return {k: convert_attributes(v) for k, v in value.items()}
    if isinstance(value, date):
        return datetime_to_ms(value) // 1000
    return value


# ---------------------------------------------------------------------------------------------------------
# §11 Classic dates (@segment/isodate + isodate-traverse + convert-dates)
# ---------------------------------------------------------------------------------------------------------
_CLASSIC_ISO_RE = re.compile(
    r"([0-9]{4})(?:-?([0-9]{2})(?:-?([0-9]{2}))?)?(?:([ T])([0-9]{2}):?([0-9]{2})"
    r"(?::?([0-9]{2})(?:[,.]([0-9]+))?)?(?:(Z)|([+\-])([0-9]{2})(?::?([0-9]{2}))?)?)?"
)
_CLASSIC_STRICT_PREFIX_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_classic_iso(s: Any) -> bool:
    """``isodate.is(s, strict=true)``: starts with ``YYYY-MM-DD`` and matches Segment's lax ISO matcher."""
    return (
        isinstance(s, str)
        and _CLASSIC_STRICT_PREFIX_RE.match(s) is not None
        and _CLASSIC_ISO_RE.fullmatch(s) is not None
    )


def classic_date_ms(s: str) -> int | None:
    """``isodate.parse(s)`` for a string accepted by :func:`is_classic_iso`: epoch ms.

    Month/day ``00`` count as 01 (``parseInt(…) || 1``), other out-of-range parts roll over, years 0000–0099
    mean 1900–1999, and the fraction is read as milliseconds (``.5`` = 500 ms). A space separator applies the
    host's offset (zero here) **instead of** any written zone: ``2023-06-01 08:00+02:00`` is 08:00 UTC, as in
    the reference.
    """
    m = _CLASSIC_ISO_RE.fullmatch(s)
    if m is None:
        return None
    year, month, day, sep, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    month_n = int(month) if month and int(month) else 1
    day_n = int(day) if day and int(day) else 1
    offset = 0
    if sep == " ":
        offset = 0  # new Date().getTimezoneOffset() on a UTC host
    elif zulu != "Z" and sign:
        offset = int(off_h or 0) * 60 + int(off_m or 0)
        if sign == "+":
            offset = -offset
    ms = int((frac + "00")[:3]) if frac else 0
    return js_date_utc(
        int(year), month_n - 1, day_n, int(hour or 0), int(minute or 0) + offset, int(second or 0), ms
    )


def _classic_date_value(ms: int) -> int | str:
    """``convertDate``: ``getFullYear() < 1970`` (UTC host) -> ``toISOString()``, else whole seconds."""
    year = _civil_from_days(ms // MS_PER_DAY)[0]
    return js_iso_string(ms) if year < 1970 else ms // 1000


def _classic_traverse(value: Any) -> Any:
    """isodate-traverse (1.1.x, as bundled with analytics-next's facade) then convert-dates, into new
    containers: every ISO string and every date at any depth, inside objects and arrays alike."""
    if isinstance(value, dict):
        return {k: _classic_traverse(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_classic_traverse(v) for v in value]
    if isinstance(value, date):
        return _classic_date_value(datetime_to_ms(value))
    if is_classic_iso(value):
        ms = classic_date_ms(value)
        if ms is not None:
            return _classic_date_value(ms)
    return value


def classic_convert_dates(value: Any) -> Any:
    """§11: Classic mode's date conversion of traits/properties, recursive including arrays.

    ISO-like strings (see :func:`is_classic_iso`) and ``datetime`` objects are dates; a date in 1970 or later
    becomes ``floor(ms / 1000)``, an earlier one the string ``YYYY-MM-DDTHH:mm:ss.sssZ``. Returns new
    containers; the input is not mutated.
    """
    return _classic_traverse(value)
