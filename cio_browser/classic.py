"""Classic mode: Segment's device-mode "Customer.io" integration (docs/mapping.md §11).

Two layers, kept apart on purpose:

* :func:`cio_calls` reproduces **what the classic integration would call on ``window._cio``** for an event,
  argument for argument (``identify({id, …traits})``, ``track(name, props)``, ``page(nameOrUrl, props)``).
  It is the part the reference's acceptance cases (ID1–ID6, G1–G5, T1–T4, P1–P4) pin down.
* :func:`classic_items` delivers those calls. We cannot load ``track.js`` (a third-party CDN script whose beacon
  protocol is undocumented), so each call becomes a request to Customer.io's documented Track API v1
  (docs/mapping.md §1.5), authenticated like every other request of this destination:

  =================  ==========================================================================================
  ``identify``       ``PUT /api/v1/customers/{id}`` with the traits minus ``id`` (plus ``anonymous_id``, below)
  ``track``          ``POST /api/v1/customers/{id}/events`` ``{name, data, id?, timestamp?}`` for a known user,
                     ``POST /api/v1/events`` ``{name, anonymous_id, data, id?, timestamp?}`` otherwise
  ``page``           the same endpoints with ``"type": "page"`` and ``name`` = page name or URL
  =================  ==========================================================================================

  Delivery choices, each made to keep track.js's observable behaviour:

  - ``anonymous_id``: track.js associates a visitor's anonymous activity with the person it later identifies
    (via its cookie). The API equivalent is documented: an ``anonymous_id`` attribute set on a person claims
    the anonymous events sent with that value. So identify bodies carry the event's ``anonymousId`` as
    ``anonymous_id`` (unless the traits set one), and anonymous events are sent with it. The Actions
    reference sets the same attribute on every known-user event, so repeating it is safe.
  - ``id`` (de-duplication): the v1 API drops an event whose ``id`` it has seen, but requires that id to be a
    ULID, which analytics.js's ``messageId`` is not. We derive a ULID deterministically from the messageId
    (time part = the event's timestamp, random part = SHA-256 of the messageId), so a retried or re-sent
    event carries the same id and is processed once.
  - ``timestamp``: the event's own time in unix seconds, so queued or retried events keep their real time.
    A non-date timestamp is left out (Customer.io then uses the time of receipt).

Nothing is sent without an identity: identify and group need a ``userId`` (as in the reference); track,
screen and page need a ``userId`` or an ``anonymousId``.

Beyond the device-mode integration, Classic mode also does what Segment's Customer.io (Classic) destination
documents for its cloud mode (docs/mapping.md §11):

* ``screen`` becomes a custom event named ``Viewed {name} Screen`` (``Viewed Undefined Screen`` without a name),
  properties date-converted like a track event's;
* ``Application Installed`` / ``Application Opened`` with ``context.device.token`` also add or update that device
  on the person (``PUT /api/v1/customers/{id}/devices`` ``{"device": {id, platform, last_used}}``, so every
  Opened refreshes ``last_used`` with the event's time); ``Application Uninstalled`` removes it
  (``DELETE /api/v1/customers/{id}/devices/{token}``). The event itself is still sent, as every track is.
  Devices belong to a known person: without a ``userId`` only the event goes. Customer.io requires a platform,
  so a device event without ``context.device.type`` is refused with a clear error (its event still goes);
* ``unsubscribed: true/false`` in identify traits is an ordinary trait, so it reaches the person as the
  ``unsubscribed`` attribute unchanged (Customer.io's documented way to unsubscribe someone).

``alias`` stays a no-op: the Classic destination never supported it (Customer.io: "does not support alias calls").
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from .errors import InvalidEvent
from .jsvalues import js_to_string, js_truthy
from .request import Item
from .timestamps import classic_convert_dates, datetime_to_ms, js_iso_string, parse_lenient_ms

__all__ = ["DEVICE_EVENTS", "cio_calls", "classic_items", "classic_map", "event_ulid", "screen_event_name"]

#: Track events that also add/update (Installed, Opened) or remove (Uninstalled) the device on the person.
DEVICE_EVENTS: dict[str, str] = {
    "Application Installed": "PUT",
    "Application Opened": "PUT",
    "Application Uninstalled": "DELETE",
}

Call = tuple[str, list[Any]]

_NON_ALNUM = re.compile(r"[^a-zA-Z0-9.]+")


def _normalize_key(key: str) -> str:
    """obj-case's key normalisation: drop everything but ASCII letters, digits and dots; lower-case."""
    return _NON_ALNUM.sub("", key).lower()


