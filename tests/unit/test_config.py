"""config.load: what a delivering destination is built from, and the engine using what it was handed."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from cio_browser.config import load
from cio_browser.delivery.engine import Engine
from tests.fakes import FakePorts, Glue, track

RAW = {"siteId": "s1", "apiKey": "k",
       "subscriptions": [{"partnerAction": "trackEvent", "name": "Prefixed", "enabled": True,
                          "subscribe": 'type = "track"',
                          "mapping": {"id": {"@path": "$.userId"}, "name": {"@template": "Web: {{event}}"}}}]}


def test_the_engine_maps_with_the_subscriptions_it_was_handed():
    config = load(RAW)
    plain = load({"siteId": "s1", "apiKey": "k"}).settings  # no subscriptions of its own: presets otherwise
    ports = FakePorts()
    engine = Engine(plain, ports, subscriptions=config.subscriptions)
    assert engine.subscriptions is config.subscriptions  # compiled once, at load, not again here

    async def go():
        Glue(engine, ports).keep(track("Signed Up", "m-1"))
        await ports.run(10)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()
    assert [e["name"] for body in ports.bodies() for e in body.get("batch", [body])] == ["Web: Signed Up"]


def test_an_engine_built_from_settings_alone_compiles_their_subscriptions_once():
    config = load(RAW)
    engine = Engine(config.settings, FakePorts())
    assert [s.name for s in engine.subscriptions] == ["Prefixed"]
    assert Engine(load({"siteId": "s1", "apiKey": "k"}).settings, FakePorts()).subscriptions is None
