"""Answer parsing for questions: each slot type turns what a user typed (or tapped) into the
value stored in session data, or ``None`` when the answer is not valid.

Stored values (all JSON-serializable):

========  ==================================================================================
type      value
========  ==================================================================================
text      the text, whitespace collapsed
number    ``int`` (or ``float`` with decimals); ``3,5`` and ``3.5`` both read 3.5 in Spanish;
          words too (``somos cuatro``, ``twenty-one``, ``una docena``, ``a couple``)
email     normalized by ``email-validator`` (syntax only, no DNS look-up)
phone     E.164 (``+5491155550001``), parsed and checked by ``phonenumbers``
date      ISO date ``YYYY-MM-DD``; Spanish and English phrasings (``mañana``, ``15/12``,
          ``next Monday``, ``el próximo lunes``) through ``dateparser``, relative to the clock
choice    the option's ``value``; by tap, title, position (``2``, ``la segunda``, ``the last
          one``), time (``10pm`` for ``10:00 pm``), or a close misspelling of a title
yes_no    ``True`` / ``False``
========  ==================================================================================
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any

import phonenumbers
from babel import UnknownLocaleError
from babel.numbers import get_group_symbol
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz

from bot.flows import spoken
from bot.flows.model import Ask, SlotType
from bot.intents.bounds import bounded_view

MAX_ANSWER_CHARS = 1_000
"""Longest answer any parser reads: a longer one is not valid (the step re-asks). Parsers are
linear at best (``dateparser`` takes 5 s on 1 MB, ``email-validator`` 0.2 s), and a pasted
document answers no question."""
MAX_TEXT_CHARS = 4_096
"""Longest answer to a ``text`` slot without a pattern: WhatsApp's own limit on a text
message's body (no parser reads it; whitespace is collapsed in linear time)."""
MAX_DATE_CHARS = 100
"""Longest answer ``dateparser`` reads (about 20 µs per character: 2 ms at this length; "el
próximo lunes 15 de diciembre a las 3 de la tarde" has 51)."""
MAX_FOLD_CHARS = 1_000
"""Longer texts are folded as their head and tail (see :func:`fold`)."""

FUZZY_CUTOFF = 80.0
"""Minimum rapidfuzz ratio (0-100) for a typed answer to count as a misspelt option title."""

_YES = {
    "si", "sí", "claro", "dale", "ok", "okay", "okey", "vale", "correcto", "afirmativo",
    "de acuerdo", "por supuesto", "obvio", "seguro", "exacto", "yes", "y", "yeah", "yep",
    "yup", "sure", "correct", "of course", "right", "confirmo", "confirm",
}  # fmt: skip
_NO = {
    "no", "nop", "nope", "negativo", "para nada", "n", "nah", "no thanks", "no gracias",
    "tampoco", "nunca", "never",
}  # fmt: skip
_NUMBER = re.compile(r"[-+]?\d[\d.,]*")
_ALTERNATIVES = re.compile(r"\d\s+(?:o|ó|or|u|a|to|hasta)\s+[-+]?\d")
"""Two numbers offered as alternatives or a range (``2 o 3``, ``5 to 10``): not one answer."""
_ES_RELATIVE = [
    (re.compile(r"\bpasado\s+mañana\b"), "en 2 días"),
    (re.compile(r"\b(?:el|este|esta)\s+(?=\w)"), ""),
    (re.compile(r"\b(?:próximo|proximo|próxima|proxima)\s+"), ""),
    (re.compile(r"\s+(?:que viene|próximo|proximo)\b"), ""),
]


def fold(text: str) -> str:
    """Lower case without accents, whitespace collapsed, surrounding punctuation removed
    (remembered: keywords and option titles are folded again for every answer).

    A text longer than ``MAX_FOLD_CHARS`` is folded as its head and tail (see
    :func:`~bot.intents.bounds.bounded_view`), so a 1 MB message costs no more than a short
    one to check for keywords, and is not kept whole in the cache.
    """
    if len(text) > MAX_FOLD_CHARS:
        text = bounded_view(text)
    return _fold(text)


@functools.lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(w.strip(".,;:!?¡¿\"'()*") for w in plain.split()).strip()


def parse_text(answer: str) -> str | None:
    """Any non-blank text, whitespace collapsed."""
    cleaned = " ".join(answer.split())
    return cleaned or None


