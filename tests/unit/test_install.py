"""``cio_browser.install()`` (PyScript pages) under CPython, with a stand-in for Pyodide's ``js`` module.

The browser test (tests/browser/test_pyscript.py) proves a real page delivers; this pins what install() does with
the settings it is given, which needs no browser: a :class:`Settings` works like the dict it was made from, and
the API key never reaches the page's DOM (the glue's ``data-settings`` attribute).
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

import cio_browser
from cio_browser.settings import Settings

API_KEY = "very-secret-key"


class _Storage:
    """``window.localStorage``."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def getItem(self, key: str) -> str | None:  # noqa: N802 (the DOM's spelling)
        return self.data.get(key)

    def setItem(self, key: str, value: str) -> None:  # noqa: N802
        self.data[key] = value

    def removeItem(self, key: str) -> None:  # noqa: N802
        self.data.pop(key, None)


class _Target:
    """A DOM node: listeners, a ``dataset``, children."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)
        self.dataset = types.SimpleNamespace()
        self.children: list[Any] = []

    def addEventListener(self, name: str, fn: Any) -> None:  # noqa: N802
        pass

    def appendChild(self, child: Any) -> None:  # noqa: N802
        self.children.append(child)


class _Console:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda message: self.lines.append((level, str(message)))


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A fake ``js`` (and ``pyodide.ffi``) for one page at https://shop.example, without Web Locks."""
    js = types.ModuleType("js")
    js.localStorage = _Storage()
    js.Object = types.SimpleNamespace(keys=lambda ls: types.SimpleNamespace(to_py=lambda: list(ls.data)),
                                      fromEntries=dict)
    js.location = types.SimpleNamespace(origin="https://shop.example")
    js.console = _Console()
    js.navigator = types.SimpleNamespace(locks=None, onLine=True)
    js.window = _Target()
    js.document = _Target(head=_Target(), visibilityState="visible", createElement=lambda tag: _Target(tag=tag))
    js.Date = types.SimpleNamespace(now=lambda: 1_700_000_000_000)
    js.Math = types.SimpleNamespace(random=lambda: 0.5)
    js.setTimeout = lambda fn, ms: None
    js.clearTimeout = lambda handle: None
    ffi = types.ModuleType("pyodide.ffi")
    ffi.create_proxy = ffi.create_once_callable = lambda fn: fn
    ffi.to_js = lambda value, **kw: value
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi
    monkeypatch.setitem(sys.modules, "js", js)
    monkeypatch.setitem(sys.modules, "pyodide", pyodide)
    monkeypatch.setitem(sys.modules, "pyodide.ffi", ffi)
    return js


def _glue_settings(js: types.ModuleType) -> dict[str, Any]:
    (script,) = js.document.head.children
    assert script.dataset.boot == "external"
    return json.loads(script.dataset.settings)


@pytest.mark.parametrize("given", [
    Settings(site_id="site-1", api_key=API_KEY),
    Settings.from_dict({"siteId": "site-1", "apiKey": API_KEY, "versionSettings": {}, "batchSize": 20}),
], ids=["constructed", "parsed"])
def test_install_takes_a_settings_object_like_the_dict_it_was_made_from(page, given):
    dest = cio_browser.install(given)
    assert dest.error is None and dest.engine is not None, dest.error
    assert dest.settings == given and dest.settings.api_key == API_KEY
    assert dest.engine.ns == "cio_browser:v1:site-1"
    glue = _glue_settings(page)
    assert Settings.from_dict(glue).storage_namespace == dest.engine.ns   # the glue stores where Python reads
    assert API_KEY not in json.dumps(glue)
    assert not [line for line in page.console.lines if line[0] == "error"]


def test_install_with_a_dict_keeps_the_api_key_out_of_the_page(page):
    dest = cio_browser.install({"siteId": "site-1", "apiKey": API_KEY, "enabled": True})
    assert dest.error is None and dest.settings.api_key == API_KEY
    assert _glue_settings(page) == {"siteId": "site-1", "enabled": True}


def test_install_reports_unusable_settings_objects_like_dicts(page):
    dest = cio_browser.install(Settings(site_id="site-1"))   # no key, no proxy: nothing could be delivered
    assert dest.engine is None and "apiKey is required" in dest.error
    assert ("error", dest.error + ". Events are kept in this browser and sent once the settings are fixed.") \
        in page.console.lines
