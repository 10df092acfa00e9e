"""Meta's delivery status webhooks, as the fake Graph API posts them after each accepted send.

For every message Meta accepts it later posts ``statuses`` webhooks to the business's
callback URL: ``sent`` (Meta's servers sent it), ``delivered`` (it reached the phone), ``read``
(the user opened the chat). The bodies are the status messages webhook Meta documents
(developers.facebook.com/docs/whatsapp/cloud-api/webhooks/reference/messages/status)::

    {"object": "whatsapp_business_account",
     "entry": [{"id": "<WABA_ID>", "changes": [{"field": "messages", "value": {
       "messaging_product": "whatsapp",
       "metadata": {"display_phone_number": "...", "phone_number_id": "<BOT_ID>"},
       "statuses": [{"id": "<wamid>", "status": "sent", "timestamp": "1749416390",
         "recipient_id": "<wa_id>",
         "conversation": {"id": "<32 hex>", "expiration_timestamp": "1749502790",
                          "origin": {"type": "service"}},
         "pricing": {"billable": false, "pricing_model": "PMP",
                     "type": "free_customer_service", "category": "service"}}]}}]}]}

``conversation`` and ``pricing`` come with ``sent`` and ``delivered`` only (the conversation's
``expiration_timestamp`` with ``sent`` only); ``read`` carries id, status, timestamp and
recipient. A reply inside the customer service window is priced per message (PMP, since July
2025) as free customer service. The send's ``biz_opaque_callback_data`` is echoed when it had
one. Each body is signed with ``X-Hub-Signature-256`` as Meta signs it.

Each status is posted at a random moment after the send, uniform between its step's bounds
and never before the previous status of the same message (:data:`REALISTIC`: sent 50-200 ms,
delivered 0.3-1 s, read 1-3 s). A status not answered 200 is tried again with a doubling
backoff for a bounded time, then given up (counted). Requests go over a few keep-alive
connections per callback URL, written as bytes (an HTTP client library would cost the fake,
which shares a core with the load generator in benchmarks, three times the CPU); with several
URLs (workers) messages are spread over them in turn.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.channels.whatsapp.signature import sign
from tests.fakes.cloud_payloads import DEFAULT_DISPLAY_PHONE_NUMBER, DEFAULT_WABA_ID

STATUS_ORDER = ("sent", "delivered", "read")
MAX_DELAY_S = 60.0
"""No status is planned later than this after its send (keeps a run bounded)."""
CONVERSATION_WINDOW_S = 24 * 3600
"""``expiration_timestamp`` of a ``sent`` status's conversation: the send plus 24 hours."""


@dataclass(frozen=True, slots=True)
class StatusStep:
    """One status posted after each accepted send, ``min_delay_s``..``max_delay_s`` after it."""

    status: str
    min_delay_s: float
    max_delay_s: float

    def __post_init__(self) -> None:
        if self.status not in STATUS_ORDER:
            raise ValueError(f"status must be one of {STATUS_ORDER}, got {self.status!r}")
        if not 0 <= self.min_delay_s <= self.max_delay_s <= MAX_DELAY_S:
            raise ValueError(
                f"{self.status}: delays must satisfy 0 <= min <= max <= {MAX_DELAY_S:g} s, "
                f"got {self.min_delay_s}..{self.max_delay_s}"
            )


SENT_ONLY = (StatusStep("sent", 0.0, 0.0),)
REALISTIC = (
    StatusStep("sent", 0.05, 0.2),
    StatusStep("delivered", 0.3, 1.0),
    StatusStep("read", 1.0, 3.0),
)


def parse_steps(text: str) -> tuple[StatusStep, ...]:
    """``"sent=0.05:0.2,delivered=0.3:1,read=1:3"`` (seconds after the send) as steps.

    Raises:
        ValueError: a part is not ``status=min:max`` or breaks :class:`StatusStep`'s bounds.
    """
    steps = []
    for part in text.split(","):
        status, _, bounds = part.strip().partition("=")
        low, _, high = bounds.partition(":")
        try:
            steps.append(StatusStep(status, float(low), float(high or low)))
        except ValueError as exc:
            raise ValueError(f"{part.strip()!r}: {exc}") from exc
    return tuple(steps)


def status_value(
    wamid: str,
    status: str,
    *,
    recipient_id: str,
    phone_number_id: str,
    timestamp_s: float,
    conversation_id: str,
    sent_at_s: float,
    reference: str | None = None,
) -> dict[str, Any]:
    """The ``changes[].value`` of one status webhook (see the module docstring)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(timestamp_s)),
        "recipient_id": recipient_id,
    }
    if status in ("sent", "delivered"):
        conversation: dict[str, Any] = {"id": conversation_id, "origin": {"type": "service"}}
        if status == "sent":
            conversation["expiration_timestamp"] = str(int(sent_at_s) + CONVERSATION_WINDOW_S)
        item["conversation"] = conversation
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if reference is not None:
        item["biz_opaque_callback_data"] = reference
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DEFAULT_DISPLAY_PHONE_NUMBER,
            "phone_number_id": phone_number_id,
        },
        "statuses": [item],
    }


def status_body(value: dict[str, Any]) -> bytes:
    """The whole webhook body around one ``value``, as Meta serializes it."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": DEFAULT_WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class StatusWebhook:
    """Where and how statuses are posted.

    Attributes:
        urls: The bot's webhook URL(s) (``http://127.0.0.1:PORT/webhook/whatsapp``); messages
            are spread over them in turn.
        app_secret: Signs each body (``X-Hub-Signature-256``).
        steps: The statuses of each send and their delays.
        retry_for_s: A status not answered 200 is given up this long after its send.
        first_backoff_s, max_backoff_s: Waits between tries (doubling).
    """

    urls: tuple[str, ...]
    app_secret: str
    steps: tuple[StatusStep, ...] = SENT_ONLY
    retry_for_s: float = 120.0
    first_backoff_s: float = 0.2
    max_backoff_s: float = 2.0


