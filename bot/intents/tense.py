"""Past forms of verbs, told from the typed word and its lemma ("cancelé" ← cancelar).

A closing verb in a past form reports what happened ("cancelé la tarjeta vieja", "I cancelled
my card") rather than asking for it. Only unambiguous forms count:

- Spanish: preterite (1st, 2nd, 3rd person: "cancelé", "cancelaste", "canceló",
  "cancelaron") and past participle ("cancelado", "he cancelado"), told by the ending that
  the lemma's conjugation (-ar, -er, -ir) gives them, accents included: "cancelé" is past,
  "cancele" (please cancel) and "cancelaré" (future) are not. Forms shared with a present or
  an imperative are left out: "cancelamos" (we cancel / we cancelled), voseo "salí" (go out
  / I went out).
- Spanish and Portuguese imperfect ("me olvidaba", "cancelaban", "esquecia"): what was
  going on, except for the verbs whose imperfect asks politely or describes ("quería
  cancelar", "queria cancelar o pedido", "como estaba").
- Portuguese: preterite ("cancelei", "cancelou", "cancelaram", "esqueci", "esqueceu",
  "desistiu"; "cheguei", "fiquei") and participle ("cancelado", "chegada"), as for Spanish.
  Not past: "cancele", "cancelo", "cancela", "cancelamos" (we cancel / we cancelled), and
  "sai" (goes out) beside "saí" (I went out): a stem ending in a vowel needs the accent.
- English: any form that is not the lemma, an "-s" or an "-ing" form ("cancelled",
  "canceled", "left", "forgot"), when it opens the clause or follows a subject or an
  auxiliary ("I cancelled", "we've canceled"). After anything else it may be a participle
  after its object, which can be a request: "get my order cancelled".
"""

from __future__ import annotations

from bot.intents.normalize import strip_accents

INFINITIVE_ENDINGS = ("ar", "er", "ir")
"""Endings of a Spanish or Portuguese infinitive, the form a verb's lemma takes."""

_ES_ENDINGS: dict[str, tuple[str, ...]] = {
    "ar": ("é", "ó", "aste", "asteis", "aron", "ado", "ada", "ados", "adas"),
    "er": ("í", "ió", "iste", "isteis", "imos", "ieron", "ido", "ida", "idos", "idas"),
    "ir": ("ió", "iste", "isteis", "ieron", "ido", "ida", "idos", "idas"),
}
"""Conjugation (infinitive ending) → endings of its unambiguous past forms."""

_ES_IMPERFECT: dict[str, tuple[str, ...]] = {
    "ar": ("aba", "abas", "ábamos", "abais", "aban"),
    "er": ("ía", "ías", "íamos", "íais", "ían"),
    "ir": ("ía", "ías", "íamos", "íais", "ían"),
}
"""Conjugation → imperfect endings: "me olvidaba" (I was forgetting) and "cancelaban" report
what was going on. Not for :data:`_MODALS`, whose imperfect is a polite present."""

_PT_IMPERFECT: dict[str, tuple[str, ...]] = {
    "ar": ("ava", "avas", "avamos", "aveis", "avam"),
    "er": ("ia", "ias", "iamos", "ieis", "iam"),
    "ir": ("ia", "ias", "iamos", "ieis", "iam"),
}
"""Portuguese conjugation → imperfect endings ("esquecia", "cancelava"), accent-stripped as
the typed word is compared."""

_MODALS = frozenset(
    {"querer", "poder", "deber", "dever", "necesitar", "precisar", "desear", "desejar"}
    | {"estar", "haber", "haver", "tener"}
)
"""Verbs whose imperfect asks politely ("quería cancelar", "queria cancelar o pedido") or
describes ("dejá todo como estaba"): never a report."""

_ES_FIRST_PERSON_STEMS: tuple[tuple[str, str], ...] = (("c", "qu"), ("g", "gu"), ("z", "c"))
"""Spelling changes before the "-é" of an -ar preterite: buscar → busqué, llegar → llegué."""

_PT_ENDINGS: dict[str, tuple[str, ...]] = {
    "ar": ("ei", "ou", "aste", "astes", "aram", "ado", "ada", "ados", "adas"),
    "er": ("i", "eu", "este", "estes", "eram", "ido", "ida", "idos", "idas"),
    "ir": ("i", "iu", "iste", "istes", "iram", "ido", "ida", "idos", "idas"),
}
"""Portuguese conjugation → endings of its unambiguous past forms."""

_PT_FIRST_PERSON_STEMS: tuple[tuple[str, str], ...] = (("c", "qu"), ("g", "gu"), ("ç", "c"))
"""Spelling changes before the "-ei" of an -ar preterite: ficar → fiquei, chegar → cheguei."""

