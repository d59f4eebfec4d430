"""A first visit a site owner can afford (issue 9): what the visitor downloads, when, and what a closed page sends."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NO_OUTLIVING_WORKERS,
    NOT_LOCAL,
    Offline,
    open_page,
    settings_for,
    wait_until,
)

SNAPSHOT_SAVED = """() => new Promise((resolve) => {
  if (window.cioBrowser.snapshotSaved !== undefined) resolve(window.cioBrowser.snapshotSaved);
  addEventListener('cio-browser:snapshot', (e) => resolve(e.detail.saved));
})"""


#: The visitor's snapshot folder in the origin private file system (cio_browser.layout.SNAPSHOT_FOLDER).
FOLDER = """async () => (await navigator.storage.getDirectory()).getDirectoryHandle('cio-browser-snapshot')"""

#: The stored snapshots: name, bytes kept, and the size of the wasm memory they restore (the header's second word).
STORED_SNAPSHOTS = f"""async () => {{
  const folder = await ({FOLDER})();
  const out = [];
  for await (const [name, handle] of folder.entries()) {{
    const buffer = await (await handle.getFile()).arrayBuffer();
    out.push([name, buffer.byteLength, new Uint32Array(buffer, 0, 3)[1]]);
  }}
  return out;
}}"""

#: Replace the stored snapshot: 64 zero bytes, or the real one without its last page.
BREAK_SNAPSHOT = f"""async (how) => {{
  const folder = await ({FOLDER})();
  for await (const [name, handle] of folder.entries()) {{
    const buffer = await (await handle.getFile()).arrayBuffer();
    const broken = how === 'zeros' ? new Uint8Array(64) : new Uint8Array(buffer, 0, buffer.byteLength - 4096);
    const writable = await handle.createWritable();
    await writable.write(broken);
    await writable.close();
  }}
}}"""


def test_first_visit_starts_python_then_the_browser_keeps_a_snapshot_for_the_next_visits(context, sink):
    page = open_page(context, sink)
    assert page.evaluate("() => window.cioBrowser.bootMode") == "worker-start"
    assert page.evaluate(SNAPSHOT_SAVED) is True
    assert not [path for path, _, _ in sink.served if "snapshot" in path], "no snapshot comes from the network"
    ((name, stored, memory),) = page.evaluate(STORED_SNAPSHOTS)
    assert name.endswith(".snapshot"), name
    assert 0 < stored < memory / 2, f"only the non-zero pages are kept: {stored} bytes of a {memory}-byte memory"
    page.close()
    again = open_page(context, sink)
    assert again.evaluate("() => window.cioBrowser.bootMode") == "worker-snapshot"
    again.evaluate("() => analytics.track('Back Again', {}, {messageId: 'm-back'})")
    assert sink.wait_for(1)[0]["id"] == "m-back"
    idle = open_page(context, sink, settings_for(sink, boot="idle"))
    assert idle.evaluate("() => window.cioBrowser.bootMode") == "snapshot"
    assert again.console_errors() == [] and idle.console_errors() == []


#: When the page created the worker (ready mark minus the boot time counted from creation) and when load began.
WORKER_CREATED_VS_LOAD = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('cio-browser:ready')[0].startTime;
  return [ready - window.cioBrowser.bootMs, nav.loadEventStart];
}"""


def test_a_return_visit_starts_its_worker_before_load_and_a_lost_snapshot_puts_it_back_after(context, sink):
    """The page reads the snapshot hint synchronously: a return visit's worker starts while the page loads (it needs
    no network); when the stored snapshot is gone, that boot clears the hint and the next visit waits for load."""
    page = open_page(context, sink)
    assert page.evaluate(SNAPSHOT_SAVED) is True
    assert page.evaluate("() => localStorage.getItem('cio_browser:snapshot')") == "1"
    page.close()
    again = open_page(context, sink)
    assert again.evaluate("() => window.cioBrowser.bootMode") == "worker-snapshot"
    worker_at, load_at = again.evaluate(WORKER_CREATED_VS_LOAD)
    assert worker_at < load_at, (worker_at, load_at)
    again.evaluate("async () => (await navigator.storage.getDirectory()).removeEntry('cio-browser-snapshot', "
                   "{recursive: true})")
    again.close()
    lost = open_page(context, sink)   # the hint still says yes: early worker, but it waits for load to download
    assert lost.evaluate("() => window.cioBrowser.bootMode") == "worker-start"
    assert lost.evaluate("() => localStorage.getItem('cio_browser:snapshot')") is None
    lost.evaluate("() => analytics.track('Still Here', {}, {messageId: 'm-here'})")
    assert sink.wait_for(1)[0]["id"] == "m-here"


