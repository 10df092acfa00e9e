"""What to do about a refused send, from the provider's documented error codes.

Meta, "WhatsApp Cloud API > Support > Error codes" (Graph API ``error.code``):

- Throttling of the business number or app — retry later, and slow the number down:
  ``4`` (API Too Many Calls), ``80007`` (WhatsApp Business Account rate limit),
  ``130429`` (Cloud API message throughput reached); also any HTTP 429.
- ``131056`` ((Business Account, Consumer Account) pair rate limit hit: too many messages
  to one user) — retry later for that user only; Meta's throughput docs allow about one
  message every 6 s to the same user, so the wait is at least :data:`PAIR_RATE_MIN_S`.
- Transient on Meta's side — retry: ``1`` (API Unknown), ``2`` (API Service, temporary
  downtime or overload), ``131000`` (Something went wrong), ``131016`` (Service
  unavailable), ``133004`` (Server temporarily unavailable); any HTTP 5xx; no answer at all
  (network error, timeout).
- ``190`` (Access token has expired) and ``0`` (AuthException), or HTTP 401 — permanent, and
  every other send will fail the same way: the operator must replace the token.
- Everything else (``131047`` re-engagement: outside the 24-hour window, ``131026``
  undeliverable, ``100`` / ``131008`` / ``131009`` invalid parameters, ``131030`` recipient
  not allowed, ``133010`` number not registered, ``368`` blocked for policy, template errors
  ``132xxx``, ...) — permanent: sending again cannot help.

Twilio, "Error and Warning Dictionary" (the error object's ``code``): ``20429`` (Too Many
Requests) and ``63018`` (WhatsApp rate limit exceeded) throttle; ``20500`` / ``20503`` and any
HTTP 5xx are transient; ``20003`` (authentication failed) or HTTP 401 is a credentials error;
everything else (``21211`` invalid 'To', ``21610`` unsubscribed recipient, ``63016`` outside
the WhatsApp 24-hour window, ...) is permanent.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from enum import StrEnum

import aiohttp

from bot.errors import ChannelSendError

PAIR_RATE_MIN_S = 6.0
"""Shortest wait after Meta's pair rate limit (131056), in seconds."""


class Action(StrEnum):
    """How the outbox treats a refused send."""

    RETRY = "retry"
    """Transient: send this message again after a backoff."""
    THROTTLE = "throttle"
    """The business number is over its rate: retry, and pause the number's other sends."""
    USER_BACKOFF = "user_backoff"
    """Too many messages to this user: retry after a backoff; other users are not affected."""
    PERMANENT = "permanent"
    """Sending again cannot help: record the message ``failed`` with the code."""
    CREDENTIALS = "credentials"
    """Permanent, and every send fails the same way until an operator fixes the token."""

    @property
    def retried(self) -> bool:
        """True when the message is sent again."""
        return self in (Action.RETRY, Action.THROTTLE, Action.USER_BACKOFF)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do about one refused send.

    Attributes:
        action: See :class:`Action`.
        min_delay_s: The shortest wait before the next attempt, in seconds: the provider's
            ``Retry-After``, or :data:`PAIR_RATE_MIN_S` for the pair rate limit (0: none).
    """

    action: Action
    min_delay_s: float = 0.0


_META = {
    4: Action.THROTTLE,
    80007: Action.THROTTLE,
    130429: Action.THROTTLE,
    131056: Action.USER_BACKOFF,
    1: Action.RETRY,
    2: Action.RETRY,
    131000: Action.RETRY,
    131016: Action.RETRY,
    133004: Action.RETRY,
    0: Action.CREDENTIALS,
    190: Action.CREDENTIALS,
}
_TWILIO = {
    20429: Action.THROTTLE,
    63018: Action.THROTTLE,
    20500: Action.RETRY,
    20503: Action.RETRY,
    20003: Action.CREDENTIALS,
}


def classify(channel: str, error: ChannelSendError) -> Verdict:
    """The :class:`Verdict` on ``error``, a send refused on ``channel``.

    The provider's error code decides when it is a known one (Meta's for ``whatsapp``,
    Twilio's for the other channels); otherwise the HTTP status: no answer, 429 and 5xx are
    retried, 401 is a credentials error, any other 4xx is permanent.
    """
    table = _META if channel == "whatsapp" else _TWILIO
    action = table.get(error.code) if error.code is not None else None
    if action is None:
        status = error.status
        if status is None or status >= 500:
            action = Action.RETRY
        elif status == 429:
            action = Action.THROTTLE
        elif status == 401:
            action = Action.CREDENTIALS
        else:
            action = Action.PERMANENT
    min_delay_s = error.retry_after_s or 0.0
    if action is Action.USER_BACKOFF:
        min_delay_s = max(min_delay_s, PAIR_RATE_MIN_S)
    return Verdict(action, min_delay_s)


def reason(error: ChannelSendError) -> str:
    """Why a send was refused, in a few words for a log line.

    ``HTTP 503 code 2: (#2) Service temporarily unavailable`` when the provider answered;
    otherwise the network failure the client met (the error's ``__cause__``):
    ``connection refused: Cannot connect to host 127.0.0.1:9 ...``, ``DNS lookup failed:
    ...``, ``timeout after 10 s``, ``connection reset: ...``, ``server disconnected: ...``,
    ``connection error: ...``; ``error.detail`` when nothing more is known.
    """
    if error.status is not None:
        code = f" code {error.code}" if error.code is not None else ""
        return f"HTTP {error.status}{code}: {error.detail}"
    cause = error.__cause__
    if isinstance(cause, TimeoutError):
        prefix = "timed out after "
        if error.detail.startswith(prefix):
            return f"timeout after {error.detail[len(prefix) :].removesuffix('s')} s"
        return f"timeout: {error.detail}"
    if isinstance(cause, aiohttp.ClientConnectorError):
        os_error = cause.os_error
        if isinstance(os_error, socket.gaierror):
            return f"DNS lookup failed: {cause}"
        if isinstance(os_error, ConnectionRefusedError):
            return f"connection refused: {cause}"
        return f"cannot connect: {cause}"
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return f"server disconnected: {cause}"
    if isinstance(cause, ConnectionResetError) or (
        isinstance(cause, aiohttp.ClientOSError) and cause.errno == errno.ECONNRESET
    ):
        return f"connection reset: {cause}"
    if isinstance(cause, aiohttp.ClientError):
        return f"connection error: {cause}"
    return error.detail
