"""The WhatsApp sandbox: ``WHATSAPP_API_URL=sandbox`` keeps replies in the store, sends nothing.

For trying the service without a WhatsApp account (``bot send "hola"`` against ``make run``).
:class:`SandboxSender` builds every request exactly as :class:`WhatsAppClient` does (the same
Graph API bodies, the same limits on buttons and lists, the same choice between buttons, a
list and numbered text) and, instead of posting it to Meta, answers as the Graph API answers
an accepted message, with a fake ``wamid.sandbox.<n>``. The outbox then records the reply
``sent`` with that id, so it shows in the dashboard's conversation view and the admin API's
history like any other. Meta would follow with ``sent``/``delivered`` status webhooks; the
sandbox sends none, so replies stay ``sent``.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

import aiohttp

from bot.channels.base import OUTBOUND_REFERENCE
from bot.channels.whatsapp import WhatsAppClient
from bot.config import SANDBOX_API_URL
from bot.privacy import mask_phone

log = logging.getLogger(__name__)

WAMID_PREFIX = "wamid.sandbox."
KEPT_REQUESTS = 100
"""Requests the sender keeps in memory (newest), for tests and debugging."""


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One send the sandbox accepted.

    Attributes:
        bot_id: The business phone number id it would have left from.
        body: The Graph API request body (``{"messaging_product": "whatsapp", "to": ...,
            "type": "text" | "interactive" | "template", ...}``).
        answer: What the sandbox answered, shaped like the Graph API's success answer
            (``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id"}]}``).
    """

    bot_id: str
    body: dict[str, Any]
    answer: dict[str, Any]

    @property
    def wamid(self) -> str:
        """The fake message id answered (``wamid.sandbox.<n>``)."""
        return str(self.answer["messages"][0]["id"])


class SandboxSender(WhatsAppClient):
    """An ``OutboundSender`` (and template sender) for the ``whatsapp`` channel that calls no
    one: every send is accepted at once with ``wamid.sandbox.<n>``, where ``n`` is our id of
    the outbound message (:data:`~bot.channels.base.OUTBOUND_REFERENCE`, unique in the store
    across restarts) or, for a send outside the outbox, a counter of this sender.
    """

    def __init__(self) -> None:
        # No HTTP session: post_message, the transport seam and its only user, is overridden below.
        super().__init__(cast(aiohttp.ClientSession, None), SANDBOX_API_URL, access_token="")
        self._counter = itertools.count(1)
        self.requests: deque[SandboxRequest] = deque(maxlen=KEPT_REQUESTS)
        """The newest :data:`KEPT_REQUESTS` accepted sends, oldest first."""

    def __repr__(self) -> str:
        return "SandboxSender()"

    async def post_message(self, bot_id: str, to: str, body: dict[str, Any]) -> str:
        """Accept ``body`` as the Graph API would, without sending it; returns its wamid."""
        reference = OUTBOUND_REFERENCE.get()
        if reference is not None:
            body["biz_opaque_callback_data"] = reference
        wamid = f"{WAMID_PREFIX}{reference if reference is not None else next(self._counter)}"
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }
        self.requests.append(SandboxRequest(bot_id, body, answer))
        log.info("sandbox: kept %s message %s to %s", body["type"], wamid, mask_phone(to))
        return wamid
