"""Twilio Voice webhook: the same flows by phone call, through TwiML.

``POST /webhook/twilio/voice`` is the number's "A call comes in" URL. At the start of a call
it says the welcome text (in the language of the caller's active voice session, else the
default one; spoken and recognized in the locale's ``voice.language``, e.g. ``pt-BR``)
inside ``<Gather input="speech">``. Each ``SpeechResult`` Twilio posts back (to ``?turn=N``)
is one inbound text message of channel ``voice`` (id ``CallSid:N``, so a retried request is
processed once) that goes through the engine like any other; the replies it
produces are spoken in the TwiML answer. When the turn closed the session (goodbye, cancel, a
flow's end) the notice is spoken and the call ends with ``<Hangup/>``; when nothing was heard
or nothing new was said, the last thing the bot said is repeated.

The signature is checked as for messaging (see :mod:`bot.web.twilio`).
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import InboundKind, InboundMessage
from bot.channels.twilio import CHANNEL_VOICE, VoiceReplies, gather, hangup, parse_voice
from bot.errors import BadRequest
from bot.sessions.model import Direction, Session, Status
from bot.sessions.store import SessionQuery
from bot.web.keys import RUNTIME, SETTINGS
from bot.web.twilio import twiml, verified_form

VOICE = web.AppKey("voice_replies", VoiceReplies)
"""The ``voice`` channel's sender, shared by the route and the outbox."""

PATH = "/webhook/twilio/voice"
VOICE_KEY = "voice.language"
"""Locale key with the BCP-47 tag Twilio speaks and listens in for a language (``pt-BR``)."""
routes = web.RouteTableDef()


def _turn(request: web.Request) -> int:
    raw = request.query.get("turn", "0")
    if not raw.isdigit() or len(raw) > 6:
        raise BadRequest(f"turn must be a whole number, got {raw!r}")
    return int(raw)


async def _latest(request: web.Request, bot_id: str, caller: str) -> Session | None:
    store = request.app[RUNTIME].store
    found = await store.list_sessions(
        SessionQuery(channel=CHANNEL_VOICE, bot_id=bot_id, user_id=caller, limit=1)
    )
    return found[0] if found else None


async def _last_said(request: web.Request, session: Session | None) -> list[str]:
    """The last text the bot sent in ``session``, or the welcome when there is none."""
    runtime = request.app[RUNTIME]
    if session is not None and session.status is Status.ACTIVE:
        for message in reversed(await runtime.store.messages(session.id, 50)):
            if message.direction is Direction.OUT and message.text:
                return [message.text]
    return [runtime.content.locales.text(session.language if session else None, "welcome", {})]


@routes.post(PATH)
async def call(request: web.Request) -> web.Response:
    """Answer one request of a call with TwiML.

    Raises:
        BadRequest: 401 for a bad signature; 400 when ``CallSid``, ``From`` or ``To`` is
            missing or ``turn`` is not a number.
    """
    form = await verified_form(request)
    voice = parse_voice(form)
    turn = _turn(request)
    settings = request.app[SETTINGS]
    runtime = request.app[RUNTIME]
    action = f"{settings.public_base_url}{PATH}?turn={turn + 1}"
    said: list[str] = []
    if voice.speech:
        message = InboundMessage(
            channel=CHANNEL_VOICE,
            bot_id=voice.called,
            user_id=voice.caller,
            message_id=f"{voice.call_sid}:{turn}",
            kind=InboundKind.TEXT,
            text=voice.speech,
            timestamp=runtime.engine.clock(),
        )
        with request.app[VOICE].collect(voice.called, voice.caller) as said:
            await runtime.engine.handle(message)
    session = await _latest(request, voice.called, voice.caller)
    if session is not None and not said and session.status is not Status.ACTIVE:
        session = None  # an old, closed session: this call starts afresh
    locales = runtime.content.locales
    lang = locales.language_or_default(session.language if session else None)
    if locales.has(VOICE_KEY):  # the locale file names its voice ("pt-BR"); else VOICE_LANGUAGES
        lang = locales.text(lang, VOICE_KEY)
    if said and session is not None and session.status is not Status.ACTIVE:
        return twiml(hangup(said, lang))
    return twiml(gather(said or await _last_said(request, session), lang, action))
