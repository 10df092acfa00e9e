"""A clock that only moves when a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Callable like :data:`bot.clock.Clock`; starts at a fixed aware UTC time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        """Move time forward."""
        self.now += timedelta(minutes=minutes, seconds=seconds)
