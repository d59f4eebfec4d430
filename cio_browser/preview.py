"""What the destination would do with one event, explained: for the Event Tester and a site's own debugging.

:func:`preview` runs the very mapping delivery runs (:mod:`cio_browser.mapping`, or :mod:`cio_browser.classic`)
and returns, as JSON-ready data and without sending anything: every subscription with whether it matched and
why not, the payload (or the field and rule that refused it) per matched action, and the exact request(s) with
the API key masked. :func:`check_settings` lists every settings problem exactly as start-up reports them.

:func:`request_fingerprints` names the items a request carries (their ``id``, which is the event's messageId
in Actions mode, or a digest of the item), so a tool can link a call's previewed requests to the requests the
destination really sent. Everything here is pure: no I/O, and the clock only through ``now_ms``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .classic import classic_map
from .config import load as load_config
from .errors import InvalidEvent, SettingsError
from .mapping import compile_subscriptions, map_action, to_requests
from .mapping.actions import ACTIONS, compile_action_mapping
from .presets import PRESETS
from .request import Item, Request, mask_authorization
from .settings import Settings

__all__ = ["check_settings", "mask_headers", "preview", "request_fingerprints", "request_view"]


def check_settings(raw: Any) -> dict[str, Any]:
    """``{"ok", "problems", "notes", "settings"}``: what start-up reports for ``raw`` (:func:`cio_browser.config.load`:
    settings, credentials and subscriptions, every problem listed), without starting anything.

    ``settings`` is the parsed settings without the API key (None when invalid), so a tool can show what the
    destination would run with; ``notes`` are the start-up warnings that do not stop delivery.
    """
    try:
        config = load_config(raw)
    except SettingsError as exc:
        return {"ok": False, "problems": list(exc.problems), "notes": [], "settings": None}
    return {"ok": True, "problems": [], "notes": list(config.notes), "settings": config.settings.to_dict()}


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers fit to show: the ``Authorization`` value keeps the site id and hides the key."""
    return {k: (mask_authorization(v) if k.lower() == "authorization" else v) for k, v in headers.items()}


def request_view(request: Request) -> dict[str, Any]:
    """One request as a tool shows it: method, URL, masked headers, body, and the items it carries."""
    return {"method": request.method, "url": request.url, "headers": mask_headers(dict(request.headers)),
            "body": request.body, "items": request_fingerprints(request.method, request.url, request.body)}


def request_fingerprints(method: str, url: str, body: Any) -> list[str]:
    """A name per item a request carries: its ``id`` when it has one, else a digest of method, path and item.

    Entities carry the event's messageId as ``id`` and Classic events a ULID derived from it, so the same event
    gives the same names in a preview and in the request really sent (whatever the host or proxy in front).
    """
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
    items = body["batch"] if isinstance(body, dict) and isinstance(body.get("batch"), list) else [body]
    names = []
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, str) and ident:
            names.append("id:" + ident)
        else:
            text = json.dumps([method, path.split("/api/", 1)[-1], item], sort_keys=True, ensure_ascii=False)
            names.append("sha:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    return names


def _error(exc: InvalidEvent) -> dict[str, Any]:
    return {"message": str(exc), "action": exc.action, "field": exc.field, "rule": exc.rule}


def _why_not(matches: Any, event: dict[str, Any]) -> str:
    """Why a trigger is false for ``event``: the expression and the values of the members it reads."""
    shown = []
    for name in sorted(getattr(matches, "fields", ()) or ()):
        if name not in event:
            shown.append(f"{name} is missing")
        elif isinstance(event[name], (dict, list)):
            shown.append(f"{name} is {'an object' if isinstance(event[name], dict) else 'an array'}")
        else:
            shown.append(f"{name} is {json.dumps(event[name], ensure_ascii=False)}")
    values = f": {', '.join(shown)}" if shown else ""
    return f"trigger {matches.source} is false{values}"


def _candidates(settings: Settings) -> list[dict[str, Any]]:
    """Every subscription the settings define (the presets when there are none), compiled, in order."""
    if settings.subscriptions is not None:
        raw = list(settings.subscriptions)
        compiled = iter(compile_subscriptions(raw))
        out: list[dict[str, Any]] = []
        for sub in raw:
            if isinstance(sub, dict) and "partnerAction" in sub and sub.get("enabled", True) is False:
                # Segment's switched-off subscription: compile_subscriptions skips it; say so rather than hide it
                out.append({"name": str(sub.get("name") or sub["partnerAction"]), "action": None,
                            "action_name": str(sub["partnerAction"]), "subscribe": sub.get("subscribe"),
                            "disabled": True})
                continue
            s = next(compiled)
            out.append({"name": s.name, "action": s.action, "matches": s.matches, "mapping": s.mapping,
                        "custom": True})
        return out
    out = []
    for preset in PRESETS:
        action = ACTIONS[preset.action]
        mapping = (action.compiled_default if preset.mapping is None
                   else compile_action_mapping(action, preset.mapping, f"preset {preset.name}.mapping"))
        out.append({"name": preset.name, "action": action, "matches": preset.matches, "mapping": mapping,
                    "custom": False})
    return out


def preview(event: Any, settings: Settings, *, now_ms: int | None = None) -> dict[str, Any]:
    """What ``settings`` make of ``event``: subscriptions (matched or why not), payloads, requests. Sends nothing.

    The requests are grouped as :func:`cio_browser.mapping.to_requests` groups them for this one event (in the
    browser, events that arrive together may share one batch request).
    """
    batch = settings.batching
    result: dict[str, Any] = {"mode": settings.mode, "batching": batch, "subscriptions": [], "requests": [],
                              "errors": []}
    if not isinstance(event, dict):
        result["errors"].append({"message": "an event must be a JSON object", "action": None, "field": None,
                                 "rule": "input"})
        return result
    if settings.mode == "classic":
        result["note"] = "classic mode maps by call type (Track API v1); it has no subscriptions"
        items, errors = classic_map(event)
        result["errors"] = [_error(exc) for exc in errors]
        result["requests"] = [request_view(r) for r in to_requests(items, settings, batch=False)]
        return result
    items: list[Item] = []
    for sub in _candidates(settings):
        if sub.get("disabled"):
            result["subscriptions"].append({
                "name": sub["name"], "action": sub["action_name"], "custom": True, "subscribe": sub["subscribe"],
                "matched": False, "why": "disabled (enabled: false in Segment's settings)"})
            continue
        matches = sub["matches"]
        row: dict[str, Any] = {"name": sub["name"], "action": sub["action"].name, "custom": sub["custom"],
                               "subscribe": matches.source if matches is not None else None}
        if matches is not None and not matches(event):
            row.update(matched=False, why=_why_not(matches, event))
        else:
            outcome = map_action(sub["action"], sub["mapping"], event, batch, now_ms)
            row["matched"] = True
            if isinstance(outcome, InvalidEvent):
                row["error"] = _error(outcome)
                result["errors"].append(row["error"])
            else:
                row["payload"] = outcome.body
                row["path"] = outcome.path
                items.append(outcome)
        result["subscriptions"].append(row)
    result["requests"] = [request_view(r) for r in to_requests(items, settings, batch)]
    return result