#: A worker of the test's own opens the stored snapshot and keeps it open, as another tab restoring it would.
HOLD_SNAPSHOT_OPEN = """() => new Promise((resolve) => {
  const source = `self.onmessage = async () => {
    const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('cio-browser-snapshot');
    self.held = [];
    for await (const [name, file] of folder.entries()) {
      self.held.push(await file.createSyncAccessHandle({mode: 'read-only'}));
    }
    self.postMessage(self.held.length);
  };`;
  window.holder = new Worker(URL.createObjectURL(new Blob([source], {type: 'text/javascript'})));
  window.holder.onmessage = (e) => resolve(e.data);
  window.holder.postMessage(0);
})"""


def test_a_snapshot_another_tab_has_open_still_restores(context, sink):
    """Workers open the stored snapshot read-only, so a tab restoring it never locks another out."""
    page = open_page(context, sink)
    assert page.evaluate(SNAPSHOT_SAVED) is True
    assert page.evaluate(HOLD_SNAPSHOT_OPEN) == 1
    again = open_page(context, sink)
    assert again.evaluate("() => window.cioBrowser.bootMode") == "worker-snapshot"
    assert "not used" not in again.console_text()


@pytest.mark.parametrize("how", ["zeros", "truncated"])
def test_a_broken_stored_snapshot_is_dropped_and_python_starts_normally(context, sink, how):
    page = open_page(context, sink)
    assert page.evaluate(SNAPSHOT_SAVED) is True
    page.evaluate(BREAK_SNAPSHOT, how)
    page.close()
    again = open_page(context, sink)
    assert again.evaluate("() => window.cioBrowser.bootMode") == "worker-start"
    assert "stored memory snapshot not used" in again.console_text()
    again.evaluate("() => analytics.track('Still Works', {}, {messageId: 'm-ok'})")
    assert sink.wait_for(1)[0]["id"] == "m-ok"
    assert again.evaluate(SNAPSHOT_SAVED) is True  # a good one replaces it


#: A 1x1 GIF, and a page image that holds the page's load up (it is added before the document has loaded).
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
SLOW_IMAGE = """document.addEventListener('DOMContentLoaded', () => {
  const image = new Image(); image.src = '/slow-image.gif'; document.body.appendChild(image); });"""