_EN_OPENERS = frozenset(
    {"i", "we", "you", "they", "he", "she", "have", "has", "had", "already", "just", "also"}
)
"""Words after which an English past form is a simple past or a perfect ("I've cancelled")."""


_IRREGULAR_PAST: dict[str, dict[str, frozenset[str]]] = {
    "es": {"dar": frozenset({"di", "diste", "dio", "dimos", "disteis", "dieron", "dado", "dada"})},
    "pt": {"dar": frozenset({"dei", "deu", "demos", "deram", "dado", "dada"})},
}
"""Unambiguous past forms of short irregular verbs that closing phrases use ("me dieron de
baja", "ya me había dado de baja", "deram baixa"), accent-stripped. Not "ir": "me fui" and
"fui!" say goodbye."""


def is_past_form(language: str, orth: str, lemma: str, before: str | None) -> bool:
    """True when ``orth`` is an unambiguous past form of the verb ``lemma``.

    Args:
        language: Language code (``"es"``, ``"en"``, ``"pt"``); other languages have no
            rules (False).
        orth: The word as typed, lowercase, accents kept (``"cancelé"``).
        lemma: Its lemma, accent-stripped (``"cancelar"``).
        before: The clause's previous word (accent-stripped), ``None`` at its start.
    """
    irregular = _IRREGULAR_PAST.get(language, {}).get(lemma)
    if irregular is not None:
        return strip_accents(orth) in irregular
    if language == "es":
        return _spanish_past(orth, lemma)
    if language == "pt":
        return _portuguese_past(orth, lemma)
    if language == "en":
        return (
            orth != lemma
            and not orth.endswith(("s", "ing", "in"))
            and (before is None or before in _EN_OPENERS)
        )
    return False


def _spanish_past(orth: str, lemma: str) -> bool:
    endings = _ES_ENDINGS.get(lemma[-2:])
    if endings is None or len(lemma) < 4:
        return False
    stem = lemma[:-2]
    imperfect = () if lemma in _MODALS else _ES_IMPERFECT[lemma[-2:]]
    for ending in (*endings, *imperfect):
        if orth.endswith(ending) and strip_accents(orth[: -len(ending)]) == stem:
            return True
    if lemma.endswith("ar") and orth.endswith("é"):
        base = strip_accents(orth[:-1])
        for final, changed in _ES_FIRST_PERSON_STEMS:
            if stem.endswith(final) and base == stem[: -len(final)] + changed:
                return True
    return False


def _portuguese_past(orth: str, lemma: str) -> bool:
    endings = _PT_ENDINGS.get(lemma[-2:])
    if endings is None or len(lemma) < 4:
        return False
    stem = lemma[:-2]
    plain = strip_accents(orth)
    imperfect = () if lemma in _MODALS else _PT_IMPERFECT[lemma[-2:]]
    for ending in (*endings, *imperfect):
        if not plain.endswith(ending) or plain[: -len(ending)] != stem:
            continue
        # "sai" (goes out), "sai!" (get out): after a vowel only "saí" is past
        return not (ending == "i" and stem[-1:] in "aeiou" and not orth.endswith("í"))
    if lemma.endswith("ar") and plain.endswith("ei"):
        base = orth[:-2]
        for final, changed in _PT_FIRST_PERSON_STEMS:
            if stem.endswith(final) and strip_accents(base) == strip_accents(
                stem[: -len(final)] + changed
            ):
                return True
    return False


def tells_past(language: str, orth: str, lemma: str) -> bool:
    """True when ``orth`` tells what was done, as a goodbye's thanks do ("me ayudó", "you
    helped"): :func:`is_past_form` with no word before it, in English only a form in "-ed"
    (there any form other than the lemma counts as past after a subject, and a goodbye's
    "more", "better", "are" or "got" are no thanks for what was done)."""
    if language == "en":
        return orth.endswith("ed") and is_past_form(language, orth, lemma, None)
    return is_past_form(language, orth, lemma, None)


def is_verb_form(language: str, lemma: str) -> bool:
    """True when a word whose lemma is ``lemma`` is a verb form in ``language``, as far as the
    lemma tells: in es and pt a lemma ending in an infinitive's -ar, -er, -ir (pt also -or:
    "pôr") is a verb ("quiero" ← querer, "para" ← parar); a noun ending so ("celular",
    "lugar") counts too, which only makes :mod:`bot.intents.model`'s reason split more
    careful. English lemmas do not tell: always False."""
    if language not in ("es", "pt"):
        return False
    return strip_accents(lemma).endswith((*INFINITIVE_ENDINGS, "or"))
