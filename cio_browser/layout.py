"""The browser-storage layout, defined once: Python owns it, the JS glue is handed it at build time.

The page's glue (www/cio-browser.js) must store events synchronously, long before Python runs, so it needs the
layout as data: ``build.py`` writes :func:`for_glue` into the built ``cio-browser.js`` (it replaces the
``{/*CIO_STORAGE_LAYOUT*/}`` placeholder), and the glue derives every key from that object and nothing else.

Keys (``<ns>`` is :func:`namespace`, e.g. ``cio_browser:v1:site123``):

* ``<ns>:in:<time36>-<seq36>-<rand36>``  a kept event, exactly the JSON analytics.js handed over
* ``<ns>:meta:<suffix>``                how often the event's items were tried (survives a reload)
* ``<ns>:aside:<suffix>:<item|x|eN>``     a set-aside record (reason, message, field, rule, the whole event)
* ``<ns>:backoff``                      the queue's retry state: consecutive failures, next attempt time
* ``<ns>:optout``                       ``"1"`` when the visitor opted out (``cioBrowser.optOut()``)
* ``<ns>:sender``                       the Web Lock name: the tab holding it delivers
* ``cio_browser:snapshot``              (no namespace) ``"1"`` while a memory snapshot is stored: a boot hint
* ``cio_browser:worker``                (``sessionStorage``, no namespace) the name of this tab's Python worker

An event the glue cannot serialise is stored as ``{UNSERIALIZABLE: "<field>: <problem>", "event": …}``.
"""

from __future__ import annotations

from typing import Any

#: Every key of every workspace on the origin starts with this (a new layout gets a new version).
PREFIX = "cio_browser:v1:"
#: The namespace of settings without a site ID (a proxy endpoint that adds the credentials).
NO_SITE = "proxy"
#: Setting names, in precedence order, that hold the site ID (the first present and not null counts; a number is
#: written as JavaScript writes it: :func:`cio_browser.settings.namespace_of`).
SITE_KEYS = ("siteId", "site_id")
INBOX = ":in:"
META = ":meta:"
ASIDE = ":aside:"
BACKOFF = ":backoff"
OPTOUT = ":optout"
LOCK = ":sender"
#: Marker member of an event the glue could not serialise (cyclic reference, BigInt).
UNSERIALIZABLE = "__cio_unserializable"
#: The folder of the origin private file system (OPFS) that keeps the visitor's memory snapshot (www/cio-boot.mjs).
SNAPSHOT_FOLDER = "cio-browser-snapshot"
#: ``"1"`` while this browser holds a snapshot for the page (set when one is saved or restored, removed when a boot
#: found none). Only a hint, read synchronously (asking storage itself takes 150-200 ms): with it the page starts
#: the worker at once, without it at ``load``; the worker itself checks the snapshot and waits for ``load`` before
#: any download. Outside ``PREFIX``, so no namespace scan ever reads it as events.
SNAPSHOT_HINT = "cio_browser:snapshot"
#: ``sessionStorage`` key (one value per tab, kept across the tab's navigations) holding the name of the tab's
#: SharedWorker: the tab's next page of this site asks for the worker by that name and, while the worker still
#: delivers for the page that left, takes it over instead of starting Python again
#: (:meth:`cio_browser.browser.BrowserDestination.page_back`).
WORKER_NAME = "cio_browser:worker"
#: Widths of the zero-padded base-36 parts of an inbox key: creation ms, page sequence, random suffix.
KEY_DIGITS = (9, 4, 6)


def namespace(site_id: str | None) -> str:
    """``cio_browser:v1:<site>``: two workspaces on one origin never share a queue. Surrounding spaces do not
    count (settings strip them), so ``" abc "`` and ``"abc"`` are one workspace."""
    site = (site_id or "").strip()
    return PREFIX + (site or NO_SITE)


def site_of(key: str) -> str | None:
    """The site part of any layout key (``"proxy"`` for the no-site namespace), or None for a foreign key."""
    if not key.startswith(PREFIX):
        return None
    rest = key[len(PREFIX):]
    for marker in (INBOX, META, ASIDE):
        if marker in rest:
            return rest.split(marker, 1)[0]
    for suffix in (BACKOFF, OPTOUT, LOCK):
        if rest.endswith(suffix):
            return rest[: -len(suffix)]
    return None


def inbox_key(ns: str, now_ms: float, seq: int, rand: float) -> str:
    """Key of a new event: sorts by creation time, then by order within the page that stored it."""
    t, s, r = KEY_DIGITS
    return f"{ns}{INBOX}{_b36(int(now_ms)).rjust(t, '0')}-{_b36(seq).rjust(s, '0')}-{_b36(int(rand * 36**r))}"


def created_ms(key: str) -> float | None:
    """Creation time encoded in an inbox key, or None if the key is not one."""
    try:
        return float(int(key.rsplit(":", 1)[1].split("-", 1)[0], 36))
    except (IndexError, ValueError):
        return None


def suffix(key: str) -> str:
    """The part of a key after the last ``:`` (what meta and aside keys of an event share)."""
    return key.rsplit(":", 1)[-1]


def for_glue() -> dict[str, Any]:
    """What the JS glue needs, as JSON-ready data (written into the built cio-browser.js by build.py)."""
    return {"prefix": PREFIX, "noSite": NO_SITE, "siteKeys": list(SITE_KEYS), "inbox": INBOX, "optout": OPTOUT,
            "unserializable": UNSERIALIZABLE, "keyDigits": list(KEY_DIGITS), "snapshotFolder": SNAPSHOT_FOLDER,
            "snapshotHint": SNAPSHOT_HINT, "workerName": WORKER_NAME}


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