def parse_email(answer: str) -> str | None:
    """An email address (syntax only), normalized by ``email-validator``."""
    candidate = answer.strip().strip("<>").strip()
    try:
        return str(validate_email(candidate, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def parse_number(answer: str, lang: str, *, integer: bool = False) -> int | float | None:
    """The first number in ``answer`` (``2 pizzas`` is 2), in digits or words (``somos
    cuatro``, ``twenty-one``, ``una docena``, ``a couple``: see
    :func:`bot.flows.spoken.spelled_to_digits`); two numbers offered as alternatives or a
    range (``2 o 3``, ``five to ten``) are not an answer.

    A single ``.`` or ``,`` followed by exactly three digits is read with ``lang``'s grouping
    symbol (``1.000`` is a thousand in Spanish, one in English); otherwise it is the decimal
    mark (``3.5`` and ``3,5`` are both 3.5). With both marks, the last one is the decimal mark.
    """
    answer = spoken.spelled_to_digits(answer.lower(), lang)
    if _ALTERNATIVES.search(answer):
        return None
    match = _NUMBER.search(answer)
    if match is None:
        return None
    token = match.group().rstrip(".,")
    marks = [c for c in token if c in ".,"]
    if len(set(marks)) == 2:
        decimal_mark = marks[-1]
        token = token.replace("," if decimal_mark == "." else ".", "").replace(decimal_mark, ".")
    elif len(marks) > 1:
        token = token.replace(marks[0], "")
    elif marks:
        fraction = token.split(marks[0])[1]
        if len(fraction) == 3 and marks[0] == _group_symbol(lang):
            token = token.replace(marks[0], "")
        else:
            token = token.replace(marks[0], ".")
    try:
        value = Decimal(token)
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return int(value)
    return None if integer else float(value)


def _group_symbol(lang: str) -> str:
    try:
        return str(get_group_symbol(lang))
    except (UnknownLocaleError, ValueError):
        return ","


def parse_phone(answer: str, region: str | None) -> str | None:
    """A valid phone number in E.164; ``region`` (ISO country) reads numbers without ``+``."""
    try:
        number = phonenumbers.parse(answer, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@functools.lru_cache(maxsize=65_536)
def region_of(user_id: str) -> str | None:
    """The ISO country of a WhatsApp user id (digits with country code), if it tells
    (remembered per user id: it is asked on every answer)."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + user_id))
    except phonenumbers.NumberParseException:
        return None
    return str(region) if region and region != "ZZ" else None


@functools.cache
def _dateparser() -> ModuleType:
    """``dateparser``, imported on first use (about 0.1 s and 3 MiB that a service whose flows
    ask for no date never pays; :func:`warm_dates` pays it at load time otherwise)."""
    import dateparser

    module: ModuleType = dateparser
    return module


def warm_dates() -> None:
    """Import ``dateparser`` and load its es and en data now (about 0.2 s on a slow core), so
    that the first date a user answers does not stall the event loop; called when a loaded
    flow asks for a date."""
    now = datetime(2000, 1, 1, tzinfo=UTC)
    parse_date("el próximo lunes", "es", now)
    parse_date("next Monday", "en", now)


def parse_date(answer: str, lang: str, now: datetime) -> str | None:
    """A calendar date, relative to ``now`` for ``mañana``/``next Monday``; a bare day of the
    month (``el 5``) is its next occurrence. Returns ``YYYY-MM-DD``."""
    text = fold(answer)
    spanish = answer.lower()
    for pattern, replacement in _ES_RELATIVE:
        spanish = pattern.sub(replacement, spanish)
    base = now.replace(tzinfo=None)
    day_only = re.fullmatch(r"(?:el\s+)?(\d{1,2})", text)
    if day_only:
        return _next_day_of_month(int(day_only.group(1)), base.date())
    languages = [lang] + [x for x in ("es", "en") if x != lang]
    settings: Any = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    for candidate in dict.fromkeys([answer.strip(), spanish.strip()]):
        parsed = _dateparser().parse(candidate, languages=languages, settings=settings)
        if isinstance(parsed, datetime):
            return parsed.date().isoformat()
    return None


def _next_day_of_month(day: int, today: date) -> str | None:
    for months_ahead in range(0, 3):
        year = today.year + (today.month - 1 + months_ahead) // 12
        month = (today.month - 1 + months_ahead) % 12 + 1
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate.isoformat()
    return None


def parse_yes_no(
    answer: str,
    payload: str | None,
    yes_titles: Sequence[str] = (),
    no_titles: Sequence[str] = (),
) -> bool | None:
    """``True``/``False`` from a tap (``yes``/``no``), a word (``sí``, ``nope``), or a button
    title in any language; a sentence counts by its first word (``sí, claro``)."""
    if payload in ("yes", "no"):
        return payload == "yes"
    text = fold(answer)
    if not text:
        return None
    yes_words = {fold(w) for w in (*_YES, *yes_titles)}
    no_words = {fold(w) for w in (*_NO, *no_titles)}
    for candidate in (text, text.split()[0]):
        if candidate in no_words:
            return False
        if candidate in yes_words:
            return True
    return None


def parse_choice(
    answer: str, payload: str | None, options: Sequence[tuple[str, Sequence[str]]]
) -> str | None:
    """The option ``answer`` selects, as its value; ``None`` when it selects none or more
    than one (the step re-asks).

    Args:
        answer: What the user typed (or the title of what they tapped).
        payload: The id of a tapped button or list row, when it was a tap.
        options: ``(value, titles)`` in the order shown; titles in every language.

    Tried in order, the first that selects exactly one option wins (accents and case
    ignored throughout):

    1. a tapped id;
    2. the value or a title;
    3. the position (``2``, ``#2``, ``2.``, ``opción 2``, ``the 2nd``, ``la segunda``,
       ``second one``, ``dos``, ``the last one``, ``la última``);
    4. a time of day equal to one written in titles (``10pm`` or ``22 hs`` for ``10:00 pm``;
       ``10:00`` for ``10:00 pm`` only when no option is at 10:00 am);
    5. a title that appears as whole words in the answer (``el plan pro``);
    6. the answer as whole words of one title (``enterprise`` for ``Plan Enterprise``);
    7. a close misspelling of one title (rapidfuzz ratio >= :data:`FUZZY_CUTOFF`, with no
       tie).
    """
    values = [value for value, _ in options]
    if payload is not None and payload in values:
        return payload
    text = fold(answer)
    if not text:
        return None
    folded = [
        (value, [f for f in (fold(t) for t in [value, *titles]) if f]) for value, titles in options
    ]
    for value, names in folded:
        if text in names:
            return value
    index = spoken.position(text, len(options))
    if index is not None:
        return values[index]
    for matcher in (_by_time, _by_title_inside, _by_words_of_title):
        found = {value for value, names in folded if matcher(text, names)}
        if len(found) == 1:
            return found.pop()
        if len(found) > 1:
            return None  # ambiguous: re-ask
    scores = sorted(
        ((max(fuzz.ratio(text, n) for n in names), value) for value, names in folded if names),
        reverse=True,
    )
    if (
        scores
        and scores[0][0] >= FUZZY_CUTOFF
        and (len(scores) == 1 or scores[1][0] < scores[0][0])
    ):
        return scores[0][1]
    return None


def _by_time(text: str, names: Sequence[str]) -> bool:
    """True when ``text`` is a time of day written in one of ``names``."""
    minutes = spoken.clock_minutes(text)
    return minutes is not None and any(minutes & spoken.title_minutes(n) for n in names)


def _by_title_inside(text: str, names: Sequence[str]) -> bool:
    """True when one of ``names`` appears as whole words in ``text``."""
    padded = f" {text} "
    return any(f" {n} " in padded for n in names)


def _by_words_of_title(text: str, names: Sequence[str]) -> bool:
    """True when ``text`` (three letters or more, or digits) is whole words of a name."""
    if len(text) < 3 and not text.isdigit():
        return False
    return any(f" {text} " in f" {n} " for n in names)


def answer_limit(ask: Ask) -> int:
    """The longest answer (characters) that ``ask`` reads: ``MAX_DATE_CHARS`` for a date,
    ``MAX_TEXT_CHARS`` for free text without a pattern, ``MAX_ANSWER_CHARS`` otherwise."""
    if ask.type is SlotType.DATE:
        return MAX_DATE_CHARS
    if ask.type is SlotType.TEXT and ask.pattern is None:
        return MAX_TEXT_CHARS
    return MAX_ANSWER_CHARS


def parse_answer(
    ask: Ask,
    answer: str,
    payload: str | None,
    *,
    lang: str,
    now: datetime,
    user_region: str | None,
    option_titles: Sequence[tuple[str, Sequence[str]]] = (),
) -> Any:
    """The value to store for ``answer`` to ``ask``, or ``None`` when it is not valid
    (longer than :func:`answer_limit` included: no parser reads it).

    Args:
        ask: The question.
        answer: The user's text (for a tap: the tapped title).
        payload: The tapped button or row id, if any.
        lang: The reply language (numbers and dates are read in it first).
        now: The current time (dates are relative to it).
        user_region: The user's own country, for phone numbers typed without ``+``.
        option_titles: For ``choice``/``yes_no``: ``(value, titles in every language)``.
    """
    if len(answer) > answer_limit(ask):
        return None
    if (
        ask.pattern is not None
        and payload is None
        and ask.pattern.fullmatch(" ".join(answer.split())) is None
    ):
        return None
    kind = ask.type
    value: Any
    if kind is SlotType.TEXT:
        value = parse_text(answer)
    elif kind is SlotType.EMAIL:
        value = parse_email(answer)
    elif kind is SlotType.NUMBER:
        value = parse_number(answer, lang, integer=ask.integer)
        if value is not None and (
            (ask.minimum is not None and value < ask.minimum)
            or (ask.maximum is not None and value > ask.maximum)
        ):
            return None
    elif kind is SlotType.PHONE:
        value = parse_phone(answer, ask.region or user_region)
    elif kind is SlotType.DATE:
        value = parse_date(answer, lang, now)
    elif kind is SlotType.YES_NO:
        titles = dict(option_titles)
        value = parse_yes_no(answer, payload, titles.get("yes", ()), titles.get("no", ()))
    else:
        value = parse_choice(answer, payload, option_titles)
    return value
