"""The timestamp fast path in mapping/common.py must agree with cio_browser.timestamps everywhere.

common.py converts analytics.js's own ``toISOString()`` shape directly (the general V8-parser emulation costs
tens of microseconds per string) and hands everything else to :mod:`cio_browser.timestamps`. These
differential tests pin the two together, so the fast path can never change a body.
"""

from __future__ import annotations

import random

import pytest

from cio_browser.mapping.common import (
    canonical_iso_seconds,
    convert_attribute_values,
    convert_timestamp_value,
)
from cio_browser.timestamps import convert_attributes, convert_event_timestamp, iso_attribute_seconds


def random_iso(rng: random.Random) -> str:
    year = rng.choice([rng.randint(0, 99), rng.randint(1900, 2100), rng.randint(0, 9999)])
    parts = [
        f"{year:04d}",
        f"{rng.randint(0, 13):02d}",
        f"{rng.randint(0, 32):02d}",
        f"{rng.choice([rng.randint(0, 23), 24, 25]):02d}",
        f"{rng.randint(0, 60):02d}",
        f"{rng.randint(0, 60):02d}",
    ]
    frac = rng.choice(["", "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 10)))])
    zone = rng.choice(["Z", "Z", "z", "", "+02:00", "-0800"])
    sep = rng.choice(["T", "T", "T", " ", "t"])
    return f"{parts[0]}-{parts[1]}-{parts[2]}{sep}{parts[3]}:{parts[4]}:{parts[5]}{frac}{zone}"


SAMPLES = [random_iso(random.Random(seed)) for seed in range(3000)] + [
    "2023-06-01T08:00:00.000Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
    "0050-06-15T12:00:00.5Z", "9999-12-31T23:59:59.999Z", "2023-02-28T23:59:59Z", "2023-02-29T00:00:00Z",
    "2023-06-01T24:00:00Z", "2023-06-01T08:00:00.1234Z", "2023-06-01T08:00Z", "2023-06-01",
]


@pytest.mark.parametrize("chunk", range(10))
def test_fast_path_agrees_with_the_reference_converters(chunk):
    for s in SAMPLES[chunk::10]:
        fast = canonical_iso_seconds(s)
        if fast is not None:
            assert fast == convert_event_timestamp(s), s
            assert fast == iso_attribute_seconds(s), s
        assert convert_timestamp_value(s) == convert_event_timestamp(s), s
        assert convert_attribute_values(s) == convert_attributes(s), s


def test_fast_path_takes_the_common_shapes_and_declines_the_rest():
    assert canonical_iso_seconds("2023-06-01T08:00:00.000Z") == 1685606400
    assert canonical_iso_seconds("2023-06-01T08:00:00Z") == 1685606400
    assert canonical_iso_seconds("1969-12-28T23:59:59.500Z") == -259201  # floor toward -infinity
    for declined in ("2023-06-29T08:00:00Z", "2023-06-01T24:00:00Z", "2023-06-01T08:00:00.1234Z",
                     "2023-06-01T08:00:00+00:00", "2023-06-01", "2023-06-01T08:00Z", "2023-13-01T08:00:00Z"):
        assert canonical_iso_seconds(declined) is None


def test_attribute_walk_agrees_on_nested_values_and_never_enters_arrays():
    value = {
        "a": "2023-06-01T08:00:00.000Z", "b": {"c": "2023-06-01", "d": ["2023-06-01"], "e": None, "f": 1.5},
        "g": ["2023-06-01T08:00:00Z", {"h": "2023-06-01"}], "i": "not a date", "j": True, "k": "2023-06-31",
        "l": "12345-06-01", "m": "",
    }
    assert convert_attribute_values(value) == convert_attributes(value)
    assert convert_attribute_values(value)["g"] is value["g"]


@pytest.mark.parametrize("value", [1685606400, 1.5, None, True, "1685606400", "next tuesday", ""])
def test_non_canonical_timestamps_go_to_the_reference(value):
    assert convert_timestamp_value(value) == convert_event_timestamp(value)
