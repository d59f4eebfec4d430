"""The Track API rules as pure functions: the same answers as over HTTP, with no server (relay and sink share them)."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

from cio_browser import trackapi
from cio_browser.trackapi import evaluate, mask_authorization

CREDS = ("site123", "key456")
AUTH = {"authorization": "Basic " + base64.b64encode(b"site123:key456").decode(), "content-type": "application/json"}
ITEM = {"type": "person", "action": "event", "name": "Order Placed", "id": "m-1", "identifiers": {"id": "u"}}


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_accepts_and_refuses_like_customer_io() -> None:
    ok = evaluate("POST", "/api/v2/entity", AUTH, body(ITEM), credentials=CREDS)
    assert (ok.status, ok.body, ok.accepted) == (200, {}, [ITEM])
    denied = evaluate("POST", "/api/v2/entity", {"content-type": "application/json"}, body(ITEM), credentials=CREDS)
    assert (denied.status, denied.body) == (401, {"meta": {"error": trackapi.UNAUTHORIZED}})
    # behind a proxy that vouched for the caller, no Authorization is needed
    assert evaluate("POST", "/api/v2/entity", {"content-type": "application/json"}, body(ITEM),
                    credentials=None).status == 200
    bad = evaluate("POST", "/api/v2/batch", AUTH, body({"batch": [ITEM, {**ITEM, "name": ""}]}), credentials=CREDS)
    assert bad.status == 400 and bad.accepted == []
    assert bad.body["errors"] == [{"batch_index": 1, "field": "name", "reason": "must be a non-empty string",
                                   "message": "name: must be a non-empty string"}]
    big = body({**ITEM, "attributes": {"x": "y" * trackapi.MAX_ITEM_BYTES}})
    assert evaluate("POST", "/api/v2/entity", AUTH, big, credentials=CREDS).body == {
        "meta": {"error": f"request body exceeds {trackapi.MAX_ITEM_BYTES // 1024}KB limit"}}
    assert evaluate("POST", "/api/v2/nope", AUTH, b"", credentials=CREDS).status == 404


def test_extra_rejection_rule() -> None:
    verdict = evaluate("POST", "/api/v2/entity", AUTH, body(ITEM), credentials=CREDS,
                       reject=lambda item: "scripted" if item.get("id") == "m-1" else None)
    assert (verdict.status, verdict.body) == (400, {"meta": {"error": "item: scripted"}})


def test_mask_authorization_keeps_the_site_and_hides_the_key() -> None:
    masked = mask_authorization(AUTH["authorization"])
    assert masked == "Basic [masked: site id 'site123', API key hidden]" and "key456" not in masked
    assert mask_authorization("Bearer key456") == "[masked]"
    assert mask_authorization("Basic " + base64.b64encode(b"no-colon").decode()) == "Basic [masked]"


def test_module_is_pure() -> None:
    """No sockets, servers or threads: the relay and the sink both import it."""
    tree = ast.parse(Path(trackapi.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= {"__future__", "base64", "binascii", "hmac", "json", "urllib", "collections", "dataclasses",
                        "typing"}
