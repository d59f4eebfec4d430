"""The mapping directive language (`@path`, `@if`, `@template`, `@literal`, literals, nested objects).

A mapping is compiled once into small closures (`compile_value` / `compile_mapping`), so mapping an event is a
handful of dict lookups rather than a walk over the directive tree. Semantics follow Segment's mapping-kit, the
reference's resolver (docs/mapping.md §3.1):

* ``@path`` strips the first ``$.`` and walks ``a.b[0].c``. A step into a JavaScript-falsy value (``null``,
  ``""``, ``0``, ``false``) yields that value itself (JavaScript's ``a && a[k]``), a missing step yields
  :data:`MISSING` ("undefined"). Values are returned unchanged, never copied.
* ``@if`` tests ``exists`` (holds unless undefined/null; ``""`` exists) or ``blank`` (also fails on values that
  loosely equal ``""``). ``then`` is used when defined; ``else`` only when its *raw* mapping value is truthy,
  exactly as mapping-kit's ``!condition && opts.else`` does.
* ``@template`` replaces ``{{{ path }}}`` and then ``{{ path }}`` (paths without ``$.``) with JavaScript's string
  form of the value; missing/null render as ``""``. No HTML escaping.
* A plain object resolves member by member and drops undefined members; an array resolves element-wise, an
  undefined element becoming ``null`` (what ``JSON.stringify`` writes).

An invalid directive (unknown name, wrong operand type, several directives in one object) raises
:class:`MappingError` at compile time, naming where it is, so a site owner's override fails when the settings
are read rather than on some later event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import MappingError
from ..jsvalues import js_truthy, template_render_value

__all__ = [
    "MISSING",
    "DirectiveRuntimeError",
    "MappingError",
    "Resolver",
    "compile_mapping",
    "compile_value",
    "get_path",
    "parse_path",
    "real_type_of",
    "render_template",
]


class _Missing:
    """JavaScript's ``undefined``: a field that resolved to nothing. Distinct from ``None`` (JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

#: A compiled mapping value: event -> value, or MISSING.
Resolver = Callable[[Any], Any]



_DIRECTIVE_NAME = re.compile(r"@[a-z][a-zA-Z0-9]+", re.ASCII)
_PATH_SEGMENT = re.compile(r"[^\[.\]]+")
_TRIPLE = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE = re.compile(r"\{\{([^}]+)\}\}")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_SUPPORTED = ("@path", "@if", "@template", "@literal")
#: What JavaScript's String.prototype.trim removes (WhiteSpace and LineTerminator); Python's strip() differs.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


# ---- paths -----------------------------------------------------------------------------------------------
def parse_path(path: str) -> tuple[str, ...] | None:
    """Split a mapping-kit path into steps; ``()`` means the root, ``None`` a path with no steps at all.

    ``$.`` is removed once (mapping-kit does ``path.replace('$.', '')``), then ``a.b[0]`` -> ``('a','b','0')``.
    """
    if path in ("", "."):
        return ()
    steps = _PATH_SEGMENT.findall(path)
    return tuple(steps) if steps else None


def _js_length(value: str) -> int:
    """JavaScript string length counts UTF-16 code units (an emoji is 2)."""
    return len(value.encode("utf-16-le")) // 2


def _member(obj: Any, key: str) -> Any:
    """``obj[key]`` as JavaScript reads it, for the JSON types an event holds."""
    if isinstance(obj, dict):
        return obj.get(key, MISSING)
    if isinstance(obj, (list, tuple)):
        if key == "length":
            return len(obj)
        if _ARRAY_INDEX.fullmatch(key):
            i = int(key)
            return obj[i] if i < len(obj) else MISSING
        return MISSING
    if isinstance(obj, str):
        if key == "length":
            return _js_length(obj)
        if _ARRAY_INDEX.fullmatch(key) and obj.isascii():
            i = int(key)
            return obj[i] if i < len(obj) else MISSING
        return MISSING
    return MISSING


def get_path(obj: Any, steps: tuple[str, ...] | None) -> Any:
    """Walk ``steps`` from ``obj`` with JavaScript's ``prev && prev[key]`` semantics (see module doc)."""
    if steps is None:
        return MISSING
    cur = obj
    for key in steps:
        if type(cur) is dict:  # the common case, kept tight: the mapping runs for every event
            cur = cur.get(key, MISSING)
            continue
        if cur is MISSING or not js_truthy(cur):
            return cur
        cur = _member(cur, key)
    return cur


# ---- templates -------------------------------------------------------------------------------------------
def _render_one(data: Any, inner: str) -> str:
    value = get_path(data, parse_path(inner.strip(JS_WHITESPACE)))
    return template_render_value(None if value is MISSING else value)


