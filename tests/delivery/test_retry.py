"""Backoff with jitter, a bounded number of times; the provider's Retry-After and parsing it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channels.http import retry_after_s
from bot.delivery.retry import RetryPolicy


def test_the_wait_doubles_with_jitter_between_half_and_the_full_step() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=1.0, max_s=60.0)
    for attempts, step in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (9, 60.0)]:
        waits = [policy.delay_s(attempts) for _ in range(200)]
        assert all(step / 2 <= w <= step for w in waits), (attempts, min(waits), max(waits))
        assert max(waits) - min(waits) > step / 10  # jittered, not all the same


def test_the_providers_wait_is_respected_when_longer() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=60.0)
    assert policy.delay_s(1, min_delay_s=30.0) == 30.0
    assert policy.delay_s(7, min_delay_s=0.5) >= 30.0


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.gives_up(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"base_s": 0}, {"base_s": 5, "max_s": 1}])
def test_a_nonsensical_policy_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid retry policy"):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Sat, 21 Nov 2026 12:00:30 GMT", 30.0),
        ("Sat, 21 Nov 2026 11:59:00 GMT", 0.0),  # in the past: now
        ("soon", None),
    ],
)
def test_retry_after_header_in_seconds_or_as_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_s(header, now) == seconds
