"""Settings: one validated object; every problem reported at once; the API key never printed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cio_browser.config import load
from cio_browser.mapping import CompiledSubscriptions
from cio_browser.settings import Settings, SettingsError

EU = "EU \U0001f1ea\U0001f1fa"
US = "US \U0001f1fa\U0001f1f8"


@pytest.mark.parametrize(("raw", "host"), [
    ({"siteId": "s", "apiKey": "k"}, "https://track.customer.io"),
    ({"siteId": "s", "apiKey": "k", "accountRegion": US}, "https://track.customer.io"),
    ({"siteId": "s", "apiKey": "k", "accountRegion": EU}, "https://track-eu.customer.io"),
    ({"site_id": "s", "api_key": "k", "region": "eu"}, "https://track-eu.customer.io"),
    ({"site_id": "s", "api_key": "k", "region": "US"}, "https://track.customer.io"),
    ({"endpoint": "https://example.org/cio/"}, "https://example.org/cio"),
])
def test_region_and_endpoint_choose_the_base_url(raw, host):
    assert Settings.from_dict(raw).base_url == host


def test_basic_auth_header_is_base64_of_site_and_key():
    s = Settings.from_dict({"siteId": "site123", "apiKey": "key456"})
    assert s.headers() == {"content-type": "application/json", "authorization": "Basic c2l0ZTEyMzprZXk0NTY="}


def test_proxy_mode_sends_no_authorization_header():
    assert "authorization" not in Settings.from_dict({"endpoint": "https://example.org/cio"}).headers()


def test_every_problem_is_listed_in_one_error():
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({"siteId": 5.5, "accountRegion": "mars", "batchSize": 0, "colour": "red",
                            "mode": "turbo", "endpoint": "ftp://x"})
    text = str(info.value)
    for fragment in ("unknown setting(s) 'colour'", "accountRegion 'mars'", "batchSize must be a whole number",
                     "mode must be one of", "endpoint 'ftp://x'"):
        assert fragment in text
    assert len(info.value.problems) >= 5


def test_missing_credentials_say_how_to_fix_them_when_building_a_destination():
    with pytest.raises(SettingsError, match="siteId is required.*apiKey is required"):
        load({})
    with pytest.raises(SettingsError, match="apiKey is required"):
        load({"siteId": "s"})
    assert load({"endpoint": "https://example.org/cio"}).settings.api_key == ""  # a proxy adds them
    with pytest.raises(SettingsError) as info:  # listed with every other problem, not instead of them
        load({"batchSize": 0, "subscriptions": [{"action": "sendFax"}]})
    assert [p.split(" ")[0] for p in info.value.problems] == [
        "siteId", "apiKey", "batchSize", "subscriptions[0].action"]


def test_mapping_alone_needs_no_credentials():
    s = Settings.from_dict({})
    assert s.delivery_problems() and s.headers() == {"content-type": "application/json"}
    assert load({}, deliver=False).settings == s


def test_settings_must_be_an_object():
    with pytest.raises(SettingsError, match="must be an object, got list"):
        Settings.from_dict([1, 2])


def test_the_api_key_is_not_in_repr_or_to_dict_or_errors():
    s = Settings.from_dict({"siteId": "s", "apiKey": "very-secret"})
    assert "very-secret" not in repr(s) and "very-secret" not in str(s.to_dict())
    with pytest.raises(SettingsError) as info:
        Settings.from_dict({"siteId": "s", "apiKey": "very-secret", "batchSize": "x"})
    assert "very-secret" not in str(info.value)


@pytest.mark.parametrize("raw", [
    {},
    {"siteId": "s", "apiKey": "k"},
    {"siteId": "s", "apiKey": "k", "accountRegion": EU, "mode": "classic", "batching": False, "batchSize": 10,
     "flushInterval": 0, "maxAttempts": 3, "maxAge": 60_000, "debug": True, "enabled": False, "boot": "eager"},
    {"endpoint": "https://example.org/cio/"},
    {"relay": "https://www.example.com/cio", "siteId": "s"},
    {"siteId": "s", "apiKey": "k", "subscriptions": [{"action": "trackEvent", "subscribe": 'type = "track"'}]},
    {"siteId": "s", "apiKey": "k", "versionSettings": {}, "type": "browser"},   # as Segment stores them
])
def test_settings_read_back_what_to_dict_writes(raw):
    s = Settings.from_dict(raw)
    assert Settings.from_dict(s.to_dict(include_api_key=True)) == s
    assert Settings.from_dict(s.to_dict()) == replace(s, api_key="")   # the default leaves the key out
    assert Settings.from_dict(s) is s


def test_a_settings_object_built_directly_is_checked_like_a_dict():
    with pytest.raises(SettingsError, match="apiKey is required"):
        load(Settings(site_id="s"))
    with pytest.raises(SettingsError, match="siteId must not contain ':'.*batchSize must be a whole number"):
        Settings.from_dict(Settings(site_id="a:b", api_key="k", batch_size=0))
    assert load(Settings(site_id="s", api_key="k")).settings == Settings.from_dict({"siteId": "s", "apiKey": "k"})


def test_a_malformed_subscription_is_a_settings_error_naming_the_position():
    with pytest.raises(SettingsError, match=r"subscriptions\[0\]\.subscribe: .*position"):
        load({"siteId": "s", "apiKey": "k",
              "subscriptions": [{"action": "trackEvent", "subscribe": 'type = "track" and'}]})


def test_an_unknown_action_in_subscriptions_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"subscriptions\[0\]\.action 'sendFax'"):
        load({"siteId": "s", "apiKey": "k", "subscriptions": [{"action": "sendFax"}]})


def test_subscription_problems_are_listed_with_every_other_problem():
    with pytest.raises(SettingsError) as info:
        load({"siteId": "s", "apiKey": "k", "batchSize": 0, "subscriptions": [{"action": "sendFax"}]})
    assert len(info.value.problems) == 2 and "batchSize" in str(info.value) and "sendFax" in str(info.value)


def test_subscriptions_are_compiled_once_at_load_and_used_as_they_are():
    config = load({"siteId": "s", "apiKey": "k",
                   "subscriptions": [{"action": "trackEvent", "subscribe": 'type = "track"'}]})
    assert isinstance(config.subscriptions, CompiledSubscriptions)
    assert config.subscriptions[0].action.name == "trackEvent"
    assert load({"siteId": "s", "apiKey": "k"}).subscriptions is None  # the presets
