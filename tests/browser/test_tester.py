"""The Event Tester (the demo's main page) driven as a site owner would: keyboard and mouse, in headless Chromium.

Each test reads what the page shows (its rendered text / accessibility tree, at the moment a screenshot is
taken; the PNGs are kept under pytest's tmp dir) and checks it against what the local endpoint really received.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cio_browser.settings import Settings, SettingsError

from .conftest import API_KEY, BOOT_TIMEOUT_MS, SITE_ID, Page, wait_until

SETTINGS_KEY = "cio-tester:settings"


def _segment_format_supported() -> bool:
    """Segment's {partnerAction, name, enabled, subscribe, mapping} is parsed by Settings (helper `mapping`)."""
    try:
        Settings.from_dict({"siteId": "s", "apiKey": "k", "subscriptions": [
            {"partnerAction": "trackEvent", "name": "x", "enabled": True, "subscribe": 'type = "track"',
             "mapping": {"name": {"@path": "$.event"}}}]})
    except (SettingsError, ValueError):
        return False
    return True


def open_tester(context: Any, sink: Any, settings: dict[str, Any] | None = None, *, viewport: Any = None) -> Page:
    """The tester at ``/`` with settings for this test's endpoint (stored once, as the tester's Apply stores them;
    a reload keeps whatever the test applies later)."""
    page = Page(context.new_page())
    if viewport:
        page.page.set_viewport_size(viewport)
    chosen = settings or {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": "/"}
    page.page.add_init_script(
        f"if (!localStorage.getItem({json.dumps(SETTINGS_KEY)})) "
        f"localStorage.setItem({json.dumps(SETTINGS_KEY)}, {json.dumps(json.dumps(chosen))});")
    page.page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(sink.url + "/")
    wait_booted(page)
    return page


def wait_booted(page: Page) -> None:
    page.wait_for_function("() => document.getElementById('status').textContent.includes('Python ready')")


def shot(page: Page, tmp_path: Path, name: str, *expected: str) -> str:
    """Screenshot now (PNG under tmp_path) and check the page's visible text and accessibility tree."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.locator("body").inner_text()
    tree = page.locator("main").aria_snapshot()
    for wanted in expected:
        assert wanted in text, f"{wanted!r} not shown; page text: {text[:3000]}"
    assert API_KEY not in text and API_KEY not in tree and API_KEY not in page.content()
    return text


def choose(page: Page, call_type: str, label: str) -> None:
    page.select_option("#call-type", call_type)
    page.select_option("#example", label=label)


def latest_call(page: Page) -> Any:
    return page.locator("#calls > li.call").first


def wait_text(locator: Any, text: str, timeout: float = 30.0) -> str:
    return wait_until(lambda: text in locator.inner_text() and locator.inner_text(), timeout=timeout)


def test_build_an_event_and_see_the_linked_request_and_answer(context, sink, tmp_path):
    page = open_tester(context, sink, viewport={"width": 1280, "height": 800})
    loaded: list[str] = []
    page.page.on("request", lambda r: loaded.append(r.url))
    choose(page, "track", "track: Order Completed")
    page.wait_for_function("() => document.getElementById('preview').textContent.includes('Track Event')")
    # keyboard only: focus the button and press Enter
    page.focus("#send")
    page.keyboard.press("Enter")
    call = latest_call(page)
    wait_text(call, "HTTP 200")
    [entity] = sink.wait_for(1)
    assert entity["name"] == "Order Completed"
    shot(page, tmp_path, "order-completed", "✓ Track Event", f"POST {sink.url}/api/v2/batch",
                "authorization: Basic [masked: site id 'site123', API key hidden]", "Customer.io answered",
                entity["id"], "other subscription(s) did not match")
    # the call, its payload and its request are one entry, linked by the event's messageId
    assert call.get_attribute("data-message-id") == entity["id"]
    assert '"name": "Order Completed"' in call.inner_text()
    call.locator("details.not-matched summary").first.click()
    # textContent: the list may re-render (closing the details) while answers arrive; the reason is there either way
    wait_until(lambda: 'not matched: trigger type = "identify" is false: type is "track"' in call.text_content())
    # fault modes live outside the call list; the next request is answered 503 and retried, both shown
    page.click("button[data-fault='503']")
    wait_text(page.locator("#faults"), "503 ×1")
    choose(page, "identify", "identify: new customer")
    page.click("#send")
    second = latest_call(page)
    wait_text(second, "HTTP 503")
    wait_text(second, "HTTP 200")
    shot(page, tmp_path, "retried", "✓ Create or Update Person", "HTTP 503", "HTTP 200")
    assert page.locator("#calls button[data-fault]").count() == 0
    assert all(url.startswith(sink.url + "/") for url in loaded), loaded


def test_edit_a_subscription_and_see_the_new_mapping(context, sink, tmp_path):
    page = open_tester(context, sink)
    choose(page, "track", "track: Order Completed")
    custom = [{"action": "trackEvent", "name": "Orders as Purchase", "subscribe": 'event = "Order Completed"',
               "mapping": {"name": "Purchase", "id": {"@path": "$.userId"}, "event_id": {"@path": "$.messageId"},
                           "data": {"@path": "$.properties"}}}]
    # a broken one first: every problem is listed, as at start-up
    page.fill("#subs-json", json.dumps([{"action": "nope", "subscribe": "type ="}]))
    wait_text(page.locator("#settings-check"), "problem(s)")
    assert "subscriptions[0].action 'nope' is not one of" in page.locator("#settings-problems").inner_text()
    page.fill("#subs-json", json.dumps(custom, indent=2))
    wait_text(page.locator("#settings-check"), "✓ valid settings")
    preview = page.locator("#preview")
    wait_text(preview, "Orders as Purchase")
    assert '"name": "Purchase"' in preview.inner_text() and "custom" in preview.inner_text()
    shot(page, tmp_path, "edited-preview", "with the edited settings (not applied yet)", "✓ Orders as Purchase")
    page.click("#apply")                          # stores the settings and reloads: start-up checks them
    wait_booted(page)
    assert page.input_value("#subs-json").strip().startswith("[")
    page.click("#send")
    wait_text(latest_call(page), "HTTP 200")
    [entity] = sink.wait_for(1)
    assert entity["name"] == "Purchase" and entity["attributes"]["order_id"] == "ord-1042"
    shot(page, tmp_path, "edited-sent", "✓ Orders as Purchase", '"name": "Purchase"')


@pytest.mark.xfail(not _segment_format_supported(), strict=True,
                   reason="needs Segment-format subscriptions in Settings (helper `mapping`): passes once merged")
def test_import_a_segment_format_subscription_list(context, sink, tmp_path):
    page = open_tester(context, sink)
    choose(page, "track", "track: Order Completed")
    segment = [
        {"partnerAction": "trackEvent", "name": "Track Orders", "enabled": True, "subscribe": 'type = "track"',
         "mapping": {"name": {"@path": "$.event"}, "id": {"@path": "$.userId"},
                     "event_id": {"@path": "$.messageId"}, "data": {"@path": "$.properties"}}},
        {"partnerAction": "createUpdatePerson", "name": "Identify Everyone", "enabled": False,
         "subscribe": 'type = "track"', "mapping": {"id": {"@path": "$.userId"}}},
    ]
    page.fill("#subs-json", json.dumps(json.dumps(segment)))   # Segment's settings carry it as a JSON string
    wait_text(page.locator("#settings-check"), "✓ valid settings")
    preview = page.locator("#preview")
    wait_text(preview, "Track Orders")
    assert "Identify Everyone" not in preview.inner_text().split("did not match")[0]
    preview.locator("details.not-matched summary").click()
    assert "not matched: disabled (enabled: false in Segment's settings)" in preview.inner_text()
    page.click("#apply")
    wait_booted(page)
    page.click("#send")
    wait_text(latest_call(page), "HTTP 200")
    [entity] = sink.wait_for(1)
    assert (entity["action"], entity["name"]) == ("event", "Order Completed")
    shot(page, tmp_path, "segment-import", "✓ Track Orders")


def test_fix_a_setting_and_send_a_set_aside_event_again(context, sink, tmp_path):
    broken = {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": "/", "subscriptions": [
        {"action": "trackEvent", "name": "Wrong name path", "subscribe": 'type = "track"',
         "mapping": {"name": {"@path": "$.properties.eventName"}, "id": {"@path": "$.userId"},
                     "event_id": {"@path": "$.messageId"}}}]}
    page = open_tester(context, sink, broken)
    choose(page, "track", "track: Order Completed")
    page.click("#send")
    call = latest_call(page)
    wait_text(call, "set aside (invalid)")
    message_id = call.get_attribute("data-message-id")
    assert "field name, rule required" in call.inner_text()
    aside = page.locator("#aside-list")
    wait_text(aside, "Send again")
    shot(page, tmp_path, "set-aside", "✗ Wrong name path", "field name, rule required")
    assert sink.requests == []
    # fix it: back to the presets, apply (reload), then send the kept event again
    page.click("#use-presets")
    wait_text(page.locator("#settings-check"), "✓ valid settings")
    page.click("#apply")
    wait_booted(page)
    wait_text(aside, "Send again")
    page.locator("#aside-list button").first.click()
    wait_text(latest_call(page), "HTTP 200")
    [entity] = sink.wait_for(1)
    assert (entity["name"], entity["id"]) == ("Order Completed", message_id)
    wait_text(aside, "nothing set aside")
    shot(page, tmp_path, "sent-again", "sent again with the running settings", "✓ Track Event", "nothing set aside")


def test_event_data_with_markup_shows_as_text(context, sink, tmp_path):
    page = open_tester(context, sink)
    page.evaluate("() => { window.pwned = undefined; }")
    choose(page, "track", "track: markup in the data")
    page.click("#send")
    wait_text(latest_call(page), "HTTP 200")
    assert sink.wait_for(1)[0]["name"] == "<img src=x onerror=alert(1)>"
    text = shot(page, tmp_path, "markup", "<img src=x onerror=alert(1)>", "<b>bold</b><script>alert(2)</script>")
    assert text
    assert page.evaluate("() => document.querySelectorAll('main img, main b, main script').length") == 0
    assert page.evaluate("() => window.pwned === undefined")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_readable_at_desktop_and_phone_width(context, sink, tmp_path, viewport):
    page = open_tester(context, sink, viewport=viewport)
    choose(page, "track", "track: Application Opened")
    page.click("#send")
    wait_text(latest_call(page), "HTTP 200")
    shot(page, tmp_path, f"width-{viewport['width']}", "✓ Create or Update Device", "Send through analytics.js",
         "Local endpoint fault modes")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {viewport['width']}px"


@pytest.mark.parametrize("boot", ["worker", "idle"])
def test_page_api_preview_sends_nothing_in_either_boot_mode(context, sink, boot):
    """cioBrowser.preview / checkSettings answer through the worker bridge and the main-thread bridge alike."""
    from .conftest import open_page, settings_for

    page = open_page(context, sink, settings_for(sink, boot=boot))
    result = page.evaluate("""() => window.cioBrowser.preview({type: 'track', event: 'Relationship Deleted',
        userId: 'u1', messageId: 'm-1', properties: {objectId: 'acct-9'}})""")
    [matched] = [s for s in result["subscriptions"] if s["matched"]]
    assert matched["name"] == "Delete Relationship" and matched["payload"]["action"] == "delete_relationships"
    [request] = result["requests"]
    assert request["url"] == sink.url + "/api/v2/batch" and len(request["items"]) == 1
    assert request["headers"]["authorization"].startswith("Basic [masked") and API_KEY not in json.dumps(result)
    # with other settings, not applied: a custom subscription list
    custom = page.evaluate("""() => window.cioBrowser.preview({type: 'identify', userId: 'u1', messageId: 'm-2'},
        {siteId: 's', apiKey: 'k',
         subscriptions: [{action: 'createUpdatePerson', subscribe: 'type = \\"track\\"'}]})""")
    assert [s["matched"] for s in custom["subscriptions"]] == [False]
    assert "type is \"identify\"" in custom["subscriptions"][0]["why"]
    check = page.evaluate("() => window.cioBrowser.checkSettings({siteId: 'a:b', batchSize: 0})")
    assert not check["ok"] and "siteId must not contain ':'" in check["problems"]
    assert any(p.startswith("batchSize must be a whole number") for p in check["problems"])
    page.evaluate("() => window.cioBrowser.flush()")
    assert sink.requests == []
    assert page.evaluate("() => window.cioBrowser.requests(0)") == []


def test_calls_made_outside_the_builder_are_listed_too(context, sink, tmp_path):
    page = open_tester(context, sink)
    page.evaluate("() => analytics.track('From the console', {source: 'devtools'})")
    call = latest_call(page)
    wait_text(call, "HTTP 200")
    assert "called outside the builder" in call.inner_text() and "✓ Track Event" in call.inner_text()
    assert sink.wait_for(1)[0]["name"] == "From the console"
