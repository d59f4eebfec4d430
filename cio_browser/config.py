"""What a delivering destination is built from: validated settings plus its subscriptions, compiled once.

:class:`~cio_browser.settings.Settings` checks the settings themselves and never imports the mapping; the mapping
compiles subscriptions and never needs credentials. This module sits above both, so the place that builds a
destination (the browser's start-up, a server-side relay) gets, in one call, everything checked at once and one
:class:`~cio_browser.errors.SettingsError` listing every problem: settings, credentials and subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MappingError, SettingsError
from .mapping import CompiledSubscriptions, compile_subscriptions
from .settings import Settings, subscriptions_in

__all__ = ["Config", "load"]


@dataclass(frozen=True)
class Config:
    """Settings ready to deliver with. ``subscriptions`` is None for the presets."""

    settings: Settings
    subscriptions: CompiledSubscriptions | None

    @property
    def notes(self) -> list[str]:
        """Warnings worth one console line at start-up (nothing here stops delivery)."""
        if not self.settings.ignored:
            return []
        keys = ", ".join(self.settings.ignored)
        return [f"Customer.io: ignoring Segment's own settings keys ({keys}): they say how Segment loads a "
                "destination and do not apply here."]


def load(raw: Any, *, deliver: bool = True) -> Config:
    """Parse ``raw`` settings and compile their subscriptions; raise one :class:`SettingsError` for all problems.

    ``deliver`` adds the checks that only matter to something that sends (credentials, unless a proxy adds them).
    """
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.from_dict(raw, require_credentials=deliver)
    except SettingsError as exc:
        problems.extend(exc.problems)
    if settings is not None:
        subs_raw = settings.subscriptions
    else:
        subs_raw = subscriptions_in(raw)  # still report bad subscriptions along with the other problems
    compiled = None
    if subs_raw is not None:
        try:
            compiled = compile_subscriptions(subs_raw)
        except MappingError as exc:
            problems.extend(exc.problems)
    if problems or settings is None:
        raise SettingsError(problems)
    return Config(settings, compiled)

