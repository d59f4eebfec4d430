"""The storage layout is defined once (cio_browser/layout.py) and handed to the JS glue by build.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import build
from cio_browser import layout
from cio_browser.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GLUE = ROOT / "www" / "cio-browser.js"


def test_the_glue_spells_no_part_of_the_layout_itself():
    text = GLUE.read_text(encoding="utf-8")
    for fact in (layout.PREFIX, layout.INBOX, layout.OPTOUT, layout.UNSERIALIZABLE, "'proxy'", "site_id"):
        assert fact not in text, f"www/cio-browser.js hard-codes {fact!r}: take it from LAYOUT"
    assert text.count(build.LAYOUT_PLACEHOLDER) == 1


def test_build_writes_python_s_layout_into_the_glue(tmp_path):
    glue = tmp_path / "cio-browser.js"
    glue.write_text(GLUE.read_text(encoding="utf-8"), encoding="utf-8")
    build.write_storage_layout(glue)
    (written,) = re.findall(r"var LAYOUT = (\{.*?\});", glue.read_text(encoding="utf-8"))
    assert json.loads(written) == layout.for_glue()


def test_a_glue_without_the_placeholder_is_a_build_error(tmp_path):
    glue = tmp_path / "cio-browser.js"
    glue.write_text("var LAYOUT = {};", encoding="utf-8")
    with pytest.raises(build.BuildError):
        build.write_storage_layout(glue)


@pytest.mark.parametrize(("raw", "ns"), [
    ({"siteId": " abc "}, "cio_browser:v1:abc"),
    ({"site_id": "abc"}, "cio_browser:v1:abc"),
    ({"siteId": 42}, "cio_browser:v1:42"),
    ({"endpoint": "https://x.example/cio"}, "cio_browser:v1:proxy"),
    ({"siteId": "   ", "endpoint": "https://x.example/cio"}, "cio_browser:v1:proxy"),
])
def test_the_namespace_of_raw_settings_is_the_one_valid_settings_use(raw, ns):
    assert layout.namespace_of(raw) == ns
    assert Settings.from_dict({**raw, "apiKey": "k"}).storage_namespace == ns


def test_invalid_settings_still_name_a_namespace():
    assert layout.namespace_of(None) == "cio_browser:v1:proxy"
    assert layout.namespace_of({"siteId": " s ", "batchSize": 0}) == "cio_browser:v1:s"


def test_layout_keys_round_trip():
    key = layout.inbox_key("cio_browser:v1:s", 1_700_000_000_000, 5, 0.5)
    assert key.startswith("cio_browser:v1:s:in:") and layout.created_ms(key) == 1_700_000_000_000
    assert layout.site_of(key) == "s" and layout.site_of("cio_browser:v1: s :optout") == " s "
    assert layout.site_of("other:key") is None
