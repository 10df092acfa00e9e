"""A user chatting with the real ``bot serve`` over the signed WhatsApp webhook, and what the
fake Graph API received for them: the helpers the e2e conversation tests share."""

from __future__ import annotations

from typing import Any

from tests.e2e.server import APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, interactive_reply, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI, RecordedSend

PHONE_ID = "1234567890"
"""The business number's id the test payloads name."""


async def post(server: BotServer, value: dict[str, Any]) -> None:
    """POST one webhook ``value`` (Meta's ``entry[].changes[].value``), signed; expect 200."""
    body, headers = signed(envelope(value), APP_SECRET)
    status, _ = await server.post(body, headers)
    assert status == 200


async def say(server: BotServer, user: str, text: str) -> None:
    """``user`` writes ``text``."""
    await post(server, text_message(text, wa_id=user, phone_number_id=PHONE_ID))


async def tap(
    server: BotServer, user: str, reply_id: str, title: str, *, row: bool = False
) -> None:
    """Tap a reply button (``row=False``) or a list row, as Meta reports it."""
    await post(
        server,
        interactive_reply(reply_id, title, list_reply=row, wa_id=user, phone_number_id=PHONE_ID),
    )


async def sent(
    fake: FakeGraphAPI, user: str, count: int, timeout_s: float = 20
) -> list[RecordedSend]:
    """Wait until ``user`` got ``count`` messages (at most ``timeout_s``); return them all."""
    await fake.wait_for(
        lambda reqs: len([r for r in reqs if r.to == user and r.wamid]) >= count, timeout_s
    )
    return [r for r in fake.requests if r.to == user and r.wamid]


def shown(message: RecordedSend) -> str:
    """The text a user reads: a text message's body or an interactive message's body."""
    if message.text is not None:
        return message.text
    text: str = message.body["interactive"]["body"]["text"]
    return text


async def texts(fake: FakeGraphAPI, user: str, count: int, timeout_s: float = 20) -> list[str]:
    """What ``user`` read, once they got ``count`` messages (see :func:`sent`)."""
    return [shown(m) for m in await sent(fake, user, count, timeout_s)]


async def session_of(server: BotServer, user: str) -> dict[str, Any]:
    """``user``'s newest session, as the admin API lists it."""
    status, body = await server.admin(f"/v1/sessions?user={user}")
    assert status == 200 and body["sessions"], body
    newest: dict[str, Any] = body["sessions"][0]
    return newest
