"""One language's intent model: tokenizer, lemmas, phrase index and clause scorer together."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from bot.intents.analyzer import Analyzer, Clause, Token, TokenKind
from bot.intents.config import ScoringConfig
from bot.intents.data import IntentSpec, LanguageData
from bot.intents.elsewhere import business_elsewhere
from bot.intents.index import PhraseIndex, Resolved
from bot.intents.langid import spacy_stop_words
from bot.intents.leaving import leaving_goodbyes
from bot.intents.lemmas import LemmaLookup
from bot.intents.meetings import meeting_goodbyes
from bot.intents.messaging import messages_refused, messages_stopped
from bot.intents.normalize import plain_words, prepare
from bot.intents.result import GREET, NONE_INTENT
from bot.intents.scoring import (
    BUSINESS_ELSEWHERE_VETO,
    BUSINESS_VETO,
    MENTION_VETO,
    MENTIONED_ELSEWHERE_VETO,
    NEGATED,
    ClauseScore,
    ClauseScorer,
    IntentTraits,
)
from bot.intents.tense import is_verb_form, tells_past
from bot.intents.timing import deferral_at

TAKEN_BACK_VETO = "a 'wait' before a close the message takes back"
"""The veto of a stop before a negated close ("stop, don't cancel", "para, não cancela")."""
ROUTED_SCORE = 0.8
"""Confidence of an author intent a business-object cancel is routed to (its ``objects``),
at least: above the default threshold, below a whole-message example's 1.0."""
_MAX_SHOUTED = 64
"""Longer messages are never a shouted keyword (and are not normalized for the lookup)."""


def _shouted_key(text: str) -> str:
    return " ".join(text.strip(" \t\n.!¡?¿").split())


def _words(clauses: tuple[Clause, ...]) -> tuple[str, ...]:
    """The words of ``clauses`` as matched (lowercase, accents dropped), in order: the key
    of an ``alone`` phrase."""
    return tuple(
        token.norm for clause in clauses for token in clause.tokens if token.kind is TokenKind.WORD
    )


