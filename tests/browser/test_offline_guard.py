"""The harness itself: a request to any host but 127.0.0.1 is blocked and recorded."""

from __future__ import annotations

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
