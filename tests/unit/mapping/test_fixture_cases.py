"""Runs every case in tests/fixtures/mapping_cases.json (the same file the browser test runs inside Pyodide).

A case is ``{"name", "settings", "event", "batch", "now_ms"?, "expect"}`` where ``expect`` is the list of
requests (method, url, lower-case headers, JSON body) or ``{"error": "<reference text>"}``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cio_browser import InvalidEvent, Settings, requests_for

CASES_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "mapping_cases.json"
CASES = json.loads(CASES_PATH.read_text(encoding="utf-8"))


def run_case(case: dict) -> object:
    settings = Settings.from_dict(case["settings"])
    try:
        requests = requests_for(case["event"], settings, batch=case["batch"], now_ms=case.get("now_ms"))
    except InvalidEvent as exc:
        return {"error": str(exc)}
    return [{"method": r.method, "url": r.url, "headers": r.headers, "body": r.body} for r in requests]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_case(case: dict) -> None:
    assert run_case(case) == case["expect"]


def test_fixture_file_is_plain_json_with_unique_names_and_enough_cases() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 40
    for case in CASES:
        assert set(case) <= {"name", "settings", "event", "batch", "expect", "now_ms"}
        assert isinstance(case["batch"], bool)
        # the bodies round-trip through JSON unchanged (no tuples, no NaN, nothing Python-only)
        assert json.loads(json.dumps(case)) == case


def test_fixtures_cover_every_action() -> None:
    from cio_browser.mapping.actions import ACTIONS

    seen = set()
    for case in CASES:
        if isinstance(case["expect"], dict):
            continue
        for request in case["expect"]:
            body = request["body"]
            for entity in body.get("batch", [body]):
                seen.add(_action_of(entity))
    assert seen >= set(ACTIONS)


def _action_of(entity: dict) -> str:
    if "delivery_id" in entity:
        return "reportDeliveryEvent"
    kind, action = entity["type"], entity["action"]
    return {
        ("person", "identify"): "createUpdatePerson",
        ("person", "event"): "trackEvent",
        ("person", "page"): "trackPageView",
        ("person", "screen"): "trackScreenView",
        ("person", "add_device"): "createUpdateDevice",
        ("person", "delete_device"): "deleteDevice",
        ("object", "identify"): "createUpdateObject",
        ("object", "identify_anonymous"): "createUpdateObject",
        ("object", "delete"): "deleteObject",
        ("object", "delete_relationships"): "deleteRelationship",
        ("person", "merge"): "mergePeople",
        ("person", "delete"): "deletePerson",
        ("person", "suppress"): "suppressPerson",
        ("person", "unsuppress"): "unsuppressPerson",
        ("person", "viewed_content"): "reportContentEvent",
        ("person", "clicked_content"): "reportContentEvent",
    }[(kind, action)]
