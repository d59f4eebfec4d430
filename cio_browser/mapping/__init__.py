"""Segment event -> Customer.io Track API request(s), exactly as Customer.io (Actions) would send them.

Two entry points:

* :func:`map_event` is what the delivery layer calls for every event. It matches the subscriptions (the presets
  by default), maps each matched action and returns :class:`MapResult`: addressed-later :class:`Item` s for
  valid actions and one :class:`InvalidEvent` per invalid action. One bad action never hides another.
* :func:`requests_for` is the pinned public helper: the same mapping turned into complete :class:`Request` s
  (URL, method, headers, body). It raises the first :class:`InvalidEvent` when any matched action is invalid,
  because a caller asking "what would be sent for this event?" should not get a silently partial answer.

Everything below is pure: no I/O and no clock. The current time is read in exactly one place
(:func:`_now_ms`), and only when an action needs it (reportDeliveryEvent) and the caller did not pass ``now_ms``.

Custom subscriptions (``settings.subscriptions`` or the ``subscriptions`` argument) are
``{"action", "subscribe", "mapping", "name"?}`` or Segment's stored ``{partnerAction, name, enabled, subscribe,
mapping}`` (docs/mapping.md §2.1). ``subscribe`` is a trigger expression or None (always); ``mapping`` is None
for the action's default mapping, or **a complete mapping** as Segment stores a Customized Setup: fields it
leaves out are not mapped at all (so omitting ``convert_timestamp`` turns attribute conversion off, §3.2).
Mapping keys that are not fields of the action are ignored, as the reference ignores them. A delivering
destination compiles them once (:func:`cio_browser.config.load`) and passes the compiled tuple on.

This module imports the settings, never the other way round (docs/mapping.md §10; tests/unit/test_import_graph.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..batching import groups
from ..classic import classic_map
from ..constants import BATCH_PATH, REGION_HOSTS
from ..errors import InvalidEvent, MappingError
from ..presets import PRESETS, matching_presets
from ..request import Item, Request
from ..settings import Settings
from ..subscriptions import SubscriptionSyntaxError, parse_subscription
from .actions import ACTIONS, Action, CompiledMapping, compile_action_mapping
from .directives import MISSING, DirectiveRuntimeError, real_type_of
from .fields import Problem, check_field, required_message

__all__ = [
    "CompiledSubscription",
    "CompiledSubscriptions",
    "MapResult",
    "MappingError",
    "compile_subscriptions",
    "credential_test_request",
    "map_event",
    "requests_for",
    "to_requests",
    "user_deletion_request",
]


#: §7.15: the credential test always goes to the US host, whatever the region.
CREDENTIAL_TEST_URL = REGION_HOSTS["US"] + "/auth"


@dataclass
class MapResult:
    """What one event maps to: deliverable items, and one error per action that refused the event."""

    items: list[Item] = field(default_factory=list)
    errors: list[InvalidEvent] = field(default_factory=list)


@dataclass(frozen=True)
class CompiledSubscription:
    """A compiled subscription: which action, when (``matches``; None = always), with which mapping."""

    name: str
    action: Action
    matches: Any
    mapping: CompiledMapping


class CompiledSubscriptions(tuple):  # type: ignore[type-arg]
    """What :func:`compile_subscriptions` returns: a tuple of :class:`CompiledSubscription`.

    A distinct type so :func:`map_event` can tell subscriptions compiled once at start-up (used as they are)
    from raw ones (compiled on the call).
    """


def _now_ms() -> int:
    """The only clock read in the mapping (see module doc)."""
    return int(time.time() * 1000)


# ---- subscriptions ----------------------------------------------------------------------------------------
def compile_subscriptions(subs: Iterable[Any], where: str = "subscriptions") -> CompiledSubscriptions:
    """Compile custom subscriptions; raise one :class:`MappingError` listing every problem, by position.

    Two formats are accepted, entry by entry:

    * cio_browser's ``{action, subscribe?, mapping?, name?}``: ``subscribe`` None (or absent) matches every
      event; ``mapping`` None (or absent) is the action's default mapping.
    * Segment's stored form ``{partnerAction, name, enabled, subscribe, mapping}`` (extra keys such as ``id``
      are ignored): ``enabled: false`` skips the entry; ``subscribe`` is required, as in Segment; an absent
      ``mapping`` is an empty one, as Segment's runtime treats it (``mapping || {}``).
    """
    if isinstance(subs, (str, bytes, dict)) or not isinstance(subs, Iterable):
        raise MappingError([f"{where} must be a list of {{action, subscribe, mapping}} objects"])
    problems: list[str] = []
    out: list[CompiledSubscription] = []
    for i, sub in enumerate(subs):
        at = f"{where}[{i}]"
        if not isinstance(sub, dict):
            problems.append(f"{at} must be an object")
            continue
        segment = "partnerAction" in sub
        if segment and "action" in sub:
            problems.append(f"{at} has both action and partnerAction: use one")
            continue
        key = "partnerAction" if segment else "action"
        if segment:
            enabled = sub.get("enabled", True)
            if not isinstance(enabled, bool):
                problems.append(f"{at}.enabled must be true or false, got {enabled!r}")
                continue
            if not enabled:
                continue
        name_of_action = sub.get(key)
        action = ACTIONS.get(name_of_action) if isinstance(name_of_action, str) else None
        if action is None:
            problems.append(f"{at}.{key} {sub.get(key)!r} is not one of: {', '.join(sorted(ACTIONS))}")
            continue
        expr = sub.get("subscribe")
        matches = None
        if segment and (not isinstance(expr, str) or not expr.strip()):
            problems.append(f"{at}.subscribe must be a trigger expression (a Segment subscription always has one)")
            continue
        if expr is not None:
            if not isinstance(expr, str):
                problems.append(f"{at}.subscribe must be a string")
                continue
            try:
                matches = parse_subscription(expr)
            except SubscriptionSyntaxError as exc:
                problems.append(f"{at}.subscribe: {exc}")
                continue
        mapping = sub.get("mapping")
        if segment and mapping is None:
            mapping = {}
        try:
            compiled = (
                action.compiled_default
                if mapping is None
                else compile_action_mapping(action, mapping, f"{at}.mapping")
            )
        except MappingError as exc:
            problems.extend(exc.problems)
            continue
        name = sub.get("name")
        out.append(CompiledSubscription(name if isinstance(name, str) else action.name, action, matches, compiled))
    if problems:
        raise MappingError(problems)
    return CompiledSubscriptions(out)


def _preset_pair(preset: Any) -> tuple[Action, CompiledMapping]:
    action = ACTIONS[preset.action]
    if preset.mapping is None:
        return action, action.compiled_default
    return action, compile_action_mapping(action, preset.mapping, f"preset {preset.name}.mapping")


#: Each preset's action and compiled mapping, built once at import (presets are constants).
_PRESET_PAIRS: dict[str, tuple[Action, CompiledMapping]] = {p.name: _preset_pair(p) for p in PRESETS}


def _preset_pairs(event: dict[str, Any]) -> list[tuple[Action, CompiledMapping]]:
    return [_PRESET_PAIRS[preset.name] for preset in matching_presets(event)]


# ---- one action -------------------------------------------------------------------------------------------
def map_action(
    action: Action, mapping: CompiledMapping, event: dict[str, Any], batch: bool, now_ms: int | None
) -> Item | InvalidEvent:
    """Resolve, clean (§3.3), validate (§3.4/§3.5) and build one action for one event.

    Only actions that can travel in a batch use the batch-mode cleaning rules: reportDeliveryEvent has no batch
    form in the reference, so it is always cleaned as in single mode, whatever ``batch`` says (§3.6).
    """
    batch = batch and action.batchable
    payload = dict(mapping.static[batch])
    problems: list[Problem] = []
    for key, resolve, kind, keeps_empty, f in mapping.dynamic[batch]:
        try:
            value = resolve(event)
        except DirectiveRuntimeError as exc:
            return InvalidEvent(str(exc), action=action.name, field=key, rule="input")
        if value is MISSING or value is None:
            continue
        t = type(value)
        if t is str:
            if not value and (not batch or not keeps_empty):
                continue
            if kind == 0:  # plain string field: nothing to coerce or check
                payload[key] = value
                continue
        elif t is dict and kind == 1:
            payload[key] = value
            continue
        check_field(f, value, payload, problems)
    missing = [k for k in action.required_keys if k not in payload]
    if missing or problems:
        return _invalid(action, missing, problems)
    if action.uses_clock and now_ms is None:
        now_ms = _now_ms()
    return Item(action.name, "POST", action.path, action.build(payload, now_ms))


def _invalid(action: Action, missing: list[str], problems: list[Problem]) -> InvalidEvent:
    """One error for the action: Ajv reports every missing required field first, then each field's problems."""
    failed = {p.field for p in problems}  # a present but invalid value is not "missing"
    all_problems = [Problem(k, "required", required_message(k)) for k in missing if k not in failed]
    all_problems += problems
    first = all_problems[0]
    return InvalidEvent(
        " ".join(p.message for p in all_problems), action=action.name, field=first.field, rule=first.rule
    )


