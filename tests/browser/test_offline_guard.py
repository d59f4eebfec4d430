"""The harness itself: a request to any host but 127.0.0.1 is blocked and recorded."""

from __future__ import annotations

import http.server
import socket
import threading
import urllib.request

import pytest

from .conftest import NOT_LOCAL, Offline, open_page


def test_requests_that_leave_127_0_0_1_are_blocked_and_recorded(browser, sink):
    guard = Offline()
    ctx = browser.new_context()
    ctx.route(NOT_LOCAL, guard.route)
    page = open_page(ctx, sink, wait=False)
    result = page.evaluate("() => fetch('https://track.customer.io/api/v2/entity').then(() => 'sent', e => 'blocked')")
    ctx.close()
    assert result == "blocked"
    assert guard.blocked == ["https://track.customer.io/api/v2/entity"]


SHARED_WORKER_FETCH = """(url) => new Promise((resolve) => {
  const code = `onconnect = (e) => { const port = e.ports[0];
    fetch(${JSON.stringify(url)}, {mode: 'no-cors'})
      .then(() => port.postMessage('sent'), () => port.postMessage('blocked')); };`;
  const worker = new SharedWorker(URL.createObjectURL(new Blob([code], {type: 'text/javascript'})));
  worker.port.onmessage = (e) => resolve(e.data);
})"""


def _outward_address() -> str:
    """This machine's address on its way out (no packet is sent), or a skip where it has none but loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no address but loopback to serve from")
    return address


def test_a_shared_workers_requests_that_leave_127_0_0_1_fail_too(context, sink):
    """Routes do not reach SharedWorkers (cio_browser's worker may be one): the browser's dead proxy stops them.
    Shown with a server this machine really runs, on its own outward address: reachable, but not 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        outward = f"http://{_outward_address()}:{server.server_port}/"
        with urllib.request.urlopen(outward, timeout=5) as answer:   # the server answers this process
            assert answer.status == 200
        page = open_page(context, sink, wait=False)
        assert page.evaluate(SHARED_WORKER_FETCH, outward) == "blocked"
        assert page.evaluate(SHARED_WORKER_FETCH, "https://track.customer.io/api/v2/entity") == "blocked"
        assert page.evaluate(SHARED_WORKER_FETCH, f"{sink.url}/test.html") == "sent"
    finally:
        server.shutdown()
        server.server_close()
