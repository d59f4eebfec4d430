"""Where the reference implementation is defective, cio_browser keeps its own behaviour on purpose.

Each case is listed in the README's "Fidelity" section and in docs/mapping.md §12. The reference runs in
JavaScript, where some keys of event data are special; here they are ordinary keys.
"""

from __future__ import annotations

from cio_browser import requests_for
from cio_browser.request import encode

T = "2023-06-01T08:00:00Z"


def body(event: dict, **kw) -> dict:
    (request,) = requests_for(event, {}, **kw)
    return request.body


def test_a_proto_key_is_kept_and_mapped_like_any_other_key():
    """The reference drops "__proto__" (and an object under it can replace the prototype, which stops the date
    conversion inside it). We keep the key, and dates inside it are converted like anywhere else."""
    got = body({"type": "track", "event": "E", "userId": "u", "properties": {"__proto__": {"at": T}, "plan": "x"}})
    assert got["attributes"] == {"__proto__": {"at": 1685606400}, "plan": "x"}
    got = body({"type": "identify", "userId": "u", "traits": {"__proto__": "p", "a": T}})
    assert got["attributes"] == {"__proto__": "p", "a": 1685606400}


def test_to_string_and_value_of_keys_map_normally():
    """An object with a ``toString``/``valueOf`` key makes the reference's @template throw; we render it as
    JavaScript renders any plain object, and keep the keys as data."""
    event = {"type": "track", "event": "E", "userId": "u",
             "properties": {"toString": "x", "valueOf": 1, "at": T}}
    assert body(event)["attributes"] == {"toString": "x", "valueOf": 1, "at": 1685606400}
    name = {"@template": "{{properties}}|{{properties.toString}}"}
    template = [{"action": "trackEvent", "mapping": {"id": {"@path": "$.userId"}, "name": name}}]
    assert body(event, subscriptions=template)["name"] == "[object Object]|x"


def test_numbers_of_1e21_and_more():
    """The same JSON value however written. What we emit: a number stays the number it was in the event (a float
    such as 1e21, which is what JSON.stringify hands us in the browser, is written ``1e+21`` exactly as the
    reference writes it; an integer given as digits keeps its digits); on a string field it becomes JavaScript's
    string form, ``"1e+21"``, whichever way it was written."""
    got = body({"type": "track", "event": "E", "userId": 10**21, "properties": {"f": 1e21, "i": 10**21}})
    assert got["identifiers"] == {"id": "1e+21"}
    assert encode(got["attributes"]) == '{"f":1e+21,"i":1000000000000000000000}'
    assert body({"type": "track", "event": "E", "userId": 1e21})["identifiers"] == {"id": "1e+21"}
    assert body({"type": "track", "event": "E", "userId": 1.5e300})["identifiers"] == {"id": "1.5e+300"}
