"""One language file's guard word lists, each matched as :class:`~bot.intents.guards.GuardWords`.

The lists are the top-level keys of ``intents/<lang>.yaml`` besides ``intents`` (see
:class:`~bot.intents.data.LanguageData`); :class:`~bot.intents.index.PhraseIndex` holds them as
attributes of the same name (``index.negations``, ``index.business_objects``), and the verbs
that are read in any form as the lemmas of the list (``index.making_lemmas``).
"""

from __future__ import annotations

from typing import get_type_hints

from bot.intents.analyzer import Analyzer
from bot.intents.data import LanguageData
from bot.intents.guards import GuardWords
from bot.intents.lemmas import LemmaLookup


def _lemmas_of(words: GuardWords, lemmas: LemmaLookup) -> frozenset[str]:
    """The lemmas of a word list's words ("quiero" → querer): verbs matched in any form."""
    return frozenset(map(lemmas.lemma, words.words))


class WordLists:
    """The guard word lists of one language file, each under its file key's name."""

    negations: GuardWords
    answers: GuardWords
    contrasts: GuardWords
    waits: GuardWords
    go_aheads: GuardWords
    farewells: GuardWords
    thanks: GuardWords
    corrections: GuardWords
    question_words: GuardWords
    conditionals: GuardWords
    deferrals: GuardWords
    postponements: GuardWords
    subordinators: GuardWords
    past: GuardWords
    determiners: GuardWords
    time_nouns: GuardWords
    demonstratives: GuardWords
    mentions: GuardWords
    names: GuardWords
    request_openers: GuardWords
    business_objects: GuardWords
    possessives: GuardWords
    own_words: GuardWords
    articles: GuardWords
    common_verbs: GuardWords
    messaging: GuardWords
    further: GuardWords
    redirects: GuardWords
    instructions: GuardWords
    partials: GuardWords
    subjects: GuardWords
    subject_questions: GuardWords
    meetings: GuardWords
    ordering: GuardWords
    making: GuardWords
    relatives: GuardWords
    progressives: GuardWords
    reasons: GuardWords
    processes: GuardWords
    politeness: GuardWords
    acknowledgements: GuardWords
    submissions: GuardWords
    sending: GuardWords
    resumptions: GuardWords
    callbacks: GuardWords
    referring: GuardWords

    def __init__(self, data: LanguageData, analyzer: Analyzer, lemmas: LemmaLookup) -> None:
        """Analyze each of ``data``'s word lists with the language's tokenizer, and take the
        lemmas of the verb lists read in any form."""
        for name in _LISTS:
            setattr(self, name, GuardWords(getattr(data, name), analyzer))
        self.making_lemmas = _lemmas_of(self.making, lemmas)
        """Lemmas of the ``making`` verbs (:func:`~bot.intents.business.business_at`)."""
        self.wanting_lemmas = _lemmas_of(GuardWords(data.wanting, analyzer), lemmas)
        """Lemmas of the ``wanting`` verbs (:func:`~bot.intents.gating.names_object`)."""
        self.stopping_lemmas = _lemmas_of(GuardWords(data.stopping, analyzer), lemmas)
        """Lemmas of the ``stopping`` verbs (:func:`~bot.intents.keeping.kept`)."""
        self.leaving_firsts = self.resumptions.firsts | self.callbacks.firsts
        """First words of the ``resumptions`` and ``callbacks`` (:mod:`bot.intents.leaving`)."""


_LISTS = tuple(name for name, kind in get_type_hints(WordLists).items() if kind is GuardWords)
"""The lists :class:`WordLists` holds as :class:`~bot.intents.guards.GuardWords`."""
