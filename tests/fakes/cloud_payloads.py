"""Builders of WhatsApp Cloud API webhook payloads, shaped like Meta's documented examples.

Each message/status builder returns one ``changes[].value`` object; :func:`envelope` wraps one
or more of them into a full webhook body, and :func:`signed` turns a body into the raw bytes
and headers Meta would POST::

    body, headers = signed(envelope(text_message("hola")), app_secret)
    await client.post("/webhook", data=body, headers=headers)

Every message gets a unique wamid (``"wamid.HBgL" + uuid hex``) unless one is given.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

from bot.channels.whatsapp.signature import SIGNATURE_HEADER, sign

DEFAULT_WA_ID = "5491155550001"
DEFAULT_PHONE_NUMBER_ID = "1234567890"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_NAME = "Test User"

Timestamp = int | datetime | None


def new_wamid() -> str:
    """A unique, realistic-looking WhatsApp message id."""
    return f"wamid.HBgL{uuid.uuid4().hex}"


def message_value(
    msg_type: str,
    content: dict[str, Any] | list[Any] | None,
    *,
    wa_id: str = DEFAULT_WA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    wamid: str | None = None,
    name: str | None = DEFAULT_NAME,
    timestamp: Timestamp = None,
    context_wamid: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``changes[].value`` with one inbound message of any ``type``.

    ``content`` goes under the key named by ``msg_type`` (Meta's layout, e.g.
    ``{"type": "text", "text": {...}}``); ``None`` leaves it out. ``context_wamid`` adds the
    ``context`` of a reply to one of the business's messages; ``extra`` is merged into the
    message object. ``name=None`` leaves ``contacts`` out.
    """
    message: dict[str, Any] = {
        "from": wa_id,
        "id": wamid or new_wamid(),
        "timestamp": _unix(timestamp),
        "type": msg_type,
    }
    if content is not None:
        message[msg_type] = content
    if context_wamid is not None:
        message["context"] = {"from": DEFAULT_DISPLAY_PHONE_NUMBER, "id": context_wamid}
    message.update(extra or {})
    value = _value(phone_number_id)
    if name is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    value["messages"] = [message]
    return value


def text_message(text: str, **common: Any) -> dict[str, Any]:
    """A text message value: ``{"type": "text", "text": {"body": text}}``.

    Keyword arguments are those of :func:`message_value` (``wa_id``, ``phone_number_id``,
    ``wamid``, ``name``, ``timestamp``, ...).
    """
    return message_value("text", {"body": text}, **common)


def interactive_reply(
    reply_id: str,
    title: str,
    *,
    list_reply: bool = False,
    description: str | None = None,
    **common: Any,
) -> dict[str, Any]:
    """A tap on an interactive reply button (default) or list row (``list_reply=True``).

    Meta sends ``{"type": "interactive", "interactive": {"type": "button_reply",
    "button_reply": {"id": ..., "title": ...}}}`` (or ``list_reply`` with a ``description``).
    """
    reply_type = "list_reply" if list_reply else "button_reply"
    reply: dict[str, Any] = {"id": reply_id, "title": title}
    if list_reply and description is not None:
        reply["description"] = description
    common.setdefault("context_wamid", new_wamid())
    return message_value("interactive", {"type": reply_type, reply_type: reply}, **common)


def button_reply(text: str, payload: str | None = None, **common: Any) -> dict[str, Any]:
    """A tap on a template quick-reply button: ``{"type": "button", "button": {...}}``.

    Not to be confused with an interactive ``button_reply`` (see :func:`interactive_reply`).
    ``payload`` defaults to ``text``.
    """
    common.setdefault("context_wamid", new_wamid())
    content = {"payload": text if payload is None else payload, "text": text}
    return message_value("button", content, **common)


