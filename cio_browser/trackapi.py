"""Customer.io's Track API rules as pure functions: routes, credentials, validation, limits and error texts.

Why a module of its own: the local endpoint (:mod:`cio_browser.sink`) and the relay both need to answer exactly
as Customer.io would (a 400 with Customer.io's error shape and text, the documented size limits), and the rules
must be written once. Nothing here does I/O: :func:`evaluate` turns one request (method, path, headers, body
bytes) into a :class:`Verdict` (status, JSON body, accepted entities); the servers only move bytes.

Only rules Customer.io documents (docs/mapping.md §1.5) or that follow from the entity shapes
(docs/mapping.md §4, §6, §7) are enforced, so a rejection here means the real API would reject it too.
Standard library only.
"""

from __future__ import annotations

import hmac
import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .constants import BATCH_PATH, ENTITY_PATH, MAX_BATCH_BYTES, MAX_ITEM_BYTES, METRICS_PATH
from .request import basic_credentials, mask_authorization

__all__ = [
    "BODY_LIMITS", "MAX_ATTRIBUTES", "MAX_ATTRIBUTE_NAME_BYTES", "MAX_ATTRIBUTE_VALUE_BYTES", "MAX_BATCH_BYTES",
    "MAX_CUSTOMER_ID_BYTES", "MAX_EVENT_DATA_BYTES", "MAX_ITEM_BYTES", "MAX_NAME_BYTES", "UNAUTHORIZED",
    "Credentials", "Reject", "Verdict", "authorized", "check_customer_id", "compact_json", "error_body",
    "evaluate", "mask_authorization", "oversized_body_error", "route", "validate_device", "validate_entity",
    "validate_metrics", "validate_v1_event",
]

# --------------------------------------------------------------------------------------------------------------
# Limits and vocabularies. Sizes in bytes of UTF-8 (docs/mapping.md §1.5); the v2 request limits come from
# cio_browser.constants so the client and the endpoint can never disagree about them.
# --------------------------------------------------------------------------------------------------------------

MAX_ATTRIBUTES = 300
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_EVENT_DATA_BYTES = 100_000
MAX_NAME_BYTES = 100
MAX_CUSTOMER_ID_BYTES = 150
#: Refuse to buffer absurd bodies: far above any Customer.io limit, low enough to protect the test machine.

PERSON_IDENTIFIERS = ("id", "email", "cio_id", "anonymous_id")
MERGE_IDENTIFIERS = ("id", "email", "cio_id")
#: Actions the client may send (docs/mapping.md §6/§7), per entity type.
PERSON_ACTIONS = frozenset({
    "identify", "event", "page", "screen", "add_device", "delete_device", "delete", "merge", "suppress",
    "unsuppress", "add_relationships", "delete_relationships", "viewed_content", "clicked_content",
})
OBJECT_ACTIONS = frozenset({"identify", "identify_anonymous", "delete", "add_relationships", "delete_relationships"})
#: Actions whose ``name`` is required (and limited to MAX_NAME_BYTES).
NAMED_ACTIONS = frozenset({"event", "page", "screen"})
#: Actions whose attributes are event data (one 100 000-byte limit) rather than profile attributes.
EVENT_ACTIONS = frozenset({"event", "page", "screen", "viewed_content", "clicked_content"})
#: Actions whose attributes are profile attributes (each string value limited to 1000 bytes).
IDENTIFY_ACTIONS = frozenset({"identify", "identify_anonymous"})
METRICS = ("delivered", "opened", "clicked", "converted", "spammed", "bounced", "dropped", "deferred")

#: Customer.io's per-request body limits, by API path (docs/mapping.md §1.5).
BODY_LIMITS: dict[str, int] = {ENTITY_PATH: MAX_ITEM_BYTES, BATCH_PATH: MAX_BATCH_BYTES}

