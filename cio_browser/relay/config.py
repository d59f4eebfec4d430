"""The relay's configuration: one typed object read from environment variables, every problem reported at once.

Why one object: the ASGI app, the CLI and the tests all build the relay from it, so a variable is parsed and
checked in exactly one place. Why all problems at once: an operator fixes a deployment in one go instead of one
restart per mistake, as with the page's :class:`~cio_browser.settings.Settings`. Region and mapping rules are
the destination's own (:func:`~cio_browser.settings.region_code`, ``Settings.from_dict``); nothing is re-stated
here. No message ever contains the API key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import load
from ..constants import REGION_HOSTS, REGION_LABELS
from ..errors import SettingsError
from ..mapping import CompiledSubscriptions
from ..settings import Settings, canonical_name, region_code

__all__ = ["ENV_VARS", "RelayConfig", "RelayConfigError"]

#: Every variable the relay reads, with what it means (``--help`` and the README print this table).
ENV_VARS: dict[str, str] = {
    "CIO_SITE_ID": "Customer.io site ID (required)",
    "CIO_API_KEY": "Track API key (required, or CIO_API_KEY_FILE)",
    "CIO_API_KEY_FILE": "file holding the Track API key (e.g. a mounted secret)",
    "CIO_REGION": "US (default) or EU",
    "CIO_UPSTREAM": "base URL overriding the region's Track API host (tests, a local endpoint)",
    "CIO_ALLOWED_ORIGINS": "comma-separated page origins allowed to call the relay, e.g. https://www.example.com "
                           "(required; '*' allows any)",
    "CIO_SETTINGS": "the page's settings JSON (mode, subscriptions, batching) used to map /events; "
                    "default: presets",
    "CIO_SETTINGS_FILE": "file holding CIO_SETTINGS",
    "CIO_TIMEOUT": "seconds for each upstream request (default 10)",
    "CIO_RATE_LIMIT": "requests per minute per client address, per relay instance (default 600; 0 = off)",
    "CIO_TRUST_FORWARDED": "1 = take the client address from X-Forwarded-For (only behind your own proxy)",
}

#: Settings the relay takes from the page's settings: the ones that decide what an event maps to.
_MAPPING_SETTINGS = frozenset({"mode", "subscriptions", "batching", "batch_size"})
#: Settings that belong to the relay's own variables; in CIO_SETTINGS they would silently disagree.
_REFUSED_SETTINGS = {"api_key": "CIO_API_KEY", "endpoint": "CIO_UPSTREAM", "region": "CIO_REGION"}

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RATE_LIMIT = 600


class RelayConfigError(SettingsError):
    """The relay cannot start with this environment; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__(problems)
        self.args = ("cio_browser relay configuration: " + "; ".join(self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class RelayConfig:
    """Validated relay configuration. ``api_key`` is left out of ``repr`` (and so of tracebacks and logs)."""

    site_id: str
    api_key: str = field(repr=False)
    upstream: str
    allowed_origins: frozenset[str]
    #: What ``/events`` maps with: the page's mapping settings plus the relay's credentials and upstream.
    settings: Settings = field(repr=False)
    #: The custom subscriptions, compiled once at start-up (None: the presets).
    subscriptions: CompiledSubscriptions | None = field(default=None, repr=False)
    region: str = "US"
    timeout_s: float = DEFAULT_TIMEOUT_S
    rate_limit: int = DEFAULT_RATE_LIMIT
    trust_forwarded: bool = False

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header the relay adds to every upstream request (never sent to a client)."""
        auth = self.settings.auth_header
        assert auth is not None  # from_env requires a key
        return auth

    def origin_allowed(self, origin: str | None) -> bool:
        """True for an allowed page origin, and for requests without ``Origin`` (not a cross-site browser call:
        browsers send ``Origin`` on every POST/PUT/DELETE, so a foreign page cannot leave it out)."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.lower() in self.allowed_origins

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RelayConfig:
        """Read and check every ``CIO_*`` variable; raise one :class:`RelayConfigError` listing all problems."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        site_id = env.get("CIO_SITE_ID", "").strip()
        if not site_id:
            problems.append("CIO_SITE_ID is required")
        elif ":" in site_id:
            problems.append("CIO_SITE_ID must not contain ':'")

        api_key = _api_key(env, problems)

        region = "US"
        raw_region = env.get("CIO_REGION", "").strip()
        if raw_region:
            code = region_code(raw_region)
            if code is None:
                problems.append(f"CIO_REGION {raw_region!r} is not a region: use 'US' or 'EU' "
                                f"(or Segment's labels {REGION_LABELS['US']!r} / {REGION_LABELS['EU']!r})")
            region = code or "US"

        upstream = env.get("CIO_UPSTREAM", "").strip().rstrip("/") or REGION_HOSTS[region]
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            problems.append(f"CIO_UPSTREAM {upstream!r} must be an absolute http(s) URL without query or fragment")

        origins = _origins(env.get("CIO_ALLOWED_ORIGINS", ""), problems)
        page_settings = _page_settings(env, site_id, problems)
        timeout_s = _number(env, "CIO_TIMEOUT", DEFAULT_TIMEOUT_S, 0.1, 300.0, problems)
        rate_limit = int(_number(env, "CIO_RATE_LIMIT", DEFAULT_RATE_LIMIT, 0, 1_000_000, problems, whole=True))
        trust = env.get("CIO_TRUST_FORWARDED", "0").strip().lower()
        if trust not in ("0", "1", "true", "false", "yes", "no", ""):
            problems.append(f"CIO_TRUST_FORWARDED must be 1 or 0, got {trust!r}")

        loaded = None
        try:  # checked even when other variables are wrong, so every problem is listed in one go
            # the destination's own loader: settings checked and subscriptions compiled once, as in the page
            loaded = load({**page_settings, "siteId": site_id or "-", "apiKey": api_key or "-",
                           "accountRegion": region, "endpoint": upstream if upstream.startswith("http") else None})
        except SettingsError as exc:
            problems.extend(f"CIO_SETTINGS: {p}" for p in exc.problems)
        if problems or loaded is None:
            raise RelayConfigError(problems)
        return cls(site_id=site_id, api_key=api_key, upstream=upstream, allowed_origins=origins,
                   settings=loaded.settings, subscriptions=loaded.subscriptions, region=region,
                   timeout_s=timeout_s, rate_limit=rate_limit, trust_forwarded=trust in ("1", "true", "yes"))


def _api_key(env: Mapping[str, str], problems: list[str]) -> str:
    """The key from CIO_API_KEY or CIO_API_KEY_FILE; problems name the variable or file, never the value."""
    direct = env.get("CIO_API_KEY", "").strip()
    path = env.get("CIO_API_KEY_FILE", "").strip()
    if direct and path:
        problems.append("set CIO_API_KEY or CIO_API_KEY_FILE, not both")
        return ""
    if path:
        try:
            direct = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"CIO_API_KEY_FILE {path!r} cannot be read ({type(exc).__name__})")
            return ""
        if not direct:
            problems.append(f"CIO_API_KEY_FILE {path!r} is empty")
        return direct
    if not direct:
        problems.append("CIO_API_KEY (or CIO_API_KEY_FILE) is required")
    return direct


def _origins(raw: str, problems: list[str]) -> frozenset[str]:
    """``scheme://host[:port]`` entries, lower-cased as browsers send them; ``*`` allows any origin."""
    out: set[str] = set()
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        if entry == "*":
            out.add("*")
            continue
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            problems.append(f"CIO_ALLOWED_ORIGINS entry {entry!r} is not an origin like https://www.example.com")
            continue
        out.add(f"{parts.scheme}://{parts.netloc}".lower())
    if not out and not any(p.startswith("CIO_ALLOWED_ORIGINS") for p in problems):
        problems.append("CIO_ALLOWED_ORIGINS is required: the page origin(s) allowed to call the relay")
    return frozenset(out)


def _page_settings(env: Mapping[str, str], site_id: str, problems: list[str]) -> dict[str, Any]:
    """The mapping part of the page's settings (CIO_SETTINGS or CIO_SETTINGS_FILE); the rest is the page's own.

    The same JSON as the page's ``data-settings`` is accepted: ``relay``, ``boot``, ``debug`` … are ignored
    here; a key, endpoint or region is refused because the relay's own variables say that.
    """
    text = env.get("CIO_SETTINGS", "").strip()
    path = env.get("CIO_SETTINGS_FILE", "").strip()
    if text and path:
        problems.append("set CIO_SETTINGS or CIO_SETTINGS_FILE, not both")
        return {}
    where = "CIO_SETTINGS"
    if path:
        where = f"CIO_SETTINGS_FILE {path!r}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where} cannot be read ({type(exc).__name__})")
            return {}
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:  # the position only: the text may hold a key someone pasted by mistake
        problems.append(f"{where} is not valid JSON (line {getattr(exc, 'lineno', '?')}, "
                        f"column {getattr(exc, 'colno', '?')})")
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a JSON object")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = canonical_name(key)
        if name in _REFUSED_SETTINGS:
            problems.append(f"{where} must not set {key!r}: the relay takes it from {_REFUSED_SETTINGS[name]}")
        elif name == "site_id":
            if str(value).strip() != site_id:
                problems.append(f"{where} siteId differs from CIO_SITE_ID")
        elif name in _MAPPING_SETTINGS:
            out[key] = value
        elif name is None:
            out[key] = value  # unknown: Settings.from_dict reports it with the page's own wording
    return out


def _number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float, problems: list[str], *,
            whole: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        kind = "a whole number" if whole else "a number"
        problems.append(f"{name} must be {kind} from {lo:g} to {hi:g}, got {raw!r}")
        return default
    return value
