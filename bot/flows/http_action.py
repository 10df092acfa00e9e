"""The ``http`` action's transport: POST JSON, retry with exponential backoff, read a JSON reply.

Request: ``POST <url>`` with ``Content-Type: application/json``, the step's ``headers``, an
``Idempotency-Key`` header that stays the same across the retries of one call
(``<session id>:<step id>``), and the body built by :mod:`bot.flows.actions`::

    {"session_id": "...", "user": "5491155550001", "flow": "order", "step": "place_order",
     "language": "es", "data": {...the session's slots...}}

Reply: any 2xx with a JSON object body (an empty body reads as ``{}``). A network error, a
timeout, a 5xx or a 429 is retried (``retries`` more times, waiting ``backoff_s``, then twice
as long each time, at most 30 s); another 4xx, or a body that is not a JSON object, fails at
once. Retries use ``tenacity``; the sleep is injectable so tests do not wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.errors import BotError
from bot.flows.model import HttpCall

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
Sleep = Callable[[float], Awaitable[None]]


class ActionFailed(BotError):
    """An action could not complete; ``reason`` says why (logged, never shown to users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Retryable(ActionFailed):
    """A failure worth another attempt (network, timeout, 5xx, 429)."""


class HttpClient(Protocol):
    """What actions need of HTTP: one JSON POST (with its retries) answered by a JSON object."""

    async def post_json(
        self, call: HttpCall, body: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """POST ``body`` to ``call.url``; return the reply's JSON object.

        Raises:
            ActionFailed: Every attempt failed, or the reply is not a usable JSON object.
        """
        ...


class AiohttpClient:
    """:class:`HttpClient` over aiohttp: one short-lived session per call, a total timeout per
    attempt, retries with exponential backoff.

    Args:
        sleep: Waits between attempts (``asyncio.sleep``; tests pass a no-op).
    """

    def __init__(self, sleep: Sleep = asyncio.sleep) -> None:
        self._sleep = sleep

    async def post_json(
        self, call: HttpCall, body: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(call.retries + 1),
            wait=wait_exponential(multiplier=call.backoff_s, min=call.backoff_s, max=MAX_BACKOFF_S),
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        headers = {**call.headers, "Idempotency-Key": idempotency_key}
        async with aiohttp.ClientSession() as session:
            try:
                async for attempt in retrying:
                    with attempt:
                        return await self._attempt(session, call, body, headers)
            except _Retryable as exc:
                raise ActionFailed(f"{exc.reason} (after {call.retries + 1} attempts)") from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        call: HttpCall,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=call.timeout_s)
        try:
            async with session.post(
                call.url, json=body, headers=headers, timeout=timeout
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as exc:
            log.info("POST %s timed out after %ss", call.url, call.timeout_s)
            raise _Retryable(f"POST {call.url} timed out after {call.timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            log.info("POST %s failed: %s", call.url, exc)
            raise _Retryable(f"POST {call.url} failed: {exc}") from exc
        if status >= 500 or status == 429:
            log.info("POST %s answered %s", call.url, status)
            raise _Retryable(f"POST {call.url} answered HTTP {status}")
        if not 200 <= status < 300:
            raise ActionFailed(f"POST {call.url} answered HTTP {status}: {raw[:200]!r}")
        if not raw.strip():
            return {}
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ActionFailed(f"POST {call.url} answered non-JSON: {raw[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise ActionFailed(f"POST {call.url} answered JSON that is not an object")
        return answer


def pick(answer: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (``order.id``, ``items.0.name``) of a JSON reply.

    Raises:
        ActionFailed: Some part of the path is missing.
    """
    node: Any = answer
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ActionFailed(f"the reply has no {path!r}")
    return node
