"""A PyScript page installs the destination from Python with one call and delivers through it."""

from __future__ import annotations

from .conftest import open_page


def test_pyscript_install_registers_customer_io_and_delivers(context, sink):
    page = open_page(context, sink, path="/pyscript.html", wait=False)
    page.wait_for_function("() => window.cioPyReady === true", timeout=60_000)
    # install() adds the one plugin implementation (cio-browser.js, data-boot="external") and attaches to it
    page.wait_for_function("() => window.analytics.instance.queue.plugins.some(p => p.name === 'Customer.io')")
    page.wait_for_function("() => window.cioBrowser.bootMode === 'external'")
    page.evaluate("() => analytics.track('From PyScript', {via: 'install'}, {messageId: 'py-1'})")
    (entity,) = sink.wait_for(1, timeout=20)
    assert entity["name"] == "From PyScript" and entity["id"] == "py-1"
    assert entity["attributes"]["via"] == "install"
    assert page.errors == []
