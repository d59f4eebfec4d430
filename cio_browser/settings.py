"""One typed, validated settings object for the whole destination.

A site owner writes settings once (in a script tag's JSON, or a dict in PyScript); everything else reads this
frozen object. Parsing collects *every* problem and raises a single :class:`SettingsError`, so the owner fixes
their tag in one go instead of one error per reload.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from .constants import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL_MS,
    DEFAULT_MAX_AGE_MS,
    DEFAULT_MAX_ATTEMPTS,
    MAX_BATCH_SIZE,
    REGION_HOSTS,
    REGION_LABELS,
)
from .errors import SettingsError
from .jsvalues import js_number_to_string
from .layout import SITE_KEYS, namespace

__all__ = ["SEGMENT_METADATA_KEYS", "Settings", "SettingsError", "canonical_name", "namespace_of", "region_code",
           "subscriptions_in"]


#: Keys accepted in the raw settings mapping, by canonical name -> accepted spellings.
_ALIASES: dict[str, tuple[str, ...]] = {
    "site_id": SITE_KEYS,
    "api_key": ("apiKey", "api_key"),
    "region": ("accountRegion", "region", "datacenter"),
    "endpoint": ("endpoint", "proxy", "proxyUrl", "proxy_url"),
    "relay": ("relay",),
    "mode": ("mode",),
    "subscriptions": ("subscriptions",),
    "batching": ("batching", "enableBatching", "enable_batching"),
    "batch_size": ("batchSize", "batch_size"),
    "flush_interval_ms": ("flushInterval", "flush_interval_ms", "flushIntervalMs"),
    "max_attempts": ("maxAttempts", "max_attempts"),
    "max_age_ms": ("maxAge", "max_age_ms", "maxAgeMs"),
    "debug": ("debug",),
    "enabled": ("enabled",),
    "boot": ("boot",),
}

#: Keys Segment adds to a destination's stored settings (analytics.js CDN settings: ``versionSettings``, ``type``,
#: ``bundlingStatus``, ``consentSettings``). They say how Segment loads the destination, which does not apply
#: here, so a settings object copied from Segment is accepted and these keys are ignored (listed in ``ignored``).
SEGMENT_METADATA_KEYS: tuple[str, ...] = ("versionSettings", "type", "bundlingStatus", "consentSettings")

_MODES = ("actions", "classic")


def canonical_name(key: str) -> str | None:
    """The canonical setting a spelling stands for (``"apiKey"`` -> ``"api_key"``), None if unknown.

    The relay uses it to tell which of the page's settings it must refuse (credentials, hosts) and which it maps
    with, without keeping its own copy of the accepted spellings.
    """
    for name, spellings in _ALIASES.items():
        if key in spellings:
            return name
    return None
_BOOTS = ("idle", "eager", "worker")


def region_code(value: Any) -> str | None:
    """'US'/'EU' for any spelling a site owner is likely to use, else None.

    Segment's labels carry flag emoji ("EU 🇪🇺"); the reference treats only the exact EU label as EU. We also
    accept "eu"/"EU"/"us"/"US" because a person typing settings by hand writes those, and an unknown value is a
    settings error rather than a silent fall-back to the US host (a wrong host loses data residency).
    """
    if not isinstance(value, str):
        return None
    for code, label in REGION_LABELS.items():
        if value == label:
            return code
    v = value.strip().upper()
    return v if v in REGION_HOSTS else None


@dataclass(frozen=True)
class Settings:
    """Validated destination settings.

    ``api_key`` is excluded from ``repr`` so that printing settings (debug logs, tracebacks) never shows it.
    """

    site_id: str = ""
    api_key: str = field(default="", repr=False)
    region: str = "US"
    endpoint: str | None = None
    relay: str | None = None
    mode: str = "actions"
    subscriptions: tuple[dict[str, Any], ...] | None = None
    batching: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    flush_interval_ms: int = DEFAULT_FLUSH_INTERVAL_MS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    debug: bool = False
    enabled: bool = True
    boot: str = "worker"
    #: Keys of the raw settings that were accepted but have no effect here (Segment's own metadata), so the
    #: destination can say once, at start-up, what it ignored. A note about the input, not a setting: it is not
    #: in :meth:`to_dict` and two settings that differ only here are equal.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Any, *, require_credentials: bool = False) -> Settings:
        """Parse settings as a site owner writes them (camelCase or snake_case keys, or as Segment stores them).

        Credentials are *not* required unless ``require_credentials``: mapping never needs them (the reference
        maps, and even sends, with no settings at all); whoever delivers asks for them (:mod:`cio_browser.config`),
        so a missing key is listed with every other problem.
        Custom subscriptions are only checked for shape; their triggers and mappings are compiled, and checked,
        where the destination is built (:func:`cio_browser.config.load`).
        """
        if isinstance(raw, Settings):
            # ``Settings(site_id=…)`` built directly was never checked: check it as the dict it stands for.
            parsed = cls.from_dict(raw.to_dict(include_api_key=True), require_credentials=require_credentials)
            return raw if parsed == raw else replace(parsed, ignored=raw.ignored)
        if not isinstance(raw, dict):
            raise SettingsError([f"settings must be an object, got {type(raw).__name__}"])
        problems: list[str] = []
        known = {spelling for spellings in _ALIASES.values() for spelling in spellings}
        unknown = sorted(str(k) for k in raw if k not in known and k not in SEGMENT_METADATA_KEYS)
        if unknown:
            problems.append("unknown setting(s) " + ", ".join(repr(k) for k in unknown))
        values: dict[str, Any] = {}
        for name, spellings in _ALIASES.items():
            present = [s for s in spellings if s in raw]
            if present:
                values[name] = raw[present[0]]
        values["site_id"] = _site_value(raw)   # the glue's rule: it names the namespace events are stored under
        out: dict[str, Any] = {}

        def text(name: str, label: str) -> str:
            v = values.get(name, "")
            if v is None:
                return ""
            v = _as_text(v)
            if v is None:
                problems.append(f"{label} must be a string")
                return ""
            return v.strip()

        out["site_id"] = text("site_id", "siteId")
        out["api_key"] = text("api_key", "apiKey")
        if "region" in values and values["region"] not in (None, ""):
            code = region_code(values["region"])
            if code is None:
                problems.append(
                    f"accountRegion {values['region']!r} is not a region: use 'US' or 'EU' "
                    f"(or Segment's labels {REGION_LABELS['US']!r} / {REGION_LABELS['EU']!r})"
                )
            out["region"] = code or "US"
        endpoint = text("endpoint", "endpoint") or None
        if endpoint is not None:
            endpoint = _base_url(endpoint, "endpoint", problems)
        out["endpoint"] = endpoint
        relay = text("relay", "relay") or None
        if relay is not None:
            relay = _base_url(relay, "relay", problems)
            if endpoint is not None:
                problems.append("set either relay or endpoint, not both (the relay is the endpoint)")
            if out["api_key"]:
                problems.append("apiKey must not be in the page when relay is set: the relay adds it server-side")
        out["relay"] = relay
        out["ignored"] = tuple(k for k in SEGMENT_METADATA_KEYS if k in raw)
        if require_credentials:
            problems.extend(_credential_problems(out["site_id"], out["api_key"], endpoint or relay))
        if out["site_id"] and ":" in out["site_id"]:
            problems.append("siteId must not contain ':'")

        mode = values.get("mode", "actions")
        if mode not in _MODES:
            problems.append(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        out["mode"] = mode if mode in _MODES else "actions"
        boot = values.get("boot", "worker")
        if boot not in _BOOTS:
            problems.append(f"boot must be one of {', '.join(map(repr, _BOOTS))}, got {boot!r}")
        out["boot"] = boot if boot in _BOOTS else "worker"

        subs = values.get("subscriptions")
        if subs is not None:
            out["subscriptions"] = _parse_subscriptions(subs, problems)

        for name, label in (("batching", "batching"), ("debug", "debug"), ("enabled", "enabled")):
            if name in values:
                v = values[name]
                if not isinstance(v, bool):
                    problems.append(f"{label} must be true or false, got {v!r}")
                else:
                    out[name] = v
        for name, label, lo, hi in (
            ("batch_size", "batchSize", 1, MAX_BATCH_SIZE),
            ("flush_interval_ms", "flushInterval", 0, 60_000),
            ("max_attempts", "maxAttempts", 1, 1000),
            ("max_age_ms", "maxAge", 1000, 90 * 24 * 3600 * 1000),
        ):
            if name in values:
                v = values[name]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or not lo <= v <= hi:
                    problems.append(f"{label} must be a whole number from {lo} to {hi}, got {v!r}")
                else:
                    out[name] = int(v)
        if problems:
            raise SettingsError(problems)
        return cls(**out)

    def to_dict(self, *, include_api_key: bool = False) -> dict[str, Any]:
        """The settings as a plain dict under their canonical names, which :meth:`from_dict` reads back.

        By default *without* the API key, so the dict is safe to log, show or store:
        ``Settings.from_dict(s.to_dict())`` is ``s`` without its key. ``include_api_key=True`` gives every setting
        (``Settings.from_dict(s.to_dict(include_api_key=True)) == s``), for handing the settings on in memory.
        """
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name != "ignored" and (include_api_key or f.name != "api_key")}
        d["subscriptions"] = list(self.subscriptions) if self.subscriptions is not None else None
        return d

    def delivery_problems(self) -> list[str]:
        """What stops these settings from *delivering* (missing credentials); mapping works without them."""
        return _credential_problems(self.site_id, self.api_key, self.endpoint or self.relay)

    # ---- derived values -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """Where requests go: the proxy or relay when one is named, else Customer.io's regional Track API host."""
        return self.endpoint or self.relay or REGION_HOSTS[self.region]

    @cached_property
    def auth_header(self) -> str | None:
        """``Basic base64(site_id:api_key)``, or None when there is no key (proxy mode adds it server-side)."""
        if not self.api_key:
            return None
        token = base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode("ascii")
        return f"Basic {token}"

    def headers(self, with_body: bool = True) -> dict[str, str]:
        """Request headers, lower-case names, as Customer.io's Track API expects them."""
        h: dict[str, str] = {}
        if with_body:
            h["content-type"] = "application/json"
        auth = self.auth_header
        if auth:
            h["authorization"] = auth
        return h

    @property
    def storage_namespace(self) -> str:
        """Browser-storage key prefix; includes the site so two workspaces on one origin never mix queues."""
        return namespace(self.site_id)


