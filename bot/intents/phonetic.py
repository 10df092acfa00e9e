"""Sound-alike keys for spelling mistakes that follow pronunciation, per language.

Spanish speakers misspell by ear: a silent ``h`` is left out ("ola", "asta luego"), ``b``/``v``,
``s``/``z``/soft ``c``, ``k``/``qu``/hard ``c`` and ``y``/``ll`` are swapped ("nos bemos",
"canselar", "kiero", "prueva"). Two words with the same key sound the same, so a typed word
whose key equals an intent word's key is that word, whatever its edit distance.

Only languages listed in :data:`SOUND_KEYS` get this; the others rely on edit distance alone.
Adding one (``pt``) is adding its function here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType

from bot.intents.normalize import dedouble

_ES_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ch", "1"),  # keep "ch" apart from the silent h and from k
        (r"h", ""),
        (r"qu(?=[ei])", "k"),
        (r"c(?=[ei])", "s"),
        (r"c", "k"),
        (r"z", "s"),
        (r"v", "b"),
        (r"y$", "i"),
        (r"1", "ch"),
    )
)


def spanish_sound(word: str) -> str:
    """Sound-alike key of a lowercase, accent-stripped Spanish word.

    ``"ola"`` and ``"hola"`` → ``"ola"``; ``"bemos"`` and ``"vemos"`` → ``"bemos"``;
    ``"kiero"`` and ``"quiero"`` → ``"kiero"``; ``"yamar"`` and ``"llamar"`` → ``"yamar"``.
    Doubled letters are collapsed first (after ``ll`` became ``y``).
    """
    key = dedouble(word.replace("ll", "y"))
    for pattern, replacement in _ES_RULES:
        key = pattern.sub(replacement, key)
    return key


SOUND_KEYS: MappingProxyType[str, Callable[[str], str]] = MappingProxyType({"es": spanish_sound})
"""Language code → its sound-alike key function (lowercase, accent-stripped word → key)."""
