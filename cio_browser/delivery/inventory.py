"""What is kept in browser storage, for any namespace: pure reads over :class:`.storage.Storage`.

Used when there is no engine (the settings are invalid: ``stats()`` and ``setAside()`` still tell the site owner
what is kept) and by the engine to find *orphans*: events stored under a namespace the current settings do not
use (the siteId changed, or the glue and Python spelled it differently). Orphans of the same site (a spelling
difference) are adopted and delivered; orphans of another site are only reported, never sent to this one.
"""

from __future__ import annotations

import json
from typing import Any

from .. import layout
from .storage import Storage


class Inventory:
    """Reads the storage of one origin as seen from namespace ``ns``."""

    def __init__(self, storage: Storage, ns: str):
        self.storage = storage
        self.ns = ns

    def inbox(self) -> list[str]:
        return self.storage.keys(self.ns + layout.INBOX)

    def foreign_inboxes(self) -> dict[str, list[str]]:
        """Inbox keys of every *other* namespace on the origin, by namespace."""
        out: dict[str, list[str]] = {}
        for key in self.storage.keys(layout.PREFIX):
            site = layout.site_of(key)
            if site is None or layout.INBOX not in key:
                continue
            ns = layout.PREFIX + site
            if ns != self.ns:
                out.setdefault(ns, []).append(key)
        return out

    def same_site(self, ns: str) -> bool:
        """Whether ``ns`` is this namespace spelled differently (e.g. a siteId stored with spaces)."""
        return layout.namespace(ns[len(layout.PREFIX):]) == self.ns

    def orphans(self) -> dict[str, list[str]]:
        """Inbox keys of other sites: kept, reported, never delivered with these settings."""
        return {ns: keys for ns, keys in self.foreign_inboxes().items() if not self.same_site(ns)}

    def strays(self) -> list[str]:
        """Inbox keys of this site under another spelling of its namespace: to be delivered."""
        return [k for ns, keys in self.foreign_inboxes().items() if self.same_site(ns) for k in keys]

    def aside_records(self) -> list[dict[str, Any]]:
        records = []
        for key in self.storage.keys(self.ns + layout.ASIDE):
            try:
                record = json.loads(self.storage.get(key) or "")
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def orphan_records(self) -> list[dict[str, Any]]:
        """One set-aside-style record per orphaned event (reason ``orphaned``), with the whole event."""
        out = []
        for ns, keys in self.orphans().items():
            site = ns[len(layout.PREFIX):]
            for key in keys:
                out.append({"id": key, "key": key, "index": None, "reason": "orphaned", "label": "stored event",
                            "message": f"stored for site {site!r}, which the current settings do not use; it is "
                                       "kept and sent by a page whose settings name that site",
                            "action": None, "field": None, "rule": "namespace", "status": None,
                            "at": layout.created_ms(key), "event": self.storage.get(key)})
        return out

    def counts(self) -> dict[str, Any]:
        """``stored`` (events waiting here), ``orphaned`` (by namespace) and ``set_aside`` (by reason)."""
        by_reason: dict[str, int] = {}
        for record in self.aside_records():
            reason = str(record.get("reason"))
            by_reason[reason] = by_reason.get(reason, 0) + 1
        return {"stored": len(self.inbox()) + len(self.strays()),
                "orphaned": {ns: len(keys) for ns, keys in self.orphans().items()},
                "set_aside": by_reason}

    def records(self) -> list[dict[str, Any]]:
        return sorted([*self.aside_records(), *self.orphan_records()],
                      key=lambda r: (r.get("at") or 0, str(r.get("key"))))
