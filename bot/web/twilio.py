"""Twilio messaging webhooks: incoming SMS / WhatsApp messages and delivery statuses.

``POST /webhook/twilio`` takes an incoming message (``From=whatsapp:+...`` → channel
``twilio_whatsapp``, a bare number → ``sms``), queues it durably in its user's inbox (a
``MessageSid`` seen before is dropped), answers an empty TwiML ``<Response/>`` and processes it
in the background; replies go out through Twilio's Messages API, like the notices that have no
request to answer (timeouts). ``POST /webhook/twilio/status`` applies a message status callback.

Both check ``X-Twilio-Signature`` (401 when missing or wrong) against ``PUBLIC_BASE_URL`` plus
the request path when that is set, else against the URL the request arrived at. What a client
sends is decoded at the edge (:mod:`bot.web.body`): a body that is not a UTF-8 URL-encoded form
is a 415 or 400, a ``Host`` that is not a host (``127.0.0.1:abc``, a port over 65535) a 400.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from bot.channels.twilio import SIGNATURE_HEADER, parse_message, parse_status, public_url
from bot.channels.twilio import verify_signature as verify_twilio
from bot.errors import BadRequest
from bot.sessions.model import SessionKey
from bot.web.body import read_form
from bot.web.keys import RUNTIME, SETTINGS, TASKS

routes = web.RouteTableDef()

MESSAGE_PATH = "/webhook/twilio"
STATUS_PATH = "/webhook/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def verified_form(request: web.Request) -> MultiDictProxy[str]:
    """The request's form fields, once its Twilio signature is checked.

    Raises:
        BadRequest: 415 or 400 for a body that is not a UTF-8 URL-encoded form (see
            :func:`~bot.web.body.read_form`); 400 for a ``Host`` that is not a host (when
            ``PUBLIC_BASE_URL`` is not set); 401 when ``X-Twilio-Signature`` is missing or
            does not match.
    """
    settings = request.app[SETTINGS]
    fields = await read_form(request)
    if settings.public_base_url:  # the Host header plays no part
        url = public_url(str(request.rel_url), settings.public_base_url)
    else:
        url = request_url(request)
    if not verify_twilio(
        settings.twilio.auth_token, url, fields.items(), request.headers.get(SIGNATURE_HEADER)
    ):
        raise BadRequest(f"missing or invalid {SIGNATURE_HEADER}", status=401)
    return fields


def request_url(request: web.Request) -> str:
    """The absolute URL the request arrived at (scheme, ``Host``, path and query).

    Raises:
        BadRequest: 400 when ``Host`` is not ``host[:port]`` with a port of 0-65535.
    """
    try:
        url = str(request.url)
        urlsplit(url).port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError:  # UnicodeError (a host IDNA refuses) included
        raise BadRequest(f"invalid Host header: {request.host!r}") from None
    return url


def twiml(body: str) -> web.Response:
    """A TwiML answer."""
    return web.Response(text=body, content_type="text/xml")


@routes.post(MESSAGE_PATH)
async def receive_message(request: web.Request) -> web.Response:
    """Accept an incoming SMS or WhatsApp message.

    Raises:
        BadRequest: 401 for a bad signature; 400 when ``MessageSid``, ``From`` or ``To`` is
            missing. Nothing is stored then.
    """
    form = await verified_form(request)
    engine = request.app[RUNTIME].engine
    message = parse_message(form, engine.clock())
    # Queued durably before the answer: a crash after it loses nothing (see Engine.drain).
    if await engine.enqueue(message):
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        request.app[TASKS].spawn(engine.drain(key), name=f"inbound {message.message_id}")
    return twiml(EMPTY_TWIML)


@routes.post(STATUS_PATH)
async def receive_status(request: web.Request) -> web.Response:
    """Apply a message status callback (``sent``, ``delivered``, ``read``, ``failed``, ...)."""
    form = await verified_form(request)
    engine = request.app[RUNTIME].engine
    update = parse_status(form, engine.clock())
    if update is not None:
        await engine.handle_status(update)
    return web.Response(status=204)