def render_template(template: str, data: Any) -> str:
    """mapping-kit's placeholder rendering: triple braces first, then double braces, over the result."""
    if "{{" not in template:
        return template
    out = _TRIPLE.sub(lambda m: _render_one(data, m.group(1)), template)
    return _DOUBLE.sub(lambda m: _render_one(data, m.group(1)), out)


class _PathRef:
    """A precompiled ``{{ path }}`` placeholder."""

    __slots__ = ("steps",)

    def __init__(self, steps: tuple[str, ...] | None):
        self.steps = steps


def _compile_template(template: str) -> Resolver:
    if "{{" not in template:
        return lambda _event: template
    if "{{{" in template:  # rare: needs the two-pass rescan, so render at run time
        return lambda event: render_template(template, event)
    # Only {{ }} placeholders: one pass over the template, so literal/placeholder parts can be precomputed.
    parts: list[str | _PathRef] = []
    pos = 0
    for m in _DOUBLE.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        parts.append(_PathRef(parse_path(m.group(1).strip(JS_WHITESPACE))))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    frozen = tuple(parts)

    def render(event: Any) -> str:
        out = []
        for part in frozen:
            if type(part) is str:
                out.append(part)
            else:
                value = get_path(event, part.steps)  # type: ignore[union-attr]
                out.append(template_render_value(None if value is MISSING else value))
        return "".join(out)

    return render


# ---- compilation -----------------------------------------------------------------------------------------
def real_type_of(value: Any) -> str:
    """mapping-kit's realTypeOf, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _copy_static(value: Any) -> Any:
    """Fresh containers for a literal object/array, so no two events ever share (and mutate) one."""
    if isinstance(value, dict):
        return {k: _copy_static(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy_static(v) for v in value]
    return value


def _loosely_blank(value: Any) -> bool:
    """JavaScript's ``value == ''`` for a defined, non-null value (used by ``@if`` with ``blank``)."""
    if isinstance(value, str):
        return value == ""
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (list, tuple)):
        return template_render_value(value) == ""
    return False


def _directive_key(obj: dict[str, Any], where: str) -> str | None:
    """The directive name if ``obj`` is a directive object, None for a plain object; raises when mixed."""
    names = [k for k in obj if isinstance(k, str) and k.startswith("@")]
    if not names:
        return None
    others = [k for k in obj if not (isinstance(k, str) and k.startswith("@")) and k != "_metadata"]
    if others:
        raise MappingError([f"{where}: an object cannot mix a directive ({names[0]}) with plain keys "
                            f"({', '.join(map(str, others))})"])
    if len(names) > 1:
        raise MappingError([f"{where}: only one directive per object, got {', '.join(names)}"])
    return names[0]


def compile_value(mapping: Any, where: str = "mapping") -> Resolver:
    """Compile one mapping value into ``event -> value | MISSING``; raise :class:`MappingError` if invalid."""
    if isinstance(mapping, dict):
        name = _directive_key(mapping, where)
        if name is None:
            return _compile_object(mapping, where)
        return _compile_directive(name, mapping[name], f"{where}.{name}")
    if isinstance(mapping, (list, tuple)):
        return _compile_array(list(mapping), where)
    if mapping is None or isinstance(mapping, (str, bool, int, float)):

        def literal(_event: Any) -> Any:
            return mapping

        literal.literal = mapping  # type: ignore[attr-defined]  # lets a mapping pre-validate literals once
        return literal
    raise MappingError([f"{where}: {type(mapping).__name__} is not a JSON value"])


def _compile_object(mapping: dict[str, Any], where: str) -> Resolver:
    members = [(k, compile_value(v, f"{where}.{k}")) for k, v in mapping.items()]
    if all(_has_static_value(v) for v in mapping.values()):
        literal = dict(mapping)

        def static_object(_event: Any) -> Any:
            return _copy_static(literal)

        return static_object

    def resolve_object(event: Any) -> Any:
        out = {}
        for key, resolve in members:
            value = resolve(event)
            if value is not MISSING:
                out[key] = value
        return out

    return resolve_object


