"""The tag works before analytics.js has loaded (snippet stub) and events queued there are delivered."""

from __future__ import annotations

import pytest

from .conftest import open_page, wait_until


def test_tag_before_analytics_loads_registers_through_the_snippet_stub(context, sink):
    page = open_page(context, sink, path="/snippet.html")
    wait_until(lambda: page.evaluate("() => !!(window.analytics && window.analytics.queue)"))
    names = page.evaluate("() => window.analytics.queue.plugins.map(p => p.name)")
    assert "Customer.io" in names
    entities = sink.wait_for(2, timeout=20)
    by_action = {e["action"]: e for e in entities}
    assert by_action["identify"]["identifiers"] == {"id": "snippet-user"}
    assert by_action["identify"]["attributes"]["email"] == "snip@example.org"
    assert by_action["event"]["name"] == "Queued By The Stub"
    assert page.console_errors() == []


# With boot "worker" this is best effort (the worker may be stopped before it sends); the events stay stored
# and go from the next page either way, which test_delivery's reload test covers.
@pytest.mark.parametrize("boot", ["idle"])
def test_events_waiting_for_a_batch_are_sent_when_the_page_is_left(context, sink, boot):
    from .conftest import settings_for

    page = open_page(context, sink, settings_for(sink, flushInterval=30_000, boot=boot))
    page.evaluate("() => analytics.track('Leaving Soon', {}, {messageId: 'leave-1'})")
    page.wait_for_timeout(300)
    assert sink.delivered_ids() == []
    page.goto("about:blank")
    wait_until(lambda: sink.delivered_ids() == ["leave-1"], timeout=10)
