"""WhatsApp Cloud API webhook routes: Meta's verification handshake and event delivery.

``GET /webhook/whatsapp`` answers Meta's subscription check (``hub.mode=subscribe``,
``hub.verify_token``, ``hub.challenge`` echoed as plain text). ``POST /webhook/whatsapp``
verifies ``X-Hub-Signature-256`` over the raw body when an app secret is configured, parses the
payload, queues every message durably in its user's inbox (in payload order), applies every
delivery status, answers 200 and processes the messages in the background. When the store is
unreachable it answers 503, so that Meta delivers the payload again later.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.channels.whatsapp import SIGNATURE_HEADER, parse_webhook, verify_signature
from bot.errors import BadRequest
from bot.sessions.model import SessionKey
from bot.web.body import read_body
from bot.web.keys import RUNTIME, SETTINGS, TASKS

routes = web.RouteTableDef()


@routes.get("/webhook/whatsapp")
async def verify(request: web.Request) -> web.Response:
    """Meta's handshake: 200 with the challenge, or 403 on a wrong token or mode."""
    expected = request.app[SETTINGS].whatsapp.verify_token
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return web.Response(text=challenge, content_type="text/plain")
    raise BadRequest("verification failed: wrong hub.mode or hub.verify_token", status=403)


@routes.post("/webhook/whatsapp")
async def receive(request: web.Request) -> web.Response:
    """Accept a Cloud API event payload.

    Raises:
        BadRequest: 401 for a missing or wrong signature; 400 for a body that cannot be read
            (see :func:`~bot.web.body.read_body`) or is not a WhatsApp Business Account
            payload. Nothing is processed or stored then.
    """
    body = await read_body(request)
    secret = request.app[SETTINGS].whatsapp.app_secret
    if secret and not verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise BadRequest(f"missing or invalid {SIGNATURE_HEADER}", status=401)
    batch = parse_webhook(body)
    engine = request.app[RUNTIME].engine
    tasks = request.app[TASKS]
    for message in batch.messages:
        # Queued durably before the 200: a crash after it loses nothing (see Engine.drain).
        if await engine.enqueue(message):
            key = SessionKey(message.channel, message.bot_id, message.user_id)
            tasks.spawn(engine.drain(key), name=f"inbound {message.message_id}")
    for status in batch.statuses:
        # Applied before the 200, like messages are queued: a status Meta sees acknowledged is
        # not delivered again, and one may settle a send a crash interrupted (else it is sent
        # twice when the interrupted grace ends).
        await engine.handle_status(status)
    return web.Response(text="OK")
