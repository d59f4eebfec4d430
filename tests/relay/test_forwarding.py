"""The relay forwards exactly the destination's Track API routes, adds the key itself and passes answers back."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx

from cio_browser.request import encode

from .conftest import API_KEY, ORIGIN, entity


def test_an_entity_is_forwarded_with_the_authorization_added_and_the_answer_passed_back(relay, sink):
    r = relay()
    answer = r.post("/api/v2/entity", content=encode(entity()), headers={"content-type": "application/json"})
    assert answer.status_code == 200 and answer.json() == {}
    [record] = sink.requests
    assert (record.method, record.api_path, record.proxied) == ("POST", "/api/v2/entity", False)
    assert record.credentials == "valid"
    assert record.raw == encode(entity()).encode()
    assert sink.delivered_ids() == ["m-1"]


def test_a_clients_own_authorization_header_is_never_forwarded(relay, sink):
    r = relay()
    r.post("/api/v2/batch", json={"batch": [entity()]}, headers={"authorization": "Basic bm90OnRoZWtleQ=="})
    assert sink.requests[0].credentials == "valid"


def test_classic_routes_keep_their_encoded_ids(relay, sink):
    r = relay()
    assert r.request("PUT", "/api/v1/customers/a%2Fb%40c", json={"plan": "pro"}).status_code == 200
    assert r.post("/api/v1/customers/a%2Fb/events", json={"name": "X", "data": {}}).status_code == 200
    assert r.post("/api/v1/events", json={"name": "X", "anonymous_id": "anon", "data": {}}).status_code == 200
    assert r.post("/api/v1/metrics", json={"delivery_id": "d", "metric": "opened", "timestamp": 1700000000}
                  ).status_code == 200
    assert [x.path for x in sink.requests] == ["/api/v1/customers/a%2Fb%40c", "/api/v1/customers/a%2Fb/events",
                                               "/api/v1/events", "/api/v1/metrics"]


def test_routes_the_destination_does_not_use_are_404_and_never_reach_upstream(relay, sink):
    r = relay()
    for path in ("/auth", "/api/v2/entities", "/api/v1/customers", "/api/v1/customers/a/b", "/api/v2/entity/x",
                 "/", "/admin", "/api/v1/customers/x/attributes", "/api/v1/customers/%2e%2E/events",
                 "/api/v1/customers/%2E/events"):
        answer = r.post(path, json={})
        assert answer.status_code == 404, path
        assert answer.json() == {"meta": {"error": "not found"}}
    assert sink.requests == []


def test_dot_segments_are_never_ids(relay, sink):
    r = relay()
    host, port = r.url.removeprefix("http://").split(":")
    for path in ("/api/v1/customers/../events", "/api/v1/customers/..", "/api/v1/customers/./events"):
        with socket.create_connection((host, int(port))) as s:  # sent as written: httpx would resolve the dots
            s.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                      .encode())
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 404"), (path, answer[:80])
    assert sink.requests == []


def test_a_method_the_route_does_not_take_is_405_with_allow(relay, sink):
    r = relay()
    for method, path, allow in (("GET", "/api/v2/entity", "POST"), ("PUT", "/api/v2/batch", "POST"),
                                ("DELETE", "/api/v1/customers/user-1", "PUT"), ("GET", "/events", "POST"),
                                ("POST", "/healthz", "GET, HEAD")):
        answer = r.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allow
    assert sink.requests == []


def test_a_foreign_origin_is_refused_without_cors_headers(relay, sink):
    r = relay()
    for method in ("POST", "OPTIONS"):
        answer = r.request(method, "/api/v2/entity", json=entity(), headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert answer.status_code == 403
        assert "access-control-allow-origin" not in answer.headers
    assert sink.requests == []


def test_cors_preflight_names_the_routes_methods_for_an_allowed_origin(relay, sink):
    r = relay(CIO_ALLOWED_ORIGINS=f"{ORIGIN}, http://127.0.0.1:9999")
    answer = r.request("OPTIONS", "/api/v1/customers/u1", headers={"access-control-request-method": "PUT",
                                                                   "access-control-request-headers": "content-type"})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["access-control-allow-methods"] == "PUT"
    assert answer.headers["access-control-allow-headers"] == "content-type"
    assert "access-control-allow-credentials" not in answer.headers
    assert "Origin" in answer.headers["vary"]
    ok = r.post("/api/v2/entity", json=entity())
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in ok.headers["access-control-expose-headers"].lower()
    assert sink.requests and all(x.method != "OPTIONS" for x in sink.requests)


def test_requests_without_origin_are_not_browser_cross_origin_calls_and_pass(relay, sink):
    r = relay()
    assert r.post("/api/v2/entity", json=entity(), headers={"origin": None}).status_code == 200


def test_bodies_over_customerios_limits_get_its_own_400_without_calling_upstream(relay, sink):
    r = relay()
    big_entity = encode(entity(attributes={"x": "y" * 33_000})).encode()
    big_batch = encode({"batch": [entity(mid=f"m{i}", attributes={"x": "y" * 20_000}) for i in range(26)]}).encode()
    # what the local Customer.io-compatible endpoint itself answers to the same bodies
    direct = httpx.Client(base_url=sink.url, headers={"authorization": sink.authorization,
                                                      "content-type": "application/json"})
    expected = [direct.post("/api/v2/entity", content=big_entity), direct.post("/api/v2/batch", content=big_batch)]
    sink.reset()
    got = [r.post("/api/v2/entity", content=big_entity, headers={"content-type": "application/json"}),
           r.post("/api/v2/batch", content=big_batch, headers={"content-type": "application/json"})]
    for mine, theirs in zip(got, expected, strict=True):
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json())
        assert theirs.status_code == 400 and "limit" in theirs.json()["meta"]["error"]
    assert sink.requests == []
    huge = r.post("/api/v1/events", content=b"[" + b"1," * 300_000 + b"1]")
    assert huge.status_code == 413 and sink.requests == []


def test_malformed_json_is_passed_to_customerio_and_its_400_comes_back(relay, sink):
    r = relay()
    answer = r.post("/api/v2/entity", content=b'{"type": "person",', headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == sink.requests[0].response == {"meta": {"error": "request body is not valid JSON"}}


def test_upstream_429_and_5xx_pass_through_with_status_body_and_retry_after(relay, sink):
    r = relay()
    for status, headers, body in ((429, {"Retry-After": "7"}, {"meta": {"error": "slow down"}}),
                                  (500, {}, {"meta": {"error": "boom"}}), (503, {}, {"meta": {"error": "later"}})):
        sink.fail_next(status, headers=headers, body=body)
        answer = r.post("/api/v2/entity", json=entity())
        assert (answer.status_code, answer.json()) == (status, body)
        assert answer.headers.get("retry-after") == headers.get("Retry-After")
        assert answer.headers["access-control-allow-origin"] == ORIGIN  # the page can read it and retry
    assert r.post("/api/v2/entity", json=entity()).status_code == 200


def test_upstream_down_is_502_and_upstream_slow_is_504_after_the_timeout(relay, sink):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = relay(CIO_UPSTREAM=f"http://127.0.0.1:{closed_port}")
    answer = down.post("/api/v2/entity", json=entity())
    assert answer.status_code == 502
    assert answer.json()["meta"]["error"].startswith("Customer.io could not be reached")

    slow = relay(CIO_TIMEOUT="0.5")
    sink.set_delay(3000)
    started = time.monotonic()
    answer = slow.post("/api/v2/entity", json=entity())
    assert answer.status_code == 504 and answer.json() == {"meta": {"error": "Customer.io did not answer in time"}}
    assert time.monotonic() - started < 2.5


def test_each_client_is_rate_limited_per_instance(relay, sink):
    r = relay(CIO_RATE_LIMIT="3")
    statuses = [r.post("/api/v2/entity", json=entity(mid=f"m{i}")).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = r.answers[-1]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json() == {"meta": {"error": "rate limit exceeded"}}
    assert r.request("GET", "/healthz").status_code == 200  # health checks are never limited
    assert len(sink.requests) == 3


def test_healthz_answers_without_configuration_details(relay):
    r = relay()
    answer = r.request("GET", "/healthz", headers={"origin": None})
    assert answer.status_code == 200 and answer.json() == {"ok": True}


def test_the_key_is_in_no_response_and_no_log_record(relay, sink, caplog):
    r = relay(CIO_TIMEOUT="0.5")
    r.post("/api/v2/entity", json=entity())
    r.post("/api/v2/entity", content=b"{", headers={"content-type": "application/json"})
    r.request("GET", "/api/v2/entity")
    r.post("/nope")
    r.request("OPTIONS", "/api/v2/batch", headers={"access-control-request-method": "POST"})
    r.post("/api/v2/batch", headers={"origin": "https://evil.example"})
    sink.fail_next(401, body={"meta": {"error": "Unauthorized request"}})
    r.post("/api/v2/entity", json=entity())
    r.post("/events", json=[{"type": "track", "event": "E", "userId": "u", "messageId": "m"}, {"type": "bogus"}])
    r.post("/events", content=b"not json")
    sink.set_delay(2000)
    r.post("/api/v2/entity", json=entity())
    secrets = (API_KEY, sink.authorization, sink.authorization.split()[1])
    for answer in r.answers:
        text = answer.text + json.dumps(dict(answer.headers))
        assert not any(s in text for s in secrets), answer.request.url
    lines = [rec.getMessage() for rec in caplog.records]
    assert any("POST /api/v2/entity 200" in line for line in lines)  # the access log is there …
    assert not any(s in line for line in lines for s in secrets)   # … and holds no key
    assert API_KEY not in repr(r.config)


def test_access_log_lines_hold_the_route_template_not_ids_or_event_data(relay, sink, caplog):
    r = relay()
    r.request("PUT", "/api/v1/customers/alice%40example.org", json={"secret_trait": "s3cr3t"})
    r.post("/events", json=[{"type": "track", "event": "Private Thing", "userId": "bob@example.org",
                             "messageId": "m-private", "properties": {"card": "4111"}}])
    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("cio_browser.relay")]
    assert "PUT /api/v1/customers/{id} 200" in " ".join(lines)
    # every INFO+ line the relay process writes (the test's own client logs its URLs to the relay: not the relay's)
    joined = " ".join(rec.getMessage() for rec in caplog.records
                      if rec.levelno >= logging.INFO and r.url not in rec.getMessage())
    for data in ("alice", "s3cr3t", "Private Thing", "bob@example.org", "m-private", "4111"):
        assert data not in joined


def test_mounted_in_a_starlette_app_under_a_path(sink):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    from cio_browser.relay import RelayConfig, create_app
    from cio_browser.relay.serve import ServerThread

    from .conftest import SITE_ID

    config = RelayConfig.from_env({"CIO_SITE_ID": SITE_ID, "CIO_API_KEY": API_KEY, "CIO_UPSTREAM": sink.url,
                                   "CIO_ALLOWED_ORIGINS": ORIGIN})
    site = Starlette(routes=[Mount("/cio", app=create_app(config)),
                             Route("/", lambda request: PlainTextResponse("the site"))])
    with ServerThread(site) as server:
        client = httpx.Client(base_url=server.url, headers={"origin": ORIGIN})
        assert client.get("/").text == "the site"
        assert client.get("/cio/healthz").json() == {"ok": True}
        assert client.post("/cio/api/v2/entity", json=entity()).status_code == 200
        assert client.request("PUT", "/cio/api/v1/customers/a%2Fb", json={}).status_code == 200
        assert client.post("/cio/admin").status_code == 404
    assert [x.path for x in sink.requests] == ["/api/v2/entity", "/api/v1/customers/a%2Fb"]
    assert all(x.credentials == "valid" for x in sink.requests)
