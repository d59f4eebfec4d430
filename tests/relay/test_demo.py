"""The demo runner (the README's demo command): relay at /cio, everything else passed through to the endpoint."""

from __future__ import annotations

import gzip

import httpx

from cio_browser.relay.demo import DemoServer


def test_the_demo_serves_the_site_unchanged_and_the_relay_at_cio(tmp_path):
    page = "<!doctype html><title>demo</title>" + "x" * 2000
    (tmp_path / "index.html").write_text(page)
    demo = DemoServer(str(tmp_path), environ={}).start()
    try:
        client = httpx.Client(base_url=demo.url)
        plain = client.get("/", headers={"accept-encoding": "identity"})
        assert plain.text == page and "content-encoding" not in plain.headers
        raw = client.send(client.build_request("GET", "/", headers={"accept-encoding": "gzip"}), stream=True)
        assert raw.headers["content-encoding"] == "gzip"
        assert gzip.decompress(b"".join(raw.iter_raw())).decode() == page
        assert client.get("/cio/healthz").json() == {"ok": True}
        entity = {"type": "person", "identifiers": {"id": "u"}, "action": "event", "name": "N", "id": "demo-1",
                  "timestamp": 1700000000}
        assert client.post("/cio/api/v2/entity", json=entity, headers={"origin": demo.url}).status_code == 200
        assert client.post("/cio/api/v2/entity", json=entity,
                           headers={"origin": "https://evil.example"}).status_code == 403
        assert len(client.get("/__sink/requests").json()) == 1  # the endpoint's inspection API passes through
        [record] = demo.sink.requests
        assert record.credentials == "valid"  # the demo endpoint's own key
        assert demo.sink.delivered_ids() == ["demo-1"]
    finally:
        demo.stop()
