"""How people type numbers, positions and times, turned into digits for the slot parsers.

- :func:`spelled_to_digits`: number words as digits (``somos cuatro`` -> ``somos 4``,
  ``twenty-one`` -> ``21``, ``una docena`` -> ``12``, ``a couple`` -> ``2``), through
  ``text2num`` (``alpha2digit``) for the reply language, then Spanish and English.
- :func:`position`: the option a positional answer points at (``2``, ``#2``, ``the 2nd``,
  ``la segunda``, ``second one``, ``opción 3``, ``the last one``, ``la última``).
- :func:`clock_minutes`: a typed time of day (``10pm``, ``22:00``, ``22 hs``, ``10 de la
  noche``) and the times in an option's title, as minutes after midnight.

:func:`position` and the clock functions take text folded by :func:`bot.flows.slots.fold`
(lower case, no accents); :func:`spelled_to_digits` lower-cased text (``text2num`` needs the
accents of ``veintitrés``). Callers bound the text (answers are at most 1,000 characters);
every function is linear in it.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

TEXT2NUM_LANGUAGES = frozenset({"en", "es", "fr", "pt", "de", "nl", "it", "da"})
"""Languages ``text2num`` reads; other reply languages fall back to Spanish and English."""

_HOLD_ON = re.compile(
    r"\b(?:un|una|one|a)\s+(?:momento|segundo|minuto|rato|moment|sec|second|minute)\b"
)
"""``un momento``, ``one sec``: asking to wait, not the number 1."""
_SOME = re.compile(r"\b(?:unos|unas)\b")
"""``unos cuantos`` (a few), ``unos 4`` (about 4): "some", not the number 1."""
_COUPLE = re.compile(r"\b(?:un|una|a)\s+(?:par|couple|pair)\b")
_HALF_DOZEN = re.compile(r"\b(?:media\s+docena|half\s+a\s+dozen|half\s+dozen)\b")
_ONE_DOZEN = re.compile(r"\b(?:una|a|one)\s+(?:docena|dozen)\b")
_DOZENS = re.compile(r"\b(\d{1,6})\s+(?:docenas?|dozens?)\b")
_DIGIT = re.compile(r"\d")


def _languages(lang: str) -> list[str]:
    first = lang.split("-")[0].split("_")[0].lower()
    ordered = [first, "es", "en"] if first in TEXT2NUM_LANGUAGES else ["es", "en"]
    return list(dict.fromkeys(ordered))


def spelled_to_digits(text: str, lang: str) -> str:
    """``text`` with number words written as digits, read in ``lang`` first and then in
    Spanish and English (the first language that finds a number wins); ``text`` itself when
    no language finds one.

    ``a couple``/``un par`` is 2, ``a dozen``/``una docena`` 12, ``half a dozen``/``media
    docena`` 6, and ``N dozen``/``N docenas`` is N times 12; ``un momento``/``one sec``
    is no number.
    """
    text = _SOME.sub(" ", _HOLD_ON.sub(" ", text))
    text = _COUPLE.sub("2", text)
    text = _HALF_DOZEN.sub("6", text)
    text = _ONE_DOZEN.sub("12", text)
    converted = text
    for language in _languages(lang):
        candidate = alpha2digit(text, language, threshold=0)
        if _DIGIT.search(candidate) and candidate != text:
            converted = candidate
            break
    return _DOZENS.sub(lambda m: str(int(m.group(1)) * 12), converted)


_ORDINALS = {
    word: n
    for n, words in enumerate(
        [
            "first primero primera primer 1st 1o 1a 1er 1ero 1era",
            "second segundo segunda 2nd 2o 2a 2do 2da",
            "third tercero tercera tercer 3rd 3o 3a 3er 3ero 3era",
            "fourth cuarto cuarta 4th 4o 4a 4to 4ta",
            "fifth quinto quinta 5th 5o 5a 5to 5ta",
            "sixth sexto sexta 6th 6o 6a 6to 6ta",
            "seventh septimo septima setimo setima 7th 7o 7a 7mo 7ma",
            "eighth octavo octava 8th 8o 8a 8vo 8va",
            "ninth noveno novena 9th 9o 9a 9no 9na",
            "tenth decimo decima 10th 10o 10a 10mo 10ma",
        ],
        start=1,
    )
    for word in words.split()
}
_CARDINALS = {
    word: n
    for n, words in enumerate(
        ["one uno una", "two dos", "three tres", "four cuatro", "five cinco", "six seis",
         "seven siete", "eight ocho", "nine nueve", "ten diez"],
        start=1,
    )
    for word in words.split()
}  # fmt: skip
_LAST = {"last", "ultimo", "ultima", "ultimos"}
_SECOND_TO_LAST = {"penultimate", "penultimo", "penultima"}
_FILLER = {
    "the", "el", "la", "lo", "option", "opcion", "choice", "number", "numero", "nro", "num",
    "n", "nº", "no", "please", "pls", "por", "favor", "plis", "porfa", "de", "of", "them",
    "las", "los", "ellas", "ellos", "i", "want", "quiero", "take", "ll", "i'll", "me", "quedo",
    "con", "elijo", "choose", "pick", "esa", "ese", "that",
}  # fmt: skip
_NUMBERED = re.compile(r"#?(\d{1,2})[.)]?")


def position(text: str, count: int) -> int | None:
    """The 0-based index of the option that folded ``text`` points at by position among
    ``count`` options, or ``None`` (not positional, or out of range).

    One position word or number, with filler words around it (``the``, ``la``, ``opción``,
    ``please``...) and an optional trailing ``one`` (``the second one``): ``2``, ``#2``,
    ``2.``, ``2nd``, ``2º``, ``la segunda``, ``two``, ``dos``, ``the last one``, ``la
    última``, ``la penúltima``.
    """
    words = [w for w in text.replace("#", " #").split() if w not in _FILLER]
    if len(words) == 2 and words[1] in ("one", "uno", "una", "option", "opcion"):
        words = words[:1]
    if len(words) != 1:
        return None
    (word,) = words
    if word in ("one", "uno", "una") and text.strip() != word:
        return None  # "the one", "la una" (one o'clock): not a position
    number = _NUMBERED.fullmatch(word)
    if number:
        n = int(number.group(1))
    elif word in _ORDINALS:
        n = _ORDINALS[word]
    elif word in _CARDINALS:
        n = _CARDINALS[word]
    elif word in _LAST:
        n = count
    elif word in _SECOND_TO_LAST:
        n = count - 1
    else:
        return None
    return n - 1 if 1 <= n <= count else None


_MERIDIEM = (
    r"(?P<ampm>a\.?\s?m\b\.?|p\.?\s?m\b\.?|hs?\b|hrs\b|horas?\b"
    r"|de la (?:manana|tarde|noche)|in the (?:morning|afternoon|evening)|at night)"
)
_TIME = r"(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*" + _MERIDIEM + "?"
_ANSWER_TIME = re.compile(r"(?:(?:a las|a la|at|las|la)\s+)?" + _TIME)
_TITLE_TIME = re.compile(r"(?<![\d:])" + _TIME)
_MORNING = ("de la manana", "in the morning")


def _meridiem(raw: str | None) -> str:
    """``am``, ``pm``, ``h`` (24-hour) or ``""`` for the matched suffix."""
    if raw is None:
        return ""
    compact = raw.replace(".", "").replace(" ", "")
    if compact in ("am", "pm"):
        return compact
    if compact in ("h", "hs", "hrs", "hora", "horas"):
        return "h"
    return "am" if raw in _MORNING else "pm"


def _minutes(hour: int, minute: int, meridiem: str) -> set[int]:
    """The times of day (minutes after midnight) ``hour:minute`` may mean: with ``am``/``pm``
    one, in 24-hour notation one, a bare 1-12 hour two (morning and evening)."""
    if hour > 23 or minute > 59:
        return set()
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12:
            return set()
        return {(hour % 12 + (12 if meridiem == "pm" else 0)) * 60 + minute}
    if 1 <= hour <= 12 and not meridiem:
        return {hour * 60 + minute, (hour % 12 + 12) * 60 + minute}
    return {hour * 60 + minute}


def clock_minutes(text: str) -> set[int] | None:
    """The times of day that folded ``text`` names when it is only a time (``10pm``, ``10:30``,
    ``22 hs``, ``a las 10 de la noche``), as minutes after midnight; ``None`` when it is not a
    time. A bare number (``10``) is not a time; ``10:00`` is 10 a.m. or 10 p.m."""
    match = _ANSWER_TIME.fullmatch(text.strip())
    if match is None or (match.group("m") is None and match.group("ampm") is None):
        return None
    meridiem = _meridiem(match.group("ampm"))
    return _minutes(int(match.group("h")), int(match.group("m") or 0), meridiem) or None


def title_minutes(title: str) -> set[int]:
    """Every time of day written in folded option ``title`` (``10:00 pm``, ``22 h``,
    ``tarde (18:30)``), as minutes after midnight; ``10:00`` without ``am``/``pm`` is that
    exact 24-hour time."""
    found: set[int] = set()
    for match in _TITLE_TIME.finditer(title):
        if match.group("m") is None and match.group("ampm") is None:
            continue
        meridiem = _meridiem(match.group("ampm")) or "h"
        found |= _minutes(int(match.group("h")), int(match.group("m") or 0), meridiem)
    return found
