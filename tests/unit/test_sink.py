"""The local Track API sink and static server, exercised over real HTTP (urllib) on a free port.

The browser tests trust this sink to say what Customer.io would have accepted; these tests pin its answers
(status and error bodies) and its static-file behaviour (types, compression, caching) so that trust holds.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from cio_browser.sink import Sink, validate_entity

SITE_ID = "site123"
API_KEY = "key456"
#: docs/mapping.md §1.3: base64("site123:key456").
AUTH = "Basic c2l0ZTEyMzprZXk0NTY="
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Answer:
    status: int
    headers: Message
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


def call(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    data: bytes | None = None,
    auth: bool = True,
) -> Answer:
    """One request; HTTP error statuses come back as answers, network errors raise."""
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if auth:
        hdrs.setdefault("Authorization", AUTH)
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


def event(i: int = 1, **extra: Any) -> dict[str, Any]:
    body = {
        "type": "person", "action": "event", "name": "Order Placed", "id": f"m-{i}",
        "attributes": {"total": 42.5}, "timestamp": 1685606400, "identifiers": {"id": "user-7"},
    }
    body.update(extra)
    return body


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "sub").mkdir(parents=True)
    (root / "vendor" / "pyodide-0.27.0").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>demo</title>" + "<p>hello</p>" * 200)
    (root / "sub" / "index.html").write_text("<!doctype html><title>sub</title>")
    (root / "strict.html").write_text("<!doctype html><title>strict</title>")
    (root / "app.js").write_text("export const x = 1;\n" * 300)
    (root / "mod.mjs").write_text("export default 1;\n")
    (root / "data.json").write_text(json.dumps({"k": list(range(500))}))
    (root / "style.css").write_text("body { color: red; }\n")
    (root / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "pkg-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04" + b"\0" * 2000)
    (root / "stdlib.zip").write_bytes(b"PK\x03\x04" + b"\0" * 2000)
    (root / "bundle.tar").write_bytes(b"\0" * 4096)
    (root / "vendor" / "pyodide-0.27.0" / "pyodide.asm.wasm").write_bytes(b"\0asm\x01\0\0\0" + b"\x01" * 5000)
    (root / "vendor" / "pyodide-0.27.0" / "pyodide.mjs").write_text("export const v = '0.27.0';\n" * 50)
    (tmp_path / "secret.txt").write_text("do not serve")
    return root


@pytest.fixture()
def sink(site: Path) -> Any:
    with Sink(root=site, site_id=SITE_ID, api_key=API_KEY, port=0, strict_timestamps=True,
              csp={"/strict.html": "default-src 'self'"},
              extra_headers={"Cross-Origin-Opener-Policy": "same-origin"}) as running:
        yield running


# ---- auth, proxy, CORS --------------------------------------------------------------------------------------


def test_authorized_entity_is_accepted_and_recorded(sink: Sink) -> None:
    answer = call(sink.url + "/api/v2/entity", "POST", event())
    assert (answer.status, answer.json()) == (200, {})
    assert sink.authorization == AUTH
    [recorded] = sink.requests
    assert (recorded.method, recorded.path, recorded.status, recorded.proxied) == ("POST", "/api/v2/entity", 200, False)
    assert recorded.credentials == "valid" and recorded.headers["content-type"] == "application/json"
    assert recorded.headers["authorization"] == "Basic [masked: site id 'site123', API key hidden]"
    assert recorded.body == event() and json.loads(recorded.raw) == event()
    assert sink.entities() == [event()] and sink.delivered_ids() == ["m-1"]


@pytest.mark.parametrize("authorization", [None, "Basic " + "c2l0ZTEyMzp3cm9uZw==", "Bearer key456", "Basic !!!"])
def test_missing_or_wrong_auth_is_401(sink: Sink, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = call(sink.url + "/api/v2/entity", "POST", event(), headers, auth=False)
    assert (answer.status, answer.json()) == (401, {"meta": {"error": "Unauthorized request"}})
    assert sink.entities() == [] and sink.requests[0].status == 401
    assert sink.requests[0].credentials == ("none" if authorization is None else "wrong")


def test_auth_endpoint(sink: Sink) -> None:
    assert call(sink.url + "/auth").status == 200
    assert call(sink.url + "/auth", auth=False).status == 401


def test_proxy_prefix_needs_no_authorization(sink: Sink) -> None:
    answer = call(sink.url + "/cio-proxy/api/v2/batch", "POST", {"batch": [event(1), event(2)]}, auth=False)
    assert (answer.status, answer.json()) == (200, {})
    [recorded] = sink.requests
    assert recorded.proxied and recorded.path == "/cio-proxy/api/v2/batch" and recorded.api_path == "/api/v2/batch"
    assert sink.delivered_ids() == ["m-1", "m-2"]
    assert sink.proxy_url == sink.url + "/cio-proxy"
    assert call(sink.url + "/cio-proxy/api/v2/nope", "POST", event(), auth=False).status == 404


def test_cors_preflight_is_204_and_not_recorded(sink: Sink) -> None:
    answer = call(sink.url + "/api/v2/batch", "OPTIONS", auth=False, headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    assert answer.status == 204 and answer.raw == b""
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    assert answer.headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert sink.requests == []


def test_every_answer_carries_cors(sink: Sink) -> None:
    denied = call(sink.url + "/api/v2/entity", "POST", event(), {"Origin": "http://a.test"}, auth=False)
    assert denied.status == 401 and denied.headers["Access-Control-Allow-Origin"] == "*"
    accepted = call(sink.url + "/api/v2/entity", "POST", event())
    assert accepted.headers["Access-Control-Allow-Origin"] == "*"
    assert accepted.headers["Access-Control-Expose-Headers"] == "Retry-After"


# ---- request format and size limits --------------------------------------------------------------------------


def test_wrong_content_type_and_invalid_json_are_400(sink: Sink) -> None:
    text = call(sink.url + "/api/v2/entity", "POST", data=json.dumps(event()).encode(),
                headers={"Content-Type": "text/plain"})
    assert (text.status, text.json()) == (400, {"meta": {"error": "content-type must be application/json"}})
    broken = call(sink.url + "/api/v2/entity", "POST", data=b"{not json", headers={"Content-Type": "application/json"})
    assert (broken.status, broken.json()) == (400, {"meta": {"error": "request body is not valid JSON"}})
    assert sink.entities() == []


def test_unknown_api_path_is_404_and_wrong_method_405(sink: Sink) -> None:
    missing = call(sink.url + "/api/v2/nothing", "POST", event())
    assert (missing.status, missing.json()) == (404, {"meta": {"error": "not found"}})
    assert call(sink.url + "/api/v2/entity", "GET").status == 405
    assert [r.status for r in sink.requests] == [404, 405]


def _padded(size: int, i: int = 1) -> dict[str, Any]:
    """An event whose compact JSON is exactly ``size`` bytes."""
    body = event(i, attributes={"pad": ""})
    base = len(json.dumps(body, separators=(",", ":")).encode())
    body["attributes"]["pad"] = "x" * (size - base)
    assert len(json.dumps(body, separators=(",", ":")).encode()) == size
    return body


def test_entity_body_over_32kb_is_400(sink: Sink) -> None:
    assert call(sink.url + "/api/v2/entity", "POST", _padded(32 * 1024)).status == 200
    answer = call(sink.url + "/api/v2/entity", "POST", _padded(32 * 1024 + 1, 2))
    assert (answer.status, answer.json()) == (400, {"meta": {"error": "request body exceeds 32KB limit"}})
    assert sink.delivered_ids() == ["m-1"]


def test_batch_item_over_32kb_is_400_naming_it(sink: Sink) -> None:
    batch = {"batch": [event(1), _padded(32 * 1024 + 1, 2), event(3)]}
    answer = call(sink.url + "/api/v2/batch", "POST", batch)
    assert answer.status == 400
    assert answer.json()["errors"] == [{
        "batch_index": 1, "field": "item", "reason": "exceeds 32KB limit (32769 bytes)",
        "message": "item: exceeds 32KB limit (32769 bytes)",
    }]
    assert answer.json()["meta"]["error"] == "batch item 1: item: exceeds 32KB limit (32769 bytes)"
    assert sink.entities() == []


def test_item_size_counts_utf8_bytes(sink: Sink) -> None:
    body = _padded(32 * 1024)
    body["attributes"]["pad"] = body["attributes"]["pad"][:-1] + "é"  # one character, two bytes
    # urllib's json.dumps escapes it as \u00e9 on the wire; the limit counts the compact UTF-8 form.
    answer = call(sink.url + "/api/v2/batch", "POST", {"batch": [body]})
    assert answer.status == 400 and "32769 bytes" in answer.json()["meta"]["error"]


def test_batch_body_over_500kb_is_400(sink: Sink) -> None:
    items = [_padded(30 * 1024, i) for i in range(17)]  # ~510 KB, every item under 32 KB
    answer = call(sink.url + "/api/v2/batch", "POST", {"batch": items})
    assert (answer.status, answer.json()) == (400, {"meta": {"error": "request body exceeds 500KB limit"}})
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": items[:16]}).status == 200
    assert len(sink.entities()) == 16


# ---- validation ----------------------------------------------------------------------------------------------

#: Bodies from docs/mapping.md §7: what the client sends must pass.
VALID = [
    {"type": "person", "action": "identify",
     "attributes": {"email": "ada@example.org", "plan": "team", "objectId": "acct-9", "created_at": 1684576800,
                    "anonymous_id": "anon-3"},
     "cio_relationships": [{"identifiers": {"object_type_id": "1", "object_id": "acct-9"},
                            "relationship_attributes": {"role": "owner"}}],
     "timestamp": 1685606400, "identifiers": {"id": "user-7"}},
    {"type": "person", "action": "page", "name": "https://example.org/pricing",
     "attributes": {"url": "https://example.org/pricing", "title": "Pricing"},
     "id": "m-1", "timestamp": 1685606400, "identifiers": {"anonymous_id": "anon-3"}},
    {"type": "person", "action": "screen", "name": "Home", "attributes": {}, "identifiers": {"cio_id": "x1"}},
    {"type": "person", "action": "add_device",
     "device": {"token": "tok-abc", "platform": "ios", "last_used": 1685606400,
                "attributes": {"build": "210", "app_version": "2.1.0"}},
     "identifiers": {"email": "ada@example.org"}},
    {"type": "person", "action": "delete_device", "device": {"token": "tok-abc"}, "identifiers": {"id": "u"}},
    {"type": "object", "action": "identify", "created_at": 1609459200,
     "attributes": {"tier": "gold", "renewed": 1685606400, "anonymous_id": "anon-3"},
     "cio_relationships": [{"identifiers": {"cio_id": "x1y2"}, "relationship_attributes": {"since": 1684576800}}],
     "identifiers": {"object_id": "acct-9", "object_type_id": "2"}},
    {"type": "object", "action": "identify_anonymous", "attributes": {},
     "cio_relationships": [{"identifiers": {"anonymous_id": "anon-3"}}],
     "identifiers": {"object_id": "acct-9", "object_type_id": "1"}},
    {"type": "object", "action": "delete", "identifiers": {"object_id": "acct-9", "object_type_id": "1"}},
    {"type": "object", "action": "delete_relationships", "attributes": {"anonymous_id": "anon-3"},
     "cio_relationships": [{"identifiers": {"id": "user-7"}}],
     "identifiers": {"object_id": "acct-9", "object_type_id": "1"}},
    {"type": "person", "action": "merge", "primary": {"email": "ada@example.org"}, "secondary": {"id": "anon-3"}},
    {"type": "person", "action": "suppress", "identifiers": {"id": "user-7"}},
    {"type": "person", "action": "unsuppress", "identifiers": {"email": "ada@example.org"}},
    {"type": "person", "action": "delete", "identifiers": {"cio_id": "abc"}},
    {"type": "person", "action": "viewed_content", "name": "viewed_content", "attributes": {"contentId": "c-1"},
     "timestamp": 1685606400, "identifiers": {"anonymous_id": "anon-3"}},
]


def test_reference_bodies_are_accepted(sink: Sink) -> None:
    for body in VALID:
        assert validate_entity(body) is None, body
    answer = call(sink.url + "/api/v2/batch", "POST", {"batch": VALID})
    assert (answer.status, answer.json()) == (200, {})
    assert sink.entities() == VALID


INVALID = [
    (event(type="people"), "type: must be one of person, object"),
    (event(action="identify_anonymous"), "action: must be one of"),
    ({k: v for k, v in event().items() if k != "identifiers"},
     "identifiers: must contain one of id, email, cio_id or anonymous_id"),
    (event(identifiers={}), "identifiers: must contain one of id, email, cio_id or anonymous_id"),
    (event(identifiers={"id": "a", "email": "b@c.de"}), "identifiers: must contain exactly one of"),
    (event(identifiers={"id": ""}), "identifiers.id: must be a non-empty string"),
    (event(identifiers={"cio_id": ""}), "identifiers.cio_id: must be a non-empty string"),
    (event(identifiers={"id": 7}), "identifiers.id: must be a non-empty string"),
    (event(identifiers={"id": "x" * 151}), "identifiers.id: must be at most 150 bytes"),
    ({"type": "object", "action": "delete"}, "identifiers: must contain object_id and object_type_id"),
    ({"type": "object", "action": "delete", "identifiers": {"object_id": "a", "object_type_id": ""}},
     "identifiers.object_type_id: must be a non-empty string"),
    ({"type": "person", "action": "merge", "primary": {"id": "a"}}, "secondary: must contain one of id, email"),
    (event(name=""), "name: must be a non-empty string"),
    (event(name="n" * 101), "name: must be at most 100 bytes"),
    ({"type": "person", "action": "page", "identifiers": {"id": "u"}}, "name: must be a non-empty string"),
    (event(attributes=[1]), "attributes: must be an object"),
    (event(attributes={f"k{i}": i for i in range(301)}), "attributes: must have at most 300 attributes"),
    (event(attributes={"k" * 151: 1}), "attributes: attribute name longer than 150 bytes"),
    ({"type": "person", "action": "identify", "attributes": {"bio": "b" * 1001}, "identifiers": {"id": "u"}},
     "attributes.bio: value must be at most 1000 bytes (got 1001)"),
    (event(timestamp="2023-06-01T08:00:00Z"), "timestamp: must be an integer (unix seconds)"),
    (event(timestamp=1685606400.5), "timestamp: must be an integer (unix seconds)"),
    ({"type": "person", "action": "add_device", "device": {"platform": "ios"}, "identifiers": {"id": "u"}},
     "device.token: must be a non-empty string"),
]


@pytest.mark.parametrize(("body", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_entity_is_400_with_field_and_rule(sink: Sink, body: dict[str, Any], message: str) -> None:
    answer = call(sink.url + "/api/v2/entity", "POST", body)
    assert answer.status == 400
    assert set(answer.json()) == {"meta"} and answer.json()["meta"]["error"].startswith(message)
    assert sink.entities() == [] and sink.requests[0].accepted == []


def test_event_attributes_may_hold_long_strings() -> None:
    # The 1000-byte value limit is for profile attributes; event data has one 100 000-byte limit.
    assert validate_entity(event(attributes={"text": "t" * 5000})) is None
    assert validate_entity(event(attributes={"text": "t" * 100_000}))[0] == "attributes"  # type: ignore[index]


def test_lenient_timestamps_accept_what_customerio_would_replace(site: Path) -> None:
    assert validate_entity(event(timestamp="1685606400"), strict_timestamps=False) is None
    with Sink(root=site, site_id=SITE_ID, api_key=API_KEY, strict_timestamps=False) as lenient:
        assert call(lenient.url + "/api/v2/entity", "POST", event(timestamp="next tuesday")).status == 200


def test_batch_with_invalid_items_is_rejected_whole(sink: Sink) -> None:
    batch = [event(1), event(2, identifiers={}), event(3), event(4, name="")]
    answer = call(sink.url + "/api/v2/batch", "POST", {"batch": batch})
    assert answer.status == 400
    assert answer.json() == {
        "meta": {"error": "batch item 1: identifiers: must contain one of id, email, cio_id or anonymous_id"},
        "errors": [
            {"batch_index": 1, "field": "identifiers",
             "reason": "must contain one of id, email, cio_id or anonymous_id",
             "message": "identifiers: must contain one of id, email, cio_id or anonymous_id"},
            {"batch_index": 3, "field": "name", "reason": "must be a non-empty string",
             "message": "name: must be a non-empty string"},
        ],
    }
    assert sink.entities() == [] and sink.delivered_ids() == []


@pytest.mark.parametrize(("body", "message"), [
    ([event()], "body: must be a JSON object"),
    ({"items": []}, "batch: must be an array of entities"),
    ({"batch": []}, "batch: must not be empty"),
])
def test_malformed_batch_envelope(sink: Sink, body: Any, message: str) -> None:
    answer = call(sink.url + "/api/v2/batch", "POST", body)
    assert (answer.status, answer.json()) == (400, {"meta": {"error": message}})


def test_reject_item_predicate_names_the_item(sink: Sink) -> None:
    sink.reject_item(lambda item: "poisoned" if item.get("id") == "m-2" else None)
    answer = call(sink.url + "/api/v2/batch", "POST", {"batch": [event(1), event(2), event(3)]})
    assert answer.status == 400
    assert answer.json()["errors"] == [
        {"batch_index": 1, "field": "item", "reason": "poisoned", "message": "item: poisoned"}
    ]
    single = call(sink.url + "/api/v2/entity", "POST", event(2))
    assert (single.status, single.json()) == (400, {"meta": {"error": "item: poisoned"}})
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": [event(1), event(3)]}).status == 200
    assert sink.delivered_ids() == ["m-1", "m-3"]


def test_duplicate_ids_are_accepted_but_noted(sink: Sink) -> None:
    assert call(sink.url + "/api/v2/entity", "POST", event(1)).status == 200
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": [event(2), event(1)]}).status == 200
    assert sink.delivered_ids() == ["m-1", "m-2", "m-1"]
    assert sink.duplicates == ["m-1"]


def test_concurrent_requests_are_all_recorded(sink: Sink) -> None:
    # Pages open many short connections at once (every answer closes its connection); none may be reset.
    def send(i: int) -> int:
        return call(sink.url + "/api/v2/batch", "POST", {"batch": [event(i * 10 + j) for j in range(10)]}).status

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(send, range(200)))
    assert statuses == [200] * 200
    assert len(sink.wait_for(2000, timeout=5)) == 2000 and sink.duplicates == []


# ---- v1 endpoints -----------------------------------------------------------------------------------------------


def test_v1_device_endpoints(sink: Sink) -> None:
    """Classic mode adds, updates and removes push devices (docs/mapping.md §11)."""
    base = sink.url + "/api/v1/customers/user-7/devices"
    device = {"device": {"id": "tok-1", "platform": "ios", "last_used": 1685606400}}
    assert call(base, "PUT", device).status == 200
    assert call(base + "/tok%2F1", "DELETE").status == 200
    assert call(base, "PUT", {"device": {"id": "tok-1"}}).json() == {
        "meta": {"error": "device.platform: must be one of ios, android"}}
    assert call(base, "PUT", {"device": {"id": "", "platform": "ios"}}).status == 400
    assert call(base, "POST", device).status == 405
    assert sink.entities() == [device]



def test_v1_endpoints(sink: Sink) -> None:
    base = sink.url + "/api/v1"
    assert call(base + "/customers/user-7", "PUT", {"email": "ada@example.org", "created_at": 1}).status == 200
    assert call(base + "/customers/user-7/events", "POST", {"name": "Signed Up", "id": "e-1", "data": {}}).status == 200
    assert call(base + "/events", "POST", {"name": "Viewed", "anonymous_id": "anon-3"}).status == 200
    metric = {"delivery_id": "dlv-1", "metric": "clicked", "timestamp": 1685606400.25}
    assert call(base + "/metrics", "POST", metric).status == 200
    assert call(base + "/customers/user-7", "DELETE").status == 200
    assert call(base + "/customers/user-7/events", "POST", {"data": {}}).json() == {
        "meta": {"error": "name: must be a non-empty string"}}
    assert call(base + "/metrics", "POST", {"delivery_id": "d", "metric": "read"}).status == 400
    assert call(base + "/customers/" + "x" * 151, "PUT", {}).status == 400
    assert sink.entities() == [
        {"email": "ada@example.org", "created_at": 1},
        {"name": "Signed Up", "id": "e-1", "data": {}},
        {"name": "Viewed", "anonymous_id": "anon-3"},
        metric,
    ]
    assert sink.delivered_ids() == ["e-1"]
    assert [r.method for r in sink.requests if r.status == 200][-1] == "DELETE"


# ---- scripted failures and delays ------------------------------------------------------------------------------


def test_scripted_500_then_success(sink: Sink) -> None:
    sink.fail_next(500)
    failed = call(sink.url + "/api/v2/batch", "POST", {"batch": [event()]})
    assert (failed.status, failed.json()) == (500, {"meta": {"error": "scripted failure"}})
    assert sink.entities() == []
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": [event()]}).status == 200
    assert [r.status for r in sink.requests] == [500, 200] and sink.delivered_ids() == ["m-1"]


def test_scripted_failure_precedes_validation_and_auth(sink: Sink) -> None:
    sink.fail_next(503, count=2)
    assert call(sink.url + "/api/v2/entity", "POST", {"nonsense": True}).status == 503
    assert call(sink.url + "/api/v2/entity", "POST", event(), auth=False).status == 503
    assert call(sink.url + "/api/v2/entity", "POST", event()).status == 200


def test_scripted_429_with_retry_after(sink: Sink) -> None:
    sink.fail_next(429, headers={"Retry-After": "2"})
    answer = call(sink.url + "/api/v2/entity", "POST", event(), {"Origin": "http://localhost:3000"})
    assert answer.status == 429 and answer.headers["Retry-After"] == "2"
    assert answer.headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert answer.json() == {"meta": {"error": "scripted failure"}}


def test_scripted_failures_are_fifo_and_path_filtered(sink: Sink) -> None:
    sink.fail_next(502, path="/api/v2/batch")
    sink.fail_next(500, body={"meta": {"error": "custom"}})
    assert call(sink.url + "/api/v2/entity", "POST", event()).json() == {"meta": {"error": "custom"}}
    assert call(sink.url + "/api/v2/entity", "POST", event(2)).status == 200
    assert call(sink.url + "/cio-proxy/api/v2/batch", "POST", {"batch": [event(3)]}, auth=False).status == 502
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": [event(3)]}).status == 200


def test_status_zero_drops_the_connection(sink: Sink) -> None:
    sink.fail_next(0)
    with pytest.raises(OSError) as info:
        call(sink.url + "/api/v2/batch", "POST", {"batch": [event()]})
    # urllib wraps errors while sending in URLError; a hang-up before the status line surfaces from
    # getresponse() as RemoteDisconnected (a ConnectionError). Both are what a browser reports as a network error.
    assert isinstance(info.value, urllib.error.URLError | ConnectionError)
    assert [r.status for r in sink.requests] == [0] and sink.requests[0].response is None
    assert sink.entities() == []
    assert call(sink.url + "/api/v2/batch", "POST", {"batch": [event()]}).status == 200


def test_http_controls(sink: Sink) -> None:
    fail = call(sink.url + "/__sink/fail", "POST", {"status": 503, "count": 2, "headers": {"Retry-After": "1"}},
                auth=False)
    assert fail.status == 200
    assert call(sink.url + "/api/v2/entity", "POST", event()).status == 503
    assert call(sink.url + "/api/v2/entity", "POST", event()).headers["Retry-After"] == "1"
    assert call(sink.url + "/api/v2/entity", "POST", event()).status == 200
    listed = call(sink.url + "/__sink/requests", auth=False).json()
    assert [(r["path"], r["status"]) for r in listed] == [("/api/v2/entity", 503)] * 2 + [("/api/v2/entity", 200)]
    assert listed[-1]["body"] == event()
    assert call(sink.url + "/__sink/fail", "POST", {"count": 1}, auth=False).status == 400
    assert call(sink.url + "/__sink/reset", "POST", auth=False, data=b"").status == 200
    assert sink.requests == [] and sink.entities() == []


def test_delay_and_wait_for(sink: Sink) -> None:
    sink.set_delay(300)
    started = time.monotonic()
    assert call(sink.url + "/api/v2/entity", "POST", event()).status == 200
    assert time.monotonic() - started >= 0.3
    assert sink.wait_for(1, timeout=1) == [event()]
    with pytest.raises(TimeoutError, match="got 1"):
        sink.wait_for(2, timeout=0.2)
    sink.reset()
    started = time.monotonic()
    call(sink.url + "/api/v2/entity", "POST", event())
    assert time.monotonic() - started < 0.3


# ---- static files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "mime"), [
    ("/index.html", "text/html"),
    ("/app.js", "text/javascript"),
    ("/mod.mjs", "text/javascript"),
    ("/vendor/pyodide-0.27.0/pyodide.asm.wasm", "application/wasm"),
    ("/data.json", "application/json"),
    ("/stdlib.zip", "application/zip"),
    ("/pkg-0.1.0-py3-none-any.whl", "application/zip"),
    ("/style.css", "text/css"),
    ("/icon.svg", "image/svg+xml"),
    ("/bundle.tar", "application/x-tar"),
])
def test_static_mime_types(sink: Sink, site: Path, path: str, mime: str) -> None:
    answer = call(sink.url + path, auth=False)
    assert answer.status == 200
    assert answer.headers["Content-Type"].split(";")[0] == mime
    assert answer.raw == (site / path.lstrip("/")).read_bytes()
    assert sink.requests == []


def test_directories_serve_index_html(sink: Sink, site: Path) -> None:
    assert call(sink.url + "/", auth=False).raw == (site / "index.html").read_bytes()
    assert call(sink.url + "/sub/", auth=False).raw == (site / "sub" / "index.html").read_bytes()
    assert call(sink.url + "/sub", auth=False).raw == (site / "sub" / "index.html").read_bytes()  # via redirect
    assert call(sink.url + "/missing.js", auth=False).status == 404


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
                                  "/sub/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt"])
def test_path_traversal_is_refused(sink: Sink, path: str) -> None:
    answer = call(sink.url + path, auth=False)
    assert answer.status in (403, 404) and b"do not serve" not in answer.raw


@pytest.mark.parametrize("path", ["/app.js", "/mod.mjs", "/data.json", "/index.html",
                                  "/vendor/pyodide-0.27.0/pyodide.asm.wasm"])
def test_gzip_for_compressible_files(sink: Sink, site: Path, path: str) -> None:
    answer = call(sink.url + path, headers={"Accept-Encoding": "gzip, deflate, br"}, auth=False)
    assert answer.headers["Content-Encoding"] == "gzip" and answer.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(answer.raw) == (site / path.lstrip("/")).read_bytes()
    again = call(sink.url + path, headers={"Accept-Encoding": "gzip"}, auth=False)
    assert again.raw == answer.raw and sink.compressions == 1  # compressed once, then served from memory
    plain = call(sink.url + path, auth=False)
    assert plain.headers["Content-Encoding"] is None and plain.headers["ETag"] != answer.headers["ETag"]


def test_served_files_are_listed_with_their_encoding_and_time_but_not_304s_or_api_calls(sink: Sink) -> None:
    before = time.time()
    gz = call(sink.url + "/app.js", headers={"Accept-Encoding": "gzip"}, auth=False)
    call(sink.url + "/mod.mjs", auth=False)
    call(sink.url + "/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["ETag"]}, auth=False)
    call(sink.url + "/api/v2/entity", "POST", event())
    assert [(path, coding) for path, coding, _ in sink.served] == [("/app.js", "gzip"), ("/mod.mjs", None)]
    assert all(before <= at <= time.time() for _, _, at in sink.served)
    sink.reset()
    assert sink.served == []


def test_gzip_cache_follows_file_changes(sink: Sink, site: Path) -> None:
    call(sink.url + "/app.js", headers={"Accept-Encoding": "gzip"}, auth=False)
    target = site / "app.js"
    target.write_text("export const y = 2;\n" * 300)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    answer = call(sink.url + "/app.js", headers={"Accept-Encoding": "gzip"}, auth=False)
    assert gzip.decompress(answer.raw) == target.read_bytes() and sink.compressions == 2


@pytest.mark.parametrize("path", ["/pkg-0.1.0-py3-none-any.whl", "/stdlib.zip"])
def test_no_gzip_for_compressed_formats(sink: Sink, path: str) -> None:
    answer = call(sink.url + path, headers={"Accept-Encoding": "gzip"}, auth=False)
    assert answer.headers["Content-Encoding"] is None and answer.raw.startswith(b"PK")
    assert "Accept-Encoding" not in (answer.headers["Vary"] or "")


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_etag_if_none_match_gives_304(sink: Sink, encoding: str | None) -> None:
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first = call(sink.url + "/app.js", headers=headers, auth=False)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    second = call(sink.url + "/app.js", headers={**headers, "If-None-Match": etag}, auth=False)
    assert second.status == 304 and second.raw == b"" and second.headers["ETag"] == etag
    stale = call(sink.url + "/app.js", headers={**headers, "If-None-Match": '"other"'}, auth=False)
    assert stale.status == 200


def test_cache_control(sink: Sink) -> None:
    vendor = call(sink.url + "/vendor/pyodide-0.27.0/pyodide.mjs", auth=False)
    assert vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert call(sink.url + "/app.js", auth=False).headers["Cache-Control"] == "no-cache"


def test_csp_and_extra_headers(sink: Sink) -> None:
    strict = call(sink.url + "/strict.html", auth=False)
    assert strict.headers["Content-Security-Policy"] == "default-src 'self'"
    assert strict.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert call(sink.url + "/index.html", auth=False).headers["Content-Security-Policy"] is None


def test_head_and_post_on_static(sink: Sink) -> None:
    head = call(sink.url + "/app.js", "HEAD", auth=False)
    assert head.status == 200 and head.raw == b"" and int(head.headers["Content-Length"]) > 0
    assert call(sink.url + "/app.js", "POST", {"x": 1}, auth=False).status == 405


def test_missing_root_serves_404_but_api_works(tmp_path: Path) -> None:
    with Sink(root=tmp_path / "nope", site_id=SITE_ID, api_key=API_KEY) as bare:
        assert call(bare.url + "/index.html", auth=False).status == 404
        assert call(bare.url + "/api/v2/entity", "POST", event()).status == 200


def test_stop_releases_the_port(site: Path) -> None:
    running = Sink(root=site, site_id=SITE_ID, api_key=API_KEY).start()
    url = running.url
    running.stop()
    running.stop()  # idempotent
    with pytest.raises(OSError):
        call(url + "/auth")


# ---- command line ----------------------------------------------------------------------------------------------


def test_cli_prints_url_and_site_id_but_never_the_key(site: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_browser.sink", "--root", str(site), "--port", "0",
         "--site-id", "cli-site", "--api-key", "cli-secret-key"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline() + process.stdout.readline()
        assert "cli-site" in banner and "cli-secret-key" not in banner
        url = banner.split(" at ", 1)[1].split()[0].rstrip("/")
        assert call(url + "/index.html", auth=False).status == 200
        denied = call(url + "/api/v2/entity", "POST", event(), auth=False)
        assert denied.status == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stderr == ""  # quiet by default: no per-request log lines


# ---- pre-compressed variants (build.py writes <file>.br and <file>.gz) --------------------------------------


def _precompress(site: Path, rel: str) -> bytes:
    import brotli

    data = (site / rel).read_bytes()
    (site / (rel + ".br")).write_bytes(brotli.compress(data))
    (site / (rel + ".gz")).write_bytes(gzip.compress(data, mtime=0))
    return data


@pytest.mark.parametrize("rel", ["app.js", "stdlib.zip", "pkg-0.1.0-py3-none-any.whl",
                                 "vendor/pyodide-0.27.0/pyodide.asm.wasm"])
def test_precompressed_variants_are_sent_with_content_encoding(sink: Sink, site: Path, rel: str) -> None:
    import brotli

    data = _precompress(site, rel)
    url = f"{sink.url}/{rel}"
    br = call(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}, auth=False)
    assert br.headers["Content-Encoding"] == "br" and br.headers["Vary"] == "Accept-Encoding"
    assert brotli.decompress(br.raw) == data and br.raw == (site / (rel + ".br")).read_bytes()
    gz = call(url, headers={"Accept-Encoding": "gzip"}, auth=False)
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.raw) == data
    refused = call(url, headers={"Accept-Encoding": "br;q=0, gzip"}, auth=False)
    assert refused.headers["Content-Encoding"] == "gzip"
    plain = call(url, auth=False)
    assert plain.headers["Content-Encoding"] is None and plain.raw == data
    assert len({br.headers["ETag"], gz.headers["ETag"], plain.headers["ETag"]}) == 3
    assert br.headers["Content-Type"] == plain.headers["Content-Type"]  # the type of the file, not of .br
    again = call(url, headers={"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]}, auth=False)
    assert again.status == 304
    assert sink.compressions == 0  # pre-compressed files are never compressed by the server


def test_hashed_wheels_are_immutable(sink: Sink, site: Path) -> None:
    (site / "wheels").mkdir()
    (site / "wheels" / "x-1-0abc-py3-none-any.whl").write_bytes(b"PK")
    answer = call(sink.url + "/wheels/x-1-0abc-py3-none-any.whl", auth=False)
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"


# ---- what the sink hands out: no key, no arbitrary origin ---------------------------------------------------


def test_recorded_traffic_never_contains_the_key(sink: Sink) -> None:
    assert call(sink.url + "/api/v2/entity", "POST", event()).status == 200
    wrong = "Basic " + __import__("base64").b64encode(b"site123:another-key").decode()
    assert call(sink.url + "/api/v2/entity", "POST", event(2), {"Authorization": wrong}, auth=False).status == 401
    sink.fail_next(503)
    assert call(sink.url + "/api/v2/entity", "POST", event(3)).status == 503
    listed = call(sink.url + "/__sink/requests", auth=False)
    text = listed.raw.decode()
    for secret in (API_KEY, AUTH.split()[1], "another-key", wrong.split()[1]):
        assert secret not in text
    assert [r["credentials"] for r in listed.json()] == ["valid", "wrong", "valid"]
    assert all(r["headers"]["authorization"].startswith("Basic [masked") for r in listed.json())
    assert all(API_KEY not in repr(r) for r in sink.requests)


def test_sink_routes_refuse_other_origins_and_never_echo_them(sink: Sink) -> None:
    foreign = {"Origin": "http://evil.test"}
    for path, method, body in (("/__sink/requests", "GET", None), ("/__sink/fail", "POST", {"status": 503}),
                               ("/__sink/reset", "POST", {})):
        answer = call(sink.url + path, method, body, foreign, auth=False)
        assert answer.status == 403, path
        assert answer.headers["Access-Control-Allow-Origin"] is None
    assert sink.faults()["failures"] == []
    preflight = call(sink.url + "/__sink/requests", "OPTIONS", None,
                     {**foreign, "Access-Control-Request-Method": "GET"}, auth=False)
    assert preflight.headers["Access-Control-Allow-Origin"] is None
    static = call(sink.url + "/index.html", "GET", None, foreign, auth=False)
    assert static.status == 200 and static.headers["Access-Control-Allow-Origin"] is None
    # the sink's own pages (same origin) and requests without an Origin keep working
    own = call(sink.url + "/__sink/requests", "GET", None, {"Origin": sink.url}, auth=False)
    assert own.status == 200 and own.headers["Access-Control-Allow-Origin"] is None
    assert call(sink.url + "/__sink/requests", auth=False).status == 200
    # behind a same-origin pass-through (Host is the private port) the browser's Sec-Fetch-Site still says so
    relayed = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    assert call(sink.url + "/__sink/faults", "GET", None, relayed, auth=False).status == 200
    cross = {"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-site"}
    assert call(sink.url + "/__sink/faults", "GET", None, cross, auth=False).status == 403


def test_allow_origin_lets_a_named_tool_read_the_traffic(site: Path) -> None:
    with Sink(root=site, site_id=SITE_ID, api_key=API_KEY, port=0, allow_origins=["http://localhost:3000"]) as s:
        answer = call(s.url + "/__sink/requests", "GET", None, {"Origin": "http://localhost:3000"}, auth=False)
        assert answer.status == 200 and answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "Origin" in answer.headers["Vary"]
        assert call(s.url + "/__sink/requests", "GET", None, {"Origin": "http://a.test"}, auth=False).status == 403


def test_faults_route_shows_what_is_queued(sink: Sink) -> None:
    assert call(sink.url + "/__sink/fail", "POST", {"status": 429, "count": 2}, auth=False).status == 200
    assert call(sink.url + "/__sink/delay", "POST", {"ms": 1500}, auth=False).status == 200
    assert call(sink.url + "/__sink/faults", auth=False).json() == {
        "failures": [{"status": 429, "remaining": 2, "path": None}], "delay_ms": 1500, "rules": 0}
    assert call(sink.url + "/__sink/clear-faults", "POST", {}, auth=False).status == 200
    assert sink.faults() == {"failures": [], "delay_ms": 0, "rules": 0}


def test_help_documents_routes_controls_and_credentials() -> None:
    out = subprocess.run([sys.executable, "-m", "cio_browser.sink", "--help"], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    for text in ("/__sink/requests", "/__sink/fail", "/__sink/delay", "/__sink/reset", "/__sink/faults",
                 "Basic base64(SITE_ID:API_KEY)", "demo-site:demo-key", "/cio-proxy", "--allow-origin"):
        assert text in out
