"""Parse WhatsApp Cloud API webhook bodies into channel-neutral messages and statuses.

The input is the ``messages`` webhook Meta documents for the Cloud API::

    {"object": "whatsapp_business_account",
     "entry": [{"id": "<WABA_ID>",
       "changes": [{"field": "messages",
         "value": {"messaging_product": "whatsapp",
           "metadata": {"display_phone_number": "...", "phone_number_id": "<BOT_ID>"},
           "contacts": [{"profile": {"name": "..."}, "wa_id": "..."}],
           "messages": [{"from": "...", "id": "wamid...", "timestamp": "1749416383",
                         "type": "text", "text": {"body": "..."}}],
           "statuses": [{"id": "wamid...", "status": "sent", "timestamp": "...",
                         "recipient_id": "..."}]}}]}]}

The body is decoded once, here, into valid values (see :mod:`bot.channels.fields`): every
string has its lone surrogates (JSON ``"\\ud800"``) replaced by U+FFFD, so a text, a profile
name or a button title is stored as the user would see it on any other screen.

Strict, answered 400 with a reason (nothing is stored then, so a 200 always means every
message of the batch was queued): a wrong envelope, and anything in a ``messages`` list that
cannot become a stored message, because a 200 would acknowledge a message that is then lost.
That is an item that is not an object, one whose ``id`` is not a message id or whose ``from``
is not an address (empty, spaces, control characters: see
:func:`bot.channels.fields.address`), and messages in a change without
``metadata.phone_number_id``. Meta never sends such a message; a payload that has one is
forged or broken, and the 400 shows in Meta's webhook log and ours.

Lenient, skipped with a warning so the rest of the batch is still delivered: junk around the
messages (an entry without ``changes``, a change without a ``value`` object, a change of
another ``field``) and a malformed delivery status, which loses nothing a user sent. Inside a
message, a content the service cannot read makes it :attr:`InboundKind.UNSUPPORTED` (stored).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import InboundKind, InboundMessage, StatusUpdate
from bot.channels.fields import address, provider_id, shown, valid_json
from bot.errors import BadRequest

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
"""Value of ``InboundMessage.channel`` and ``StatusUpdate.channel`` for this channel."""

WEBHOOK_OBJECT = "whatsapp_business_account"

_MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker", "voice"})
_SIMPLE_KINDS: dict[str, InboundKind] = {
    "location": InboundKind.LOCATION,
    "contacts": InboundKind.CONTACTS,
    "reaction": InboundKind.REACTION,
    "system": InboundKind.SYSTEM,
}


@dataclass(frozen=True, slots=True)
class WebhookBatch:
    """Everything one webhook delivery carried.

    Attributes:
        messages: Inbound user messages, in payload order across every ``entry[]``,
            ``changes[]`` and ``messages[]``.
        statuses: Delivery statuses of messages the service sent, in payload order.
    """

    messages: list[InboundMessage]
    statuses: list[StatusUpdate]


def parse_webhook(body: bytes, now: Callable[[], datetime] | None = None) -> WebhookBatch:
    """Parse the raw body of a WhatsApp Cloud API ``messages`` webhook.

    Verify the signature on the same raw bytes first (see :mod:`.signature`).

    Args:
        body: The raw HTTP request body, UTF-8 JSON shaped as Meta documents it.
        now: Clock returning an aware UTC datetime, used when an item's ``timestamp`` is
            missing or invalid. Defaults to ``datetime.now(UTC)``.

    Returns:
        The batch's messages and statuses in payload order, every string valid text.
        ``changes[]`` items whose ``field`` is not ``"messages"`` are ignored; a status
        without ``id``/``status`` is skipped with a warning; a message type the
        service does not know becomes :attr:`InboundKind.UNSUPPORTED`. ``text``/``payload``
        are set only for TEXT (``text.body``), INTERACTIVE (reply ``title``/``id``) and
        BUTTON (``button.text``/``button.payload``). A status without ``recipient_id`` gets
        ``""``.

    Raises:
        BadRequest: (400) the body is not UTF-8, not JSON or not a JSON object; ``object``
            is missing or is not ``"whatsapp_business_account"``; ``entry`` is not a list; a
            ``messages`` list holds an item that cannot be stored (see the module's notes);
            the reason names the item (``entry[0].changes[0].value.messages[1]``).
    """
    clock = now or _utc_now
    data = _decode(body)
    obj = data.get("object")
    if obj != WEBHOOK_OBJECT:
        got = "missing" if obj is None else f"got {shown(obj, 60)}"
        raise BadRequest(f"'object' must be {WEBHOOK_OBJECT!r} ({got})")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise BadRequest(f"'entry' must be a list (got {_type_name(entries)})")

    batch = WebhookBatch(messages=[], statuses=[])
    for i, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            logger.warning("skipping webhook entry without a changes list")
            continue
        for j, change in enumerate(changes):
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if isinstance(value, dict):
                _parse_value(value, clock, batch, f"entry[{i}].changes[{j}].value")
            else:
                logger.warning("skipping 'messages' change without a value object")
    return batch


def _decode(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = valid_json(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:  # int too long, nesting too deep
        raise BadRequest(f"body is not acceptable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object (got {_type_name(data)})")
    return data


def _parse_value(
    value: dict[str, Any], clock: Callable[[], datetime], batch: WebhookBatch, where: str
) -> None:
    """Append the messages and statuses of one ``changes[].value`` (at ``where`` in the body,
    for reasons) to ``batch``.

    Raises:
        BadRequest: ``messages`` holds something that cannot be stored.
    """
    metadata = value.get("metadata")
    bot_id = _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    for error in _dicts(value.get("errors")):
        logger.warning(
            "webhook reports an error: code=%s title=%s",
            shown(error.get("code")),
            shown(error.get("title")),
        )
    messages = _messages(value.get("messages"), f"{where}.messages")
    statuses = _dicts(value.get("statuses"))
    if bot_id is None:
        if messages:
            raise BadRequest(f"{where}.metadata.phone_number_id is missing: messages need it")
        if statuses:
            logger.warning("skipping %d status(es) without metadata.phone_number_id", len(statuses))
        return
    bot_id = address(f"{where}.metadata.phone_number_id", bot_id)
    contacts = _dicts(value.get("contacts"))
    for k, message in enumerate(messages):
        batch.messages.append(
            _parse_message(message, bot_id, contacts, clock, f"{where}.messages[{k}]")
        )
    for status in statuses:
        update = _parse_status(status, bot_id, clock)
        if update is not None:
            batch.statuses.append(update)


def _messages(raw: object, where: str) -> list[dict[str, Any]]:
    """The message objects of a ``messages`` list (absent or ``null``: none).

    Raises:
        BadRequest: it is not a list, or one of its items is not an object.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest(f"{where} must be a list (got {_type_name(raw)})")
    for k, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequest(f"{where}[{k}] must be an object (got {_type_name(item)})")
    return raw


def _parse_message(
    message: dict[str, Any],
    bot_id: str,
    contacts: list[dict[str, Any]],
    clock: Callable[[], datetime],
    where: str,
) -> InboundMessage:
    """One message object as an :class:`InboundMessage`.

    Raises:
        BadRequest: its ``id`` is not a message id or its ``from`` is not an address.
    """
    message_id = provider_id(f"{where}.id", _text(message.get("id"), f"{where}.id"))
    user_id = address(f"{where}.from", _text(message.get("from"), f"{where}.from"))
    msg_type = _str(message.get("type")) or ""
    kind, text, payload = _content(msg_type, message)
    if kind is InboundKind.UNSUPPORTED:
        logger.info("unsupported message type %s (id=%s)", shown(msg_type), message_id)
    return InboundMessage(
        channel=CHANNEL,
        bot_id=bot_id,
        user_id=user_id,
        message_id=message_id,
        kind=kind,
        text=text,
        timestamp=_timestamp(message.get("timestamp"), clock),
        payload=payload,
        display_name=_display_name(contacts, user_id),
    )


def _content(msg_type: str, message: dict[str, Any]) -> tuple[InboundKind, str | None, str | None]:
    """Map Meta's message ``type`` and its content object to (kind, text, payload)."""
    content = message.get(msg_type)
    content = content if isinstance(content, dict) else {}
    if msg_type == "text":
        body = _str(content.get("body"))
        if body is not None:
            return InboundKind.TEXT, body, None
    elif msg_type == "interactive":
        reply_type = _str(content.get("type")) or ""
        reply = content.get(reply_type) if reply_type in ("button_reply", "list_reply") else None
        if isinstance(reply, dict) and (reply.get("id") or reply.get("title")):
            return InboundKind.INTERACTIVE, _str(reply.get("title")), _str(reply.get("id"))
    elif msg_type == "button":
        return InboundKind.BUTTON, _str(content.get("text")), _str(content.get("payload"))
    elif msg_type in _MEDIA_TYPES:
        return InboundKind.MEDIA, None, None
    elif msg_type in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[msg_type], None, None
    return InboundKind.UNSUPPORTED, None, None


def _parse_status(
    status: dict[str, Any], bot_id: str, clock: Callable[[], datetime]
) -> StatusUpdate | None:
    message_id = _str(status.get("id"))
    state = _str(status.get("status"))
    if message_id is None or state is None:
        logger.warning("skipping status without 'id' or 'status' (id=%s)", shown(message_id))
        return None
    errors = _dicts(status.get("errors"))
    first_error = errors[0] if errors else {}
    code = first_error.get("code")
    return StatusUpdate(
        channel=CHANNEL,
        bot_id=bot_id,
        message_id=message_id,
        status=state,
        recipient_id=_str(status.get("recipient_id")) or "",
        timestamp=_timestamp(status.get("timestamp"), clock),
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        error_title=_str(first_error.get("title")) or _str(first_error.get("message")),
        reference=_str(status.get("biz_opaque_callback_data")),
    )


def _display_name(contacts: list[dict[str, Any]], user_id: str) -> str | None:
    """Profile name of the contact whose ``wa_id`` is ``user_id``, else of the first one."""
    chosen = next((c for c in contacts if c.get("wa_id") == user_id), None)
    if chosen is None and contacts:
        chosen = contacts[0]
    profile = chosen.get("profile") if chosen is not None else None
    return _str(profile.get("name")) if isinstance(profile, dict) else None


def _timestamp(raw: object, clock: Callable[[], datetime]) -> datetime:
    """Convert Meta's unix-seconds timestamp (a string, or a number) to an aware UTC datetime."""
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(float(raw), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    logger.debug("missing or invalid timestamp %s, using the current time", shown(raw))
    return clock()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _text(value: object, where: str) -> str:
    """``value`` when it is a string.

    Raises:
        BadRequest: it is missing or of another JSON type.
    """
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string (got {_type_name(value)})")
    return value


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _type_name(value: object) -> str:
    return "nothing" if value is None else type(value).__name__
