"""The shared mapping fixtures (tests/fixtures/mapping_cases.json) run through the delivery engine: what the
engine actually sends is byte-for-byte what ``requests_for`` says would be sent (one batcher for both)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cio_browser.delivery.engine import Engine
from cio_browser.settings import Settings
from tests.fakes import T0, FakePorts, Glue

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "mapping_cases.json").read_text("utf-8"))


def through_engine(case: dict) -> object:
    async def go() -> object:
        settings = Settings.from_dict({**case["settings"], "batching": case["batch"]})
        ports = FakePorts(now=case.get("now_ms") or T0)
        engine = Engine(settings, ports)
        ports.is_online = False          # every item of the event is queued before the first request
        Glue(engine, ports).keep(case["event"])
        ports.is_online = True
        engine.kick()
        await ports.run()
        if engine.aside:
            return {"error": engine.aside[0]["message"]}
        return [{"method": r.method, "url": r.url, "headers": r.headers, "body": r.body} for r, _ in ports.sent]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_engine_sends_exactly_the_fixture_requests(case: dict) -> None:
    assert through_engine(case) == case["expect"]


def test_engine_and_to_requests_group_a_mixed_queue_identically() -> None:
    """Person, object (identify and identify_anonymous) and event items queued together: the engine's requests
    are to_requests' requests for the same items, in one batch of mixed actions."""
    from cio_browser.mapping import map_event, to_requests

    events = [c["event"] for c in CASES if c["batch"] and isinstance(c["expect"], list)]
    settings = Settings.from_dict({**CASES[0]["settings"], "batching": True, "batchSize": 100})

    async def go() -> list:
        ports = FakePorts(now=T0)
        engine = Engine(settings, ports)
        ports.is_online = False
        Glue(engine, ports).keep(*events)
        ports.is_online = True
        engine.kick()
        await ports.run()
        return [(r.method, r.url, r.headers, r.body) for r, _ in ports.sent]

    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(asyncio.run, go()).result()
    items = [i for e in events for i in map_event(e, settings, batch=True, now_ms=int(T0)).items]
    expected = [(r.method, r.url, r.headers, r.body) for r in to_requests(items, settings, batch=True)]
    assert sent == expected
    actions = {(b.get("type"), b.get("action")) for _, _, _, body in sent if body and "batch" in body
               for b in body["batch"]}
    assert len(sent) < len(items) and len(actions) > 2, "one batch carries several actions"
