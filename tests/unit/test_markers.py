"""``pytest -m browser`` selects the browser tests and only them (a marker that marks nothing selects nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def collected(*args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_minus_m_browser_selects_exactly_the_browser_tests():
    browser = collected("-m", "browser", "tests/browser", "tests/unit/test_policy.py")
    assert browser, "no test is marked browser"
    assert all(t.startswith("tests/browser/") for t in browser)
    assert len(browser) == len(collected("tests/browser"))
    assert collected("-m", "not browser", "tests/browser") == []
