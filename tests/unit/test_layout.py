"""The storage layout is defined once (cio_browser/layout.py) and handed to the JS glue by build.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import build
from cio_browser import layout
from cio_browser.settings import Settings, SettingsError, namespace_of

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
    assert namespace_of(raw) == ns
    assert Settings.from_dict({**raw, "apiKey": "k"}).storage_namespace == ns


#: Settings JSON as a page carries it -> the namespace both sides must store and read under. The glue parses the text
#: with JSON.parse and writes a number as String(number) does; Python gets the same text through json.loads (or a
#: dict from PyScript's install()), where 1.0 is a float and str(1.0) is "1.0": the page's events were orphans.
SITE_CASES = [
    ('{"siteId": "abc"}', "abc"),
    ('{"siteId": " abc "}', "abc"),
    ('{"site_id": "abc"}', "abc"),
    ('{"siteId": 42}', "42"),
    ('{"siteId": 1.0}', "1"),
    ('{"site_id": 7.0}', "7"),
    ('{"siteId": 42.50}', "42.5"),
    ('{"siteId": -0.0}', "0"),
    ('{"siteId": 1e16}', "10000000000000000"),
    ('{"siteId": 1e21}', "1e+21"),
    ('{"siteId": 0.000001}', "0.000001"),
    ('{"siteId": 1.5e-7}', "1.5e-7"),
    ('{"siteId": 12345678901234567890}', "12345678901234567000"),   # a double in JavaScript
    ('{"siteId": 1e400}', "Infinity"),
    ('{"siteId": null, "site_id": "b"}', "b"),                      # null counts as absent
    ('{"siteId": null, "site_id": 3.0}', "3"),
    ('{"siteId": "", "site_id": "b"}', "proxy"),                    # the first one present counts, even empty
    ('{"siteId": "   "}', "proxy"),
    ('{"siteId": true}', "proxy"),
    ('{"siteId": ["a"]}', "proxy"),
    ('{"siteId": {"id": "a"}}', "proxy"),
    ('{"endpoint": "https://x.example/cio"}', "proxy"),
    ("{}", "proxy"),
]


@pytest.mark.parametrize(("text", "site"), SITE_CASES)
def test_python_names_the_namespace_the_glue_stores_under(text, site):
    raw = json.loads(text)
    ns = layout.PREFIX + site
    assert namespace_of(raw) == ns
    try:
        settings = Settings.from_dict(raw)
    except SettingsError:   # not a site ID at all (true, a list): the settings are refused, namespace_of() counts
        assert site == layout.NO_SITE
    else:
        assert settings.storage_namespace == ns


def _glue_namespace_function() -> str:
    (fn,) = re.findall(r"\n(  function namespace\(s\) \{\n.*?\n  \})\n", GLUE.read_text(encoding="utf-8"), re.S)
    return fn


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_glue_names_the_namespace_python_does():
    """www/cio-browser.js's own namespace(), run with the layout build.py writes into it, on the same JSON."""
    script = (f"var LAYOUT = {json.dumps(build.storage_layout())};\n{_glue_namespace_function()}\n"
              "var texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
              "process.stdout.write(JSON.stringify(texts.map(function (t) { return namespace(JSON.parse(t)); })));")
    texts = [text for text, _ in SITE_CASES]
    out = subprocess.run(["node", "-e", script], input=json.dumps(texts), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert dict(zip(texts, json.loads(out.stdout), strict=True)) == {
        text: namespace_of(json.loads(text)) for text in texts}
    assert json.loads(out.stdout) == [layout.PREFIX + site for _, site in SITE_CASES]


def test_invalid_settings_still_name_a_namespace():
    assert namespace_of(None) == "cio_browser:v1:proxy"
    assert namespace_of({"siteId": " s ", "batchSize": 0}) == "cio_browser:v1:s"


def test_layout_keys_round_trip():
    key = layout.inbox_key("cio_browser:v1:s", 1_700_000_000_000, 5, 0.5)
    assert key.startswith("cio_browser:v1:s:in:") and layout.created_ms(key) == 1_700_000_000_000
    assert layout.site_of(key) == "s" and layout.site_of("cio_browser:v1: s :optout") == " s "
    assert layout.site_of("other:key") is None