#: ``(site id, API key)``: the credentials a workspace accepts.
Credentials = tuple[str, str]
#: An extra per-item rule: returns a reason to refuse the item (400), or None.
Reject = Callable[[Any], "str | None"]
#: Customer.io's answer to a request without valid credentials.
UNAUTHORIZED = "Unauthorized request"


@dataclass
class Verdict:
    """What the Track API answers to one request, before anything is recorded."""

    status: int
    body: Any
    accepted: list[Any] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def compact_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as JSON.stringify writes it: what Customer.io's byte limits measure."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def error_body(message: str) -> dict[str, Any]:
    """Customer.io's error shape (docs/mapping.md §1.5): ``{"meta": {"error": "…"}}``."""
    return {"meta": {"error": message}}


def oversized_body_error(api_path: str, size: int) -> dict[str, Any] | None:
    """Customer.io's 400 answer to a body of ``size`` bytes on ``api_path`` when it is over the limit, else None.

    The relay refuses oversized bodies with this same answer without calling upstream, so a page behind the
    relay sees exactly what it would see from Customer.io.
    """
    limit = BODY_LIMITS.get(api_path)
    if limit is None or size <= limit:
        return None
    return error_body(f"request body exceeds {limit // 1024}KB limit")


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_person_identifiers(ids: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, str] | None:
    names = ", ".join(allowed[:-1]) + " or " + allowed[-1]
    if not isinstance(ids, dict):
        return where, f"must contain one of {names}"
    present = [k for k in allowed if k in ids]
    unknown = sorted(k for k in ids if k not in allowed)
    if unknown:
        return where, f"unexpected key {unknown[0]!r}; must contain exactly one of {names}"
    if not present:
        return where, f"must contain one of {names}"
    if len(present) > 1:
        return where, f"must contain exactly one of {names} (got {', '.join(present)})"
    key = present[0]
    value = ids[key]
    if not _non_empty_string(value):
        return f"{where}.{key}", "must be a non-empty string"
    if key == "id" and _nbytes(value) > MAX_CUSTOMER_ID_BYTES:
        return f"{where}.id", f"must be at most {MAX_CUSTOMER_ID_BYTES} bytes"
    return None


def _check_object_identifiers(ids: Any, where: str) -> tuple[str, str] | None:
    if not isinstance(ids, dict) or "object_id" not in ids or "object_type_id" not in ids:
        return where, "must contain object_id and object_type_id"
    unknown = sorted(k for k in ids if k not in ("object_id", "object_type_id"))
    if unknown:
        return where, f"unexpected key {unknown[0]!r}; must contain only object_id and object_type_id"
    for key in ("object_id", "object_type_id"):
        if not _non_empty_string(ids[key]):
            return f"{where}.{key}", "must be a non-empty string"
    return None


def _check_attributes(attributes: Any, action: str, where: str = "attributes") -> tuple[str, str] | None:
    if not isinstance(attributes, dict):
        return where, "must be an object"
    if len(attributes) > MAX_ATTRIBUTES:
        return where, f"must have at most {MAX_ATTRIBUTES} attributes (got {len(attributes)})"
    for key, value in attributes.items():
        if _nbytes(key) > MAX_ATTRIBUTE_NAME_BYTES:
            return where, f"attribute name longer than {MAX_ATTRIBUTE_NAME_BYTES} bytes ({key[:40]!r}…)"
        if action in IDENTIFY_ACTIONS and isinstance(value, str):
            size = _nbytes(value)
            if size > MAX_ATTRIBUTE_VALUE_BYTES:
                return f"{where}.{key}", f"value must be at most {MAX_ATTRIBUTE_VALUE_BYTES} bytes (got {size})"
    if action in EVENT_ACTIONS:
        size = len(compact_json(attributes))
        if size > MAX_EVENT_DATA_BYTES:
            return where, f"must be at most {MAX_EVENT_DATA_BYTES} bytes (got {size})"
    return None


