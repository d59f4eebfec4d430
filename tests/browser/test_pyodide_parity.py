"""The mapping gives the same answers inside Pyodide (in Chromium) as under CPython.

Runs the shared fixture cases (tests/fixtures/mapping_cases.json: every action, batch and single, errors) and a
table of timestamp conversions in the page's own Pyodide, then compares with CPython's results. The fixture cases
also run through Segment's stored subscription format (tests/fixtures/segment_subscriptions.json, as the JSON
string Segment's settings carry) and must give the fixture's expectations there too.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import open_page, settings_for

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "mapping_cases.json"
SEGMENT = Path(__file__).resolve().parents[1] / "fixtures" / "segment_subscriptions.json"

RUNNER = r"""
import json
from cio_browser import Settings, requests_for, InvalidEvent
from cio_browser.timestamps import convert_event_timestamp, convert_attributes

def run_cases(text):
    out = []
    for case in json.loads(text):
        try:
            reqs = requests_for(case["event"], Settings.from_dict(case["settings"]), batch=case.get("batch", False),
                                now_ms=case.get("now_ms", 1700000000000))
            out.append([{"method": r.method, "url": r.url, "headers": r.headers, "body": r.body} for r in reqs])
        except InvalidEvent as exc:
            out.append({"error": str(exc)})
    return json.dumps(out)

def run_cases_segment(text, segment_text):
    from cio_browser.config import load
    subs = json.dumps(json.loads(segment_text)["subscriptions"])  # a JSON string, as Segment's settings carry it
    out = []
    for case in json.loads(text):
        if "subscriptions" in case["settings"]:
            continue
        try:
            settings = load({**case["settings"], "subscriptions": subs}).settings
            reqs = requests_for(case["event"], settings, batch=case.get("batch", False),
                                now_ms=case.get("now_ms", 1700000000000))
            out.append([{"method": r.method, "url": r.url, "headers": r.headers, "body": r.body} for r in reqs])
        except InvalidEvent as exc:
            out.append({"error": str(exc)})
    return json.dumps(out)

def run_dates(text):
    return json.dumps([[convert_event_timestamp(v), convert_attributes({"v": v})["v"]] for v in json.loads(text)])
"""

DATES = ["2006-01-02T18:04:07Z", "2023-06-01", "2023-06-01T08:00:00+02:00", "2023-02-29", "1969-12-31T23:59:59.5Z",
         "0099-01-01", "2023-13-01", "20230601T0800", "Thu, 01 Jun 2023 08:00:00 GMT", "June 1, 2023",
         "2023-06-01T24:00:00Z", "2023-06-01T08:00:00.123456789Z", "2023-06-01T08:00:00 PST", "1685606400",
         "next tuesday", "2023/06/01", "2023-06"]


def in_cpython() -> dict:
    """The very same runner, executed by this CPython."""
    namespace: dict = {}
    exec(RUNNER, namespace)
    return namespace


def test_fixture_cases_map_identically_in_pyodide_and_cpython(context, sink):
    page = open_page(context, sink, settings_for(sink, boot="idle"))  # its Pyodide is on the page
    text = CASES.read_text()
    page.evaluate("code => window.cioBrowser.pyodide.runPython(code)", RUNNER)
    in_browser = json.loads(page.evaluate("t => window.cioBrowser.pyodide.globals.get('run_cases')(t)", text))
    expected = json.loads(in_cpython()["run_cases"](text))
    assert len(expected) >= 40
    for case, got, want in zip(json.loads(text), in_browser, expected, strict=True):
        assert got == want, case["name"]


def test_timestamp_conversion_is_identical_in_pyodide_and_cpython(context, sink):
    page = open_page(context, sink, settings_for(sink, boot="idle"))  # its Pyodide is on the page
    page.evaluate("code => window.cioBrowser.pyodide.runPython(code)", RUNNER)
    in_browser = json.loads(page.evaluate("t => window.cioBrowser.pyodide.globals.get('run_dates')(t)",
                                          json.dumps(DATES)))
    assert in_browser == json.loads(in_cpython()["run_dates"](json.dumps(DATES)))


def test_segment_format_subscriptions_map_the_fixture_cases_in_pyodide(context, sink):
    page = open_page(context, sink, settings_for(sink, boot="idle"))
    text, segment = CASES.read_text(), SEGMENT.read_text()
    page.evaluate("code => window.cioBrowser.pyodide.runPython(code)", RUNNER)
    got = json.loads(page.evaluate(
        "([t, s]) => window.cioBrowser.pyodide.globals.get('run_cases_segment')(t, s)", [text, segment]))
    cases = [c for c in json.loads(text) if "subscriptions" not in c["settings"]]
    assert len(got) == len(cases) >= 40
    for case, result in zip(cases, got, strict=True):
        assert result == case["expect"], case["name"]
    assert got == json.loads(in_cpython()["run_cases_segment"](text, segment))