def namespace_of(raw_settings: Any) -> str:
    """The storage namespace for raw settings as a site owner wrote them, valid or not.

    For valid settings it is their :attr:`Settings.storage_namespace`; either way it is the one the JS glue stores
    events under (www/cio-browser.js ``namespace``, handed :data:`~cio_browser.layout.SITE_KEYS` by build.py): the
    first site key present and not null, a number written as JavaScript writes it, surrounding spaces stripped.
    """
    value = _site_value(raw_settings) if isinstance(raw_settings, dict) else None
    return namespace(_as_text(value) if value is not None else None)


def _site_value(raw: dict[str, Any]) -> Any:
    """The site ID as written: the first of :data:`~cio_browser.layout.SITE_KEYS` present and not null."""
    for name in SITE_KEYS:
        if raw.get(name) is not None:
            return raw[name]
    return None


def _as_text(value: Any) -> str | None:
    """A text setting's value: a string as is, a number as JavaScript's ``String(number)`` writes it (``1.0`` is
    ``"1"``, as the glue sees it after ``JSON.parse``), else None (not text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return js_number_to_string(value)
    return None


def _base_url(value: str, label: str, problems: list[str]) -> str:
    """An absolute http(s) base URL without query or fragment (a trailing slash is dropped)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        problems.append(f"{label} {value!r} must be an absolute http(s) URL without query or fragment")
    return value.rstrip("/")


