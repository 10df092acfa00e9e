"""One log line per session event (created, reused, warned, closed), with structured fields.

The line reads ``session <event> session_id=... channel=... user=54911****89 status=...``; the
same fields go in the record's ``extra``, so ``LOG_FORMAT=json`` (see :mod:`bot.logs`) writes
them as keys, with ``event`` set to ``session_<event>``.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.privacy import mask_phone
from bot.sessions.model import Session


def session_event(logger: logging.Logger, event: str, session: Session, **fields: Any) -> None:
    """Log one INFO line for a session event, with the same fields as structured ``extra``.

    Args:
        logger: The caller's named logger.
        event: ``"created"``, ``"reused"``, ``"warned"`` or ``"closed"``.
        session: The session, after the event (a closed one carries status and reason).
        fields: More ``name=value`` pairs (``None`` values are left out).
    """
    details: dict[str, Any] = {
        "session_id": session.id,
        "channel": session.key.channel,
        "bot_id": session.key.bot_id,
        "user": mask_phone(session.key.user_id),
        "status": session.status.value,
        "reason": session.close_reason,
        **fields,
    }
    details = {k: v for k, v in details.items() if v is not None}
    text = " ".join(f"{k}={v}" for k, v in details.items())
    logger.info("session %s %s", event, text, extra={"event": f"session_{event}", **details})
