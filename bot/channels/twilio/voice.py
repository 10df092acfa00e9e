"""The voice channel: replies are spoken in the TwiML answer to the call's own request.

A phone call has no "send" API: what the bot says must be in the TwiML returned to Twilio's
request. :class:`VoiceReplies` is the ``voice`` channel's ``OutboundSender``: while a request
of a call is being answered (``with replies.collect(bot_id, caller) as texts``), everything the
engine sends to that caller is appended to ``texts``; the route then renders them with
:func:`gather` (say and listen) or :func:`hangup` (say and end the call).

TwiML elements and attributes as Twilio documents them ("TwiML Voice: <Say>", "<Gather>",
"<Hangup>"): ``<Gather input="speech" action=... method="POST" language=... speechTimeout="auto"
actionOnEmptyResult="true">`` posts ``SpeechResult`` to ``action`` (also when nothing was
heard, thanks to ``actionOnEmptyResult``).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from bot.channels.base import Choice, numbered_text
from bot.errors import ChannelSendError

VOICE_LANGUAGES: Mapping[str, str] = {"es": "es-MX", "en": "en-US"}
"""Bot language → the BCP-47 tag used for ``<Say language>`` and speech recognition, for
locale files without a ``voice.language`` key (the shipped ones have it: es-MX, en-US, pt-BR)."""

_MARKUP = re.compile(r"[*_~`]")


def voice_language(lang: str) -> str:
    """The ``language`` attribute for bot language ``lang`` (``"es"`` → ``"es-MX"``)."""
    return VOICE_LANGUAGES.get(lang, lang)


def speakable(text: str) -> str:
    """``text`` without WhatsApp markup characters (``*bold*`` is read as ``bold``)."""
    return " ".join(_MARKUP.sub("", text).split())


class VoiceReplies:
    """Collects the texts sent to callers whose request is being answered."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], list[str]] = {}
        self._ids = itertools.count(1)

    @contextmanager
    def collect(self, bot_id: str, caller: str) -> Iterator[list[str]]:
        """Collect what is sent to ``caller`` at ``bot_id`` during the ``with`` block."""
        texts: list[str] = []
        self._calls[(bot_id, caller)] = texts
        try:
            yield texts
        finally:
            if self._calls.get((bot_id, caller)) is texts:
                del self._calls[(bot_id, caller)]

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Queue ``text`` for the TwiML answer to ``to``'s current request.

        Returns:
            A local id (``voice.<n>``); calls have no per-utterance provider id.

        Raises:
            ChannelSendError: No request of ``to`` is being answered (e.g. a timeout notice
                after the call ended): the text cannot be spoken.
        """
        texts = self._calls.get((bot_id, to))
        if texts is None:
            raise ChannelSendError(None, None, "no call in progress: voice replies need a call")
        texts.append(text)
        return f"voice.{next(self._ids)}"

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        """Queue ``text`` and the options, numbered, to be spoken (the caller says the number
        or the option)."""
        return await self.send_text(bot_id, to, numbered_text(text, choices))


def _response(texts: Sequence[str], language: str) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.Element("Response")
    says = []
    for text in texts:
        say = ET.Element("Say", language=language)
        say.text = speakable(text)
        says.append(say)
    return root, says


def _document(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def gather(texts: Sequence[str], lang: str, action_url: str) -> str:
    """TwiML that says ``texts`` and listens for the caller's answer.

    Args:
        texts: What to say, in order.
        lang: The bot language of the session (``"es"``); see :data:`VOICE_LANGUAGES`.
        action_url: Where Twilio posts ``SpeechResult`` (absolute, or relative to the request).
    """
    language = voice_language(lang)
    root, says = _response(texts, language)
    listen = ET.SubElement(
        root,
        "Gather",
        input="speech",
        action=action_url,
        method="POST",
        language=language,
        speechTimeout="auto",
        actionOnEmptyResult="true",
    )
    listen.extend(says)
    return _document(root)


def hangup(texts: Sequence[str], lang: str) -> str:
    """TwiML that says ``texts`` and ends the call."""
    root, says = _response(texts, voice_language(lang))
    root.extend(says)
    ET.SubElement(root, "Hangup")
    return _document(root)