# ---- public entry points ----------------------------------------------------------------------------------
def map_event(
    event: Any,
    settings: Settings | dict[str, Any],
    *,
    subscriptions: Sequence[Any] | None = None,
    batch: bool = False,
    now_ms: int | None = None,
) -> MapResult:
    """Map one Segment event for every subscription it matches (the presets unless subscriptions are set).

    ``settings`` is a :class:`Settings` or the raw settings dict (credentials are not needed to map).
    ``subscriptions`` overrides ``settings.subscriptions``; either may be raw (compiled on this call) or a
    :class:`CompiledSubscriptions` from :func:`compile_subscriptions` (how the destination passes them, compiled
    once at start-up). None in both means the presets.
    ``batch`` selects the batch-mode cleaning rules (§3.3, §8); the items are the same single entities either
    way (grouping them into ``/api/v2/batch`` requests is the caller's job, see :func:`to_requests`).
    Raises :class:`MappingError` only for invalid raw custom subscriptions (a settings problem, not the event's).
    """
    if not isinstance(settings, Settings):
        settings = Settings.from_dict(settings)
    batch = bool(batch)
    if settings.mode == "classic":
        items, errors = classic_map(event)
        return MapResult(items=items, errors=errors)
    if not isinstance(event, dict):
        kind = real_type_of(event)  # mapping-kit's own wording for this case
        return MapResult(errors=[InvalidEvent(f"data must be an object, got {kind}", rule="input")])

    subs = subscriptions if subscriptions is not None else settings.subscriptions
    if subs is None:
        pairs = _preset_pairs(event)
    else:
        compiled = subs if isinstance(subs, CompiledSubscriptions) else compile_subscriptions(subs)
        pairs = [(s.action, s.mapping) for s in compiled if _matches(s, event)]

    result = MapResult()
    for action, mapping in pairs:
        outcome = map_action(action, mapping, event, batch, now_ms)
        if isinstance(outcome, InvalidEvent):
            result.errors.append(outcome)
        else:
            result.items.append(outcome)
    return result


