"""Send messages through the WhatsApp Cloud API (Meta Graph API ``/<phone_number_id>/messages``).

Request and response bodies follow Meta's documented Messages API. A success answers
``{"messaging_product": "whatsapp", "contacts": [{"input": ..., "wa_id": ...}],
"messages": [{"id": "wamid..."}]}``; an error answers a Graph API error object
``{"error": {"message": ..., "type": ..., "code": 131047,
"error_data": {"messaging_product": "whatsapp", "details": ...}, "fbtrace_id": ...}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.channels.base import OUTBOUND_REFERENCE, Choice, numbered_text
from bot.channels.http import json_object, retry_after_s
from bot.errors import ChannelSendError
from bot.privacy import mask_phone

logger = logging.getLogger(__name__)

MAX_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20
MAX_BUTTON_ID_CHARS = 256
MAX_INTERACTIVE_BODY_CHARS = 1024
MAX_LIST_ROWS = 10
MAX_LIST_BODY_CHARS = 4096
MAX_LIST_BUTTON_CHARS = 20
MAX_SECTION_TITLE_CHARS = 24
MAX_ROW_ID_CHARS = 200
MAX_ROW_TITLE_CHARS = 24
MAX_ROW_DESCRIPTION_CHARS = 72


class WhatsAppClient:
    """Outbound sender for the WhatsApp Cloud API; implements ``OutboundSender``.

    The session is owned by the caller (opened and closed in the app's ``cleanup_ctx``).
    Every call has its own total timeout. The access token is sent only in the
    ``Authorization`` header and never logged or shown in ``repr``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        access_token: str,
        timeout_s: float = 10.0,
    ) -> None:
        """Create a client.

        Args:
            session: Shared aiohttp session; not closed by this client.
            api_url: Graph API base including the version, e.g.
                ``"https://graph.facebook.com/v21.0"``; a trailing slash is ignored.
            access_token: System-user or app access token with ``whatsapp_business_messaging``.
            timeout_s: Total time allowed for one send, in seconds (connect + answer).
        """
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:
        return f"WhatsAppClient(api_url={self._api_url!r}, timeout_s={self._timeout_s})"

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Send a plain text message (links are not previewed).

        Args:
            bot_id: Business phone number id the message leaves from (``phone_number_id``).
            to: The user's wa_id / phone number, digits without ``+``.
            text: Message body; Meta accepts up to 4096 characters.

        Returns:
            The ``wamid`` of the accepted message (``messages[0].id``).

        Raises:
            ChannelSendError: Meta answered non-2xx (``status``, Meta's ``error.code``,
                ``error.message`` plus ``error_data.details``, and ``Retry-After`` when
                sent), answered 2xx without a message id, or could not be reached in
                ``timeout_s`` (``status=None``).
        """
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        return await self.post_message(bot_id, to, body)

    async def send_interactive_buttons(
        self, bot_id: str, to: str, body: str, buttons: Sequence[tuple[str, str]]
    ) -> str:
        """Send an interactive reply-buttons message (Meta's ``interactive.type = "button"``).

        A tap comes back as an ``interactive`` webhook with ``button_reply`` (id, title),
        parsed as ``InboundKind.INTERACTIVE`` with ``payload`` = the button id.

        Args:
            bot_id: Business phone number id the message leaves from.
            to: The user's wa_id / phone number, digits without ``+``.
            body: The message text above the buttons, 1-1024 characters.
            buttons: 1-3 ``(id, title)`` pairs; ids unique, 1-256 characters; titles
                1-20 characters.

        Returns:
            The ``wamid`` of the accepted message.

        Raises:
            ValueError: The body or buttons break Meta's documented limits (checked before
                anything is sent).
            ChannelSendError: As for :meth:`send_text`.
        """
        _check_buttons(body, buttons)
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": button_id, "title": title}}
                        for button_id, title in buttons
                    ]
                },
            },
        }
        return await self.post_message(bot_id, to, payload)

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        """Send a question with options, in the richest form Meta's limits allow (Meta's
        Cloud API docs, "Interactive reply buttons messages" and "Interactive list messages").

        - Reply buttons (:meth:`send_interactive_buttons`) for 1-3 options without
          descriptions whose titles fit 20 characters, under a body of at most 1024.
        - Otherwise an interactive list (Meta's ``interactive.type = "list"``: ``body.text``
          up to 4096 characters; ``action.button`` up to 20; one section whose ``title`` is the
          button label; up to 10 ``rows`` of ``id`` up to 200, ``title`` up to 24 and optional
          ``description`` up to 72 characters). A tap comes back as a ``list_reply``.
        - Otherwise (more than 10 options, longer titles) a text with numbered options.

        Returns:
            The ``wamid`` of the accepted message.

        Raises:
            ChannelSendError: As for :meth:`send_text`.
        """
        buttons = [(c.id, c.title) for c in choices]
        if not any(c.description for c in choices):
            try:
                _check_buttons(text, buttons)
            except ValueError:
                pass
            else:
                return await self.send_interactive_buttons(bot_id, to, text, buttons)
        button = list_button.strip()[:MAX_LIST_BUTTON_CHARS] or "Options"
        if _fits_list(text, choices):
            payload = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": {"text": text},
                    "action": {
                        "button": button,
                        "sections": [
                            {
                                "title": button[:MAX_SECTION_TITLE_CHARS],
                                "rows": [_row(c) for c in choices],
                            }
                        ],
                    },
                },
            }
            return await self.post_message(bot_id, to, payload)
        logger.debug("%d options do not fit a WhatsApp list; sending numbered text", len(choices))
        return await self.send_text(bot_id, to, numbered_text(text, choices))

    async def send_template(
        self, bot_id: str, to: str, name: str, language: str, parameters: Sequence[str] = ()
    ) -> str:
        """Send an approved template message (Meta's Cloud API docs, "Send message templates":
        ``type = "template"``, ``template.name``, ``template.language.code`` and one ``body``
        component whose ``parameters`` are ``{"type": "text", "text": ...}`` in ``{{1}}``,
        ``{{2}}``, ... order). The only kind of message Meta accepts outside the user's 24-hour
        customer service window.

        Args:
            bot_id: Business phone number id the message leaves from.
            to: The user's wa_id / phone number, digits without ``+``.
            name: The template's name, as approved.
            language: The template's language code, as approved (``es``, ``en_US``).
            parameters: The body's variables, in order (none: no body component).

        Returns:
            The ``wamid`` of the accepted message.

        Raises:
            ChannelSendError: As for :meth:`send_text` (e.g. 132001: no such template in
                that language).
        """
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
            ]
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        }
        return await self.post_message(bot_id, to, body)

    async def post_message(self, bot_id: str, to: str, body: dict[str, Any]) -> str:
        """POST ``body`` (a Cloud API message object, Meta's documented ``/messages`` body) to
        ``/<bot_id>/messages`` and return the wamid. The outbound message's id
        (:data:`OUTBOUND_REFERENCE`, when set) goes as ``biz_opaque_callback_data``, which Meta
        echoes in the message's status webhooks.

        This is the one transport seam of the client: every send above builds its body and
        calls it, so a subclass that overrides it (the sandbox) changes where messages go and
        nothing else. Raises :class:`ChannelSendError` on a timeout, a connection error or a
        non-2xx answer (with Meta's error code when the body has one)."""
        reference = OUTBOUND_REFERENCE.get()
        if reference is not None:
            body["biz_opaque_callback_data"] = reference
        url = f"{self._api_url}/{quote(bot_id, safe='')}/messages"
        try:
            async with self._session.post(
                url, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                status = response.status
                raw = await response.read()
                retry_after = retry_after_s(response.headers.get("Retry-After"))
        except TimeoutError as exc:
            logger.debug(
                "send to %s timed out after %ss (bot_id=%s)",
                mask_phone(to),
                self._timeout_s,
                bot_id,
            )
            raise ChannelSendError(None, None, f"timed out after {self._timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            logger.debug("send to %s failed: %s (bot_id=%s)", mask_phone(to), exc, bot_id)
            raise ChannelSendError(None, None, f"connection error: {exc}") from exc

        answer = json_object(raw)
        if not 200 <= status < 300:
            code, detail = _meta_error(answer, raw, status)
            logger.debug(
                "send to %s refused: status=%s code=%s detail=%s (bot_id=%s)",
                mask_phone(to),
                status,
                code,
                detail,
                bot_id,
            )
            raise ChannelSendError(status, code, detail, retry_after)
        wamid = _message_id(answer)
        if wamid is None:
            raise ChannelSendError(status, None, "accepted without messages[0].id in the answer")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("sent %s to %s: %s", body["type"], mask_phone(to), wamid)
        return wamid


def _check_buttons(body: str, buttons: Sequence[tuple[str, str]]) -> None:
    if not 1 <= len(body) <= MAX_INTERACTIVE_BODY_CHARS:
        raise ValueError(f"body must have 1-{MAX_INTERACTIVE_BODY_CHARS} characters")
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ValueError(f"need 1-{MAX_BUTTONS} buttons, got {len(buttons)}")
    ids = [button_id for button_id, _ in buttons]
    if len(set(ids)) != len(ids):
        raise ValueError(f"button ids must be unique: {ids}")
    for button_id, title in buttons:
        if not 1 <= len(button_id) <= MAX_BUTTON_ID_CHARS:
            raise ValueError(f"button id must have 1-{MAX_BUTTON_ID_CHARS} characters")
        if not 1 <= len(title) <= MAX_BUTTON_TITLE_CHARS:
            raise ValueError(
                f"button title {title!r} must have 1-{MAX_BUTTON_TITLE_CHARS} characters"
            )


def _fits_list(body: str, choices: Sequence[Choice]) -> bool:
    ids = [c.id for c in choices]
    return (
        1 <= len(body) <= MAX_LIST_BODY_CHARS
        and 1 <= len(choices) <= MAX_LIST_ROWS
        and len(set(ids)) == len(ids)
        and all(
            1 <= len(c.id) <= MAX_ROW_ID_CHARS
            and 1 <= len(c.title) <= MAX_ROW_TITLE_CHARS
            and len(c.description or "") <= MAX_ROW_DESCRIPTION_CHARS
            for c in choices
        )
    )


def _row(choice: Choice) -> dict[str, str]:
    row = {"id": choice.id, "title": choice.title}
    if choice.description:
        row["description"] = choice.description
    return row


def _meta_error(answer: dict[str, Any], raw: bytes, status: int) -> tuple[int | None, str]:
    """Extract (``error.code``, readable detail) from a Graph API error answer."""
    error = answer.get("error")
    if not isinstance(error, dict):
        snippet = raw[:200].decode("utf-8", errors="replace")
        return None, f"HTTP {status} without a Graph API error: {snippet!r}"
    code = error.get("code")
    message = error.get("message")
    detail = message if isinstance(message, str) and message else f"HTTP {status}"
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if isinstance(details, str) and details and details not in detail:
        detail = f"{detail}: {details}"
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), detail


def _message_id(answer: dict[str, Any]) -> str | None:
    messages = answer.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    return wamid if isinstance(wamid, str) and wamid else None
