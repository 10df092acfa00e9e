"""A very long answer to a question is invalid before any parser reads it (issue #13, 1).

Before: ``dateparser`` took 5 s on a 1 MB answer (19 s without spaces, 0.3-1.2 s on 64 KB),
``email-validator`` 0.2 s, and every keyword check folded (and cached) the whole text: the
event loop stalled for every user. Now an answer longer than ``MAX_ANSWER_CHARS`` (a date:
``MAX_DATE_CHARS``) gets the step's normal re-ask, and keyword checks read the head and tail.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.flows import slots
from bot.flows.model import Ask, SlotType, Text
from bot.flows.slots import (
    MAX_ANSWER_CHARS,
    MAX_DATE_CHARS,
    MAX_TEXT_CHARS,
    fold,
    parse_answer,
)
from bot.wiring import Content
from tests.conftest import Harness

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GUARD_MS = 200.0
"""Far above a parser's cost on a sane answer, far below the seconds of a long one."""
LONG = {
    "64 KB of words": ("mañana el lunes 15 " * 4_000)[:65_536],
    "1 MB without spaces": "a1" * 500_000,
}


def t(content: Content, lang: str, key: str, **values: object) -> str:
    return content.locales.text(lang, key, values)


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


@pytest.mark.parametrize("name", LONG)
@pytest.mark.parametrize("kind", [SlotType.DATE, SlotType.EMAIL, SlotType.NUMBER, SlotType.TEXT])
def test_a_long_answer_is_invalid_before_any_parser_runs(
    monkeypatch: pytest.MonkeyPatch, kind: SlotType, name: str
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a parser read a long answer")

    for parser in ("parse_date", "parse_email", "parse_number", "parse_text"):
        monkeypatch.setattr(slots, parser, must_not_run)
    ask = Ask(slot="x", type=kind, invalid=Text(key="invalid.x"))
    answer = LONG[name]
    elapsed_ms = timed(
        lambda: parse_answer(ask, answer, None, lang="es", now=NOW, user_region=None)
    )
    assert parse_answer(ask, answer, None, lang="es", now=NOW, user_region=None) is None
    assert elapsed_ms < GUARD_MS


def test_answers_up_to_the_limits_are_still_parsed() -> None:
    date = Ask(slot="d", type=SlotType.DATE, invalid=Text(key="invalid.date"))
    number = Ask(slot="n", type=SlotType.NUMBER, invalid=Text(key="invalid.number"))
    sane_date = "el próximo lunes".ljust(MAX_DATE_CHARS)
    assert parse_answer(date, sane_date, None, lang="es", now=NOW, user_region=None) is not None
    assert parse_answer(date, sane_date + "x", None, lang="es", now=NOW, user_region=None) is None
    two = "2 pizzas".ljust(MAX_ANSWER_CHARS)
    assert parse_answer(number, two, None, lang="es", now=NOW, user_region=None) == 2
    assert parse_answer(number, two + "x", None, lang="es", now=NOW, user_region=None) is None


def test_free_text_is_kept_up_to_whatsapps_own_text_limit() -> None:
    text = Ask(slot="t", type=SlotType.TEXT, invalid=Text(key="invalid.text"))
    story = ("mi pedido llegó frío y tarde " * 200)[: MAX_TEXT_CHARS - 1] + "."
    assert len(story) == MAX_TEXT_CHARS == 4_096
    kept = parse_answer(text, story, None, lang="es", now=NOW, user_region=None)
    assert kept == " ".join(story.split())
    assert parse_answer(text, story + "x", None, lang="es", now=NOW, user_region=None) is None


def test_folding_a_long_text_reads_its_head_and_tail_quickly() -> None:
    text = "quiero cancelar " + "bla " * 250_000 + "chau"
    elapsed_ms = timed(lambda: fold(text))
    folded = fold(text)
    assert folded.startswith("quiero cancelar bla") and folded.endswith("bla chau")
    assert len(folded) <= 2 * MAX_ANSWER_CHARS
    assert elapsed_ms < 20


async def test_a_64_kb_answer_to_an_email_question_gets_the_re_ask_quickly(
    harness: Harness, content: Content
) -> None:
    await harness.say("quiero una prueba")
    await harness.say("Ana")
    started = time.perf_counter()
    replies = await harness.say("ana@example.com " * 4_096)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert replies == [t(content, "es", "invalid.email")]
    assert "email" not in (await harness.session_of()).data
    assert elapsed_ms < GUARD_MS
    replies = await harness.say("ana@example.com")  # the step goes on as usual
    assert (await harness.session_of()).data["email"] == "ana@example.com"


async def test_a_1_mb_answer_to_a_number_question_gets_the_re_ask_quickly(
    harness: Harness, content: Content
) -> None:
    for text in ("pedido", "Fugazzeta"):
        await harness.say(text)
    started = time.perf_counter()
    replies = await harness.say("2 " + "9" * 1_000_000)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert replies == [t(content, "es", "order.invalid_quantity")]
    assert "quantity" not in (await harness.session_of()).data
    assert elapsed_ms < GUARD_MS