def image_message(
    *, caption: str | None = None, mime_type: str = "image/jpeg", **common: Any
) -> dict[str, Any]:
    """An image message (media id, sha256 and mime type, optional caption)."""
    content: dict[str, Any] = {
        "mime_type": mime_type,
        "sha256": uuid.uuid4().hex * 2,
        "id": str(uuid.uuid4().int)[:16],
    }
    if caption is not None:
        content["caption"] = caption
    return message_value("image", content, **common)


def location_message(
    latitude: float = -34.6037,
    longitude: float = -58.3816,
    *,
    place_name: str | None = None,
    address: str | None = None,
    **common: Any,
) -> dict[str, Any]:
    """A location message; ``place_name``/``address`` are set for a shared place."""
    content: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if place_name is not None:
        content["name"] = place_name
    if address is not None:
        content["address"] = address
    return message_value("location", content, **common)


def contacts_message(
    formatted_name: str = "Ana Pérez", phone: str = "+5491155550002", **common: Any
) -> dict[str, Any]:
    """A message sharing one contact card."""
    card = {
        "name": {"formatted_name": formatted_name, "first_name": formatted_name.split()[0]},
        "phones": [{"phone": phone, "wa_id": phone.lstrip("+"), "type": "CELL"}],
    }
    return message_value("contacts", [card], **common)


def reaction_message(
    reacted_wamid: str, emoji: str = "\N{THUMBS UP SIGN}", **common: Any
) -> dict[str, Any]:
    """A reaction to a message; an empty ``emoji`` means the reaction was removed."""
    return message_value("reaction", {"message_id": reacted_wamid, "emoji": emoji}, **common)


def system_message(new_wa_id: str = "5491155550009", **common: Any) -> dict[str, Any]:
    """A system message telling the user changed their number (no ``contacts`` per Meta)."""
    wa_id = common.get("wa_id", DEFAULT_WA_ID)
    content = {
        "body": f"User {wa_id} changed from {wa_id} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }
    common.setdefault("name", None)
    return message_value("system", content, **common)


def unsupported_message(**common: Any) -> dict[str, Any]:
    """A message WhatsApp itself cannot describe (``type: unsupported`` with ``errors``)."""
    error = {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
    common.setdefault("extra", {"errors": [error]})
    return message_value("unsupported", None, **common)


def status_update(
    wamid: str,
    status: str,
    *,
    recipient_id: str = DEFAULT_WA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    timestamp: Timestamp = None,
    error_code: int | None = None,
    error_title: str = "Re-engagement message",
    error_details: str = "Message failed to send because more than 24 hours have passed "
    "since the customer last replied to this number.",
) -> dict[str, Any]:
    """A ``changes[].value`` with one delivery status of a message the business sent.

    ``status`` is ``"sent"``, ``"delivered"``, ``"read"`` or ``"failed"``; with
    ``error_code`` the status carries Meta's ``errors[]`` (code, title, message, details).
    """
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": _unix(timestamp),
        "recipient_id": recipient_id,
    }
    if status != "failed":
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if error_code is not None:
        item["errors"] = [
            {
                "code": error_code,
                "title": error_title,
                "message": error_title,
                "error_data": {"details": error_details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    value = _value(phone_number_id)
    value["statuses"] = [item]
    return value


def envelope(*values: dict[str, Any], waba_id: str = DEFAULT_WABA_ID) -> dict[str, Any]:
    """A full webhook body with one ``entry`` holding one ``messages`` change per value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
        ],
    }


def signed(body: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """Serialize ``body`` and sign it as Meta does.

    Returns:
        The raw bytes and the headers to POST them with (``Content-Type`` and
        ``X-Hub-Signature-256``).
    """
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(app_secret, raw)}
    return raw, headers


def _value(phone_number_id: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DEFAULT_DISPLAY_PHONE_NUMBER,
            "phone_number_id": phone_number_id,
        },
    }


def _unix(timestamp: Timestamp) -> str:
    if timestamp is None:
        return str(int(time.time()))
    if isinstance(timestamp, datetime):
        return str(int(timestamp.timestamp()))
    return str(timestamp)
