"""mode: "classic" reproduces the Customer.io (Classic) shaping and delivers it through Track API v1."""

from __future__ import annotations

from .conftest import open_page, settings_for, wait_until


def test_classic_mode_identify_and_track_reach_the_v1_api(context, sink):
    page = open_page(context, sink, settings_for(sink, mode="classic"))
    page.evaluate("() => analytics.identify('u1', {email: 'ada@example.org', createdAt: '2023-05-20T10:00:00Z'}, "
                  "{anonymousId: 'anon-3'})")
    page.evaluate("() => analytics.track('Signed Up', {plan: 'Pro', at: '2023-06-01T08:00:00Z'})")
    wait_until(lambda: len([r for r in sink.requests if r.status == 200]) >= 2, timeout=20)
    identify, track = sink.requests[0], sink.requests[1]
    assert (identify.method, identify.path) == ("PUT", "/api/v1/customers/u1")
    assert identify.body["email"] == "ada@example.org" and identify.body["created_at"] == 1684576800
    assert "createdAt" not in identify.body
    assert (track.method, track.path) == ("POST", "/api/v1/customers/u1/events")
    assert track.body["name"] == "Signed Up"
    assert track.body["data"] == {"plan": "Pro", "at": 1685606400}
    assert page.console_errors() == []


def test_classic_mode_screens_devices_and_unsubscribe_reach_the_v1_api(context, sink):
    page = open_page(context, sink, settings_for(sink, mode="classic"))
    page.evaluate("() => analytics.identify('u1', {unsubscribed: true})")
    page.evaluate("() => analytics.screen('Home')")
    page.evaluate("() => analytics.track('Application Opened', {}, "
                  "{context: {device: {token: 'tok-1', type: 'ios'}}})")
    page.evaluate("() => analytics.track('Application Uninstalled', {}, {context: {device: {token: 'tok-1'}}})")
    wait_until(lambda: len([r for r in sink.requests if r.status == 200]) >= 6, timeout=20)
    got = sorted((r.method, r.api_path, r.status) for r in sink.requests)
    assert got == sorted([
        ("PUT", "/api/v1/customers/u1", 200),
        ("POST", "/api/v1/customers/u1/events", 200),
        ("POST", "/api/v1/customers/u1/events", 200),
        ("PUT", "/api/v1/customers/u1/devices", 200),
        ("POST", "/api/v1/customers/u1/events", 200),
        ("DELETE", "/api/v1/customers/u1/devices/tok-1", 200),
    ])
    bodies = {(r.method, r.api_path, (r.body or {}).get("name")): r.body for r in sink.requests}
    identify = bodies["PUT", "/api/v1/customers/u1", None]
    screen = bodies["POST", "/api/v1/customers/u1/events", "Viewed Home Screen"]
    opened = bodies["POST", "/api/v1/customers/u1/events", "Application Opened"]
    device = bodies["PUT", "/api/v1/customers/u1/devices", None]
    assert identify["unsubscribed"] is True
    assert screen["name"] == "Viewed Home Screen"
    assert opened["name"] == "Application Opened"
    assert device["device"]["id"] == "tok-1" and device["device"]["platform"] == "ios"
    assert isinstance(device["device"]["last_used"], int)
    assert page.console_errors() == []
