"""Retry policy: every Customer.io answer has one fate, and backoff/Retry-After are bounded."""

from __future__ import annotations

import pytest

from cio_browser.delivery.policy import BACKOFF_CAP_MS, Outcome, backoff_ms, classify, retry_after_ms


@pytest.mark.parametrize(("status", "outcome"), [
    (None, Outcome.RETRY), (0, Outcome.RETRY), (200, Outcome.DELIVERED), (204, Outcome.DELIVERED),
    (400, Outcome.REJECT), (422, Outcome.REJECT), (401, Outcome.PAUSE), (403, Outcome.PAUSE),
    (404, Outcome.PAUSE), (405, Outcome.PAUSE), (408, Outcome.RETRY), (413, Outcome.TOO_LARGE),
    (429, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY),
    (522, Outcome.RETRY), (524, Outcome.RETRY), (418, Outcome.REJECT),
])
def test_each_status_has_one_fate(status, outcome):
    assert classify(status) is outcome


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_ms(1, 0.0) == 500 and backoff_ms(2, 0.0) == 1000 and backoff_ms(3, 0.999) < 4000
    assert backoff_ms(50, 0.999) == BACKOFF_CAP_MS


@pytest.mark.parametrize(("header", "ms"), [
    ("2", 2000.0), (" 0.5 ", 500.0), ("-3", 0.0), ("99999", 300_000.0), (None, None), ("", None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:10 GMT", 10_000.0),
])
def test_retry_after_accepts_seconds_or_an_http_date_and_is_clipped(header, ms):
    now = 1445412480000.0  # 2015-10-21T07:28:00Z
    assert retry_after_ms(header, now) == ms
