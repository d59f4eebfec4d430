"""``POST /events``: analytics.js events as the page stored them -> the requests Customer.io gets (pure).

The page hands the relay what Python never mapped in the page (a visit shorter than Pyodide's start, or a
browser where Python cannot run). The relay maps them with the destination's own code under CPython: the same
intake check the engine runs on a stored event (:func:`~cio_browser.delivery.engine.check_stored_event`), the
same :func:`~cio_browser.mapping.map_event` with the relay's settings (mode, subscriptions, batching), and the
same addressing (:func:`~cio_browser.mapping.to_requests`), so an event mapped here gives byte for byte the
request it would give in the page, including its entity ``id`` (the messageId). Errors carry the exact
:class:`~cio_browser.errors.InvalidEvent` text the page's console shows.

Events are grouped into chunks that respect the batch size and Customer.io's 500 KB batch limit; the events of
one chunk share its requests' outcome (a failed chunk is re-sent by the page later, with the same ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..constants import BATCH_BYTES_BUDGET
from ..delivery.engine import check_stored_event
from ..errors import InvalidEvent
from ..mapping import CompiledSubscriptions, map_event, to_requests
from ..request import Item, Request, byte_size
from ..settings import Settings

__all__ = ["Plan", "Send", "plan_events"]


@dataclass
class Send:
    """One upstream request and the indices of the events whose outcome it decides."""

    request: Request
    events: list[int]


@dataclass
class Plan:
    """Per event (input order): ``{"messageId", "status", "errors"}``; and the requests to send, in order.

    ``status`` is ``"ignored"`` (no subscription matched), ``"invalid"`` (every matched action refused it) or
    ``"pending"`` until the sends are answered (then ``"delivered"``, ``"rejected"`` or ``"failed"``).
    """

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)


def _error(exc: InvalidEvent) -> dict[str, Any]:
    return {"message": str(exc), "action": exc.action, "field": exc.field, "rule": exc.rule}


def _map_one(event: Any, settings: Settings, subscriptions: CompiledSubscriptions | None, now_ms: int
             ) -> tuple[list[Item], list[InvalidEvent]]:
    _label, refused = check_stored_event(event)
    if refused is not None:
        return [], [refused]
    try:
        result = map_event(event, settings, subscriptions=subscriptions, batch=settings.batching, now_ms=now_ms)
    except InvalidEvent as exc:
        return [], [exc]
    except Exception as exc:  # a mapping bug must answer for this event, not fail the others
        return [], [InvalidEvent(f"internal mapping error {type(exc).__name__}: {exc}", rule="internal")]
    return result.items, result.errors


def plan_events(events: list[Any], settings: Settings, subscriptions: CompiledSubscriptions | None,
                now_ms: int) -> Plan:
    """Map every event (``subscriptions``: compiled at start-up, None for the presets) and group the items into
    requests (see the module docstring)."""
    plan = Plan()
    chunk: list[tuple[int, list[Item]]] = []
    count = size = 0
    for index, event in enumerate(events):
        items, errors = _map_one(event, settings, subscriptions, now_ms)
        mid = event.get("messageId") if isinstance(event, dict) else None
        status = "pending" if items else ("invalid" if errors else "ignored")
        plan.outcomes.append({"messageId": mid if isinstance(mid, str) else None, "status": status,
                              "errors": [_error(e) for e in errors]})
        if not items:
            continue
        n = sum(item.batchable for item in items)
        nbytes = sum(byte_size(item.body) for item in items if item.batchable)
        if chunk and (count + n > settings.batch_size or size + nbytes > BATCH_BYTES_BUDGET):
            _close(plan, chunk, settings)
            chunk, count, size = [], 0, 0
        chunk.append((index, items))
        count += n
        size += nbytes
    if chunk:
        _close(plan, chunk, settings)
    return plan


def _close(plan: Plan, chunk: list[tuple[int, list[Item]]], settings: Settings) -> None:
    indices = [index for index, _ in chunk]
    items = [item for _, event_items in chunk for item in event_items]
    for request in to_requests(items, settings, settings.batching):
        plan.sends.append(Send(request, indices))