def _credential_problems(site_id: str, api_key: str, server_side: str | None) -> list[str]:
    """Missing credentials, unless a first-party proxy or the relay (``server_side``) adds them."""
    if server_side is not None:
        return []
    problems = []
    if not site_id:
        problems.append("siteId is required (or set relay to a cio_browser relay, or endpoint to a proxy URL)")
    if not api_key:
        problems.append("apiKey is required (or set relay to a cio_browser relay, or endpoint to a proxy)")
    return problems


def _parse_subscriptions(subs: Any, problems: list[str]) -> tuple[dict[str, Any], ...]:
    """Custom subscriptions, as a tuple of the owner's own objects (shape only; compiled by the config loader).

    Accepts a list, or the JSON text of one: Segment's settings carry an Actions destination's subscriptions as a
    JSON string. Each entry is either cio_browser's ``{action, subscribe, mapping}`` or Segment's
    ``{partnerAction, name, enabled, subscribe, mapping}`` (see :func:`cio_browser.mapping.compile_subscriptions`).
    """
    if isinstance(subs, str):
        try:
            subs = json.loads(subs)
        except ValueError as exc:
            problems.append(f"subscriptions is a string but not valid JSON ({exc})")
            return ()
    if not isinstance(subs, (list, tuple)):
        problems.append("subscriptions must be a list of {action, subscribe, mapping} objects "
                        "(or Segment's {partnerAction, name, enabled, subscribe, mapping})")
        return ()
    bad = [f"subscriptions[{i}] must be an object" for i, sub in enumerate(subs) if not isinstance(sub, dict)]
    if bad:
        problems.extend(bad)
        return ()
    return tuple(dict(sub) for sub in subs)


def subscriptions_in(raw: Any) -> tuple[dict[str, Any], ...] | None:
    """The custom subscriptions in raw settings when their shape is usable, else None.

    For reporting: settings that fail to parse may still carry subscriptions worth checking in the same pass.
    """
    if not isinstance(raw, dict):
        return None
    for spelling in _ALIASES["subscriptions"]:
        if raw.get(spelling) is not None:
            problems: list[str] = []
            subs = _parse_subscriptions(raw[spelling], problems)
            return None if problems else subs
    return None
