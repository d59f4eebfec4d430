"""The fifteen Customer.io actions as data: field table, default mapping, body builder, API path.

Everything an action needs per event is precomputed here at import (the field list, the default mapping and its
compiled resolvers), so mapping an event does no schema work. ``default_mapping`` is derived from each field's
``default`` rather than restated, so the preset mappings and the field tables cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..constants import ENTITY_PATH, METRICS_PATH
from . import (
    create_update_device,
    create_update_object,
    create_update_person,
    delete_device,
    delete_object,
    delete_person,
    delete_relationship,
    merge_people,
    report_content_event,
    report_delivery_event,
    suppress_person,
    track_event,
    track_page_view,
    track_screen_view,
    unsuppress_person,
)
from .directives import MISSING, MappingError, Resolver, compile_value
from .fields import OBJECT, STRING, Field, Problem, check_field, clean

__all__ = ["ACTIONS", "Action", "CompiledMapping", "compile_action_mapping"]

Build = Callable[[dict[str, Any], "int | None"], Any]


@dataclass(frozen=True)
class CompiledMapping:
    """A mapping bound to an action's fields, in field-definition order (the order errors are reported in).

    ``entries`` pairs each mapped field with its resolver; fields the mapping leaves out are simply absent.
    ``ignored`` lists mapping keys that are not fields of the action: the reference drops them silently
    (Ajv ``removeAdditional``), and so do we, but they are kept here so a debug console can point them out.

    Derived at compile time, for speed: fields mapped to a scalar literal (``convert_timestamp: true``,
    ``batch_size: 50``) are cleaned and validated once per mode into ``static[batch]``; ``dynamic`` holds the
    rest as ``(key, resolver, kind, keeps_empty_string, field)`` where kind 0 = plain string field, 1 = object
    field, 2 = anything needing coercion or checks. A literal that is itself invalid is left dynamic so its
    error is reported in the usual place and order.
    """

    entries: tuple[tuple[Field, Resolver], ...]
    ignored: tuple[str, ...] = ()
    static: tuple[dict[str, Any], dict[str, Any]] = field(init=False, repr=False, compare=False)
    dynamic: tuple[tuple[tuple[Any, ...], ...], tuple[tuple[Any, ...], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        statics: list[dict[str, Any]] = []
        dynamics: list[tuple[tuple[Any, ...], ...]] = []
        for batch in (False, True):
            static: dict[str, Any] = {}
            dynamic: list[tuple[Any, ...]] = []
            for f, resolve in self.entries:
                if getattr(resolve, "literal", MISSING) is not MISSING:
                    value = clean(f, resolve.literal, batch)  # type: ignore[attr-defined]
                    if value is MISSING:
                        continue  # null/"" literal: the field is simply absent
                    problems: list[Problem] = []
                    check_field(f, value, static, problems)
                    if not problems:
                        continue
                kind = 0 if f.type == STRING and f.choices is None else 1 if f.type == OBJECT else 2
                dynamic.append((f.key, resolve, kind, f.keeps_empty_string, f))
            statics.append(static)
            dynamics.append(tuple(dynamic))
        object.__setattr__(self, "static", (statics[0], statics[1]))
        object.__setattr__(self, "dynamic", (dynamics[0], dynamics[1]))


@dataclass(frozen=True)
class Action:
    """One Customer.io action: ``build(payload, now_ms) -> body`` plus the data around it."""

    name: str
    title: str
    fields: tuple[Field, ...]
    build: Build
    #: Path relative to the Track API base: the v2 entity path (batchable) or the v1 metrics path.
    path: str
    #: Whether ``build`` needs the current time (only reportDeliveryEvent does).
    uses_clock: bool = False
    default_mapping: dict[str, Any] = field(init=False, repr=False)
    compiled_default: CompiledMapping = field(init=False, repr=False)
    field_keys: frozenset[str] = field(init=False, repr=False)
    required_keys: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mapping = {f.key: f.default for f in self.fields if f.default is not MISSING}
        object.__setattr__(self, "default_mapping", mapping)
        object.__setattr__(self, "field_keys", frozenset(f.key for f in self.fields))
        object.__setattr__(self, "required_keys", tuple(f.key for f in self.fields if f.required))
        object.__setattr__(self, "compiled_default", compile_action_mapping(self, mapping, f"{self.name}.default"))

    @property
    def batchable(self) -> bool:
        return self.path == ENTITY_PATH


def compile_action_mapping(action: Action, mapping: dict[str, Any], where: str = "mapping") -> CompiledMapping:
    """Compile ``mapping`` (field -> directive) for ``action``; raise :class:`MappingError` naming the field."""
    if not isinstance(mapping, dict):
        raise MappingError([f"{where} must be an object of field -> directive"])
    problems: list[str] = []
    entries: list[tuple[Field, Resolver]] = []
    for f in action.fields:
        if f.key in mapping:
            try:
                entries.append((f, compile_value(mapping[f.key], f"{where}.{f.key}")))
            except MappingError as exc:
                problems.extend(exc.problems)
    if problems:
        raise MappingError(problems)
    ignored = tuple(str(k) for k in mapping if k not in action.field_keys)
    return CompiledMapping(tuple(entries), ignored)


def _action(module: ModuleType, path: str = ENTITY_PATH, uses_clock: bool = False) -> Action:
    return Action(module.NAME, module.TITLE, module.FIELDS, module.build, path, uses_clock)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action(create_update_person),
        _action(track_event),
        _action(track_page_view),
        _action(track_screen_view),
        _action(create_update_device),
        _action(delete_device),
        _action(create_update_object),
        _action(delete_object),
        _action(delete_relationship),
        _action(merge_people),
        _action(delete_person),
        _action(suppress_person),
        _action(unsuppress_person),
        _action(report_delivery_event, METRICS_PATH, uses_clock=True),
        _action(report_content_event),
    )
}
