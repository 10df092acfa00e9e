"""Send messages through Twilio's Programmable Messaging API (SMS and WhatsApp).

``POST {api_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth
(``AccountSid:AuthToken``) and form fields ``To``, ``From`` (or ``MessagingServiceSid``),
``Body`` and optionally ``StatusCallback``, as Twilio documents ("Message resource: create").
A success answers 201 with the message resource (``{"sid": "SM...", "status": "queued",
...}``); an error answers Twilio's error object ``{"code": 21211, "message": "...",
"more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}``.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp

from bot.channels.base import Choice, numbered_text
from bot.channels.http import json_object, retry_after_s
from bot.errors import ChannelSendError
from bot.privacy import mask_phone

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"


class TwilioMessagesClient:
    """Outbound sender for one Twilio messaging channel; implements ``OutboundSender``.

    Args:
        session: Shared aiohttp session; not closed by this client.
        api_url: Twilio's REST base, ``https://api.twilio.com`` (tests use a local fake).
        account_sid: ``AC...``; also the basic-auth user.
        auth_token: The account's Auth Token (basic-auth password; never logged).
        address_prefix: ``"whatsapp:"`` for WhatsApp, ``""`` for SMS; put before ``To`` and
            ``From``.
        messaging_service_sid: When set, sends with ``MessagingServiceSid`` instead of
            ``From``.
        status_callback_url: When set, Twilio posts delivery statuses there.
        timeout_s: Total time allowed for one send, in seconds.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        account_sid: str,
        auth_token: str,
        *,
        address_prefix: str = "",
        messaging_service_sid: str = "",
        status_callback_url: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._url = (
            f"{api_url.rstrip('/')}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}"
            "/Messages.json"
        )
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._prefix = address_prefix
        self._service = messaging_service_sid
        self._status_callback = status_callback_url
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"TwilioMessagesClient(url={self._url!r}, prefix={self._prefix!r})"

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        """Send ``text`` with ``choices`` as a numbered list (SMS has no buttons, and Twilio's
        WhatsApp buttons need pre-approved Content templates); the user answers by number.

        Raises:
            ChannelSendError: As for :meth:`send_text`.
        """
        return await self.send_text(bot_id, to, numbered_text(text, choices))

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Send ``text`` from business number ``bot_id`` to ``to``.

        Args:
            bot_id: The business number (E.164, no prefix) the user wrote to.
            to: The user's number (E.164, no prefix).
            text: The body; Twilio accepts up to 1600 characters.

        Returns:
            The message SID (``SM...``).

        Raises:
            ChannelSendError: Twilio answered non-2xx (``status``, Twilio's ``code`` and
                ``message``, and ``Retry-After`` when sent), answered without a ``sid``, or
                could not be reached in ``timeout_s`` (``status=None``).
        """
        form = {"To": f"{self._prefix}{to}", "Body": text}
        if self._service:
            form["MessagingServiceSid"] = self._service
        else:
            form["From"] = f"{self._prefix}{bot_id}"
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        try:
            async with self._session.post(
                self._url,
                data=form,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            ) as response:
                status = response.status
                raw = await response.read()
                retry_after = retry_after_s(response.headers.get("Retry-After"))
        except TimeoutError as exc:
            raise ChannelSendError(None, None, f"timed out after {self._timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            raise ChannelSendError(None, None, f"connection error: {exc}") from exc
        answer = json_object(raw)
        if not 200 <= status < 300:
            code = answer.get("code")
            message = answer.get("message")
            raise ChannelSendError(
                status,
                code if isinstance(code, int) and not isinstance(code, bool) else None,
                message if isinstance(message, str) and message else f"HTTP {status}",
                retry_after,
            )
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            raise ChannelSendError(status, None, "accepted without a sid in the answer")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("sent %s to %s: %s", self._prefix or "sms", mask_phone(to), sid)
        return sid
