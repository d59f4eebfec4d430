"""Exceptions a site owner (or the delivery layer) acts on, in one leaf module.

Every other module imports its errors from here, so no module has to import the settings or the mapping just to
name an error (that is what used to tie the two into an import cycle).
"""

from __future__ import annotations

__all__ = ["InvalidEvent", "MappingError", "SettingsError"]


class SettingsError(ValueError):
    """The destination settings cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Customer.io settings: " + "; ".join(self.problems))


class MappingError(SettingsError):
    """A mapping (normally a site owner's custom subscription) is not valid directive language.

    It is a :class:`SettingsError` because it is fixed in the settings, not in the event; ``problems`` names the
    offending field, e.g. ``subscriptions[0].mapping.name: @path expects a string``.
    """


class InvalidEvent(ValueError):
    """Customer.io would refuse this event; ``str(exc)`` is the reference's own error text.

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
