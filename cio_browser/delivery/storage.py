"""Where kept events live: a tiny key/value protocol, with an in-memory version for tests and CPython.

In the browser the backend is ``localStorage`` (see :mod:`cio_browser.browser`): synchronous, shared by the
tabs of one origin and still writable during ``pagehide`` — the three things "never lose an event" needs.
"""

from __future__ import annotations

from typing import Protocol


class Storage(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> bool:
        """Store; False when the backend refused (quota): the caller keeps the value in memory instead."""
        ...
    def remove(self, key: str) -> None: ...
    def keys(self, prefix: str) -> list[str]: ...


class MemoryStorage:
    """A dict with the Storage protocol; ``quota`` (bytes of values) lets tests provoke QuotaExceeded."""

    def __init__(self, quota: int | None = None):
        self.data: dict[str, str] = {}
        self.quota = quota

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> bool:
        if self.quota is not None:
            used = sum(len(v) for k, v in self.data.items() if k != key)
            if used + len(value) > self.quota:
                return False
        self.data[key] = value
        return True

    def remove(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))