def _obj_case_get(obj: dict[str, Any], key: str) -> Any:
    """obj-case lookup of one key, as Facade's ``proxy`` does it: the first member (in key order) whose
    normalised name equals the normalised ``key`` wins, even when its value is null. None when none does."""
    wanted = _normalize_key(key)
    for k, v in obj.items():
        if isinstance(k, str) and _normalize_key(k) == wanted:
            return v
    return None


def _as_object(value: Any) -> dict[str, Any]:
    """``field || {}`` for an object-valued event member; a copy, so the event is never mutated."""
    return dict(value) if isinstance(value, dict) else {}


def _identify_traits(user_id: Any, traits: dict[str, Any]) -> dict[str, Any] | None:
    """The argument of ``_cio.identify``, or None when there is no user id (nothing is sent).

    ``identify.traits({createdAt: 'created'})`` adds ``id`` (overriding an ``id`` trait) and moves a
    ``createdAt`` trait (looked up case- and punctuation-insensitively, so ``created_at`` matches too) to
    ``created``, deleting only the literal ``createdAt`` key; ``alias(traits, {created: 'created_at'})`` then
    renames ``created``. Values are not reparsed; dates (including ISO strings) become seconds/ISO strings.
    """
    if not js_truthy(user_id):
        return None
    ret = dict(traits)
    ret["id"] = user_id
    created = _obj_case_get(ret, "createdAt")
    if created is not None:
        ret["created"] = created
        ret.pop("createdAt", None)
    if "created" in ret:
        ret["created_at"] = ret.pop("created")
    return classic_convert_dates(ret)


def _json_dates(value: Any) -> Any:
    """What ``JSON.stringify`` makes of Date objects (ISO strings); used where Classic does not convert dates."""
    if isinstance(value, dict):
        return {k: _json_dates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_dates(v) for v in value]
    if isinstance(value, date):
        return js_iso_string(datetime_to_ms(value))
    return value


def cio_calls(event: dict[str, Any], settings: Any = None) -> list[Call]:
    """The ``window._cio`` calls Segment's classic Customer.io integration makes for ``event``.

    ``event`` is an analytics.js event as a plain dict. Returns ``[(method, args), …]``: zero or one call.
    ``settings`` is accepted for symmetry with the Actions mapping; Classic mapping does not depend on it.
    """
    if not isinstance(event, dict):
        return []
    kind = event.get("type")
    if kind == "identify":
        traits = _identify_traits(event.get("userId"), _as_object(event.get("traits")))
        return [] if traits is None else [("identify", [traits])]
    if kind == "group":
        # group.traits() includes id = groupId; every key gets a "Group " prefix; then the identify path runs
        # for the *current* user, which analytics.js puts on the event as userId.
        group_traits = _as_object(event.get("traits"))
        group_id = event.get("groupId")
        if js_truthy(group_id):
            group_traits["id"] = group_id
        prefixed = {f"Group {key}": value for key, value in group_traits.items()}
        traits = _identify_traits(event.get("userId"), prefixed)
        return [] if traits is None else [("identify", [traits])]
    if kind == "track":
        return [("track", [event.get("event"), classic_convert_dates(_as_object(event.get("properties")))])]
    if kind == "screen":
        return [("track", [screen_event_name(event.get("name")),
                           classic_convert_dates(_as_object(event.get("properties")))])]
    if kind == "page":
        props = _as_object(event.get("properties"))
        category, name = event.get("category"), event.get("name")
        if js_truthy(category):
            props["category"] = category
        if js_truthy(name):
            props["name"] = name
        first = name if js_truthy(name) else _obj_case_get(props, "url")
        # Page properties are passed through unconverted (only Dates become their JSON strings).
        return [("page", [first, _json_dates(props)])]
    return []  # alias and anything else: no-ops in the classic integration


def screen_event_name(name: Any) -> str:
    """The Classic destination's name for a screen view: ``Viewed {name} Screen``, ``Undefined`` without one."""
    return f"Viewed {js_to_string(name) if js_truthy(name) else 'Undefined'} Screen"


# ---------------------------------------------------------------------------------------------------------
# Delivery through the Track API v1
# ---------------------------------------------------------------------------------------------------------
_CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MAX_ULID_TIME = 2**48 - 1


def event_ulid(message_id: str, time_ms: int | None) -> str:
    """A ULID (26 Crockford base-32 characters) derived only from ``message_id`` and ``time_ms``.

    Deterministic, so the same event always gets the same de-duplication id; the time part keeps ids of
    later events sorting later, as ULIDs are meant to.
    """
    t = min(max(time_ms or 0, 0), _MAX_ULID_TIME)
    rand = int.from_bytes(hashlib.sha256(message_id.encode("utf-8")).digest()[:10], "big")
    value = (t << 80) | rand
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _event_time_ms(event: dict[str, Any]) -> int | None:
    ts = event.get("timestamp")
    if isinstance(ts, date):
        return datetime_to_ms(ts)
    if isinstance(ts, str):
        return parse_lenient_ms(ts)
    return None  # numbers are ambiguous (seconds or ms?) and never come from analytics.js: leave them out