def _check_name(name: Any, limit: bool) -> tuple[str, str] | None:
    """Names must be non-empty; the 100-byte limit is documented for event names only (a page's name is its
    URL, which is routinely longer)."""
    if not _non_empty_string(name) or not name.strip():
        return "name", "must be a non-empty string"
    if limit and _nbytes(name) > MAX_NAME_BYTES:
        return "name", f"must be at most {MAX_NAME_BYTES} bytes (got {_nbytes(name)})"
    return None


def validate_entity(entity: Any, *, strict_timestamps: bool = False) -> tuple[str, str] | None:
    """Check one v2 entity against the Track API's rules; return ``(field, reason)`` for the first problem.

    Only rules that Customer.io documents (or that follow from the entity shapes in docs/mapping.md §7) are
    enforced, so a rejection here means the real API would reject the request too. ``strict_timestamps=False``
    accepts non-integer timestamps, as Customer.io's backend does (it replaces them with now()).
    """
    if not isinstance(entity, dict):
        return "item", "must be a JSON object"
    etype = entity.get("type")
    if etype not in ("person", "object"):
        return "type", "must be one of person, object"
    action = entity.get("action")
    allowed = PERSON_ACTIONS if etype == "person" else OBJECT_ACTIONS
    if action not in allowed:
        return "action", f"must be one of {', '.join(sorted(allowed))} for type {etype}"
    if action == "merge":
        for side in ("primary", "secondary"):
            problem = _check_person_identifiers(entity.get(side), side, MERGE_IDENTIFIERS)
            if problem:
                return problem
    elif "identifiers" not in entity:
        if etype == "person":
            return "identifiers", "must contain one of id, email, cio_id or anonymous_id"
        return "identifiers", "must contain object_id and object_type_id"
    elif etype == "person":
        problem = _check_person_identifiers(entity["identifiers"], "identifiers", PERSON_IDENTIFIERS)
        if problem:
            return problem
    else:
        problem = _check_object_identifiers(entity["identifiers"], "identifiers")
        if problem:
            return problem
    if action in NAMED_ACTIONS or ("name" in entity and action in EVENT_ACTIONS):
        problem = _check_name(entity.get("name"), action == "event")
        if problem:
            return problem
    if "attributes" in entity:
        problem = _check_attributes(entity["attributes"], action)
        if problem:
            return problem
    if "timestamp" in entity and strict_timestamps and not _is_int(entity["timestamp"]):
        return "timestamp", "must be an integer (unix seconds)"
    if "id" in entity and not _non_empty_string(entity["id"]):
        return "id", "must be a non-empty string"
    if action in ("add_device", "delete_device"):
        device = entity.get("device")
        if not isinstance(device, dict):
            return "device", "must be an object"
        if not _non_empty_string(device.get("token")):
            return "device.token", "must be a non-empty string"
        if "attributes" in device and not isinstance(device["attributes"], dict):
            return "device.attributes", "must be an object"
    if "cio_relationships" in entity:
        relationships = entity["cio_relationships"]
        if not isinstance(relationships, list):
            return "cio_relationships", "must be an array"
        for i, relationship in enumerate(relationships):
            if not isinstance(relationship, dict) or not isinstance(relationship.get("identifiers"), dict):
                return f"cio_relationships[{i}].identifiers", "must be an object"
    return None


def validate_v1_event(body: Any, *, strict_timestamps: bool) -> tuple[str, str] | None:
    if not isinstance(body, dict):
        return "body", "must be a JSON object"
    problem = _check_name(body.get("name"), True)
    if problem:
        return problem
    if "data" in body:
        if not isinstance(body["data"], dict):
            return "data", "must be an object"
        size = len(compact_json(body["data"]))
        if size > MAX_EVENT_DATA_BYTES:
            return "data", f"must be at most {MAX_EVENT_DATA_BYTES} bytes (got {size})"
    if "timestamp" in body and strict_timestamps and not _is_int(body["timestamp"]):
        return "timestamp", "must be an integer (unix seconds)"
    if "anonymous_id" in body and not _non_empty_string(body["anonymous_id"]):
        return "anonymous_id", "must be a non-empty string"
    return None


