"""Exceptions a site owner (or the delivery layer) acts on."""

from __future__ import annotations

from .settings import SettingsError

__all__ = ["InvalidEvent", "SettingsError"]


class InvalidEvent(ValueError):
    """Customer.io (Actions) would refuse this event; ``str(exc)`` is the reference's own error text.

    ``action`` names the Customer.io action that refused it, ``field`` the payload field (when one is to blame)
    and ``rule`` the kind of check (``required``, ``choice``, ``type``, ``datetime``, ``size``, ``input``) so
    the console error can name the field and the rule.
    """

    def __init__(self, message: str, *, action: str | None = None, field: str | None = None,
                 rule: str | None = None):
        super().__init__(message)
        self.action = action
        self.field = field
        self.rule = rule