@dataclass(slots=True)
class _Target:
    host: str
    port: int
    head: bytes
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    slots: asyncio.Semaphore


class StatusPoster:
    """Posts the statuses of accepted sends (see the module docstring).

    Counters: :attr:`posted` (answered 200, by status), :attr:`given_up`, :attr:`last_posted_at`
    and :attr:`last_due_at` (Unix times of the last status answered and of the latest planned
    one) and :attr:`lateness_s` (answered - planned, seconds, per posted status).
    """

    def __init__(self, hook: StatusWebhook, connections_per_url: int = 16) -> None:
        if not hook.urls:
            raise ValueError("StatusWebhook needs at least one URL")
        self.hook = hook
        self.posted: Counter[str] = Counter()
        self.given_up = 0
        self.last_posted_at: float | None = None
        self.last_due_at: float | None = None
        self.lateness_s: list[float] = []
        self._targets = [_target(url, connections_per_url) for url in hook.urls]
        self._turn = itertools.cycle(range(len(self._targets)))
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, send_body: dict[str, Any], phone_number_id: str, wamid: str) -> None:
        """Plan the statuses of one accepted send (``send_body``: the request's JSON)."""
        ref = send_body.get("biz_opaque_callback_data")
        task = asyncio.create_task(
            self._post_all(
                self._targets[next(self._turn)],
                wamid,
                str(send_body.get("to", "")),
                phone_number_id,
                ref if isinstance(ref, str) else None,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def in_flight(self) -> int:
        """Sends whose statuses are not all posted or given up yet."""
        return len(self._tasks)

    async def settled(self, timeout_s: float) -> None:
        """Wait until every planned status was posted or given up."""
        async with asyncio.timeout(timeout_s):
            while self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Drop the statuses not posted yet and close the connections."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for target in self._targets:
            for _, writer in target.idle:
                writer.close()
            target.idle.clear()

    async def _post_all(
        self, target: _Target, wamid: str, recipient: str, phone_number_id: str, ref: str | None
    ) -> None:
        loop = asyncio.get_running_loop()
        sent_loop, sent_at = loop.time(), time.time()
        conversation = uuid.uuid4().hex
        due = sent_loop
        for step in self.hook.steps:
            due = max(due, sent_loop + random.uniform(step.min_delay_s, step.max_delay_s))
            due_at = sent_at + (due - sent_loop)
            if self.last_due_at is None or due_at > self.last_due_at:
                self.last_due_at = due_at
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            value = status_value(
                wamid,
                step.status,
                recipient_id=recipient,
                phone_number_id=phone_number_id,
                timestamp_s=due_at,
                conversation_id=conversation,
                sent_at_s=sent_at,
                reference=ref,
            )
            raw = status_body(value)
            signature = sign(self.hook.app_secret, raw)
            request = b"%sX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n%s" % (
                target.head,
                signature.encode(),
                len(raw),
                raw,
            )
            if await self._deliver(target, request, sent_loop + self.hook.retry_for_s):
                self.posted[step.status] += 1
                self.last_posted_at = time.time()
                self.lateness_s.append(loop.time() - due)
            else:
                self.given_up += 1

    async def _deliver(self, target: _Target, request: bytes, deadline: float) -> bool:
        """POST ``request`` until answered 200 or ``deadline`` (loop time) passes."""
        loop = asyncio.get_running_loop()
        backoff_s = self.hook.first_backoff_s
        while True:
            if await _post_once(target, request) == 200:
                return True
            if loop.time() + backoff_s > deadline:
                return False
            await asyncio.sleep(backoff_s)
            backoff_s = min(self.hook.max_backoff_s, backoff_s * 2)


def _target(url: str, connections: int) -> _Target:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise ValueError(f"status webhook URL must be http://host:port/path, got {url!r}")
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        "User-Agent: facebookexternalua\r\nContent-Type: application/json\r\n"
    ).encode()
    return _Target(parts.hostname, parts.port, head, [], asyncio.Semaphore(connections))


async def _post_once(target: _Target, request: bytes) -> int:
    """One request on an idle keep-alive connection (opened when none is idle); the HTTP
    status, or 0 on a connection error or a 5-second timeout."""
    async with target.slots:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(5.0):
                if target.idle:
                    reader, writer = target.idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(target.host, target.port)
                writer.write(request)
                status, keep = await _read_response(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            if writer is not None:
                writer.close()
            return 0
        if keep:
            target.idle.append((reader, writer))
        else:
            writer.close()
        return status


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response: (status, connection kept alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, keep = 0, False, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    if chunked:
        await reader.readuntil(b"0\r\n\r\n")
    elif length:
        await reader.readexactly(length)
    return status, keep


def webhook(
    urls: str | Sequence[str],
    app_secret: str,
    steps: Sequence[StatusStep] = SENT_ONLY,
    **retry: Any,
) -> StatusWebhook:
    """A :class:`StatusWebhook` for one URL or several."""
    return StatusWebhook(
        (urls,) if isinstance(urls, str) else tuple(urls), app_secret, tuple(steps), **retry
    )
