"""A PyScript page installs the destination from Python with one call and delivers through it."""

from __future__ import annotations

from .conftest import open_page


def test_pyscript_install_registers_customer_io_and_delivers(context, sink):
    page = open_page(context, sink, path="/pyscript.html", wait=False)
    page.wait_for_function("() => window.cioPyReady === true", timeout=60_000)
    names = page.evaluate("() => window.analytics.instance.queue.plugins.map(p => p.name)")
    assert "Customer.io" in names
    page.evaluate("() => analytics.track('From PyScript', {via: 'install'}, {messageId: 'py-1'})")
    (entity,) = sink.wait_for(1, timeout=20)
    assert entity["name"] == "From PyScript" and entity["id"] == "py-1"
    assert entity["attributes"]["via"] == "install"
    assert page.errors == []
