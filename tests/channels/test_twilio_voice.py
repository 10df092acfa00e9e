"""TwiML for calls, and the voice channel's collecting sender."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.channels.twilio import VoiceReplies, gather, hangup, speakable, voice_language
from bot.errors import ChannelSendError


def test_gather_says_inside_a_speech_gather() -> None:
    twiml = gather(["Hola *Ana* & <amigos>", "¿Nombre?"], "es", "/webhook/twilio/voice?turn=2")
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    root = ET.fromstring(twiml)
    (listen,) = list(root)
    assert listen.tag == "Gather"
    assert listen.attrib == {
        "input": "speech",
        "action": "/webhook/twilio/voice?turn=2",
        "method": "POST",
        "language": "es-MX",
        "speechTimeout": "auto",
        "actionOnEmptyResult": "true",
    }
    assert [(say.tag, say.get("language"), say.text) for say in listen] == [
        ("Say", "es-MX", "Hola Ana & <amigos>"),
        ("Say", "es-MX", "¿Nombre?"),
    ]


def test_hangup_says_then_ends_the_call() -> None:
    root = ET.fromstring(hangup(["Bye!"], "en"))
    assert [(e.tag, e.text) for e in root] == [("Say", "Bye!"), ("Hangup", None)]
    assert root[0].get("language") == "en-US"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [("Type *trial* to start", "Type trial to start"), ("a\n\n b_c ~d~", "a bc d")],
)
def test_markup_is_not_read_aloud(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_unknown_languages_pass_through() -> None:
    assert voice_language("pt-BR") == "pt-BR"


async def test_replies_are_collected_only_during_a_request_of_that_caller() -> None:
    replies = VoiceReplies()
    with replies.collect("+2", "+1") as texts:
        assert (await replies.send_text("+2", "+1", "hola")).startswith("voice.")
        with pytest.raises(ChannelSendError, match="no call in progress"):
            await replies.send_text("+2", "+3", "other caller")
    assert texts == ["hola"]
    with pytest.raises(ChannelSendError) as raised:
        await replies.send_text("+2", "+1", "after the call")
    assert (raised.value.status, raised.value.code) == (None, None)
