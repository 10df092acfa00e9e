"""Storing a send's result: the message's status, tried again while the store fails.

Losing a sent message's result would send it again, so :func:`record_result` tries
:data:`RECORD_ATTEMPTS` times over about 9 s before it gives up (and raises).
"""

from __future__ import annotations

import logging
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.sessions.model import Delivery, MessageRecord
from bot.sessions.store import OutboxStore, StoreUnavailable

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 8
"""Tries to store a send's result while the store fails, over about 9 s (losing it would
send the message twice)."""


async def record_result(
    store: OutboxStore, message_id: int, status: Delivery, **fields: Any
) -> None:
    """``store.mark_outbound``, tried :data:`RECORD_ATTEMPTS` times over about 9 s while
    the store is unavailable: a sent message whose result is lost is sent again.

    Raises:
        StoreUnavailable: The store failed every time.
    """
    try:
        await store.mark_outbound(message_id, status, **fields)
        return
    except StoreUnavailable as exc:
        log.warning("storing the result of message %s failed (%s); again", message_id, exc)
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(RECORD_ATTEMPTS - 1),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception_type(StoreUnavailable),
        reraise=True,
    ):
        with attempt:
            await store.mark_outbound(message_id, status, **fields)


async def settle(
    store: OutboxStore,
    record: MessageRecord,
    status: Delivery,
    error_code: int | None,
    error_detail: str | None,
) -> None:
    """Store the final result of ``record`` (and mirror it on the object)."""
    record.status, record.next_attempt_at = status, None
    record.error_code, record.error_detail = error_code, error_detail
    assert record.id is not None
    await record_result(
        store,
        record.id,
        status,
        provider_id=record.provider_id if status is Delivery.SENT else None,
        error_code=error_code,
        error_detail=error_detail,
        attempts=record.attempts,
    )
