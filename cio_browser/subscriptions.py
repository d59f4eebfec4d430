"""Subscription triggers: the small expression language that decides which events an action receives.

Segment writes triggers such as ``type = "track" and event != "User Deleted"`` (docs/mapping.md §2); a site
owner's custom subscriptions use the same language. An expression is parsed **once** into a tree of closures,
so matching an event is a handful of dict look-ups and comparisons (no regex, no re-parsing per event).

Grammar (keywords ``and``, ``or``, ``not``, ``contains``, ``exists``, ``true``, ``false``, ``null`` are
case-insensitive; field names are case-sensitive)::

    expression := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*                  -- "and" binds tighter than "or"
    unary      := ("not" | "!") unary | "(" expression ")" | condition
    condition  := path "=" literal | path "!=" literal
                | path ["not"] "contains" literal | "contains" "(" path "," literal ")"
                | path "exists" | path "not" "exists"
    path       := root ("." segment)*                   -- segments only under properties/traits/context
    root       := type | event | name | category | userId | anonymousId | groupId | previousId
                | messageId | properties | traits | context
    segment    := [A-Za-z0-9_$-]+ | "quoted segment"
    literal    := "double-quoted string" | number | true | false | null

Semantics (Segment FQL's, chosen so that the presets behave as the reference's do):

* ``=`` is JavaScript strict equality: exact, case-sensitive strings; numbers compare numerically (property
  ``5`` equals literal ``5`` and ``5.0``, but not ``"5"``); booleans only equal booleans; ``null`` matches a
  member that is present with value null.
* A **missing** path never equals anything, so ``event = "X"`` is false for an identify.
* ``!=`` is the negation of ``=``: ``event != "X"`` is **true** when the event has no ``event`` member. (The
  Track Event preset only works because it also requires ``type = "track"``.)
* ``contains``: substring test when both sides are strings; membership (strict equality) when the path
  holds an array; false otherwise, including when the path is missing.
* ``exists``: the path is present and not null.

Syntax errors raise :class:`SubscriptionSyntaxError` naming the 0-based position and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["ALWAYS", "FIELDS", "Subscription", "SubscriptionSyntaxError", "parse_subscription"]

Predicate = Callable[[Any], bool]

#: Top-level event members a trigger may test. The last three are objects and take sub-paths.
FIELDS: tuple[str, ...] = (
    "type", "event", "name", "category", "userId", "anonymousId", "groupId", "previousId", "messageId",
    "properties", "traits", "context",
)  # fmt: skip
_OBJECT_FIELDS = frozenset({"properties", "traits", "context"})
_MAX_DEPTH = 64  # nesting of parentheses / "not"; keeps recursion far below Pyodide's stack limit


class SubscriptionSyntaxError(ValueError):
    """A trigger expression does not parse. ``position`` is the 0-based character index of the problem,
    ``expected`` says what the parser wanted there, ``source`` is the expression."""

    def __init__(self, expected: str, position: int, source: str):
        self.expected = expected
        self.position = position
        self.source = source
        super().__init__(f"{expected} at position {position} in {source!r}")


class Subscription:
    """A parsed trigger: call it with an event dict to get True/False.

    ``source`` is the expression text; ``fields`` the top-level event members it reads (callers may memoise
    matches on just those members).
    """

    __slots__ = ("source", "fields", "_match")

    def __init__(self, source: str, match: Predicate, fields: frozenset[str] = frozenset()):
        self.source = source
        self.fields = fields
        self._match = match

    def __call__(self, event: Any) -> bool:
        return self._match(event)

    def __repr__(self) -> str:
        return f"Subscription({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subscription) and other.source == self.source and other._match is self._match

    def __hash__(self) -> int:
        return hash(self.source)


#: Matches every event: what an action subscribes to when its ``subscribe`` is None.
ALWAYS = Subscription("", lambda event: True)


# -------------------------------------------------------------------------------------------------------
# Compiled building blocks
# -------------------------------------------------------------------------------------------------------
class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _getter(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """A function returning the value at ``path`` in an event, or ``_MISSING``."""
    if len(path) == 1:
        (key,) = path

        def get_one(event: Any) -> Any:
            return event.get(key, _MISSING) if isinstance(event, dict) else _MISSING

        return get_one

    def get_deep(event: Any) -> Any:
        value = event
        for seg in path:
            if isinstance(value, dict):
                value = value.get(seg, _MISSING)
            elif isinstance(value, list) and seg.isdigit() and seg.isascii():
                i = int(seg)
                value = value[i] if i < len(value) else _MISSING
            else:
                return _MISSING
            if value is _MISSING:
                return value
        return value

    return get_deep


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _equals_literal(literal: Any) -> Callable[[Any], bool]:
    """JavaScript ``actual === literal`` for a literal of the expression language."""
    if isinstance(literal, str):
        return lambda actual: isinstance(actual, str) and actual == literal
    if literal is None:
        return lambda actual: actual is None
    if isinstance(literal, bool):
        return lambda actual: actual is literal
    return lambda actual: _is_number(actual) and actual == literal


def _compile_compare(path: tuple[str, ...], op: str, literal: Any) -> Predicate:
    get = _getter(path)
    if op == "exists":
        return lambda event: get(event) not in (_MISSING, None)
    if op == "not exists":
        return lambda event: get(event) in (_MISSING, None)
    eq = _equals_literal(literal)
    if isinstance(literal, str):
        # The hot path for every preset: for JSON values, `==` with a str is true only for an equal str.
        if op == "=":
            return lambda event: get(event) == literal
        if op == "!=":
            return lambda event: get(event) != literal
    if op == "=":
        return lambda event: eq(get(event))
    if op == "!=":
        return lambda event: not eq(get(event))

    def contains(event: Any) -> bool:
        actual = get(event)
        if isinstance(actual, str):
            return isinstance(literal, str) and literal in actual
        if isinstance(actual, list):
            return any(eq(item) for item in actual)
        return False

    if op == "contains":
        return contains
    return lambda event: not contains(event)  # "not contains"


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        a, b = parts
        return lambda event: a(event) and b(event)
    return lambda event: all(p(event) for p in parts)


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        a, b = parts
        return lambda event: a(event) or b(event)
    return lambda event: any(p(event) for p in parts)


# -------------------------------------------------------------------------------------------------------
# Parser (recursive descent over the characters; positions are character indexes)
# -------------------------------------------------------------------------------------------------------
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_SEGMENT_CHARS = _WORD_CHARS | {"-"}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OPERATORS_HINT = "an operator (=, !=, contains, not contains, exists, not exists)"
_FIELDS_HINT = "a field (" + ", ".join(FIELDS[:-3]) + ", or a path under properties., traits., context.)"


class _Parser:
    def __init__(self, source: str):
        self.s = source
        self.i = 0
        self.depth = 0
        self.fields: set[str] = set()

    # -- low level --------------------------------------------------------------------------------------
    def fail(self, expected: str, at: int | None = None) -> SubscriptionSyntaxError:
        return SubscriptionSyntaxError(expected, self.i if at is None else at, self.s)

    def skip_ws(self) -> None:
        s, i = self.s, self.i
        while i < len(s) and s[i].isspace():
            i += 1
        self.i = i

    def peek_word(self) -> str:
        """The identifier-like word at the cursor (after whitespace), without consuming it."""
        self.skip_ws()
        s, j = self.s, self.i
        while j < len(s) and s[j] in _WORD_CHARS:
            j += 1
        return s[self.i : j]

    def take_keyword(self, keyword: str) -> bool:
        word = self.peek_word()
        if word.lower() == keyword:
            self.i += len(word)
            return True
        return False

    def take_char(self, ch: str) -> bool:
        self.skip_ws()
        if self.s.startswith(ch, self.i):
            self.i += len(ch)
            return True
        return False

    def at_end(self) -> bool:
        self.skip_ws()
        return self.i >= len(self.s)

    # -- grammar ----------------------------------------------------------------------------------------
    def parse(self) -> Predicate:
        if self.at_end():
            raise self.fail("expected a condition")
        pred = self.expression()
        if not self.at_end():
            raise self.fail("expected 'and', 'or' or the end of the expression")
        return pred

    def expression(self) -> Predicate:
        parts = [self.and_expr()]
        while self.take_keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else _any(parts)

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.take_keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _all(parts)

    def unary(self) -> Predicate:
        self.skip_ws()
        start = self.i
        if self.i >= len(self.s):
            raise self.fail("expected a condition")
        negate = self.take_keyword("not") or (
            self.s.startswith("!", self.i) and not self.s.startswith("!=", self.i) and self.take_char("!")
        )
        if negate or self.take_char("("):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail(f"expression nested deeper than {_MAX_DEPTH} levels", start)
            if negate:
                inner = self.unary()
                self.depth -= 1
                return lambda event: not inner(event)
            inner = self.expression()
            if not self.take_char(")"):
                raise self.fail("expected ')'")
            self.depth -= 1
            return inner
        if self.peek_word().lower() == "contains":
            save = self.i
            self.i += len("contains")
            if self.take_char("("):
                return self.contains_call()
            self.i = save
        return self.condition()

    def contains_call(self) -> Predicate:
        path = self.path()
        if not self.take_char(","):
            raise self.fail("expected ','")
        literal = self.literal()
        if not self.take_char(")"):
            raise self.fail("expected ')'")
        return _compile_compare(path, "contains", literal)

    def condition(self) -> Predicate:
        path = self.path()
        self.skip_ws()
        if self.take_char("!="):
            return _compile_compare(path, "!=", self.literal())
        if self.take_char("="):
            return _compile_compare(path, "=", self.literal())
        if self.take_keyword("contains"):
            return _compile_compare(path, "contains", self.literal())
        if self.take_keyword("exists"):
            return _compile_compare(path, "exists", None)
        save = self.i
        if self.take_keyword("not"):
            if self.take_keyword("contains"):
                return _compile_compare(path, "not contains", self.literal())
            if self.take_keyword("exists"):
                return _compile_compare(path, "not exists", None)
            self.skip_ws()
            raise self.fail("expected 'contains' or 'exists'")
        self.i = save
        self.skip_ws()
        raise self.fail("expected " + _OPERATORS_HINT)

    def path(self) -> tuple[str, ...]:
        self.skip_ws()
        start = self.i
        root = self.peek_word()
        if root not in FIELDS:
            if not root and self.s.startswith('"', self.i):
                raise self.fail("expected " + _FIELDS_HINT + " (field names are not quoted)")
            what = f"unknown field {root!r}; " if root else ""
            raise self.fail(what + "expected " + _FIELDS_HINT, start)
        self.i += len(root)
        segments = [root]
        while self.i < len(self.s) and self.s[self.i] == ".":
            if root not in _OBJECT_FIELDS:
                raise self.fail(f"'{root}' has no sub-fields; expected an operator")
            self.i += 1
            if self.s.startswith('"', self.i):
                segments.append(self.string())
                continue
            j = self.i
            while j < len(self.s) and self.s[j] in _SEGMENT_CHARS:
                j += 1
            if j == self.i:
                raise self.fail("expected a field name after '.'")
            segments.append(self.s[self.i : j])
            self.i = j
        self.fields.add(root)
        return tuple(segments)

    def literal(self) -> Any:
        self.skip_ws()
        s, i = self.s, self.i
        if i >= len(s):
            raise self.fail("expected a quoted string")
        ch = s[i]
        if ch == '"':
            return self.string()
        if ch == "-" or ch.isdigit():
            return self.number()
        word = self.peek_word()
        lowered = word.lower()
        if lowered in ("true", "false", "null"):
            self.i += len(word)
            return {"true": True, "false": False, "null": None}[lowered]
        if ch == "'":
            raise self.fail('expected a quoted string (strings use double quotes: "…")')
        raise self.fail("expected a quoted string")

    def string(self) -> str:
        s = self.s
        start = self.i
        i = start + 1
        out: list[str] = []
        while True:
            if i >= len(s):
                raise self.fail('unterminated string (expected a closing ")', start)
            ch = s[i]
            if ch == '"':
                self.i = i + 1
                return "".join(out)
            if ch == "\\":
                if i + 1 >= len(s):
                    raise self.fail('unterminated string (expected a closing ")', start)
                esc = s[i + 1]
                if esc in _ESCAPES:
                    out.append(_ESCAPES[esc])
                    i += 2
                    continue
                if esc == "u":
                    hexdigits = s[i + 2 : i + 6]
                    if len(hexdigits) == 4 and all(c in "0123456789abcdefABCDEF" for c in hexdigits):
                        out.append(chr(int(hexdigits, 16)))
                        i += 6
                        continue
                    raise self.fail("expected 4 hex digits after \\u", i)
                raise self.fail('expected a valid escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t, \\uXXXX)', i)
            out.append(ch)
            i += 1

    def number(self) -> int | float:
        s, start = self.s, self.i
        i = start
        if i < len(s) and s[i] == "-":
            i += 1
        digits_start = i
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        if i == digits_start:
            raise self.fail("expected a quoted string", start)
        is_float = False
        if i < len(s) and s[i] == ".":
            j = i + 1
            while j < len(s) and s[j].isascii() and s[j].isdigit():
                j += 1
            if j == i + 1:
                raise self.fail("expected digits after '.'", j)
            i, is_float = j, True
        if i < len(s) and s[i] in "eE":
            j = i + 1
            if j < len(s) and s[j] in "+-":
                j += 1
            k = j
            while k < len(s) and s[k].isascii() and s[k].isdigit():
                k += 1
            if k == j:
                raise self.fail("expected an exponent", k)
            i, is_float = k, True
        if i < len(s) and s[i] in _WORD_CHARS:
            raise self.fail("expected a quoted string", start)
        self.i = i
        text = s[start:i]
        return float(text) if is_float else int(text)


@lru_cache(maxsize=256)
def parse_subscription(expr: str) -> Subscription:
    """Parse a trigger expression into a callable :class:`Subscription` (cached: identical expressions share
    one compiled object). Raises :class:`SubscriptionSyntaxError` with the position of the first problem."""
    if not isinstance(expr, str):
        raise TypeError(f"a subscription must be a string, got {type(expr).__name__}")
    parser = _Parser(expr)
    match = parser.parse()
    return Subscription(expr, match, frozenset(parser.fields))
