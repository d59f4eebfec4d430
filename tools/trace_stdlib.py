#!/usr/bin/env python3
"""List the standard-library files the real destination imports in Pyodide (writes ``stdlib-modules.txt``).

Why: the page downloads Pyodide's whole ``python_stdlib.zip`` (2.5 MB) although cio_browser needs a fraction of
it. build.py ships only the files listed in ``stdlib-modules.txt``; this script finds them by running the real
destination on the *full* standard library in Chromium (both boot modes, every call type, Classic mode, retries
with Retry-After, a rejected batch, bad settings and bad events) and reading ``sys.modules`` afterwards. The whole
browser test suite then runs on the trimmed zip, and an import of a module that was trimmed away fails loudly
(see ``STDLIB_GUARD`` in build.py).

Usage: ``PYTHONPATH=. python3 tools/trace_stdlib.py [SITE]`` (default ``dist``, built by build.py). It adds to the
list (the trimmed zip the site serves is replaced by Pyodide's full one for the run), so rerun it after adding
code that imports more of the standard library; the browser tests fail loudly when a module is missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cio_browser.sink import Sink  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

EXERCISE = """async () => {
  const ts = new Date('2023-06-01T08:00:00.000Z');
  await analytics.identify('u1', {email: 'a@example.org', created_at: '2023-06-01T08:00:00Z', when: ts});
  await analytics.track('Signed Up', {plan: 'Pro', at: 'June 1, 2023 8:00 PM', n: 1.5, list: [1, 2]});
  await analytics.page('Docs', {title: 'x'});
  await analytics.screen('Home');
  await analytics.group('g1', {name: 'Acme', objectTypeId: '1'});
  await analytics.alias('u2', 'u1');
  await analytics.track('Report Delivery Event', {deliveryId: 'd1', metric: 'opened'});
  await analytics.track('Report Content Event', {actionType: 'viewed_content', contentId: 1});
  await analytics.track('Application Installed', {}, {context: {device: {token: 't1', type: 'ios'}}});
  await analytics.track('Device Deleted', {}, {context: {device: {token: 't1'}}});
  await analytics.track('User Deleted');
  await analytics.track('Relationship Deleted', {objectId: 'o1'});
  await analytics.track('Object Deleted', {objectId: 'o1'});
  await analytics.track('User Suppressed');
  await analytics.track('User Unsuppressed');
  await analytics.track('Bad', {x: 1e400, y: '\\ud800'});
  const cyc = {}; cyc.self = cyc;
  await analytics.track('Cyclic', {cyc});
  await window.cioBrowser.flush();
  await window.cioBrowser.stats();
  await window.cioBrowser.setAside();
}"""

DUMP = """import sys
mods = sorted({getattr(m, '__file__', None) or '' for m in list(sys.modules.values())})
"""


def run(page, url: str, settings: dict) -> None:
    page.add_init_script(f"window.cioBrowserSettings = {json.dumps(settings)};")
    page.goto(url)
    page.evaluate("() => window.cioBrowser.ready")
    page.evaluate(EXERCISE)


def main() -> int:
    from playwright.sync_api import sync_playwright

    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    manifest = json.loads((site / "manifest.json").read_text())
    trimmed = site / manifest["stdlib"].lstrip("/")
    full = site / manifest["pyodide"].strip("/") / "python_stdlib.zip"
    # Run on the full standard library (served under the trimmed one's name), plus the guard module.
    import shutil
    import zipfile
    for variant in trimmed.parent.glob(trimmed.name + ".*"):
        variant.unlink()
    guard = manifest["stdlib_guard"] + ".py"
    with zipfile.ZipFile(trimmed) as zf:
        guard_source = zf.read(guard)
    shutil.copyfile(full, trimmed)
    with zipfile.ZipFile(trimmed, "a") as zf:
        zf.writestr(guard, guard_source.replace(b"TRIMMED = frozenset(", b"TRIMMED = frozenset() or frozenset(", 1))
    previous = set(ln for ln in (ROOT / "stdlib-modules.txt").read_text().splitlines() if ln and not ln.startswith("#"))
    files: set[str] = set()
    with Sink(root=str(site), site_id="s", api_key="k", port=0) as sink, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for extra in ({"mode": "actions"}, {"mode": "classic"}, {"mode": "actions", "batching": False},
                      {"mode": "actions", "flushInterval": 50}):
            sink.fail_next(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
            sink.fail_next(429, headers={"Retry-After": "0"})
            sink.fail_next(400, body={"errors": [{"batch_index": 0, "reason": "bad", "field": "x"}]})
            page = browser.new_context().new_page()
            run(page, sink.url + "/test.html", {"siteId": "s", "apiKey": "k", "endpoint": sink.url,
                                                 "boot": "eager", "debug": True, **extra})
            page.evaluate("() => window.cioBrowser.pyodide.runPython(`" + DUMP + "`)")
            got = page.evaluate("() => window.cioBrowser.pyodide.globals.get('mods').toJs()")
            files.update(got)
            page.context.close()
        bad = browser.new_context().new_page()
        run(bad, sink.url + "/test.html", {"siteId": 5, "batchSize": 0, "boot": "eager",
                                            "subscriptions": [{"action": "x", "subscribe": "type = ", "mapping": {}}]})
        bad.evaluate("() => window.cioBrowser.pyodide.runPython(`" + DUMP + "`)")
        files.update(bad.evaluate("() => window.cioBrowser.pyodide.globals.get('mods').toJs()"))
        browser.close()
    prefix = "/lib/python314.zip/"
    kept = sorted(previous | {f[len(prefix):] for f in files if f.startswith(prefix) and not f.endswith(guard)})
    header = (__doc__ or "").strip().splitlines()[0]
    text = f"# {header}\n# Regenerate: PYTHONPATH=. python3 tools/trace_stdlib.py\n" + "\n".join(kept) + "\n"
    (ROOT / "stdlib-modules.txt").write_text(text, encoding="utf-8")
    print(f"{len(kept)} standard-library files -> stdlib-modules.txt ({len(set(kept) - previous)} new); rebuild")
    return 0


if __name__ == "__main__":
    sys.exit(main())
