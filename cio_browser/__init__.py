"""cio_browser: Segment analytics.js destination for Customer.io, mapped in Python (CPython or Pyodide).

The public surface is small on purpose: settings, the mapping entry point and the plugin factory. Everything
that touches the browser lives in :mod:`cio_browser.browser` and is imported lazily, so ``import cio_browser``
works under plain CPython.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidEvent
from .mapping import map_event, requests_for
from .request import Item, Request
from .settings import Settings, SettingsError

__version__ = "0.1.0"

__all__ = [
    "InvalidEvent",
    "Item",
    "Request",
    "Settings",
    "SettingsError",
    "__version__",
    "install",
    "map_event",
    "requests_for",
]


def install(settings: Any, analytics: Any = None) -> Any:
    """Register the ``Customer.io`` destination with analytics.js from Python (PyScript pages).

    ``settings`` is a dict (or :class:`Settings`); ``analytics`` defaults to ``window.analytics``.
    Returns the running destination so callers can flush or inspect it.
    """
    from .browser import install as _install

    return _install(settings, analytics)
