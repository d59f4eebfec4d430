"""RelayConfig: one typed object from CIO_* variables, every problem at once, never the key."""

from __future__ import annotations

import json

import pytest

from cio_browser.relay import RelayConfig, RelayConfigError

BASE = {"CIO_SITE_ID": "site123", "CIO_API_KEY": "key456-very-secret", "CIO_ALLOWED_ORIGINS": "https://a.example"}


def test_defaults_are_the_us_host_presets_and_a_rate_limit():
    c = RelayConfig.from_env(BASE)
    assert c.upstream == "https://track.customer.io" and c.region == "US"
    assert c.settings.subscriptions is None and c.settings.mode == "actions" and c.settings.batching
    assert c.rate_limit == 600 and c.timeout_s == 10.0 and not c.trust_forwarded
    assert c.authorization == "Basic c2l0ZTEyMzprZXk0NTYtdmVyeS1zZWNyZXQ="
    assert "key456" not in repr(c)


def test_region_uses_the_destinations_own_labels_and_upstream_overrides_it():
    assert RelayConfig.from_env({**BASE, "CIO_REGION": "EU \U0001f1ea\U0001f1fa"}).upstream == \
        "https://track-eu.customer.io"
    assert RelayConfig.from_env({**BASE, "CIO_REGION": "eu", "CIO_UPSTREAM": "http://127.0.0.1:9/"}).upstream == \
        "http://127.0.0.1:9"


def test_every_problem_is_reported_at_once_and_the_key_never():
    env = {"CIO_API_KEY": "key456-very-secret", "CIO_REGION": "mars", "CIO_UPSTREAM": "ftp://x",
           "CIO_ALLOWED_ORIGINS": "https://ok.example, not-an-origin, https://x.example/path",
           "CIO_SETTINGS": json.dumps({"apiKey": "key456-very-secret", "mode": "turbo", "batchSize": 0}),
           "CIO_TIMEOUT": "-1", "CIO_RATE_LIMIT": "lots", "CIO_TRUST_FORWARDED": "maybe"}
    with pytest.raises(RelayConfigError) as info:
        RelayConfig.from_env(env)
    text = str(info.value)
    for fragment in ("CIO_SITE_ID is required", "CIO_REGION 'mars'", "CIO_UPSTREAM 'ftp://x'",
                     "'not-an-origin' is not an origin", "'https://x.example/path' is not an origin",
                     "must not set 'apiKey'", "CIO_SETTINGS: mode must be one of", "CIO_SETTINGS: batchSize",
                     "CIO_TIMEOUT must be", "CIO_RATE_LIMIT must be", "CIO_TRUST_FORWARDED"):
        assert fragment in text, fragment
    assert text.startswith("cio_browser relay configuration: ")
    assert "key456" not in text


def test_the_key_can_come_from_a_file_and_a_bad_one_is_named_not_shown(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("key-from-file\n")
    env = {k: v for k, v in BASE.items() if k != "CIO_API_KEY"}
    assert RelayConfig.from_env({**env, "CIO_API_KEY_FILE": str(secret)}).api_key == "key-from-file"
    with pytest.raises(RelayConfigError, match="not both"):
        RelayConfig.from_env({**BASE, "CIO_API_KEY_FILE": str(secret)})
    with pytest.raises(RelayConfigError, match="cannot be read"):
        RelayConfig.from_env({**env, "CIO_API_KEY_FILE": str(tmp_path / "missing")})
    with pytest.raises(RelayConfigError, match="CIO_API_KEY .or CIO_API_KEY_FILE. is required"):
        RelayConfig.from_env(env)


def test_the_pages_own_settings_json_is_accepted_and_only_its_mapping_part_used(tmp_path):
    page = {"relay": "/cio", "boot": "idle", "debug": True, "flushInterval": 100, "siteId": "site123",
            "mode": "classic", "batching": False}
    c = RelayConfig.from_env({**BASE, "CIO_SETTINGS": json.dumps(page)})
    assert (c.settings.mode, c.settings.batching, c.settings.relay) == ("classic", False, None)
    f = tmp_path / "settings.json"
    f.write_text(json.dumps({"subscriptions": [{"action": "trackEvent", "subscribe": 'type = "track"',
                                                "mapping": None}]}))
    assert RelayConfig.from_env({**BASE, "CIO_SETTINGS_FILE": str(f)}).settings.subscriptions
    with pytest.raises(RelayConfigError, match="siteId differs from CIO_SITE_ID"):
        RelayConfig.from_env({**BASE, "CIO_SETTINGS": json.dumps({"siteId": "other"})})
    with pytest.raises(RelayConfigError, match=r"subscriptions\[0\]\.subscribe"):
        RelayConfig.from_env({**BASE, "CIO_SETTINGS": json.dumps(
            {"subscriptions": [{"action": "trackEvent", "subscribe": "type = = 1"}]})})
    with pytest.raises(RelayConfigError) as info:
        RelayConfig.from_env({**BASE, "CIO_SETTINGS": '{"apiKey": "key456-very-secret",'})
    assert "not valid JSON" in str(info.value) and "key456" not in str(info.value)


def test_origins_are_compared_as_browsers_send_them():
    c = RelayConfig.from_env({**BASE, "CIO_ALLOWED_ORIGINS": "HTTPS://WWW.Example.com/, http://127.0.0.1:8000"})
    assert c.allowed_origins == {"https://www.example.com", "http://127.0.0.1:8000"}
    assert c.origin_allowed("https://www.example.com") and c.origin_allowed(None)
    assert not c.origin_allowed("https://www.example.com.evil.example")
    assert RelayConfig.from_env({**BASE, "CIO_ALLOWED_ORIGINS": "*"}).origin_allowed("https://any.example")
    with pytest.raises(RelayConfigError, match="CIO_ALLOWED_ORIGINS is required"):
        RelayConfig.from_env({**BASE, "CIO_ALLOWED_ORIGINS": " , "})