def _compile_array(items: list[Any], where: str) -> Resolver:
    elements = [compile_value(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if all(_has_static_value(v) for v in items):

        def static_array(_event: Any) -> Any:
            return _copy_static(items)

        return static_array

    def resolve_array(event: Any) -> Any:
        out = []
        for resolve in elements:
            value = resolve(event)
            out.append(None if value is MISSING else value)
        return out

    return resolve_array


def _has_static_value(value: Any) -> bool:
    """True when ``value`` holds no directive anywhere (so it resolves to itself)."""
    if isinstance(value, dict):
        if any(isinstance(k, str) and k.startswith("@") for k in value):
            return False
        return all(_has_static_value(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_has_static_value(v) for v in value)
    return True


def _compile_directive(name: str, operand: Any, where: str) -> Resolver:
    if not _DIRECTIVE_NAME.fullmatch(name):
        raise MappingError([f"{where}: {name!r} is not a valid directive name"])
    if name == "@path":
        return _compile_string_directive(name, operand, where, _path_resolver, _dynamic_path)
    if name == "@template":
        return _compile_string_directive(name, operand, where, _compile_template, render_template)
    if name == "@if":
        return _compile_if(operand, where)
    if name == "@literal":
        return compile_value(operand, where)
    raise MappingError([f"{where}: {name} is not supported here (supported: {', '.join(_SUPPORTED)})"])


def _path_resolver(path: str) -> Resolver:
    steps = parse_path(path.replace("$.", "", 1))
    if steps is not None and len(steps) == 1:
        (key,) = steps

        def one_step(event: Any) -> Any:
            if type(event) is dict:
                return event.get(key, MISSING)
            return get_path(event, steps)

        return one_step

    def walk(event: Any) -> Any:
        return get_path(event, steps)

    return walk


def _dynamic_path(path: str, event: Any) -> Any:
    return get_path(event, parse_path(path.replace("$.", "", 1)))


class DirectiveRuntimeError(ValueError):
    """A dynamic ``@path``/``@template`` operand resolved to a non-string (mapping-kit throws here too)."""


def _compile_string_directive(
    name: str,
    operand: Any,
    where: str,
    static: Callable[[str], Resolver],
    dynamic: Callable[[str, Any], Any],
) -> Resolver:
    """``@path``/``@template`` take a string, or a directive that resolves to one when the event is mapped."""
    if isinstance(operand, str):
        return static(operand)
    if isinstance(operand, dict) and _directive_key(operand, where) is not None:
        inner = compile_value(operand, where)

        def resolve_dynamic(event: Any) -> Any:
            value = inner(event)
            if not isinstance(value, str):
                raise DirectiveRuntimeError(
                    f"{name}: expected string, got {'undefined' if value is MISSING else real_type_of(value)}"
                )
            return dynamic(value, event)

        return resolve_dynamic
    raise MappingError([f"{where}: {name} expects a string, got {real_type_of(operand)}"])


def _compile_if(operand: Any, where: str) -> Resolver:
    if not isinstance(operand, dict):
        raise MappingError([f'{where}: @if requires an object with an "exists" key'])
    exists_raw = operand.get("exists", MISSING)
    blank_raw = operand.get("blank", MISSING)
    truthy_exists = exists_raw is not MISSING and js_truthy(exists_raw)
    truthy_blank = blank_raw is not MISSING and js_truthy(blank_raw)
    if not truthy_exists and not truthy_blank:
        raise MappingError([f'{where}: @if requires an "exists" key or a "blank" key'])
    unknown = sorted(set(operand) - {"exists", "blank", "then", "else"})
    if unknown:
        raise MappingError([f"{where}: @if has unknown key(s) {', '.join(map(repr, unknown))}"])
    use_exists = exists_raw is not MISSING
    test = compile_value(exists_raw if use_exists else blank_raw, f"{where}.{'exists' if use_exists else 'blank'}")
    then_raw = operand.get("then", MISSING)
    else_raw = operand.get("else", MISSING)
    then = compile_value(then_raw, f"{where}.then") if then_raw is not MISSING else None
    # mapping-kit: `else if (!condition && opts.else)`: a falsy raw `else` ("", 0, false, null) is never used.
    otherwise = (
        compile_value(else_raw, f"{where}.else")
        if else_raw is not MISSING and js_truthy(else_raw)
        else None
    )

    if use_exists:

        def resolve_if(event: Any) -> Any:
            value = test(event)
            if value is not MISSING and value is not None:
                return then(event) if then is not None else MISSING
            return otherwise(event) if otherwise is not None else MISSING

        return resolve_if

    def resolve_if_blank(event: Any) -> Any:
        value = test(event)
        if value is not MISSING and value is not None and not _loosely_blank(value):
            return then(event) if then is not None else MISSING
        return otherwise(event) if otherwise is not None else MISSING

    return resolve_if_blank


def compile_mapping(mapping: dict[str, Any], where: str = "mapping") -> dict[str, Resolver]:
    """Compile a whole mapping (field -> mapping value) into field -> resolver, in the mapping's key order."""
    if not isinstance(mapping, dict):
        raise MappingError([f"{where} must be an object of field -> directive, got {real_type_of(mapping)}"])
    return {key: compile_value(value, f"{where}.{key}") for key, value in mapping.items()}
