"""Twilio Voice, in process: a caller walks the free-trial flow through TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.channels.twilio import speakable
from bot.wiring import Content
from tests.fakes.twilio_api import ACCOUNT_SID
from tests.web.conftest import TWILIO_NUMBER, WebApp
from tests.web.free_trial import walk_free_trial

CALLER = "+5491155550009"
CALL_SID = "CA" + "ab" * 16


def t(content: Content, lang: str, key: str, **values: str) -> str:
    return speakable(content.locales.text(lang, key, values))


def call_fields(speech: str | None = None, caller: str = CALLER) -> dict[str, str]:
    fields = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CALL_SID,
        "From": caller,
        "To": TWILIO_NUMBER,
        "Caller": caller,
        "Called": TWILIO_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    if speech is not None:
        fields.update(SpeechResult=speech, Confidence="0.92")
    return fields


class Twiml:
    """A parsed TwiML answer."""

    def __init__(self, text: str) -> None:
        self.root = ET.fromstring(text)
        assert self.root.tag == "Response"

    @property
    def said(self) -> list[str]:
        return [say.text or "" for say in self.root.iter("Say")]

    @property
    def languages(self) -> set[str]:
        return {say.get("language", "") for say in self.root.iter("Say")}

    @property
    def gather(self) -> ET.Element | None:
        return self.root.find("Gather")

    @property
    def hangs_up(self) -> bool:
        return self.root.find("Hangup") is not None


async def post(webapp: WebApp, path: str, fields: dict[str, str]) -> Twiml:
    status, text = await webapp.twilio_post(path, fields)
    assert status == 200, text
    return Twiml(text)


async def test_a_caller_walks_the_free_trial_flow_by_voice(
    webapp: WebApp, content: Content
) -> None:
    answer = await post(webapp, "/webhook/twilio/voice", call_fields())
    assert answer.said == [t(content, "es", "welcome")]
    gather = answer.gather
    assert gather is not None and not answer.hangs_up
    assert (gather.get("input"), gather.get("language"), gather.get("method")) == (
        "speech",
        "es-MX",
        "POST",
    )
    assert gather.get("action") == "/webhook/twilio/voice?turn=1"
    answers: list[Twiml] = [answer]

    said: list[str] = []

    async def say(speech: str) -> None:
        action = answers[-1].gather
        assert action is not None, "the call was hung up"
        answers.append(await post(webapp, action.get("action", ""), call_fields(speech)))
        said.extend(answers[-1].said)

    async def heard(count: int) -> list[str]:
        assert len(said) >= count, f"the call said only {said}"
        return list(said)

    await walk_free_trial(
        say, heard, content.locales, "es", "quiero una prueba", "Juan Pérez", "juan@example.com",
        shown=speakable,
    )  # fmt: skip
    _, body = await webapp.admin("GET", f"/v1/sessions?user=%2B{CALLER[1:]}&channel=voice")
    session = body["sessions"][0]
    assert (session["status"], session["close_reason"]) == ("completed", "credentials_delivered")
    assert said[0] == t(content, "es", "free_trial.ask_name")
    assert said[-2:] == [
        t(content, "es", "free_trial.credentials", **session["data"]),
        t(content, "es", "close.credentials_delivered"),
    ]
    last = answers[-1]
    assert last.hangs_up and last.gather is None
    assert last.languages == {"es-MX"}
    assert [a.gather.get("action") for a in answers[1:-1] if a.gather is not None] == [
        f"/webhook/twilio/voice?turn={n}" for n in range(2, len(answers))
    ]
    assert webapp.twilio.requests == []  # nothing went through the Messages API


async def test_an_invalid_answer_is_asked_again_by_voice(webapp: WebApp, content: Content) -> None:
    await post(webapp, "/webhook/twilio/voice?turn=1", call_fields("quiero una prueba"))
    await post(webapp, "/webhook/twilio/voice?turn=2", call_fields("Juan"))
    answer = await post(webapp, "/webhook/twilio/voice?turn=3", call_fields("juan arroba example"))
    assert answer.said == [t(content, "es", "invalid.email")]
    assert answer.gather is not None


@pytest.mark.parametrize(
    ("speech", "notice"), [("goodbye, thanks", "close.goodbye"), ("cancel", "close.cancel")]
)
async def test_goodbye_and_cancel_end_the_call_with_the_notice_spoken(
    webapp: WebApp, content: Content, speech: str, notice: str
) -> None:
    answer = await post(webapp, "/webhook/twilio/voice?turn=1", call_fields("I want a free trial"))
    assert answer.said == [t(content, "en", "free_trial.ask_name")]
    assert answer.languages == {"en-US"}
    answer = await post(webapp, "/webhook/twilio/voice?turn=2", call_fields(speech))
    assert answer.said == [t(content, "en", notice)]
    assert answer.hangs_up


@pytest.mark.parametrize(
    ("speech", "notice"), [("tchau, obrigado", "close.goodbye"), ("cancelar", "close.cancel")]
)
async def test_a_portuguese_caller_is_answered_and_heard_in_pt_br(
    webapp: WebApp, content: Content, speech: str, notice: str
) -> None:
    answer = await post(
        webapp, "/webhook/twilio/voice?turn=1", call_fields("quero um teste grátis")
    )
    assert answer.said == [t(content, "pt", "free_trial.ask_name")]
    assert answer.languages == {"pt-BR"}
    assert answer.gather is not None and answer.gather.get("language") == "pt-BR"
    answer = await post(webapp, "/webhook/twilio/voice?turn=2", call_fields(speech))
    assert answer.said == [t(content, "pt", notice)]
    assert answer.languages == {"pt-BR"} and answer.hangs_up


async def test_silence_or_a_retried_request_repeats_the_last_prompt(
    webapp: WebApp, content: Content
) -> None:
    fields = call_fields("quiero una prueba")
    first = await post(webapp, "/webhook/twilio/voice?turn=1", fields)
    retried = await post(webapp, "/webhook/twilio/voice?turn=1", fields)
    silent = await post(webapp, "/webhook/twilio/voice?turn=2", call_fields(""))
    ask_name = [t(content, "es", "free_trial.ask_name")]
    assert first.said == retried.said == silent.said == ask_name
    assert silent.gather is not None
    _, body = await webapp.admin("GET", "/v1/sessions?channel=voice")
    _, detail = await webapp.admin("GET", f"/v1/sessions/{body['sessions'][0]['id']}")
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"] == [
        "quiero una prueba"
    ]


async def test_a_timeout_after_the_call_is_stored_as_undeliverable(webapp: WebApp) -> None:
    await post(webapp, "/webhook/twilio/voice?turn=1", call_fields("hola"))
    webapp.clock.advance(minutes=31)
    assert await webapp.runtime.sweeper.run_once() == 1
    _, body = await webapp.admin("GET", "/v1/sessions?channel=voice")
    _, detail = await webapp.admin("GET", f"/v1/sessions/{body['sessions'][0]['id']}")
    notice = detail["messages"][-1]
    assert (notice["status"], notice["error_detail"]) == (
        "failed",
        "no call in progress: voice replies need a call",
    )


async def test_voice_requests_are_signed_and_checked(webapp: WebApp) -> None:
    status, _ = await webapp.twilio_post("/webhook/twilio/voice", call_fields(), signature="x")
    assert status == 401
    fields = call_fields()
    del fields["CallSid"]
    assert (await webapp.twilio_post("/webhook/twilio/voice", fields))[0] == 400
    status, text = await webapp.twilio_post("/webhook/twilio/voice?turn=abc", call_fields("hola"))
    assert (status, text) == (400, '{"error": "turn must be a whole number, got \'abc\'"}')
