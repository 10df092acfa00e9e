"""Lemma lookup from ``spacy-lookups-data``, tolerant of missing accents.

The Spanish ``lemma_lookup`` table has 491,547 entries; loaded as spaCy's ``Table`` (a Python
dict of 64-bit string hashes to lemma strings) it costs about 120 MB of RSS per process and
0.9 s. :class:`HashedTable` keeps the same mapping in two sorted numpy arrays (the hashes, and
an index into the 64,848 distinct lemmas): about 6 MB, answering exactly what the ``Table``
answers, since it stores the same hashes (``spacy.strings.get_string_id``). It is built once
from the package's JSON and cached on disk, so later starts read 6 MB instead of parsing 10 MB
of JSON. The service caches in the folder its settings name (``Settings.cache_dir``:
``$XDG_CACHE_HOME/whatsapp-intent-bot``, else ``~/.cache/whatsapp-intent-bot``); a caller that
names none gets :data:`DEFAULT_CACHE_DIR`. This module reads no environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from spacy.strings import get_string_id
from spacy.util import load_language_data, registry

from bot.intents.normalize import strip_accents
from bot.intents.tense import INFINITIVE_ENDINGS

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "whatsapp-intent-bot"
"""Where cache files go when the caller names no folder."""

_CACHE_FORMAT = 1
"""Bumped when :class:`HashedTable`'s file layout changes (old cache files are ignored)."""

# Letters a user may type without their accent; tried one at a time when a word is unknown.
_ACCENTED: dict[str, str] = {
    "a": "áàâã",
    "e": "éèê",
    "i": "íì",
    "o": "óòôõ",
    "u": "úü",
    "n": "ñ",
    "c": "ç",
}

# Pronouns Spanish attaches to infinitives, gerunds and imperatives ("olvídalo", "dejémoslo",
# "cancelarlo"); longest first. A word is stripped of one only when what is left is a known
# verb form, so "olvídalo" gets the lemma of "olvida" (olvidar).
_ENCLITICS: dict[str, tuple[str, ...]] = {
    "es": (
        "selos",
        "selas",
        "melos",
        "melas",
        "telos",
        "telas",
        "noslo",
        "nosla",
        "selo",
        "sela",
        "melo",
        "mela",
        "telo",
        "tela",
        "los",
        "las",
        "les",
        "nos",
        "lo",
        "la",
        "le",
        "me",
        "te",
        "se",
        "os",
    ),
}
_MIN_STEM = 3
# Diminutive endings ("lueguito", "prontito", "ahorita", "chaucito") → what replaces them.
_DIMINUTIVES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "es": (
        ("guito", ("go",)),
        ("guita", ("ga",)),
        ("quito", ("co",)),
        ("quita", ("ca",)),
        ("cito", ("", "e")),
        ("cita", ("", "e")),
        ("ito", ("o", "", "e")),
        ("ita", ("a", "", "e")),
        ("itos", ("os", "s")),
        ("itas", ("as", "s")),
    ),
}