def validate_metrics(body: Any) -> tuple[str, str] | None:
    if not isinstance(body, dict):
        return "body", "must be a JSON object"
    if not _non_empty_string(body.get("delivery_id")):
        return "delivery_id", "must be a non-empty string"
    if body.get("metric") not in METRICS:
        return "metric", f"must be one of {', '.join(METRICS)}"
    if "timestamp" in body and (
        isinstance(body["timestamp"], bool) or not isinstance(body["timestamp"], int | float)
    ):
        return "timestamp", "must be a number (unix seconds)"
    return None


def check_customer_id(customer_id: str) -> tuple[str, str] | None:
    if not customer_id:
        return "id", "must be a non-empty string"
    if _nbytes(customer_id) > MAX_CUSTOMER_ID_BYTES:
        return "id", f"must be at most {MAX_CUSTOMER_ID_BYTES} bytes"
    return None


def validate_device(body: Any) -> tuple[str, str] | None:
    """``PUT /api/v1/customers/{id}/devices``: ``{"device": {id, platform: ios|android, last_used?}}``."""
    device = body.get("device") if isinstance(body, dict) else None
    if not isinstance(device, dict):
        return "device", "must be a JSON object"
    if not isinstance(device.get("id"), str) or not device["id"]:
        return "device.id", "must be a non-empty string"
    if device.get("platform") not in ("ios", "android"):
        return "device.platform", "must be one of ios, android"
    last_used = device.get("last_used")
    if last_used is not None and (isinstance(last_used, bool) or not isinstance(last_used, (int, float))):
        return "device.last_used", "must be a unix timestamp"
    return None


# --------------------------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------------------------


def authorized(headers: Mapping[str, str], site_id: str, api_key: str) -> bool:
    """True when ``headers`` (lower-case names) carry ``Authorization: Basic base64(site_id:api_key)``."""
    decoded = basic_credentials(headers.get("authorization", ""))
    return decoded is not None and hmac.compare_digest(decoded, f"{site_id}:{api_key}".encode())


# --------------------------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------------------------


def route(api_path: str) -> tuple[str, str, str | None] | None:
    """Map an API path to ``(method, endpoint, customer id)``; None for paths Customer.io does not have."""
    fixed = {
        ENTITY_PATH: ("POST", "entity"),
        BATCH_PATH: ("POST", "batch"),
        METRICS_PATH: ("POST", "metrics"),
        "/api/v1/events": ("POST", "anonymous_event"),
        "/auth": ("GET", "auth"),
    }
    if api_path in fixed:
        method, endpoint = fixed[api_path]
        return method, endpoint, None
    prefix = "/api/v1/customers/"
    if api_path.startswith(prefix):
        rest = api_path[len(prefix):]
        if rest and "/" not in rest:
            return "PUT|DELETE", "customer", urllib.parse.unquote(rest)
        head, _, tail = rest.partition("/")
        if head and tail == "events":
            return "POST", "customer_event", urllib.parse.unquote(head)
        if head and tail == "devices":
            return "PUT", "device", urllib.parse.unquote(head)
        token = tail.removeprefix("devices/")
        if head and token != tail and token and "/" not in token:
            return "DELETE", "device_delete", urllib.parse.unquote(head)
    return None


# --------------------------------------------------------------------------------------------------------------
# One request, as data
# --------------------------------------------------------------------------------------------------------------


def _no_rejection(item: Any) -> str | None:
    return None


def _reject_constant(token: str) -> Any:
    raise ValueError(f"invalid JSON constant {token}")