def _matches(sub: CompiledSubscription, event: dict[str, Any]) -> bool:
    return sub.matches is None or bool(sub.matches(event))


def to_requests(items: Sequence[Item], settings: Settings, batch: bool = False) -> list[Request]:
    """Address items to the settings' host, grouped exactly as the delivery engine sends them.

    The grouping is :mod:`cio_browser.batching`'s (the one batcher): single mode sends one request per item
    (``POST …/api/v2/entity`` for entities); batch mode puts the entity items, whatever their action, into
    ``POST …/api/v2/batch`` requests of at most ``settings.batch_size`` items, and sends every other item
    (metrics, Classic v1 calls) alone.
    """
    base = settings.base_url
    with_body, without_body = settings.headers(), settings.headers(with_body=False)
    requests: list[Request] = []
    for group in groups(items, batching=batch, batch_size=settings.batch_size):
        if group.batch:
            requests.append(Request("POST", base + BATCH_PATH, dict(with_body),
                                    {"batch": [item.body for item in group.entries]}))
        else:
            (item,) = group.entries
            headers = dict(with_body if item.body is not None else without_body)
            requests.append(Request(item.method, base + item.path, headers, item.body))
    return requests


def requests_for(
    event: Any,
    settings: Settings | dict[str, Any],
    subscriptions: Sequence[Any] | None = None,
    batch: bool = False,
    now_ms: int | None = None,
) -> list[Request]:
    """The request(s) Customer.io (Actions) would send for ``event``; raises the first :class:`InvalidEvent`.

    ``settings`` may be a :class:`Settings` or the raw settings dict. An event that matches nothing gives ``[]``.
    """
    if not isinstance(settings, Settings):
        settings = Settings.from_dict(settings)
    result = map_event(event, settings, subscriptions=subscriptions, batch=batch, now_ms=now_ms)
    if result.errors:
        raise result.errors[0]
    return to_requests(result.items, settings, batch)


# ---- the two requests that are not event subscriptions (§7.14, §7.15) --------------------------------------
def user_deletion_request(user_id: str, settings: Settings) -> Request:
    """Segment's user-deletion (GDPR/CCPA) request: ``DELETE E/api/v1/customers/{userId}``, no body.

    The raw user id is interpolated as is, like the reference: no cio_/email resolution and no URL encoding.
    """
    return Request("DELETE", f"{settings.base_url}/api/v1/customers/{user_id}", settings.headers(with_body=False),
                   None)


def credential_test_request(settings: Settings) -> Request:
    """The reference's credential test: ``GET https://track.customer.io/auth``, always the US host."""
    return Request("GET", CREDENTIAL_TEST_URL, settings.headers(with_body=False), None)