class HashedTable:
    """A read-only ``word → lemma`` table keyed by spaCy's 64-bit string hashes.

    Args:
        keys: ``get_string_id(word)`` of every word, sorted ascending, unique.
        values: For each key, the index of its lemma in ``lemmas``.
        lemmas: The distinct lemmas.
    """

    def __init__(
        self, keys: npt.NDArray[np.uint64], values: npt.NDArray[np.uint32], lemmas: list[str]
    ) -> None:
        self._keys = keys
        self._values = values
        self._lemmas = lemmas
        self._size = len(keys)
        self._lemma_keys = np.unique(
            np.fromiter(map(get_string_id, lemmas), dtype=np.uint64, count=len(lemmas))
        )
        """``get_string_id`` of every distinct lemma, sorted: the base forms ("feijão",
        "fogo") are words of the language too, though the table lists only inflected forms."""

    def __len__(self) -> int:
        return self._size

    def get(self, word: str) -> str | None:
        """The lemma of ``word``, or ``None`` when the table does not list it (as
        ``spacy.lookups.Table.get``)."""
        key = np.uint64(get_string_id(word))
        index = int(self._keys.searchsorted(key))
        if index < self._size and self._keys[index] == key:
            return self._lemmas[int(self._values[index])]
        return None

    def get_first(self, words: list[str]) -> str | None:
        """The lemma of the first of ``words`` the table lists, or ``None``: as calling
        :meth:`get` on each in turn, in one search (a word's accent variants: 10 words in
        about the time of 2 calls)."""
        if not words or not self._size:
            return None
        keys = np.fromiter(map(get_string_id, words), dtype=np.uint64, count=len(words))
        indexes = self._keys.searchsorted(keys)
        found = np.flatnonzero(
            (indexes < self._size) & (self._keys[np.minimum(indexes, self._size - 1)] == keys)
        )
        if not len(found):
            return None
        return self._lemmas[int(self._values[indexes[found[0]]])]

    def has_lemma(self, words: list[str]) -> bool:
        """True when one of ``words`` is a lemma of the table (a base form: "feijão")."""
        if not words or not len(self._lemma_keys):
            return False
        keys = np.fromiter(map(get_string_id, words), dtype=np.uint64, count=len(words))
        indexes = np.minimum(self._lemma_keys.searchsorted(keys), len(self._lemma_keys) - 1)
        return bool((self._lemma_keys[indexes] == keys).any())

    @classmethod
    def from_mapping(cls, table: dict[str, str]) -> HashedTable:
        """Build from ``word → lemma`` (a later duplicate hash wins, as in spaCy's Table)."""
        by_hash = {get_string_id(word): lemma for word, lemma in table.items()}
        lemmas = sorted(set(by_hash.values()))
        position = {lemma: i for i, lemma in enumerate(lemmas)}
        keys = np.fromiter(by_hash.keys(), dtype=np.uint64, count=len(by_hash))
        values = np.fromiter(
            (position[lemma] for lemma in by_hash.values()), dtype=np.uint32, count=len(by_hash)
        )
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], values[order], lemmas)

    def save(self, path: Path) -> None:
        """Write the table to ``path`` (numpy ``.npz``; replaced atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = np.frombuffer("\n".join(self._lemmas).encode("utf-8"), dtype=np.uint8)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, keys=self._keys, values=self._values, lemmas=blob)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @classmethod
    def load(cls, path: Path) -> HashedTable:
        """Read a table written by :meth:`save`.

        Raises:
            OSError, ValueError, KeyError: The file is missing, truncated or not a table.
        """
        with np.load(path) as data:
            lemmas = bytes(data["lemmas"]).decode("utf-8").split("\n")
            return cls(data["keys"], data["values"], lemmas)


def load_lemma_table(language: str, cache_dir: Path | None = None) -> HashedTable | None:
    """The ``lemma_lookup`` table of ``language`` from ``spacy-lookups-data``, or ``None``
    when the package has none for it.

    Read from the cache when a file made from the same package file is there; otherwise
    built from the JSON (about 0.9 s for Spanish) and cached. A cache folder that cannot be
    written only costs the rebuild at the next start.

    Args:
        language: ISO 639-1 code, e.g. ``"es"``.
        cache_dir: Where cache files go (default: :data:`DEFAULT_CACHE_DIR`).
    """
    if language not in registry.lookups:
        return None
    source_base = registry.lookups.get(language).get("lemma_lookup")
    if source_base is None:
        return None
    source = Path(source_base)
    if not source.exists():
        source = source.with_suffix(source.suffix + ".gz")
    try:
        stat = source.stat()
    except OSError:
        return None
    folder = cache_dir or DEFAULT_CACHE_DIR
    stamp = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_CACHE_FORMAT}"
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    cached = folder / f"lemma_lookup-{language}-{digest}.npz"
    with contextlib.suppress(OSError, ValueError, KeyError):
        return HashedTable.load(cached)
    data = load_language_data(source_base)
    table = HashedTable.from_mapping(data if isinstance(data, dict) else {})
    del data
    with contextlib.suppress(OSError):
        table.save(cached)
    return table


MAX_OWN_LEMMA = 2
"""Words this short are their own lemma (see :meth:`LemmaLookup._lemma`)."""


class LemmaLookup:
    """Maps a lowercase word to its lemma, without accents.

    Loads the language's ``lemma_lookup`` table once (see :func:`load_lemma_table`: about
    6 MB, read from a cache in milliseconds after the first start). Languages without a table
    get the identity. A word typed without its accent (``"gustaria"``) is
    looked up again with one accent restored (``"gustaría"`` → ``"gustar"``), a voseo form
    with its accent dropped (``"cancelá"`` → ``"cancela"`` → ``"cancelar"``), and a Spanish
    verb with an attached pronoun without it (``"olvídalo"`` → ``"olvida"`` → ``"olvidar"``).
    """

    def __init__(
        self, language: str, cache_size: int = 50_000, cache_dir: Path | None = None
    ) -> None:
        """Load the table for ``language`` (an ISO 639-1 code such as ``"es"``), cached in
        ``cache_dir`` (default: :data:`DEFAULT_CACHE_DIR`)."""
        self._table = load_lemma_table(language, cache_dir)
        self._enclitics = _ENCLITICS.get(language, ())
        self._diminutives = _DIMINUTIVES.get(language, ())
        self._cache_size = cache_size
        self.lemma: Callable[[str], str] = lru_cache(maxsize=cache_size)(self._lemma)

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the lemma cache (:mod:`~bot.intents.prebuilt`)."""
        state = self.__dict__.copy()
        del state["lemma"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """An empty lemma cache."""
        self.__dict__.update(state)
        self.lemma = lru_cache(maxsize=self._cache_size)(self._lemma)

    def diminutive_bases(self, word: str) -> list[str]:
        """Words ``word`` may be a diminutive of, most likely first (Spanish only).

        ``"lueguito"`` → ``["luego"]``; ``"prontito"`` → ``["pronto", "pront", "pronte"]``.
        The caller keeps the first one it knows. Empty for other languages or endings.
        """
        bases = []
        for ending, replacements in self._diminutives:
            if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM - 1:
                stem = word[: -len(ending)]
                bases += [stem + replacement for replacement in replacements]
        return bases

    def is_known(self, word: str) -> bool:
        """True when the table lists ``word`` (lowercase, accents optional) as an inflected
        form or as a lemma (a base form: "feijão", "fogo").

        Used to avoid "correcting" a real word ("canela", "feijao") into an intent word
        ("cancela", "beijão").
        """
        table = self._table
        if table is None or not word:
            return False
        if table.get(word) is not None or table.has_lemma([word]):
            return True
        if not word.isascii():
            return False
        variants = _accent_variants(word)
        return table.get_first(variants) is not None or table.has_lemma(variants)

    def _lemma(self, word: str) -> str:
        """Lemma of ``word`` (lowercase, accents allowed), accent-stripped; itself if unknown,
        and for a word of :data:`MAX_OWN_LEMMA` letters or fewer: the tables' entries for
        those are mostly articles and pronouns read as verbs (pt "te" and "té" → "ter", so
        the goodbye "té mais" matched "tem mais"; "se" → "ser", "da" → "dar")."""
        table = self._table
        if table is None or len(word) <= MAX_OWN_LEMMA:
            return strip_accents(word)
        found = self._find(word)
        if found is None:
            found = self._without_enclitic(word)
        return strip_accents(found if found is not None else word)

    def _find(self, word: str) -> str | None:
        """The table's lemma for ``word``, trying accents restored or dropped."""
        table = self._table
        if table is None:
            return None
        found = table.get(word)
        if found is None:
            if word.isascii():
                return self._with_accent_restored(word)
            plain = strip_accents(word)
            found = table.get(plain)
            if found is None:
                return self._with_accent_restored(plain)
        return str(found)

    def _without_enclitic(self, word: str) -> str | None:
        """Lemma of ``word`` without an attached pronoun, if the rest is a verb form."""
        for clitic in self._enclitics:
            if len(word) - len(clitic) >= _MIN_STEM and word.endswith(clitic):
                stem = strip_accents(word[: -len(clitic)])
                if stem.endswith(INFINITIVE_ENDINGS):
                    return stem  # an infinitive is its own lemma ("cancelarlo")
                found = self._find(stem)
                if found is not None:
                    return found
        return None

    def _with_accent_restored(self, word: str) -> str | None:
        table = self._table
        if table is None:
            return None
        return table.get_first(_accent_variants(word))


def _accent_variants(word: str) -> list[str]:
    """``word`` with one of its letters accented, every way (:data:`_ACCENTED`)."""
    return [
        word[:index] + accented + word[index + 1 :]
        for index, char in enumerate(word)
        for accented in _ACCENTED.get(char, "")
    ]