class LanguageModel:
    """Scores messages against one language's intents.

    Building it loads the spaCy tokenizer and the lemma table (about 1 s for Spanish) and
    indexes the file's phrases.

    Raises:
        DataFileError: (from the constructor) a phrase is empty after normalization or
            belongs to two intents.
    """

    def __init__(
        self, data: LanguageData, config: ScoringConfig, cache_dir: Path | None = None
    ) -> None:
        """Build the model for ``data`` (a validated ``<lang>.yaml``); the lemma table is
        cached in ``cache_dir`` (see :class:`~bot.intents.lemmas.LemmaLookup`)."""
        self.language = data.language
        self.opt_in = tuple(phrase.text for phrase in data.opt_in)
        """The file's ``opt_in`` messages, as written."""
        self.specs: Mapping[str, IntentSpec] = {
            name: spec for name, spec in data.intents.items() if name != NONE_INTENT
        }
        abbreviations = {short: phrase.text for short, phrase in data.abbreviations.items()}
        self.analyzer = Analyzer(data.language, abbreviations)
        stop_words = plain_words(spacy_stop_words(data.language))
        self._pointers = stop_words | plain_words(p.text.split()[-1] for p in data.fillers)
        """Words after which a ``reasons`` word gives a reason, not a relative clause: stop
        words ("isso", "aí", "it") and fillers ("mano", "mana"); after a noun it is a relative
        ("la cotización que me mandaron ayer")."""
        self.index = PhraseIndex(
            data, self.analyzer, LemmaLookup(data.language, cache_dir=cache_dir), stop_words, config
        )
        traits = {
            spec.name: IntentTraits(
                spec.closing,
                spec.deferrable,
                spec.priority,
                spec.guarded or spec.closing,
                spec.farewell,
            )
            for spec in data.intents.values()
        }
        self._guarded = frozenset(name for name, trait in traits.items() if trait.guarded)
        self.closing = frozenset(name for name, trait in traits.items() if trait.closing)
        """Intents that close the session (``closing``: goodbye, cancel, an author's own)."""
        self.farewells = frozenset(name for name, trait in traits.items() if trait.farewell)
        """Intents said, not asked for (``farewell``: goodbye)."""
        self._stops = frozenset(
            name for name, trait in traits.items() if trait.closing and not trait.farewell
        )
        self._scorer = ClauseScorer(self.index, traits, config)
        self._floor = config.keyword_floor
        self.lexicon: frozenset[str] = (
            stop_words | self.index.words | plain_words(data.abbreviations)
        )
        """Words that are evidence of this language (see :mod:`bot.intents.langid`)."""
        self.shouted: Mapping[str, str] = {
            _shouted_key(phrase.text): spec.name
            for spec in self.specs.values()
            for phrase in spec.shouted
        }
        """Whole messages matched case-sensitively (``"STOP"``) → intent (see :meth:`shout`)."""
        self.alone: Mapping[tuple[str, ...], str] = {
            words: spec.name
            for spec in self.specs.values()
            for phrase in spec.alone
            if (words := _words(self.analyzer.analyze(prepare(phrase.text))))
        }
        """A clause's words (fillers aside, accents dropped) → the intent they mean alone."""
        self._alone_firsts = frozenset(words[0] for words in self.alone)
        index = self.index
        words_of: dict[str, set[str]] = {}
        for table in (index.surface, index.lemma):
            for key, entry in table.items():
                words_of.setdefault(entry.intent, set()).update(key)
        plain = set(stop_words | index.filler_words)
        for guard in (
            index.business_objects,
            index.determiners,
            index.past,
            index.deferrals,
            index.conditionals,
            index.negations,
            index.question_words,
            index.request_openers,
        ):
            plain |= guard.words
        plain |= {index.lemma_of(word) for word in plain}  # "pedido" → "pedir"
        self.action_words: Mapping[str, frozenset[str]] = {
            name: frozenset(
                word
                for word in words_of.get(name, ())
                if word not in plain
                and not word.isdigit()
                and not any(
                    word in words_of.get(other, ())
                    for other, spec in self.specs.items()
                    if other != name and not spec.closing
                )
            )
            for name in self.specs
        }
        """Intent → the words of its phrases that no other non-closing intent uses and that are
        not stop words, fillers, business objects or guard words (for ``cancel_order``:
        "cancel", "void", "anular"...): the semantic layer routes a message to a guarded
        intent that does not close only when one of them is there."""

    def shout(self, text: str) -> str | None:
        """The intent of a message that is exactly one of the file's ``shouted`` phrases
        (case kept, blanks and surrounding punctuation aside: ``"STOP!"``), else ``None``."""
        return self.shouted.get(_shouted_key(text)) if len(text) <= _MAX_SHOUTED else None

    def analyze(self, prepared: str) -> tuple[Clause, ...]:
        """Clauses of a message already passed through :func:`~bot.intents.normalize.prepare`,
        a reason after a close in its own clause (:meth:`_reason_split`)."""
        clauses = self.analyzer.analyze(prepared)
        if not any(self.index.reasons.anywhere(clause.tokens, 1) for clause in clauses):
            return clauses  # most messages: no "que", "porque", "because"
        return tuple(part for clause in clauses for part in self._reason_split(clause))

    def _reason_split(self, clause: Clause) -> tuple[Clause, ...]:
        """``clause`` cut before the first of the file's ``reasons`` ("que", "porque",
        "because") when the words before it are a whole close, phrases and fillers alone,
        vetoed by none of the guards: "para com isso que eu não entendo nada", "encerra esse
        atendimento que eu não aguento mais esperar" end the chat and say why, as with a
        comma. Only after a stop word or a filler ("isso", "aí", "mano"): after a noun the
        "que" opens a relative clause ("cancelen la cotización que me mandaron ayer"), after
        a verb form (:func:`~bot.intents.tense.is_verb_form`: "ya no quiero que me llamen",
        "para que serve") or one of the file's ``further`` ("não quero mais que me liguem")
        the verb's object. Both parts keep the clause's question mark."""
        tokens = clause.tokens
        for k in range(1, len(tokens) - 1):
            if not self.index.reasons.starts_at(tokens, k):
                continue
            last = tokens[k - 1]
            if (
                last.norm not in self._pointers
                or self.index.further.ends_at(tokens, k - 1)
                or is_verb_form(self.language, self.index.lemma_of(last.norm))
            ):
                return (clause,)  # "ya no quiero que", "não quero mais que": its object
            before = Clause(tokens[:k], clause.is_question)
            score = self._scorer.score(before, self._scorer.resolve_all((before,))[0])
            if any(score.scores.get(intent, 0.0) >= 1.0 for intent in self.closing):
                return before, Clause(tokens[k:], clause.is_question)
            return (clause,)
        return (clause,)

    def resolve(self, clauses: tuple[Clause, ...]) -> list[list[Resolved]]:
        """Each clause's tokens matched against the vocabulary, as :meth:`score` matches them
        (for explanations)."""
        return self._scorer.resolve_all(clauses)

    def score(self, clauses: tuple[Clause, ...]) -> list[ClauseScore]:
        """Scores of each clause, in clause order: each clause scored on its own
        (:class:`~bot.intents.scoring.ClauseScorer`), then the rules that read across
        clauses, in this order:

        1. :meth:`_alones`: the file's ``alone`` phrases that are a whole clause, so that the
           rules below hold for them as for any phrase;
           :func:`~bot.intents.leaving.leaving_goodbyes`: a deferral that ends the chat
           ("driving, will reply later") is a goodbye;
        2. :meth:`_conditions`: a clause right after a condition is its consequence;
           :func:`~bot.intents.meetings.meeting_goodbyes`: a goodbye that names the next
           meeting ("até sábado no banho do Bidu") is as sure as a keyword;
        3. :func:`~bot.intents.elsewhere.business_elsewhere`: a cancel beside an object named in
           another clause, when it takes that object;
        4. :meth:`_routed`: a cancel about an author intent's business object is that intent;
           :func:`~bot.intents.messaging.messages_stopped`: a cancel of the messages a
           business sends opts out; :func:`~bot.intents.messaging.messages_refused`: so does
           "no more" of them;
        5. a closing word the message mentions is vetoed in every clause;
        6. :meth:`_taken_back`: a stop before a close the message negates is a "wait";
        7. a multi-clause message that is exactly an example ("gracias, adiós") also scores
           1.0 for that intent in its last clause, unless one of its clauses is a question.
        """
        resolved = self._scorer.resolve_all(clauses)
        scores = [self._scorer.score(c, items) for c, items in zip(clauses, resolved, strict=True)]
        if self.alone:
            scores = self._alones(clauses, scores)
        tags = {
            n for n, c in enumerate(clauses) if n and c.is_question and fillers_only(c, scores[n])
        }
        scores = leaving_goodbyes(self.index, clauses, scores, tags)  # "te falo, tá?
        scores = self._conditions(clauses, scores)
        scores = meeting_goodbyes(self.index, self.farewells, self._floor, clauses, scores)
        scores = business_elsewhere(self.index, clauses, scores)
        if self.index.objects:
            scores = self._routed(clauses, scores)
        scores = messages_stopped(self.index, clauses, scores)
        scores = messages_refused(self.index, clauses, scores)
        mentioned = {i for s in scores for i, why in s.vetoes.items() if why == MENTION_VETO}
        if len(clauses) > 1 and mentioned:  # "my son typed cancel by mistake, ignore that"
            scores = [_without(score, mentioned, MENTIONED_ELSEWHERE_VETO) for score in scores]
        scores = self._taken_back(scores)
        if len(clauses) > 1 and not any(clause.is_question for clause in clauses):
            forms = tuple(item.form for items in resolved for item in items)
            entry = self.index.surface.get(forms)
            if entry is not None and entry.intent in self.specs:
                scores[-1].scores[entry.intent] = 1.0
        return scores

    def _conditions(
        self, clauses: tuple[Clause, ...], scores: list[ClauseScore]
    ) -> list[ClauseScore]:
        """``scores`` with each clause right after one opened by a conditional ("si sale
        caro, cancelo", "if it fails, I quit"; fillers-only clauses between aside) read as
        its consequence (:meth:`_after_condition`)."""
        scores = list(scores)
        condition: Clause | None = None  # the last clause with words besides fillers
        for n, (clause, score) in enumerate(zip(clauses, list(scores), strict=True)):
            if condition is not None and self.index.conditionals.starts_at(condition.tokens, 0):
                scores[n] = self._after_condition(condition, score)
            if not fillers_only(clause, score):
                condition = clause  # "se não chegar até domingo, uai, vou desistir"
        return scores

    def _taken_back(self, scores: list[ClauseScore]) -> list[ClauseScore]:
        """``scores`` with a stop (a closing intent that is no farewell) vetoed in every
        clause before the last one whose stop is negated: "stop, don't cancel", "espera, no
        me des de baja" say "wait"."""
        negated = [
            n
            for n, score in enumerate(scores)
            if any(i in self._stops and why.startswith(NEGATED) for i, why in score.vetoes.items())
        ]
        if not negated:
            return scores
        return [
            _without(score, set(self._stops), TAKEN_BACK_VETO) if n < negated[-1] else score
            for n, score in enumerate(scores)
        ]

    def _alones(self, clauses: tuple[Clause, ...], scores: list[ClauseScore]) -> list[ClauseScore]:
        """``scores`` with the file's ``alone`` phrases that are a whole clause
        (:meth:`_alone_intent`), except beside an anti-example in another clause ("no,
        pará, no canceles nada": "pará" is "wait" there) or where a guard vetoed that intent
        in another clause. An anti-example or a veto inside the phrase's own clause is part
        of the phrase ("no point carrying on", "no voy a terminar el formulario")."""
        result = list(scores)
        for n, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
            intent = self._alone_intent(clause, score)
            if intent is None:
                continue  # most clauses: no need to read the others
            others = scores[:n] + scores[n + 1 :]
            if any(intent in other.vetoes or NONE_INTENT in other.matched for other in others):
                continue
            result[n] = replace(score, scores={intent: 1.0}, matched=score.matched | {intent})
        return result

    def _routed(self, clauses: tuple[Clause, ...], scores: list[ClauseScore]) -> list[ClauseScore]:
        """``scores`` with the author intent a business-object cancel is about (its file's
        ``objects``) at :data:`ROUTED_SCORE` at least, in a message without a question (a
        request aside) whose clause says one of the intent's action words, in no past form
        and not put off (:meth:`_says_action`; a greeting's question asks nothing: "oi, tudo
        bem? cancela minha compra de ontem"):

        - a stop (a cancel, an opt-out) of that clause vetoed as about a business object,
          one of the intent's objects, in the clause ("please cancel the dog food order";
          not "deixa a encomenda na sombra", "my husband cancelled the order") or, vetoed
          for an object named elsewhere, in another clause ("no, ya no me traigan el
          pedido, cancelen");
        - the intent's own phrase beside one of its objects, however long the object's
          description ("cancela esse pedido do remédio do gato").
        """
        if any(
            c.is_question and GREET not in s.scores for c, s in zip(clauses, scores, strict=True)
        ):
            return scores  # "ya fue la compra, ¿cuándo me llega?"; not "oi, tudo bem? cancela"
        routed = list(scores)
        for intent, objects in self.index.objects.items():
            named = [objects.anywhere(clause.tokens) for clause in clauses]
            if not any(named):
                continue  # most messages: no object of the intent
            for n, (clause, score) in enumerate(zip(clauses, routed, strict=True)):
                if intent in score.vetoes or score.scores.get(intent, 0.0) >= ROUTED_SCORE:
                    continue
                vetoes = {score.vetoes.get(stop) for stop in self._stops}
                elsewhere = any(named[:n] + named[n + 1 :])
                if not (
                    (intent in score.scores and (named[n] or elsewhere))
                    or (BUSINESS_VETO in vetoes and named[n])
                    or (BUSINESS_ELSEWHERE_VETO in vetoes and elsewhere)
                ) or not self._says_action(intent, clause):
                    continue
                routed[n] = replace(
                    score,
                    scores={**score.scores, intent: ROUTED_SCORE},
                    matched=score.matched | {intent},
                )
        return routed

    def actions_said(
        self, tokens: Sequence[Token], lemmas_up_to: int | None = None
    ) -> Iterator[tuple[str, Token, str]]:
        """``(intent, token, lemma)`` for each word of ``tokens`` that is one of an intent's
        :attr:`action_words`, by its form or its lemma; only the first ``lemmas_up_to`` words
        are looked up by lemma (a new word's lemma costs a lookup), all of them when
        ``None``. ``lemma`` is ``""`` for a word not looked up."""
        n = 0
        for token in tokens:
            if token.kind is not TokenKind.WORD:
                continue
            lemma = (
                self.index.resolve(token).lemma if lemmas_up_to is None or n < lemmas_up_to else ""
            )
            n += 1
            for intent, actions in self.action_words.items():
                if token.norm in actions or lemma in actions:
                    yield intent, token, lemma

    def _says_action(self, intent: str, clause: Clause) -> bool:
        """True when ``clause`` says one of ``intent``'s action words (:meth:`actions_said`),
        typed in no past form ("cancelled"), and no deferral puts a deferrable intent off."""
        tokens = clause.tokens
        if self.specs[intent].deferrable and any(
            deferral_at(self.index, tokens, i) for i in range(len(tokens))
        ):
            return False  # "cancelá el pedido mañana" waits
        said = False
        for name, token, lemma in self.actions_said(clause.tokens):
            if name != intent:
                continue
            if tells_past(self.analyzer.language, token.orth, lemma):
                return False  # "my husband cancelled the order by mistake"
            said = True
        return said

    def _alone_intent(self, clause: Clause, score: ClauseScore) -> str | None:
        """The intent of the file's ``alone`` phrase that is the whole clause, fillers aside
        ("por favor, pará", "para ya"), or ``None``; the phrase is the whole clause, so it
        is the clause's only intent. In a question only an unguarded intent ("wagwan?", a
        greeting: "para?" asks)."""
        fillers = score.filler_positions
        said = [
            (i, token.norm) for i, token in enumerate(clause.tokens) if token.kind is TokenKind.WORD
        ]
        words = tuple(word for i, word in said if i not in fillers)
        if not (words and words[0] in self._alone_firsts) and not (
            said and said[0][1] in self._alone_firsts
        ):
            return None  # most clauses: no phrase starts with their first word
        # a word of the phrase may pass for a filler ("sri" for "sir" in "sat sri akal")
        intent = self.alone.get(words) or self.alone.get(tuple(word for _, word in said))
        if intent is None or (clause.is_question and intent in self._guarded):
            return None
        return intent

    def _after_condition(self, before: Clause, score: ClauseScore) -> ClauseScore:
        """``score`` without its guarded intents, the clause ``before`` it (fillers-only
        clauses between aside) opening with a conditional word ("si ...", "if ..."): the
        clause is the condition's consequence. Not a goodbye: one said in a clause of its own
        is said, whatever the clause before supposed ("se precisar eu chamo. abraço", "if
        I need anything else I'll write, thanks bye")."""
        hypothetical = [n for n in score.scores if n in self._guarded and n not in self.farewells]
        if not hypothetical:
            return score
        why = f"hypothetical: {before.tokens[0].orth!r} in the clause before"
        scores = {k: v for k, v in score.scores.items() if k not in hypothetical}
        vetoes = {**score.vetoes, **dict.fromkeys(hypothetical, why)}
        return replace(score, scores=scores, vetoes=vetoes)


def _without(score: ClauseScore, intents: set[str], why: str) -> ClauseScore:
    """``score`` with ``intents`` vetoed for ``why`` (those it scored; others unchanged)."""
    dropped = intents & score.scores.keys()
    if not dropped:
        return score
    scores = {k: v for k, v in score.scores.items() if k not in dropped}
    return replace(score, scores=scores, vetoes={**score.vetoes, **dict.fromkeys(dropped, why)})


def fillers_only(clause: Clause, score: ClauseScore) -> bool:
    """True when fillers cover every word of the clause ("uai", "ok", "bueno")."""
    covered = score.filler_positions
    return all(
        token.kind is not TokenKind.WORD or i in covered for i, token in enumerate(clause.tokens)
    )
