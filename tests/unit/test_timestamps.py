"""Timestamp converters (docs/mapping.md §5.1, §5.2, §9, §11), host zone fixed to UTC."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cio_browser import timestamps
from cio_browser.timestamps import (
    classic_convert_dates,
    convert_attributes,
    convert_event_timestamp,
    days_from_civil,
    is_classic_iso,
    is_iso_attribute,
    iso_attribute_seconds,
    js_iso_string,
    parse_lenient_ms,
)

JUNE_1_0800 = 1685606400  # 2023-06-01T08:00:00Z
JUNE_1 = 1685577600  # 2023-06-01T00:00:00Z


# ---------------------------------------------------------------------------------------------------------
# §5.1 lenient event timestamp
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO with a zone: an exact instant.
        pytest.param("2023-06-01T08:00:00.000Z", JUNE_1_0800, id="iso-z-millis"),
        pytest.param("2006-01-02T18:04:07Z", 1136225047, id="doc-example-is-utc-not-utc-minus-8"),
        pytest.param("2023-06-01T08:00:00+02:00", 1685599200, id="iso-offset"),
        pytest.param("2023-06-01T08:00:00-0800", 1685635200, id="iso-offset-without-colon"),
        pytest.param("2023-06-01t08:00:00z", JUNE_1_0800, id="lowercase-t-z-accepted-by-js-date"),
        pytest.param("2023-06-01T08:00:00.123456789123Z", JUNE_1_0800, id="long-fraction-dropped"),
        pytest.param("1969-12-31T23:59:59.500Z", -1, id="pre-1970-fraction-floors-toward-minus-infinity"),
        # The component pattern, read in UTC.
        pytest.param("2023-06-01 08:00:00", JUNE_1_0800, id="space-separator-utc"),
        pytest.param("20230601T0800", JUNE_1_0800, id="compact-date-time"),
        pytest.param("2023/06/01", JUNE_1, id="slashes"),
        pytest.param("2023-06", JUNE_1, id="year-month-defaults-day-1"),
        pytest.param("2023-06-01T08:00:00", JUNE_1_0800, id="zone-less-is-utc"),
        pytest.param("2023-06-01T08:00:00.999", JUNE_1_0800, id="fraction-never-rounds-up"),
        pytest.param("2023-13-01", 1704067200, id="month-13-rolls-to-next-january"),
        pytest.param("2023-00-10", 1670630400, id="month-00-is-december-of-previous-year"),
        pytest.param("2023-03-00", 1677542400, id="day-00-is-last-day-of-previous-month"),
        pytest.param("2023-02-30", 1677715200, id="feb-30-rolls-to-march-2"),
        pytest.param("2023-06-01 25:00", 1685667600, id="hour-25-is-01-next-day"),
        pytest.param("0050-06-01", -618105600, id="year-0050-is-1950"),
        pytest.param("0000-01-01", -2208988800, id="year-0000-is-1900"),
        pytest.param("0099-12-31 23:59:59", 946684799, id="year-0099-is-1999-not-99"),
        # JavaScript Date's other string forms (local time = UTC).
        pytest.param("Thu, 01 Jun 2023 08:00:00 GMT", JUNE_1_0800, id="rfc-2822"),
        pytest.param("Thu, 01 Jun 2023 08:00:00 +0200", 1685599200, id="rfc-2822-offset"),
        pytest.param("Thu, 01 Jun 2023 08:00:00 PST", 1685635200, id="rfc-2822-us-zone-name"),
        pytest.param("June 1, 2023", JUNE_1, id="month-name-day-year"),
        pytest.param("June 1, 2023 8:00 AM", JUNE_1_0800, id="month-name-with-time-am"),
        pytest.param("Jun 1 2023 08:00:00 GMT+0200", 1685599200, id="gmt-offset"),
        pytest.param("1 Jun 2023", JUNE_1, id="day-month-name-year"),
        pytest.param("6/1/2023", JUNE_1, id="us-slash-date"),
        pytest.param(
            "Thu Jun 01 2023 08:00:00 GMT+0000 (Coordinated Universal Time)", JUNE_1_0800, id="js-date-tostring"
        ),
        pytest.param("hello 1", 978307200, id="v8-legacy-heuristic-hello-1-is-2001"),
        # Returned unchanged.
        pytest.param("2023-06-01T08:00:00 PST", "2023-06-01T08:00:00 PST", id="iso-with-zone-name-stays"),
        pytest.param("2023-06-01T08:00:00 +01:00", "2023-06-01T08:00:00 +01:00", id="iso-with-spaced-offset-stays"),
        pytest.param("next tuesday", "next tuesday", id="words-stay"),
        pytest.param("2023-06-01T24:00:01Z", "2023-06-01T24:00:01Z", id="invalid-iso-stays"),
        pytest.param("1685606400", "1685606400", id="digit-string-stays-string"),
        pytest.param("1685606400.25", "1685606400.25", id="decimal-digit-string-stays-string"),
        pytest.param("20230601", "20230601", id="compact-date-is-a-digit-string"),
        pytest.param("", "", id="empty-string-stays"),
        pytest.param(1685606400, 1685606400, id="number-unchanged"),
        pytest.param(1685606400.5, 1685606400.5, id="float-unchanged"),
        pytest.param(None, None, id="null-unchanged"),
        pytest.param(True, True, id="boolean-unchanged"),
        pytest.param({"a": 1}, {"a": 1}, id="object-unchanged"),
    ],
)
def test_convert_event_timestamp(value, expected):
    result = convert_event_timestamp(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(2023, 6, 1, 8, tzinfo=UTC), JUNE_1_0800, id="aware-utc"),
        pytest.param(datetime(2023, 6, 1, 10, tzinfo=timezone(timedelta(hours=2))), JUNE_1_0800, id="aware-offset"),
        pytest.param(datetime(2023, 6, 1, 8, 0, 0, 999999), JUNE_1_0800, id="naive-read-as-utc"),
        pytest.param(datetime(1969, 12, 31, 23, 59, 59, 500000), -1, id="pre-1970-floors"),
        pytest.param(date(2023, 6, 1), JUNE_1, id="plain-date-is-utc-midnight"),
    ],
)
def test_convert_event_timestamp_treats_datetime_like_its_json_iso_string(value, expected):
    assert convert_event_timestamp(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01T08:00:00.000Z", JUNE_1_0800 * 1000, id="iso"),
        pytest.param("2023-06-01T08:00:00.5", JUNE_1_0800 * 1000 + 5, id="dayjs-reads-fraction-5-as-5ms"),
        pytest.param("2023-06-01T08:00:00.5Z", JUNE_1_0800 * 1000 + 500, id="js-date-reads-fraction-5-as-500ms"),
        pytest.param("20230601", JUNE_1 * 1000, id="digit-string-parses-via-component-pattern"),
        pytest.param("123", -58285699200000, id="short-number-is-year-123-for-js-date"),
        pytest.param("", None, id="empty"),
        pytest.param("not a date", None, id="garbage"),
        pytest.param("2023-06-01T08:00:00 PST", None, id="iso-with-zone-name"),
        pytest.param("June 1", 991353600000, id="v8-defaults-missing-year-to-2001"),
    ],
)
def test_parse_lenient_ms(value, expected):
    assert parse_lenient_ms(value) == expected


def test_parse_lenient_ms_of_a_non_string_is_none():
    assert parse_lenient_ms(1685606400) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# §5.2 strict ISO gate and attribute conversion
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01", True, id="date-only"),
        pytest.param("2023-06-01T08:00", True, id="hours-minutes"),
        pytest.param("2023-06-01T08:00:00", True, id="zone-less"),
        pytest.param("2023-06-01T08:00:00Z", True, id="z"),
        pytest.param("2023-06-01T08:00:00.123456789Z", True, id="nine-fraction-digits"),
        pytest.param("2023-06-01T08:00:00+02:00", True, id="offset-with-colon"),
        pytest.param("2023-06-01T08:00:00+0200", True, id="offset-without-colon"),
        pytest.param("2023-06-01T08:00:00+23:59", True, id="offset-max"),
        pytest.param("2023-02-29", True, id="feb-29-in-common-year-accepted"),
        pytest.param("2023-09-31", True, id="sept-31-accepted"),
        pytest.param("2023-06-01T24:00", True, id="hour-24-with-zero-minutes"),
        pytest.param("2023-06-01T24:00:00.000Z", True, id="hour-24-with-zero-rest"),
        pytest.param("0000-01-01", True, id="year-zero"),
        # Rejected by the regex.
        pytest.param("2023-06-01 08:00:00", False, id="space-separator"),
        pytest.param("20230601", False, id="compact-date"),
        pytest.param("2023-06-01T08:00:00,5Z", False, id="comma-fraction"),
        pytest.param("2023-06-01T08:00:00.1234567890Z", False, id="ten-fraction-digits"),
        pytest.param("2023-06-01T08:00:00 PST", False, id="zone-name"),
        pytest.param("2023-06-01T08:00:00PST", False, id="zone-name-attached"),
        pytest.param("2023-06-01T08:00:00-08", False, id="hour-only-offset"),
        pytest.param("2023-06-01t08:00:00Z", False, id="lowercase-t"),
        pytest.param("2023-06-01T08:00:00z", False, id="lowercase-z"),
        pytest.param("2023-06", False, id="year-month-alone"),
        pytest.param("2023-06-01\n", False, id="trailing-newline"),
        pytest.param("２０２３-06-01", False, id="non-ascii-digits"),
        pytest.param("June 1, 2023", False, id="month-name"),
        pytest.param("1685606400", False, id="digit-string"),
        # Pass the regex but not Node's range checks.
        pytest.param("2023-13-01", False, id="month-13"),
        pytest.param("2023-00-01", False, id="month-00"),
        pytest.param("2023-06-00", False, id="day-00"),
        pytest.param("2023-06-32", False, id="day-32"),
        pytest.param("2023-06-01T24:00:01", False, id="hour-24-with-seconds"),
        pytest.param("2023-06-01T24:01", False, id="hour-24-with-minutes"),
        pytest.param("2023-06-01T24:00:00.001Z", False, id="hour-24-with-millis"),
        pytest.param("2023-06-01T25:00", False, id="hour-25"),
        pytest.param("2023-06-01T08:60", False, id="minute-60"),
        pytest.param("2023-06-01T08:00:60", False, id="second-60"),
        pytest.param("2023-06-01T08:00:00+24:00", False, id="offset-hour-24"),
        pytest.param("2023-06-01T08:00:00+02:60", False, id="offset-minute-60"),
        pytest.param("2023-06-01T12:34.567", False, id="fraction-without-seconds"),
        pytest.param(20230601, False, id="not-a-string"),
        pytest.param(None, False, id="null"),
    ],
)
def test_is_iso_attribute(value, expected):
    assert is_iso_attribute(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01T08:00:00+02:00", 1685599200, id="offset-is-exact-instant"),
        pytest.param("2023-06-01", JUNE_1, id="date-only-local-equals-utc"),
        pytest.param("2023-06-01T08:00:00", JUNE_1_0800, id="zone-less-local-equals-utc"),
        pytest.param("2006-01-02T18:04:07Z", 1136225047, id="doc-example"),
        pytest.param("2023-06-01T08:00:00.123456789Z", JUNE_1_0800, id="nine-digits-converted-fraction-dropped"),
        pytest.param("2023-06-01T08:00:00.999999999", JUNE_1_0800, id="nine-digits-zone-less"),
        pytest.param("2023-02-29", 1677628800, id="feb-29-rolls-to-march-1"),
        pytest.param("2023-09-31", 1696118400, id="sept-31-rolls-to-oct-1"),
        pytest.param("2023-06-01T24:00", 1685664000, id="hour-24-is-next-midnight"),
        pytest.param("0050-01-01", -631152000, id="zone-less-year-0050-is-1950"),
        pytest.param("0050-01-01T00:00:00Z", -60589296000, id="with-z-year-0050-stays-year-50"),
        pytest.param("1969-12-31T23:59:59.5Z", -1, id="pre-1970-floors"),
        pytest.param("2023-06-01 08:00:00", None, id="not-iso-gives-none"),
    ],
)
def test_iso_attribute_seconds(value, expected):
    assert iso_attribute_seconds(value) == expected


def test_convert_attributes_walks_objects_but_never_arrays():
    attrs = {
        "placed_at": "2022-11-05T09:30:00Z",
        "total": 42.5,
        "items": [{"at": "2022-11-05T09:30:00Z"}, "2022-11-05T09:30:00Z"],
        "nested": {"deeper": {"when": "2023-06-01"}, "empty": {}},
        "created_at": "1 Jun 2023",
        "digits": "1685606400",
        "flag": True,
        "nothing": None,
        "blank": "",
        "name": "2023-06-01T08:00:00Z",
    }
    assert convert_attributes(attrs) == {
        "placed_at": 1667640600,
        "total": 42.5,
        "items": [{"at": "2022-11-05T09:30:00Z"}, "2022-11-05T09:30:00Z"],
        "nested": {"deeper": {"when": JUNE_1}, "empty": {}},
        "created_at": "1 Jun 2023",
        "digits": "1685606400",
        "flag": True,
        "nothing": None,
        "blank": "",
        "name": JUNE_1_0800,
    }


def test_convert_attributes_returns_new_dicts_and_leaves_input_alone():
    attrs = {"a": {"b": "2023-06-01"}}
    out = convert_attributes(attrs)
    assert attrs == {"a": {"b": "2023-06-01"}}
    assert out is not attrs and out["a"] is not attrs["a"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01", JUNE_1, id="top-level-iso-string"),
        pytest.param("2023/06/01", "2023/06/01", id="top-level-non-iso"),
        pytest.param(["2023-06-01"], ["2023-06-01"], id="top-level-array-untouched"),
        pytest.param(7, 7, id="number"),
        pytest.param(datetime(2023, 6, 1, 8, tzinfo=UTC), JUNE_1_0800, id="datetime"),
    ],
)
def test_convert_attributes_on_scalars(value, expected):
    assert convert_attributes(value) == expected


# ---------------------------------------------------------------------------------------------------------
# §11 Classic dates
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01T08:00:00.000Z", JUNE_1_0800, id="iso-z"),
        pytest.param("2023-06-01", JUNE_1, id="date-only-utc"),
        pytest.param("2023-06-01T08:00:00", JUNE_1_0800, id="zone-less-t-is-utc"),
        pytest.param("2023-06-01 08:00:00", JUNE_1_0800, id="space-separator-host-offset-zero"),
        pytest.param("2023-06-01 08:00:00+02:00", JUNE_1_0800, id="space-separator-ignores-written-offset"),
        pytest.param("2023-06-01T08:00:00+02:00", 1685599200, id="offset"),
        pytest.param("2023-06-01T08:00:00-08", 1685635200, id="hour-only-offset"),
        pytest.param("2023-06-01T08:00:00,5Z", JUNE_1_0800, id="comma-fraction"),
        pytest.param("2023-06-01T0800", JUNE_1_0800, id="compact-time"),
        pytest.param("2023-06-00", JUNE_1, id="day-00-counts-as-01"),
        pytest.param("2023-13-01", 1704067200, id="month-13-rolls-over"),
        pytest.param("1970-01-01T00:00:00Z", 0, id="epoch-is-seconds"),
        pytest.param("1069-11-25", "1069-11-25T00:00:00.000Z", id="D69-before-1970-is-iso"),
        pytest.param("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z", id="just-before-1970-is-iso"),
        pytest.param("0050-01-01", "1950-01-01T00:00:00.000Z", id="year-0050-is-1950"),
        pytest.param("2023", "2023", id="year-alone-is-not-strict"),
        pytest.param("20230601", "20230601", id="compact-date-is-not-strict"),
        pytest.param("2023-06-01 PST", "2023-06-01 PST", id="not-matching"),
        pytest.param("June 1, 2023", "June 1, 2023", id="month-name-not-a-date"),
        pytest.param(1685606400, 1685606400, id="number-stays"),
        pytest.param(datetime(2023, 6, 1, 8, tzinfo=UTC), JUNE_1_0800, id="datetime-is-a-date"),
        pytest.param(datetime(1069, 11, 25), "1069-11-25T00:00:00.000Z", id="old-datetime-iso"),
    ],
)
def test_classic_convert_dates_scalars(value, expected):
    assert classic_convert_dates(value) == expected


def test_classic_convert_dates_recurses_into_objects_and_arrays():
    value = {
        "date": "2023-06-01",
        "list": ["2023-06-01", ["1069-11-25", {"at": "2023-06-01T08:00:00Z"}]],
        "obj": {"deep": {"d": datetime(2023, 6, 1, tzinfo=UTC)}},
        "text": "hello",
    }
    before = json.dumps(value, default=str)
    assert classic_convert_dates(value) == {
        "date": JUNE_1,
        "list": [JUNE_1, ["1069-11-25T00:00:00.000Z", {"at": JUNE_1_0800}]],
        "obj": {"deep": {"d": JUNE_1}},
        "text": "hello",
    }
    assert json.dumps(value, default=str) == before  # input untouched


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2023-06-01", True, id="date"),
        pytest.param("2023-06-01 08:00", True, id="space"),
        pytest.param("2023-0601", False, id="strict-prefix-required"),
        pytest.param("2023-06-01T08", False, id="hour-without-minutes"),
        pytest.param(None, False, id="not-a-string"),
    ],
)
def test_is_classic_iso(value, expected):
    assert is_classic_iso(value) is expected


# ---------------------------------------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(-1, "1969-12-31T23:59:59.999Z", id="negative"),
        pytest.param(1685606400123, "2023-06-01T08:00:00.123Z", id="millis"),
        pytest.param(-62198755200000, "-000001-01-01T00:00:00.000Z", id="year-minus-1-extended"),
        pytest.param(253402300800000, "+010000-01-01T00:00:00.000Z", id="year-10000-extended"),
    ],
)
def test_js_iso_string(ms, expected):
    assert js_iso_string(ms) == expected


def test_days_from_civil_agrees_with_datetime_over_the_whole_range():
    epoch = date(1970, 1, 1).toordinal()
    for ordinal in range(1, date(9999, 12, 31).toordinal(), 997):
        d = date.fromordinal(ordinal)
        assert days_from_civil(d.year, d.month, d.day) == ordinal - epoch


# ---------------------------------------------------------------------------------------------------------
# Differential check against Node.js (the reference runtime), when it is installed
# ---------------------------------------------------------------------------------------------------------
def _generated_date_strings(n: int) -> list[str]:
    rng = random.Random(5)

    def digits(k: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(k))

    words = ["Jun", "June", "sept", "Thu,", "GMT", "UTC", "Z", "z", "T", "PST", "EDT", "AM", "pm", "hello",
             "(c)", ")", "\u00a0", "_", "gmt+"]  # fmt: skip
    seps = ["-", "/", ":", ".", ",", " ", "T", "Z", "+", "", "\t", "\u2003"]
    out = set()
    while len(out) < n:
        if rng.random() < 0.5:
            s = rng.choice([digits(4), "0050", "+002023", "-000001"])
            s += rng.choice(["-", "/", ""]) + f"{rng.randint(0, 13):02d}"
            s += rng.choice(["-", "/", ""]) + f"{rng.randint(0, 32):02d}"
            if rng.random() < 0.7:
                s += rng.choice(["T", "t", " "]) + f"{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}"
                if rng.random() < 0.6:
                    s += f":{rng.randint(0, 60):02d}"
                    if rng.random() < 0.4:
                        s += "." + digits(rng.choice([1, 3, 9, 12]))
            s += rng.choice(["", "Z", "z", "+02:00", "-0800", "+24:00", " PST", " GMT+0200", "-08"])
        else:
            parts = []
            for _ in range(rng.randint(1, 8)):
                r = rng.random()
                parts.append(
                    digits(rng.choice([1, 2, 4])) if r < 0.45 else rng.choice(seps) if r < 0.75 else rng.choice(words)
                )
            s = "".join(parts)
        out.add(s)
    return sorted(out)


@pytest.mark.skipif(shutil.which("node") is None, reason="node (the reference runtime) is not installed")
def test_date_parsing_agrees_with_node_date_parse():
    """The V8 port (ISO + legacy parser) against ``Date.parse`` on a UTC host, over generated strings."""
    strings = _generated_date_strings(4000)
    script = (
        "const xs=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "process.stdout.write(JSON.stringify(xs.map(s=>{const t=Date.parse(s);return isNaN(t)?null:t})))"
    )
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps(strings), capture_output=True, text=True, timeout=60,
        env={"TZ": "UTC", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    expected = json.loads(out.stdout)
    pairs = zip(strings, expected, strict=True)
    mismatches = [(s, timestamps._v8_parse(s), e) for s, e in pairs if timestamps._v8_parse(s) != e]
    assert mismatches == []
