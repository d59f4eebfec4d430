"""Bad input and hostile pages: nothing throws into the page, other destinations keep working, errors say why."""

from __future__ import annotations

from .conftest import API_KEY, open_page, open_relay_page, wait_until

OTHER_DESTINATION = """() => {
  window.otherSeen = [];
  const seen = ctx => { window.otherSeen.push(ctx.event.event || ctx.event.type); return ctx; };
  return analytics.register({name: 'Other', type: 'destination', version: '1', isLoaded: () => true,
    load: () => Promise.resolve(), track: seen, identify: seen, page: seen, group: seen, alias: seen, screen: seen});
}"""

MALFORMED = """async () => {
  const cyclic = {a: 1}; cyclic.self = cyclic;
  await analytics.track('Cyclic', cyclic);
  await analytics.track('Huge', {blob: 'x'.repeat(200000)});
  await analytics.track('Big Number', {n: 10n});
  await analytics.track('User Deleted', {});
  await analytics.track('Bad Date', {when: new Date('not a date')});
  await analytics.identify(12345, {email: ['a@b.co', 'c@d.co'], nested: {deep: {deeper: [1, {x: null}]}}});
  await analytics.track('After The Storm', {ok: true});
}"""


def test_malformed_calls_never_break_the_page_or_other_destinations(context, sink):
    page = open_page(context, sink)
    page.evaluate(OTHER_DESTINATION)
    page.evaluate(MALFORMED)
    page.evaluate("() => window.cioBrowser.flush()")
    delivered = wait_until(lambda: [e.get("name") for e in sink.entities() if e.get("name")] or None)
    assert "After The Storm" in delivered and "Bad Date" in delivered
    assert page.errors == [], "an exception reached the page"
    assert page.evaluate("() => window.otherSeen") == [
        "Cyclic", "Huge", "Big Number", "User Deleted", "Bad Date", "identify", "After The Storm"]
    errors = page.console_errors()
    assert any('track "Cyclic"' in e and "self: cyclic reference" in e for e in errors), errors
    assert any('track "Huge"' in e and "attributes.blob" in e and "rule: size" in e for e in errors), errors
    assert any('track "Big Number"' in e and "BigInt" in e for e in errors), errors
    assert any('track "User Deleted"' in e and "'person_id'" in e and "rule: required" in e for e in errors), errors
    aside = page.evaluate("() => window.cioBrowser.setAside()")
    assert sorted(a["label"].split(" (")[0] for a in aside) == [
        'track "Big Number"', 'track "Cyclic"', 'track "Huge"', 'track "User Deleted"']
    assert page.stats()["pending"] == 0


def test_the_demo_page_sends_through_the_relay_and_shows_markup_as_text(context, demo):
    page = open_relay_page(context, demo, {}, path="/index.html")  # served as the demo command serves it
    page.wait_ready()
    page.evaluate("() => analytics.track('<img src=x onerror=window.pwned=1>', {html: '<b>bold</b>'})")
    page.evaluate("() => window.cioBrowser.flush()")
    wait_until(lambda: len(demo.seen) > 0, timeout=30)
    wait_until(lambda: "<img src=x" in page.evaluate("() => document.getElementById('calls').textContent"),
               timeout=30)
    assert page.evaluate("() => document.querySelectorAll('main img, main b').length") == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert API_KEY not in page.page.content()
    assert API_KEY not in page.evaluate("() => JSON.stringify(window.cioBrowserSettings)")


def test_the_destination_runs_under_a_strict_content_security_policy(context, sink):
    page = open_page(context, sink, path="/csp.html", wait=False)
    page.evaluate("() => { window.violations = []; document.addEventListener('securitypolicyviolation', "
                  "e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI)); }")
    page.wait_ready()
    page.evaluate("() => analytics.track('Under CSP', {strict: true})")
    assert sink.wait_for(1)[0]["name"] == "Under CSP"
    assert page.evaluate("() => window.violations") == []
    response = page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "'unsafe-eval'" not in response and "'wasm-unsafe-eval'" in response


def test_bad_settings_are_reported_once_at_start_up_and_events_are_kept(context, sink):
    page = open_page(context, sink, settings={"siteId": "s", "apiKey": "k", "batchSize": 0, "colour": "red"})
    page.evaluate("() => analytics.track('Kept', {})")
    errors = [e for e in page.console_errors() if "settings" in e]
    assert len(errors) == 1
    assert "batchSize must be a whole number" in errors[0] and "unknown setting(s) 'colour'" in errors[0]
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:')).length") == 1