def test_python_downloads_start_after_load_and_come_brotli_compressed(context, sink):
    """On a first visit neither the worker nor anything of Python's is requested before the page's own load has
    ended (a return visit starts the worker at once: its stored snapshot needs no network). Read on the server:
    the worker may be a SharedWorker, whose requests the browser automation does not see. The page's own image
    answers a second late, so that its load ends well after the loader has run."""
    def slow_image(route):
        time.sleep(1.0)
        route.fulfill(status=200, content_type="image/gif", body=GIF)

    context.route("**/slow-image.gif", slow_image)
    context.add_init_script(SLOW_IMAGE)
    page = open_page(context, sink)
    load_end = page.evaluate(
        "() => performance.timeOrigin + performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
    python = [(path.rsplit("/", 1)[-1], coding, at) for path, coding, at in sink.served
              if "/vendor/pyodide-" in path or "/wheels/" in path or "cio-worker" in path]
    assert {name for name, _, _ in python} >= {"pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "cio-worker.mjs"}
    early = {name: round((load_end - at) * 1000) for name, _, at in python if at < load_end}
    assert not early, f"served this many ms before load ended: {early}"
    encodings = {name: coding for name, coding, _ in python}
    stdlib = [coding for path, coding, _ in sink.served if path.rsplit("/", 1)[-1].startswith("cio-stdlib-")]
    assert encodings["pyodide.asm.wasm"] == "br" and stdlib == ["br"], (encodings, stdlib)
    assert not [path for path, _, _ in sink.served
                if path.rsplit("/", 1)[-1] in ("python_stdlib.zip", "pyodide-lock.json", "manifest.json")]


#: The page has started its Python worker (a first visit starts it at `load`).
WORKER_STARTED = "() => window.cioBrowser.workerOutlivesPage !== undefined"

def shared_workers(browser) -> list[str]:
    """The SharedWorkers alive in the browser (Playwright does not list them; the DevTools protocol does)."""
    cdp = browser.new_browser_cdp_session()
    try:
        return [t["url"] for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "shared_worker"]
    finally:
        cdp.detach()


def test_a_visitor_who_leaves_while_python_starts_still_has_their_events_delivered(browser, context, sink):
    """The worker outlives the page (SharedWorker extendedLifetime): it boots, delivers, then ends itself."""
    page = open_page(context, sink, wait=False)
    page.wait_for_function(WORKER_STARTED)
    assert page.evaluate("() => window.cioBrowser.workerOutlivesPage") is True
    page.evaluate("() => analytics.track('Left Early', {plan: 'pro'}, {messageId: 'early-1'})")
    assert page.evaluate("() => window.cioBrowser.bootMode") is None, "left before Python was ready"
    page.goto("about:blank")
    wait_until(lambda: sink.delivered_ids() == ["early-1"], timeout=60)
    entity = sink.entities()[0]
    assert (entity["name"], entity["attributes"]["plan"]) == ("Left Early", "pro")
    # it ended, and gave the delivery lock back: the visitor's next page delivers at once
    wait_until(lambda: shared_workers(browser) == [], timeout=10)
    again = open_page(context, sink, settings_for(sink, flushInterval=0))
    again.evaluate("() => analytics.track('Came Back', {}, {messageId: 'back-1'})")
    wait_until(lambda: "back-1" in sink.delivered_ids(), timeout=10)


#: The inbox keys in the page's localStorage (events stored and not yet confirmed delivered).
STORED_EVENTS = "() => Object.keys(localStorage).filter((k) => k.includes(':in:'))"


def test_the_tabs_next_page_takes_its_worker_over_ready_at_once_and_nothing_goes_twice(browser, context, sink):
    """The worker that delivers for a page that left waits a little for the tab's next page of the site: that page
    is ready without starting Python, and the storage writes the worker made meanwhile (what it delivered) reach
    localStorage, so no later page sends those events again."""
    page = open_page(context, sink, settings_for(sink, flushInterval=30_000))
    page.page.evaluate("() => analytics.track('On A', {}, {messageId: 'a-1'})")
    page.page.wait_for_function(f"() => ({STORED_EVENTS})().length === 1")
    page.page.goto(sink.url + "/test.html?b")   # the batch waited 30 s: the worker sends it as its page leaves
    page.wait_ready()
    assert page.page.evaluate("() => window.cioBrowser.bootMode") == "worker-reused"
    wait_until(lambda: sink.delivered_ids() == ["a-1"] and page.page.evaluate(STORED_EVENTS) == [])
    assert len(shared_workers(browser)) == 1
    page.page.evaluate("() => analytics.track('On B', {}, {messageId: 'b-1'})")
    page.flush()
    page.page.goto(sink.url + "/test.html?c")
    page.wait_ready()
    page.flush()
    assert sink.delivered_ids() == ["a-1", "b-1"]
    assert page.console_errors() == []


def test_a_takeover_while_another_tab_leads_loses_nothing_and_sends_nothing_twice(context, sink):
    """The worker gives the delivery lock back when its page leaves; another tab may lead by the time the tab's
    next page takes the worker over. Events of both tabs are then delivered once, by whichever leads."""
    settings = settings_for(sink, flushInterval=0)
    first = open_page(context, sink, settings)
    first.page.evaluate("() => analytics.track('First', {}, {messageId: 'first-1'})")
    wait_until(lambda: sink.delivered_ids() == ["first-1"])
    second = open_page(context, sink, settings)
    first.page.goto(sink.url + "/test.html?next")
    first.wait_ready()
    assert first.page.evaluate("() => window.cioBrowser.bootMode") == "worker-reused"
    first.page.evaluate("() => analytics.track('Next', {}, {messageId: 'next-1'})")
    second.page.evaluate("() => analytics.track('Second', {}, {messageId: 'second-1'})")
    wait_until(lambda: sorted(sink.delivered_ids()) == ["first-1", "next-1", "second-1"])
    leaders = [first.stats()["leader"], second.stats()["leader"]]
    assert sorted(leaders) == [False, True], leaders
    first.page.wait_for_timeout(500)
    assert sorted(sink.delivered_ids()) == ["first-1", "next-1", "second-1"]
    wait_until(lambda: first.page.evaluate(STORED_EVENTS) == [])


def test_the_tabs_next_page_tries_refused_credentials_again_as_a_reload_did(context, sink):
    """Refused credentials pause delivery until a reload; a page that takes the worker over counts as one."""
    page = open_page(context, sink, settings_for(sink, apiKey="wrong-key"))
    page.page.evaluate("() => analytics.track('Refused', {}, {messageId: 'r-1'})")
    wait_until(lambda: [r.status for r in sink.requests] == [401])
    page.page.goto(sink.url + "/test.html?again")
    page.wait_ready()
    assert page.page.evaluate("() => window.cioBrowser.bootMode") == "worker-reused"
    wait_until(lambda: [r.status for r in sink.requests] == [401, 401])
    assert any("credentials" in e for e in page.console_errors())
    assert len(page.page.evaluate(STORED_EVENTS)) == 1


def test_a_duplicated_tab_or_other_settings_get_a_worker_of_their_own(browser, context, sink):
    """A duplicated tab copies sessionStorage, and with it the worker's name; a page of the tab with other settings
    asks for the same name. Neither may take over a worker that serves another page or other settings: each starts
    its own, and what it tracked while it asked is delivered."""
    first = open_page(context, sink)
    name = first.page.evaluate("() => sessionStorage.getItem('cio_browser:worker')")
    assert name
    twin = context.new_page()
    twin.add_init_script(f"window.cioBrowserSettings = {json.dumps(settings_for(sink))};"
                         f"sessionStorage.setItem('cio_browser:worker', {json.dumps(name)});")
    twin.set_default_timeout(60_000)
    twin.goto(sink.url + "/test.html")
    twin.evaluate("() => analytics.track('From Twin', {}, {messageId: 'twin-1'})")
    twin.evaluate("() => window.cioBrowser.ready")
    assert twin.evaluate("() => window.cioBrowser.bootMode") != "worker-reused"
    assert twin.evaluate("() => sessionStorage.getItem('cio_browser:worker')") != name
    twin.evaluate("() => window.cioBrowser.flush()")
    first.page.evaluate("() => analytics.track('From First', {}, {messageId: 'first-1'})")
    first.flush()
    wait_until(lambda: sorted(sink.delivered_ids()) == ["first-1", "twin-1"])
    assert len(shared_workers(browser)) == 2
    # the first tab's next page uses other settings: it starts a worker of its own too
    first.page.add_init_script(f"window.cioBrowserSettings = {json.dumps(settings_for(sink, flushInterval=0))};")
    first.page.goto(sink.url + "/test.html?other-settings")
    first.wait_ready()
    assert first.page.evaluate("() => window.cioBrowser.bootMode") != "worker-reused"
    first.page.evaluate("() => analytics.track('Other Settings', {}, {messageId: 'other-1'})")
    wait_until(lambda: "other-1" in sink.delivered_ids())
    assert sorted(sink.delivered_ids()) == ["first-1", "other-1", "twin-1"]


#: Counts the page's restores from the back/forward cache.
RESTORES = ("addEventListener('pageshow', (e) => { "
            "if (e.persisted) window.__restored = (window.__restored || 0) + 1; });")
READY_MARKS = "() => performance.getEntriesByName('cio-browser:ready').length"


def test_a_page_in_the_back_forward_cache_lets_the_next_page_deliver_and_starts_anew_when_restored(browser, sink):
    """Playwright turns the back/forward cache off; this browser has it, as a visitor's does. A worker that
    outlives its page would otherwise hold the delivery lock from the cache, and the next page never leads."""
    with_cache = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             ignore_default_args=["--disable-back-forward-cache"])
    guard = Offline()
    try:
        ctx = with_cache.new_context()
        ctx.route(NOT_LOCAL, guard.route)
        ctx.add_init_script(RESTORES)
        page = open_page(ctx, sink)
        assert page.evaluate("() => window.cioBrowser.workerOutlivesPage") is True
        page.evaluate("() => analytics.track('On A', {}, {messageId: 'a-1'})")
        wait_until(lambda: "a-1" in sink.delivered_ids())
        page.goto(sink.url + "/test.html?next")
        page.wait_ready()
        page.evaluate("() => analytics.track('On B', {}, {messageId: 'b-1'})")
        wait_until(lambda: "b-1" in sink.delivered_ids(), timeout=10)
        page.go_back(wait_until="commit")
        page.wait_for_function("() => window.__restored === 1")
        page.wait_for_function(f"() => ({READY_MARKS})() === 2")   # a new worker for the restored page
        page.evaluate("() => analytics.track('Back On A', {}, {messageId: 'a-2'})")
        wait_until(lambda: "a-2" in sink.delivered_ids(), timeout=10)
        assert page.console_errors() == []
    finally:
        with_cache.close()
    assert not guard.blocked, guard.blocked


def test_an_opt_out_while_python_starts_reaches_the_worker_before_any_event(context, sink):
    page = open_page(context, sink, wait=False)
    page.wait_for_function(WORKER_STARTED)
    page.evaluate("() => analytics.track('Before Opt Out', {}, {messageId: 'gone-1'})")
    page.evaluate("() => window.cioBrowser.optOut()")
    page.wait_ready()
    page.evaluate("() => window.cioBrowser.flush()")
    page.wait_for_timeout(300)
    assert sink.delivered_ids() == []
    assert page.stats()["stored"] == 0


def test_worker_mode_page_sends_mapped_events_itself_when_closed(context, sink):
    """Where workers die with the page, the worker hands the page the ready bodies; on pagehide the page sends
    them (keepalive)."""
    context.add_init_script(NO_OUTLIVING_WORKERS)
    page = open_page(context, sink, settings_for(sink, flushInterval=30_000))
    assert page.evaluate("() => window.cioBrowser.workerOutlivesPage") is False
    page.evaluate("() => analytics.track('Leaving Soon', {plan: 'pro'}, {messageId: 'leave-1'})")
    page.wait_for_timeout(500)  # mapped in the worker, handed to the page; the batch waits 30 s
    assert sink.delivered_ids() == []
    page.goto("about:blank")
    wait_until(lambda: sink.delivered_ids() == ["leave-1"], timeout=10)
    entity = sink.entities()[0]
    assert (entity["name"], entity["attributes"]["plan"]) == ("Leaving Soon", "pro")
    # at-least-once: whatever the page could not see confirmed goes again from the next page, with the same id
    page.goto(sink.url + "/test.html")
    page.wait_ready()
    page.evaluate("() => window.cioBrowser.flush()")
    assert set(sink.delivered_ids()) == {"leave-1"}


def test_a_module_trimmed_from_the_standard_library_fails_loudly(context, sink):
    page = open_page(context, sink, settings_for(sink, boot="eager"))
    error = page.evaluate("""() => {
      try { window.cioBrowser.pyodide.runPython('import xml.dom.minidom'); return null; }
      catch (e) { return String(e.message); }
    }""")
    assert "the standard-library module 'xml' is not in cio_browser's trimmed standard library" in error
    assert "stdlib-modules.txt" in error
    assert any("trimmed standard library" in e for e in page.console_errors())


def test_python_runs_bytecode_built_by_pyodide_not_source(context, sink):
    """The standard library and cio_browser come as .pyc: a first visit compiles no Python source."""
    page = open_page(context, sink, settings_for(sink, boot="eager"))
    origins = page.evaluate("""() => window.cioBrowser.pyodide.runPython(
      'import sys\\n' +
      '[m.__spec__.origin for n, m in sorted(sys.modules.items()) if getattr(m, "__spec__", None) and ' +
      '(m.__spec__.origin or "").endswith((".py", ".pyc"))]').toJs()""")
    assert any(o.endswith("/cio_browser/browser.pyc") for o in origins), origins
    assert any(o.endswith("/json/__init__.pyc") for o in origins), origins
    assert [o for o in origins if o.endswith(".py")] == []
