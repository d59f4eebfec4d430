"""Settings the way Segment stores them, through the real page: the glue passes them on, Python applies them.

Also: missing credentials are still reported at start-up (mapping no longer needs them; delivery does).
"""

from __future__ import annotations

import json

from .conftest import API_KEY, SITE_ID, open_page

SEGMENT_SUBSCRIPTIONS = [
    {"id": "a1", "partnerAction": "trackEvent", "name": "Track with a prefix", "enabled": True,
     "subscribe": 'type = "track"',
     "mapping": {"id": {"@path": "$.userId"}, "name": {"@template": "Segment: {{event}}"},
                 "data": {"@path": "$.properties"}, "convert_timestamp": True}},
    {"id": "a2", "partnerAction": "suppressPerson", "name": "Off", "enabled": False,
     "subscribe": 'type = "track"', "mapping": {"person_id": {"@path": "$.userId"}}},
]


def test_a_segment_settings_object_with_segment_subscriptions_is_applied(context, sink):
    settings = {"siteId": SITE_ID, "apiKey": API_KEY, "endpoint": sink.url, "type": "browser",
                "versionSettings": {"componentTypes": ["browser"]}, "bundlingStatus": "unbundled",
                "subscriptions": json.dumps(SEGMENT_SUBSCRIPTIONS)}
    page = open_page(context, sink, settings)
    page.evaluate("() => analytics.identify('u-1')")
    page.evaluate("() => analytics.track('Signed Up', {plan: 'pro'})")
    (entity,) = sink.wait_for(1)
    assert (entity["action"], entity["name"], entity["attributes"]) == ("event", "Segment: Signed Up",
                                                                          {"plan": "pro"})
    page.evaluate("() => window.cioBrowser.flush()")
    assert [e["action"] for e in sink.entities()] == ["event"]  # no identify preset, no disabled suppress
    assert page.console_errors() == []
    warnings = [text for kind, text in page.console if kind == "warning"]
    assert any("ignoring Segment's own settings keys (versionSettings, type, bundlingStatus)" in w
               for w in warnings), warnings


def test_missing_credentials_are_reported_at_start_up_and_events_kept(context, sink):
    page = open_page(context, sink, {"siteId": SITE_ID})
    page.evaluate("() => analytics.track('Kept', {})")
    errors = [e for e in page.console_errors() if "settings" in e]
    assert len(errors) == 1 and "apiKey is required" in errors[0], errors
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes(':in:')).length") == 1
