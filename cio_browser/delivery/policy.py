"""What to do with a Customer.io answer: a pure classifier plus backoff, no I/O and no clock reads.

Kept apart from the send loop (as analytics-python's ``fatal_exception``) so every status code's fate is one
table that tests can read, and so a resolved fetch is never mistaken for a delivered event.
"""

from __future__ import annotations

import email.utils
from enum import Enum

#: Backoff: 0.5 s x 2^(attempt-1), times a random factor in [1, 2), capped (analytics-next uses the same base).
BACKOFF_BASE_MS = 500
BACKOFF_CAP_MS = 5 * 60 * 1000
#: Longest Retry-After we honour (customerio-node caps at 300 s too); longer answers are clipped.
RETRY_AFTER_CAP_MS = 300 * 1000


class Outcome(Enum):
    DELIVERED = "delivered"      # 2xx: remove from storage
    RETRY = "retry"              # network error, 408, 429, 5xx: keep, back off, try again
    REJECT = "reject"            # 400/422 and other 4xx: this item will never be accepted; set it aside
    TOO_LARGE = "too_large"      # 413: split the batch, or set the lone item aside
    PAUSE = "pause"              # 401/403/404/405: credentials or endpoint are wrong; keep everything, stop


def classify(status: int | None) -> Outcome:
    """Outcome for an HTTP status; ``None`` or ``0`` means the request never got an answer (network error)."""
    if not status:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (408, 425, 429) or status >= 500:
        return Outcome.RETRY
    if status in (401, 403, 404, 405):
        return Outcome.PAUSE
    if status == 413:
        return Outcome.TOO_LARGE
    return Outcome.REJECT


def backoff_ms(attempt: int, rand: float) -> float:
    """Delay before retry number ``attempt`` (1-based); ``rand`` in [0, 1) supplies the jitter."""
    attempt = max(1, attempt)
    return min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * (2 ** min(attempt - 1, 20)) * (1.0 + rand))


def retry_after_ms(value: str | None, now_ms: float) -> float | None:
    """Parse a Retry-After header (delta seconds or an HTTP date) into a delay in ms, clipped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now_ms / 1000.0
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(RETRY_AFTER_CAP_MS, seconds * 1000.0))
