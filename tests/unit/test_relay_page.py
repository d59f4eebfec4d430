"""The page side of the relay: the `relay` setting, what the browser gets, and the facts JS and Python share."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import zipfile
from pathlib import Path

import pytest

from cio_browser.constants import KEEPALIVE_BYTES_BUDGET
from cio_browser.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_relay_setting_sends_everything_through_the_relay_without_credentials():
    s = Settings.from_dict({"relay": "https://www.example.com/cio/"})
    assert s.relay == "https://www.example.com/cio" and s.base_url == "https://www.example.com/cio"
    assert "authorization" not in s.headers()
    assert Settings.from_dict({"relay": "https://www.example.com/cio", "siteId": "s"}).storage_namespace == \
        "cio_browser:v1:s"


def test_relay_setting_refuses_a_key_in_the_page_and_a_second_endpoint():
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({"relay": "https://x.example/cio", "apiKey": "k", "siteId": "s",
                            "endpoint": "https://y.example"})
    text = str(info.value)
    assert "apiKey must not be in the page when relay is set" in text
    assert "set either relay or endpoint" in text
    with pytest.raises(SettingsError, match="relay 'ftp://x' must be an absolute http"):
        Settings.from_dict({"relay": "ftp://x"})


def test_the_pages_raw_event_budget_is_the_keepalive_budget_python_owns():
    js = (ROOT / "www" / "cio-browser.js").read_text()
    match = re.search(r"var RAW_BUDGET = ([0-9 *]+);", js)
    assert match, "RAW_BUDGET not found in cio-browser.js"
    assert eval(match.group(1)) == KEEPALIVE_BYTES_BUDGET  # noqa: S307 - digits and '*' only


def test_no_browser_module_imports_the_relay():
    for path in (ROOT / "cio_browser").rglob("*.py"):
        if "relay" in path.relative_to(ROOT / "cio_browser").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            assert not any("relay" in n.split(".") for n in names), path


def test_the_browser_wheel_does_not_carry_the_relay(tmp_path):
    spec = importlib.util.spec_from_file_location("cio_browser_build_for_relay", ROOT / "build.py")
    build_py = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build_py
    spec.loader.exec_module(build_py)
    warnings: list[str] = []
    wheel, _ = build_py.build_cio_wheel(tmp_path, warnings)
    names = zipfile.ZipFile(wheel).namelist()
    assert "cio_browser/mapping/__init__.py" in names
    assert not [n for n in names if n.startswith("cio_browser/relay/")]
    assert warnings == []