def _customer_path(customer_id: Any) -> str:
    return "/api/v1/customers/" + quote(js_to_string(customer_id), safe="")


def _event_name(value: Any, kind: str) -> str:
    name = value if isinstance(value, str) else ("" if value is None else js_to_string(value))
    if not name.strip():
        what = "an event name" if kind == "track" else "a page name or properties.url"
        raise InvalidEvent(
            f"Classic {kind}: Customer.io needs {what} and this event has none.",
            action=f"classic.{kind}",
            field="name",
            rule="required",
        )
    return name


def classic_map(event: Any) -> tuple[list[Item], list[InvalidEvent]]:
    """Every Track API v1 request Classic mode sends for ``event``, and every reason it refused part of it.

    One refused part never hides the others: a device event without a platform still sends its event.
    """
    if not isinstance(event, dict):
        return [], [InvalidEvent("Classic: the event must be an object.", rule="input")]
    items: list[Item] = []
    errors: list[InvalidEvent] = []
    anonymous_id = event.get("anonymousId")
    for method, args in cio_calls(event):
        if method == "identify":
            attrs = dict(args[0])
            customer_id = attrs.pop("id")
            if js_truthy(anonymous_id) and "anonymous_id" not in attrs:
                attrs["anonymous_id"] = anonymous_id
            items.append(Item("classic.identify", "PUT", _customer_path(customer_id), attrs))
            continue
        user_id = event.get("userId")
        if not js_truthy(user_id) and not js_truthy(anonymous_id):
            continue
        kind = "screen" if event.get("type") == "screen" else method
        name_arg, data = args
        try:
            body: dict[str, Any] = {"name": _event_name(name_arg, kind), "data": data}
        except InvalidEvent as exc:
            errors.append(exc)
            continue
        if method == "page":
            body["type"] = "page"
        time_ms = _event_time_ms(event)
        message_id = event.get("messageId")
        if isinstance(message_id, str) and message_id:
            body["id"] = event_ulid(message_id, time_ms)
        if time_ms is not None:
            body["timestamp"] = time_ms // 1000
        if js_truthy(user_id):
            path = _customer_path(user_id) + "/events"
        else:
            body["anonymous_id"] = js_to_string(anonymous_id)
            path = "/api/v1/events"
        items.append(Item(f"classic.{kind}", "POST", path, body))
    if event.get("type") == "track":
        _device_item(event, items, errors)
    return items, errors


def _device_item(event: dict[str, Any], items: list[Item], errors: list[InvalidEvent]) -> None:
    """The device request of an Application Installed/Opened/Uninstalled event, if it has a token and a user."""
    name = event.get("event")
    method = DEVICE_EVENTS.get(name) if isinstance(name, str) else None
    context = event.get("context")
    device = context.get("device") if isinstance(context, dict) else None
    token = device.get("token") if isinstance(device, dict) else None
    user_id = event.get("userId")
    if method is None or not js_truthy(token) or not js_truthy(user_id):
        return
    assert isinstance(device, dict)
    token_text = js_to_string(token)
    devices = _customer_path(user_id) + "/devices"
    if method == "DELETE":
        items.append(Item("classic.delete_device", "DELETE", devices + "/" + quote(token_text, safe=""), None))
        return
    platform = device.get("type")
    if not js_truthy(platform):
        errors.append(InvalidEvent(
            f"Classic {name}: Customer.io needs the device platform (context.device.type, e.g. \"ios\" or "
            "\"android\") to add a device, and this event has none.",
            action="classic.device", field="context.device.type", rule="required"))
        return
    body: dict[str, Any] = {"id": token_text, "platform": js_to_string(platform)}
    time_ms = _event_time_ms(event)
    if time_ms is not None:
        body["last_used"] = time_ms // 1000
    items.append(Item("classic.device", "PUT", devices, {"device": body}))


def classic_items(event: dict[str, Any], settings: Any = None) -> list[Item]:
    """The Track API v1 requests that deliver ``event`` (see the module docstring).

    Returns ``[]`` when the event maps to nothing or has no usable identity. Raises the first
    :class:`InvalidEvent` when any part of it is refused (:func:`classic_map` returns them all instead).
    """
    items, errors = classic_map(event)
    if errors:
        raise errors[0]
    return items
