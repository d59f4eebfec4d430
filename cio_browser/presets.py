"""The reference's presets as data: (name, trigger, action, mapping), docs/mapping.md §2.

A preset maps with its action's default mapping (``mapping=None``); the default mappings are derived from the
field tables in :mod:`cio_browser.mapping.actions`, so nothing here restates them. The twelve event names Track
Event excludes are defined once (:data:`RESERVED_EVENT_NAMES`) and the Track Event trigger is built from them.

Triggers are parsed once, at import, by the same subscription parser a site owner's custom subscriptions go
through. Every automatic trigger tests only ``type`` and ``event``, so which presets match depends on those two
values alone; :func:`matching_presets` memoises on them (checked at import, see ``_MEMO_FIELDS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .subscriptions import parse_subscription

__all__ = [
    "EVENT_SPECIFIC_PRESETS",
    "PRESETS",
    "RESERVED_EVENT_NAMES",
    "TRACK_EVENT_SUBSCRIPTION",
    "Preset",
    "default_subscription",
    "matching_presets",
]

#: Event names that have their own action, so Track Event leaves them alone (§2; §9 item 7).
RESERVED_EVENT_NAMES: tuple[str, ...] = (
    "Application Installed",
    "Application Opened",
    "Application Uninstalled",
    "Device Created or Updated",
    "Device Deleted",
    "Relationship Deleted",
    "User Deleted",
    "User Suppressed",
    "User Unsuppressed",
    "Object Deleted",
    "Report Delivery Event",
    "Report Content Event",
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


TRACK_EVENT_SUBSCRIPTION = 'type = "track" and ' + " and ".join(
    f"event != {_quote(name)}" for name in RESERVED_EVENT_NAMES
)


def _any_event(*names: str) -> str:
    return " or ".join(f"event = {_quote(n)}" for n in names)


@dataclass(frozen=True)
class Preset:
    """One preset. ``subscribe`` is the trigger expression (None for event-specific presets, which Segment
    binds to event kinds its warehouse/journeys products generate and which never reach a browser)."""

    name: str
    subscribe: str | None
    action: str
    mapping: dict[str, Any] | None = None
    kind: str = "automatic"
    event_kind: str | None = None
    matches: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matches", parse_subscription(self.subscribe) if self.subscribe else None)


#: The automatic presets, in the reference's order. Each action's default subscription is its trigger here.
PRESETS: tuple[Preset, ...] = (
    Preset("Create or Update Person", 'type = "identify"', "createUpdatePerson"),
    Preset("Create or Update Device",
           _any_event("Application Installed", "Application Opened", "Device Created or Updated"),
           "createUpdateDevice"),
    Preset("Delete Device", _any_event("Application Uninstalled", "Device Deleted"), "deleteDevice"),
    Preset("Delete Relationship", _any_event("Relationship Deleted"), "deleteRelationship"),
    Preset("Delete Person", _any_event("User Deleted"), "deletePerson"),
    Preset("Delete Object", _any_event("Object Deleted"), "deleteObject"),
    Preset("Track Event", TRACK_EVENT_SUBSCRIPTION, "trackEvent"),
    Preset("Track Page View", 'type = "page"', "trackPageView"),
    Preset("Track Screen View", 'type = "screen"', "trackScreenView"),
    Preset("Create or Update Object", 'type = "group"', "createUpdateObject"),
    Preset("Merge People", 'type = "alias"', "mergePeople"),
    Preset("Suppress Person", _any_event("User Suppressed"), "suppressPerson"),
    Preset("Unsuppress Person", _any_event("User Unsuppressed"), "unsuppressPerson"),
    Preset("Report Delivery Event", _any_event("Report Delivery Event"), "reportDeliveryEvent"),
    Preset("Report Content Event", _any_event("Report Content Event"), "reportContentEvent"),
)

#: Presets bound to Segment-generated event kinds (§2). Kept for completeness; never matched in the browser.
EVENT_SPECIFIC_PRESETS: tuple[Preset, ...] = tuple(
    Preset(name, None, action, kind="specificEvent", event_kind=event_kind)
    for name, event_kind, action in (
        ("Associated Entity Added", "warehouse_entity_added_track", "trackEvent"),
        ("Associated Entity Removed", "warehouse_entity_removed_track", "trackEvent"),
        ("Entities Audience Entered", "warehouse_audience_entered_track", "trackEvent"),
        ("Entities Exited", "warehouse_audience_exited_track", "trackEvent"),
        ("Journeys Step Transition Track", "journeys_step_entered_track", "trackEvent"),
        ("Entities Audience Membership Changed", "warehouse_audience_membership_changed_identify",
         "createUpdatePerson"),
    )
)

_DEFAULT_SUBSCRIPTIONS = {p.action: p.subscribe for p in PRESETS}


def default_subscription(action: str) -> str | None:
    """The action's own default trigger (equal to its preset's), or None for an unknown action."""
    return _DEFAULT_SUBSCRIPTIONS.get(action)


# The memo below is only valid while every trigger reads nothing but `type` and `event`; check that once.
_MEMO_FIELDS = frozenset({"type", "event"})
for _p in PRESETS:
    if not _p.matches.fields <= _MEMO_FIELDS:  # pragma: no cover - a preset table edit would trip this
        raise RuntimeError(f"preset {_p.name!r} reads {sorted(_p.matches.fields)}; matching_presets memo is unsafe")

class _Absent:
    """Key for an event without an ``event`` member (distinct from ``"event": null``)."""

    __slots__ = ()


_ABSENT = _Absent()
_MEMO_KEY_TYPES = (str, type(None), _Absent)
_MEMO: dict[tuple[Any, Any], tuple[Preset, ...]] = {}
_MEMO_LIMIT = 512


def matching_presets(event: dict[str, Any]) -> tuple[Preset, ...]:
    """The automatic presets whose trigger matches ``event``, in preset order."""
    kind = event.get("type")
    name = event.get("event", _ABSENT)
    if not (isinstance(kind, _MEMO_KEY_TYPES) and isinstance(name, _MEMO_KEY_TYPES)):
        return tuple(p for p in PRESETS if p.matches(event))  # odd values (numbers, objects): no memo
    key = (kind, name)
    found = _MEMO.get(key)
    if found is not None:
        return found
    found = tuple(p for p in PRESETS if p.matches(event))
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()  # event names are open-ended; keep the memo bounded
    _MEMO[key] = found
    return found

