"""When to try a failed send again: exponential backoff with jitter, a bounded number of times.

The wait before attempt ``n + 1`` is drawn uniformly from ``[e / 2, e]`` with
``e = min(max_s, base_s * 2 ** (n - 1))`` ("equal jitter": never shorter than half the
exponential step, so a throttled number really slows down, yet spread out so the senders
refused together do not come back together). Built from tenacity's wait strategies; the
attempts themselves are scheduled by the outbox (the schedule is stored with the message, so it
survives restarts), not by a tenacity loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, wait_exponential, wait_random_exponential
from tenacity.wait import wait_base


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a refused send is tried again.

    Args:
        max_attempts: Sends tried per message, the first included (1: never retried).
        base_s: The exponential step after the first attempt, in seconds.
        max_s: The longest wait between two attempts, in seconds.

    Raises:
        ValueError: ``max_attempts`` below 1, or a step that is not positive.
    """

    max_attempts: int = 8
    base_s: float = 1.0
    max_s: float = 300.0
    _wait: wait_base = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s <= 0 or self.max_s < self.base_s:
            raise ValueError(f"invalid retry policy: {self}")
        half_base, half_max = self.base_s / 2, self.max_s / 2
        wait = wait_exponential(multiplier=half_base, max=half_max) + wait_random_exponential(
            multiplier=half_base, max=half_max
        )
        object.__setattr__(self, "_wait", wait)

    def gives_up(self, attempts: int) -> bool:
        """True when a message refused ``attempts`` times is not tried again."""
        return attempts >= self.max_attempts

    def delay_s(self, attempts: int, min_delay_s: float = 0.0) -> float:
        """Seconds to wait after the ``attempts``-th refused send (1 after the first), at
        least ``min_delay_s`` (the provider's ``Retry-After``)."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = max(1, attempts)
        return max(min_delay_s, float(self._wait(state)))