def evaluate(
    method: str,
    api_path: str,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    credentials: Credentials | None,
    strict_timestamps: bool = False,
    reject: Reject | None = None,
) -> Verdict:
    """Customer.io's answer to one request (route, auth, content type, size, validation), as data.

    ``headers`` have lower-case names. ``credentials`` is the ``(site id, API key)`` pair the workspace
    accepts, or None when something in front (a first-party proxy) already vouched for the caller.
    ``reject`` is an extra per-item rule (tests and the demo use it to script a 400 for chosen items).
    """
    rejection = reject or _no_rejection
    found = route(api_path)
    if found is None:
        return Verdict(404, error_body("not found"))
    allowed, endpoint, customer_id = found
    if credentials is not None and not authorized(headers, *credentials):
        return Verdict(401, error_body(UNAUTHORIZED))
    if method not in allowed.split("|"):
        return Verdict(405, error_body("method not allowed"), headers={"Allow": allowed.replace("|", ", ")})
    if endpoint == "auth":
        return Verdict(200, {})
    if endpoint == "device_delete" or (endpoint == "customer" and method == "DELETE"):
        problem = check_customer_id(customer_id or "")
        return Verdict(400, error_body(f"{problem[0]}: {problem[1]}")) if problem else Verdict(200, {})

    if raw or endpoint != "customer":
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return Verdict(400, error_body("content-type must be application/json"))
    if (too_big := oversized_body_error(api_path, len(raw))) is not None:
        return Verdict(400, too_big)
    if not raw and endpoint == "customer":
        body: Any = {}
    else:
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError):
            return Verdict(400, error_body("request body is not valid JSON"))

    if endpoint == "batch":
        return _evaluate_batch(body, strict_timestamps, rejection)
    if endpoint == "entity":
        problem = validate_entity(body, strict_timestamps=strict_timestamps)
    elif endpoint == "metrics":
        problem = validate_metrics(body)
    elif endpoint == "device":
        problem = check_customer_id(customer_id or "") or validate_device(body)
    elif endpoint == "customer":
        problem = check_customer_id(customer_id or "")
        if problem is None:
            if not isinstance(body, dict):
                problem = ("body", "must be a JSON object")
            else:
                problem = _check_attributes(body, "identify", where="body")
    else:  # customer_event, anonymous_event
        problem = None if customer_id is None else check_customer_id(customer_id)
        problem = problem or validate_v1_event(body, strict_timestamps=strict_timestamps)
    if problem is None:
        reason = rejection(body)
        problem = ("item", reason) if reason else None
    if problem:
        return Verdict(400, error_body(f"{problem[0]}: {problem[1]}"))
    return Verdict(200, {}, accepted=[body])

def _evaluate_batch(body: Any, strict_timestamps: bool, rejection: Reject) -> Verdict:
    """All-or-nothing: one invalid item rejects the whole batch, and every invalid item is listed."""
    if not isinstance(body, dict):
        return Verdict(400, error_body("body: must be a JSON object"))
    items = body.get("batch")
    if not isinstance(items, list):
        return Verdict(400, error_body("batch: must be an array of entities"))
    if not items:
        return Verdict(400, error_body("batch: must not be empty"))
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        size = len(compact_json(item))
        if size > MAX_ITEM_BYTES:
            problem: tuple[str, str] | None = ("item", f"exceeds {MAX_ITEM_BYTES // 1024}KB limit ({size} bytes)")
        else:
            problem = validate_entity(item, strict_timestamps=strict_timestamps)
        if problem is None:
            reason = rejection(item)
            problem = ("item", reason) if reason else None
        if problem:
            field_name, reason = problem
            errors.append({
                "batch_index": index, "field": field_name, "reason": reason,
                "message": f"{field_name}: {reason}",
            })
    if errors:
        first = errors[0]
        return Verdict(400, {
            "meta": {"error": f"batch item {first['batch_index']}: {first['message']}"},
            "errors": errors,
        })
    return Verdict(200, {}, accepted=list(items))

