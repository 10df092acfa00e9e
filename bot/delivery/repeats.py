"""Rate-limits log lines that repeat: the first of each (subject, reason), then one per period.

A send refused for the same reason again and again (the provider is down, a port is closed)
would otherwise log a line per attempt. :class:`RepeatGate` lets the first line through, drops
the repeats that follow within ``every_s`` seconds (counting them), and lets the next one after
that through with the count of those dropped, so the log shows the reason once and then at
most one summary line per ``every_s`` per subject::

    gate = RepeatGate(clock, every_s=60.0)
    dropped = gate.admit(user, reason)
    if dropped is not None:
        log.info("... %s%s", reason, f" ({dropped} like it not logged)" if dropped else "")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

REPEAT_LOG_EVERY_S = 60.0
"""Seconds between two log lines of the same subject and reason."""
MAX_SUBJECTS = 10_000
"""(subject, reason) pairs remembered at most; older ones are forgotten first."""


@dataclass(slots=True)
class _Seen:
    logged_at: datetime
    dropped: int = 0


class RepeatGate:
    """Decides which of a repeating log line's occurrences are written.

    Args:
        clock: Current time (injected: tests move it instead of sleeping).
        every_s: Seconds between two lines of one (subject, reason), the first excepted.
        max_subjects: Pairs remembered at most (a bound on memory).
    """

    def __init__(
        self, clock: Clock, every_s: float = REPEAT_LOG_EVERY_S, max_subjects: int = MAX_SUBJECTS
    ) -> None:
        self.clock = clock
        self.every = timedelta(seconds=every_s)
        self.max_subjects = max_subjects
        self._seen: dict[tuple[str, str], _Seen] = {}

    def admit(self, subject: str, reason: str) -> int | None:
        """One occurrence of ``reason`` for ``subject`` (e.g. a user's number).

        Returns:
            None when the line is not to be written (it is counted); otherwise how many like
            it were not written since the last one (0 for the first).
        """
        now = self.clock()
        pair = (subject, reason)
        seen = self._seen.get(pair)
        if seen is None:
            self._forget_old(now)
            self._seen[pair] = _Seen(now)
            return 0
        if now - seen.logged_at < self.every:
            seen.dropped += 1
            return None
        dropped, seen.logged_at, seen.dropped = seen.dropped, now, 0
        return dropped

    def _forget_old(self, now: datetime) -> None:
        if len(self._seen) < self.max_subjects:
            return
        for pair in [p for p, s in self._seen.items() if now - s.logged_at >= self.every]:
            del self._seen[pair]
        while len(self._seen) >= self.max_subjects:
            del self._seen[next(iter(self._seen))]
