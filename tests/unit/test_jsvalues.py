"""JavaScript value semantics (docs/mapping.md §0, §3.1, §3.4)."""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cio_browser.jsvalues import js_number_to_string, js_to_string, js_truthy, template_render_value

NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, False, id="null-is-falsy"),
        pytest.param(False, False, id="false-is-falsy"),
        pytest.param(0, False, id="zero-is-falsy"),
        pytest.param(0.0, False, id="zero-float-is-falsy"),
        pytest.param(-0.0, False, id="negative-zero-is-falsy"),
        pytest.param(NAN, False, id="nan-is-falsy"),
        pytest.param("", False, id="empty-string-is-falsy"),
        pytest.param({}, True, id="empty-object-is-truthy"),
        pytest.param([], True, id="empty-array-is-truthy"),
        pytest.param("0", True, id="string-zero-is-truthy"),
        pytest.param("false", True, id="string-false-is-truthy"),
        pytest.param(" ", True, id="space-is-truthy"),
        pytest.param(True, True, id="true-is-truthy"),
        pytest.param(-1, True, id="negative-number-is-truthy"),
        pytest.param(0.5, True, id="fraction-is-truthy"),
        pytest.param(INF, True, id="infinity-is-truthy"),
        pytest.param(datetime(2023, 6, 1), True, id="date-is-truthy"),
    ],
)
def test_js_truthy_follows_javascript_not_python(value, expected):
    assert js_truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(42, "42", id="int"),
        pytest.param(42.0, "42", id="integral-float-has-no-decimal-point"),
        pytest.param(-0.0, "0", id="negative-zero-prints-zero"),
        pytest.param(0, "0", id="zero"),
        pytest.param(-7, "-7", id="negative-int"),
        pytest.param(0.1, "0.1", id="shortest-round-trip"),
        pytest.param(1685606400.5, "1685606400.5", id="timestamp-with-fraction"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="float-noise-kept-like-js"),
        pytest.param(1e16, "10000000000000000", id="1e16-not-exponent-form"),
        pytest.param(1e20, "100000000000000000000", id="1e20-plain"),
        pytest.param(123456789012345680000.0, "123456789012345680000", id="21-digits-plain"),
        pytest.param(1e21, "1e+21", id="1e21-exponent-with-plus"),
        pytest.param(1.5e21, "1.5e+21", id="mantissa-with-fraction-in-exponent-form"),
        pytest.param(1.7976931348623157e308, "1.7976931348623157e+308", id="max-double"),
        pytest.param(0.000001, "0.000001", id="1e-6-plain"),
        pytest.param(1e-7, "1e-7", id="1e-7-exponent-without-zero-padding"),
        pytest.param(1.5e-7, "1.5e-7", id="1.5e-7"),
        pytest.param(5e-324, "5e-324", id="smallest-subnormal"),
        pytest.param(-2.5e-8, "-2.5e-8", id="negative-small"),
        pytest.param(2**53 + 1, "9007199254740992", id="big-int-rounds-to-double"),
        pytest.param(10**22, "1e+22", id="huge-int-uses-exponent"),
        pytest.param(10**400, "Infinity", id="int-beyond-double-is-infinity"),
        pytest.param(NAN, "NaN", id="nan"),
        pytest.param(INF, "Infinity", id="infinity"),
        pytest.param(-INF, "-Infinity", id="negative-infinity"),
        pytest.param(True, "1", id="true-as-number-is-1"),
    ],
)
def test_js_number_to_string_matches_number_tostring(value, expected):
    assert js_number_to_string(value) == expected


def test_js_number_to_string_rejects_non_numbers():
    with pytest.raises(TypeError):
        js_number_to_string("42")  # type: ignore[arg-type]


UTC_DATE = datetime(2023, 6, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "null", id="null"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param("x", "x", id="string-unchanged"),
        pytest.param(42.0, "42", id="number-via-js-formatter"),
        pytest.param([1, "a", None, True], "1,a,,true", id="array-joined-null-elements-empty"),
        pytest.param([1, [2, [3, None]]], "1,2,3,", id="nested-arrays-flatten"),
        pytest.param([], "", id="empty-array"),
        pytest.param({"a": 1}, "[object Object]", id="object"),
        pytest.param([{"a": 1}, 2], "[object Object],2", id="object-inside-array"),
        pytest.param(UTC_DATE, "Thu Jun 01 2023 08:00:00 GMT+0000 (Coordinated Universal Time)", id="date-utc"),
        pytest.param(
            datetime(2023, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
            "Thu Jun 01 2023 08:00:00 GMT+0000 (Coordinated Universal Time)",
            id="aware-date-shown-in-utc",
        ),
    ],
)
def test_js_to_string_is_javascript_string_conversion(value, expected):
    assert js_to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "", id="null-renders-empty-not-null"),
        pytest.param("", "", id="empty-string"),
        pytest.param("ada@example.org", "ada@example.org", id="string"),
        pytest.param(True, "true", id="boolean"),
        pytest.param(0, "0", id="zero-renders-0-not-empty"),
        pytest.param(42.0, "42", id="integral-float"),
        pytest.param(1e21, "1e+21", id="big-float"),
        pytest.param(["a", None, 3], "a,,3", id="array-with-null"),
        pytest.param({"k": "v"}, "[object Object]", id="object"),
    ],
)
def test_template_render_value(value, expected):
    assert template_render_value(value) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="node (the reference runtime) is not installed")
def test_js_number_to_string_agrees_with_node_on_random_doubles():
    """Differential check against V8 itself on bit patterns across the whole double range."""
    rng = random.Random(20230601)
    values: list[float] = []
    while len(values) < 3000:
        f = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if f == f and abs(f) != INF:
            values.append(f)
    values += [rng.uniform(-1e6, 1e6) for _ in range(500)]
    values += [float(rng.randint(-(10**22), 10**22)) for _ in range(500)]
    script = (
        "const hx=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "process.stdout.write(JSON.stringify(hx.map(h=>String(Buffer.from(h,'hex').readDoubleLE(0)))))"
    )
    payload = json.dumps([struct.pack("<d", v).hex() for v in values])
    out = subprocess.run(["node", "-e", script], input=payload, capture_output=True, text=True, timeout=60)
    expected = json.loads(out.stdout)
    pairs = zip(values, expected, strict=True)
    mismatches = [(v, js_number_to_string(v), e) for v, e in pairs if js_number_to_string(v) != e]
    assert mismatches == []
