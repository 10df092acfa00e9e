"""Periodic upkeep of the store: retention of closed sessions, and statistics in the logs."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.clock import Clock
from bot.privacy import mask_phone
from bot.sessions.model import Status
from bot.sessions.store import DeletedCounts, MaintenanceStore, QueryStore, SessionQuery

log = logging.getLogger(__name__)

CLEANUP_INTERVAL_S = 3600.0
"""How often the retention job runs in ``bot serve``."""
STATS_INTERVAL_S = 300.0
"""How often active-session statistics are logged."""


async def purge_expired(store: MaintenanceStore, clock: Clock, retention_h: float) -> DeletedCounts:
    """Delete what closed more than ``retention_h`` hours ago; log the counts.

    Raises:
        Exception: Whatever the store raises; callers log it as an error and count it.
    """
    counts = await store.purge_closed(clock() - timedelta(hours=retention_h))
    log.info(
        "retention: deleted %d closed sessions and %d messages older than %g h",
        counts.sessions,
        counts.messages,
        retention_h,
    )
    return counts


async def log_active_sessions(store: QueryStore, clock: Clock, limit: int = 1000) -> int:
    """Log how many sessions are active and, at DEBUG, each one's age and time to timeout
    (phone numbers masked). Returns the count (up to ``limit``)."""
    now = clock()
    active = await store.list_sessions(SessionQuery(status=Status.ACTIVE.value, limit=limit))
    log.info("active sessions: %d%s", len(active), "+" if len(active) >= limit else "")
    if log.isEnabledFor(logging.DEBUG):
        for s in active:
            left_s = (s.expires_at - now).total_seconds() if s.expires_at else 0.0
            log.debug(
                "active session %s user=%s channel=%s active_for_s=%.0f timeout_in_s=%.0f",
                s.id,
                mask_phone(s.key.user_id),
                s.key.channel,
                (now - s.created_at).total_seconds(),
                left_s,
            )
    return len(active)
