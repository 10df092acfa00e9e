"""The intent classifier: language detection, per-language scoring, thresholds, caching."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from bot.intents.analyzer import Clause, bounded_clauses
from bot.intents.bounds import bounded_view
from bot.intents.config import ScoringConfig
from bot.intents.coverage import Seen, onward, opens_with_greeting, turns, typos_only
from bot.intents.data import IntentSpec
from bot.intents.encoder import SentenceEncoder
from bot.intents.examples import Example, examples_from_files, labelled_examples
from bot.intents.explain import Candidate, Explanation, Match, normalized_text, span_match
from bot.intents.gating import semantic_view
from bot.intents.head import TrainingSettings
from bot.intents.head_index import fingerprint, recall
from bot.intents.index import FILLER
from bot.intents.langid import LanguageIdentifier, LinguaFallback
from bot.intents.lemmas import DEFAULT_CACHE_DIR
from bot.intents.model import LanguageModel
from bot.intents.normalize import prepare, without_mentions
from bot.intents.prebuilt import load_models
from bot.intents.result import CANCEL, GOODBYE, NONE_INTENT, OPT_OUT, IntentResult
from bot.intents.scoring import ClauseScore
from bot.intents.second_opinion import reconsider, unsure_object
from bot.intents.semantic import Fusion, SemanticModel, asked, beside_greeting, fuse
from bot.intents.settling import goes_ahead, settle

log = logging.getLogger(__name__)

_Trace = list[tuple[str, tuple[Clause, ...], list[ClauseScore]]]

DEFAULT_THRESHOLD = 0.75
"""Default minimum confidence for an intent to be returned instead of ``"none"``."""


class IntentClassifier:
    """Classifies chat messages into intents, in several languages.

    Build it once per process with :meth:`from_directory` (about 0.3 s for es + en once
    spaCy is imported: tokenizers, lemma tables, lingua's trigram models) and share it.
    :meth:`classify` is synchronous, CPU-bound and fast (p99 under 0.1 ms for a new message
    on one core, a dict lookup for a repeated one thanks to an LRU cache), so async code may
    call it directly. Its only state
    is its caches. With the ``bot.intents.classifier`` logger at DEBUG, every call also logs
    :meth:`explain`'s summary (message text included).

    Args:
        models: Language code → its model, in preference order when nothing else decides.
        threshold: Default minimum confidence, in ``(0, 1]``.
        config: Matching and scoring parameters.
        cache_size: Number of ``classify`` results kept (LRU).
        language_fallback: Names the language of a text whose words are no evidence, when
            the conversation has none yet (see :class:`~bot.intents.langid.LinguaFallback`);
            ``None`` to rely on words only.
        learned: The semantic layer, asked where the lexicon is unsure (see
            :func:`~bot.intents.semantic.fuse`); ``None`` for the lexicon alone.
        fusion: When the semantic layer's answers count; defaults to :class:`Fusion`.

    Raises:
        ValueError: ``models`` is empty or ``threshold`` is outside ``(0, 1]``.
    """

    def __init__(
        self,
        models: Mapping[str, LanguageModel],
        threshold: float = DEFAULT_THRESHOLD,
        config: ScoringConfig | None = None,
        cache_size: int = 10_000,
        language_fallback: Callable[[str], str | None] | None = None,
        learned: SemanticModel | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        if not models:
            raise ValueError("at least one language is required")
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self._models = dict(models)
        self._threshold = threshold
        self._config = config or ScoringConfig()
        self._identifier = LanguageIdentifier(
            _lexicons(self._models),
            fallback=language_fallback,
            corrections={code: model.index.corrects for code, model in self._models.items()},
        )
        self._intents = frozenset(name for model in self._models.values() for name in model.specs)
        self._opt_in = tuple(
            (code, text) for code, model in self._models.items() for text in model.opt_in
        )
        self._learned = learned
        self._fusion = fusion or Fusion()
        specs = [spec for model in self._models.values() for spec in model.specs.values()]
        self._closing = frozenset(spec.name for spec in specs if spec.closing)
        self._guarded = frozenset(spec.name for spec in specs if spec.closing or spec.guarded)
        self._social = frozenset(spec.name for spec in specs if spec.priority <= 0)
        self._ending = self._closing | {OPT_OUT}
        self._cache_size = cache_size
        self.head_pending = False
        """True when the semantic layer was asked for but its head is not trained yet
        (:meth:`from_directory` with ``train=False``): the lexicon answers alone."""
        self._cached: Callable[[str, str | None, bool], IntentResult] = lru_cache(
            maxsize=cache_size
        )(self._classify)

    @classmethod
    def from_directory(
        cls,
        directory: Path,
        languages: Sequence[str] = ("es", "en"),
        threshold: float = DEFAULT_THRESHOLD,
        config: ScoringConfig | None = None,
        statistical_language_id: bool = True,
        cache_size: int = 10_000,
        learned: bool = False,
        training: Sequence[Example] | None = None,
        cache_dir: Path | None = None,
        training_sets: Sequence[Path] = (),
        train: bool = True,
    ) -> IntentClassifier:
        """Load ``directory/<lang>.yaml`` for each language and build the classifier.

        Args:
            directory: Folder with the intent files (the project's ``intents/``).
            languages: Language codes to load; the first is preferred when a message gives
                no evidence and no hint.
            threshold: Default minimum confidence in ``(0, 1]`` (an intent's own
                ``threshold`` in YAML overrides it).
            config: Matching and scoring parameters; defaults to :class:`ScoringConfig`.
            statistical_language_id: Ask lingua about texts whose words tell no language
                (a name, slang) when there is no hint (lingua's trigram models: about
                0.02 s and 5 MB at start).
            cache_size: Number of ``classify`` results kept (LRU; 0 turns the cache off).
            learned: Build the semantic layer (:mod:`bot.intents.semantic`) from the files'
                examples and ask it where the lexicon is unsure.
            training: The semantic layer's examples instead of the files' own (tests).
            training_sets: Labelled JSON Lines files (:mod:`bot.intents.labelled`) the
                semantic layer's head also trains on (``config.yaml``
                ``intents.training``), beside the files' examples.
            cache_dir: Folder of the disk cache: lemma tables, the encoder's weights and the
                examples' vectors (``Settings.cache_dir``; default:
                :data:`bot.intents.lemmas.DEFAULT_CACHE_DIR`).
            train: With ``learned``, train the head when the cache does not hold it (10-20
                s); false builds the classifier without the layer then, and sets
                :attr:`head_pending` (the caller trains later, e.g. in the background).

        Returns:
            A ready classifier.

        Raises:
            DataFileError: A file is missing or invalid; the message starts with
                ``path:line``.
            ValueError: ``languages`` is empty or ``threshold`` is outside ``(0, 1]``.
        """
        config = config or ScoringConfig()
        files, models, key = load_models(Path(directory), languages, config, cache_dir)
        fallback = LinguaFallback(tuple(languages)) if statistical_language_id else None
        model = None
        pending = False
        if learned:
            # the head indexed under what its examples are read from, found without them
            stamp = None
            if training is None and key is not None:
                stamp = fingerprint(key, training_sets, TrainingSettings())
            head = recall(cache_dir or DEFAULT_CACHE_DIR, stamp) if stamp else None
            if head is not None:
                model = SemanticModel.ready(SentenceEncoder(cache_dir), head, cache_size)
            else:
                examples = examples_from_files(files) if training is None else list(training)
                examples += labelled_examples(training_sets)
                if len({example.label for example in examples}) > 1:  # else nothing to learn
                    model = SemanticModel.build(
                        examples,
                        cache_dir=cache_dir,
                        cache_size=cache_size,
                        train=train,
                        index=stamp,
                    )
                    pending = model is None
        classifier = cls(models, threshold, config, cache_size, fallback, model)
        classifier.head_pending = pending
        return classifier

    def with_semantic(self, learned: SemanticModel | None) -> IntentClassifier:
        """A classifier with the same language models and another semantic layer (empty
        caches): cross-validation swaps the head without rebuilding the lexicon."""
        twin = IntentClassifier.__new__(IntentClassifier)
        twin.__dict__.update(self.__dict__)
        twin._learned = learned
        twin._cached = lru_cache(maxsize=self._cache_size)(twin._classify)
        return twin

    @property
    def intents(self) -> frozenset[str]:
        """Canonical names of every intent in any language (``"none"`` excluded)."""
        return self._intents

    @property
    def opt_in_messages(self) -> tuple[tuple[str, str], ...]:
        """``(language, message)`` for every language's ``opt_in`` messages
        (``intents/<lang>.yaml``, as written): a user who opted out and writes one of them,
        alone, opts back in."""
        return self._opt_in

    @property
    def languages(self) -> tuple[str, ...]:
        """Loaded language codes, in preference order."""
        return tuple(self._models)

    def detect_language(self, text: str, hint: str | None = None) -> str | None:
        """The language of ``text`` (``"es"``, ``"en"``, ...), or ``None`` when it cannot tell.

        Args:
            text: The raw message (a long one is read as its head and tail, see
                :mod:`bot.intents.bounds`).
            hint: The conversation's language; kept unless the text is clearly another one.
        """
        return self._identifier.detect(bounded_view(text), hint)

    def classify(
        self, text: str, lang: str | None = None, *, expecting_free_text: bool = False
    ) -> IntentResult:
        """Classify one message.

        The message is scored in the detected language (else the hint, else each language in
        order). If nothing there matched at all, the other languages get a try, so a mixed
        "gracias, bye" is still a goodbye; a phrase that matched but was guarded ("não
        cancelar") is not retried elsewhere.

        Args:
            text: The user's message as received, any length: a long one is read as its
                head and tail (see :mod:`bot.intents.bounds`), so a call costs at most a few
                milliseconds whatever was sent.
            lang: The session's language if known. A hint: a message clearly in another
                loaded language is classified (and reported) in that language.
            expecting_free_text: The user is answering a free-text question (a name, an
                address). Closing intents then need their ``threshold_in_flow`` (default
                0.9), so "Juan Pablo" or "Stop Street 5" never ends the conversation.

        Returns:
            The best intent that reaches its threshold, or :data:`NONE_INTENT` with the best
            confidence seen; ``lang`` is the detected language or ``None``.
        """
        text = bounded_view(text)
        result = self._cached(text, lang, expecting_free_text)
        if log.isEnabledFor(logging.DEBUG):
            explanation = self.explain(text, lang, expecting_free_text=expecting_free_text)
            log.debug("classified: %s", explanation.summary())
        return result

    def explain(
        self, text: str, lang: str | None = None, *, expecting_free_text: bool = False
    ) -> Explanation:
        """Classify ``text`` like :meth:`classify` (uncached) and say why.

        Returns:
            The result, the language evidence, the text read (a long one's head and tail, see
            :mod:`bot.intents.bounds`), the text as each tried language model read it,
            and every candidate intent with its confidence, threshold, matched phrases
            (example, keyword, lemma, corrected words) and the guard that vetoed it, if any.
        """
        text = bounded_view(text)
        hint = lang if lang in self._models else None
        trace: _Trace = []
        seen: Seen = []
        decided = self._decide(text, hint, expecting_free_text, trace, seen)
        result, settled = settle(decided, seen, expecting_free_text)
        normalized: dict[str, str] = {}
        candidates: list[Candidate] = []
        fillers: list[Match] = []
        for code, clauses, clause_scores in trace:
            model = self._models[code]
            resolved = model.resolve(clauses)
            normalized[code] = normalized_text(resolved)
            for position, score in enumerate(clause_scores):
                matches: dict[str, list[Match]] = {}
                for span in score.spans:
                    match = span_match(span, resolved[position])
                    if span.entry.intent in (FILLER, NONE_INTENT):
                        fillers.append(match)
                    else:
                        matches.setdefault(span.entry.intent, []).append(match)
                for intent in sorted(set(matches) | set(score.scores)):
                    found = matches.get(intent) or [
                        Match(intent, "(whole message or clause)", "", "example", 1.0)
                    ]
                    candidates.append(
                        Candidate(
                            intent=intent,
                            lang=code,
                            clause=position,
                            confidence=round(score.scores.get(intent, 0.0), 4),
                            threshold=self._threshold_for(model.specs[intent], expecting_free_text),
                            matches=tuple(found),
                            veto=score.vetoes.get(intent),
                        )
                    )
        candidates.sort(key=lambda c: (c.veto is None, c.confidence), reverse=True)
        return Explanation(
            text=text,
            result=result,
            hint=hint,
            expecting_free_text=expecting_free_text,
            language_points=self._identifier.scores(text),
            normalized=normalized,
            candidates=tuple(candidates),
            fillers=tuple(fillers),
            settled=settled,
        )

    def _classify(self, text: str, hint: str | None, expecting_free_text: bool) -> IntentResult:
        seen: Seen = []
        decided = self._decide(text, hint, expecting_free_text, None, seen)
        return settle(decided, seen, expecting_free_text)[0]

    def _decide(
        self,
        text: str,
        hint: str | None,
        expecting_free_text: bool,
        trace: _Trace | None,
        seen: Seen,
    ) -> IntentResult:
        """The lexicon's result fused with the semantic layer's where it may be heard."""
        lexical = self._lexicon(text, hint, expecting_free_text, trace, seen)
        if self._learned is None and seen and unsure_object(lexical, seen, self._fusion):
            return asked(lexical, CANCEL)  # "cancel my photo shoot", no head to ask
        if self._learned is None or not seen or expecting_free_text:
            return lexical
        if lexical.intent in self._closing:  # "thanks, now how do I...": a second opinion
            routes, head = self._guarded - self._closing, self._learned.guess
            return reconsider(lexical, seen, head, self._fusion, self._closing, routes, text)
        # a greeting below its threshold opens the message too ("holaa gracias por ...")
        greeted = lexical.intent != NONE_INTENT or opens_with_greeting(seen[0])
        if greeted and not all(intent in self._social for intent, _ in lexical.ranked):
            return lexical
        view = semantic_view(seen, self._closing, self._guarded, frozenset(dict(lexical.ranked)))
        if view is None:
            return lexical  # the encoder (about 0.6 ms) only runs where it may be heard
        guess = self._learned.guess(text)
        if greeted:  # "hello, please stop messaging me"
            heard = beside_greeting(lexical, guess, view, self._fusion)
        else:
            heard = fuse(lexical, guess, view, self._fusion)
        ending = heard.intent in self._ending or heard.confirm is not None
        if ending and goes_ahead(seen):
            return lexical  # "isso mesmo, pode mandar": the head's close is not heard
        if heard.intent == GOODBYE and turns(seen[0][0], onward(seen[0], None, self._closing)):
            # the head's goodbye, then "agora me explica a garantia": asked about
            return asked(heard, GOODBYE)
        return heard

    def _lexicon(
        self,
        text: str,
        hint: str | None,
        expecting_free_text: bool,
        trace: _Trace | None,
        seen: Seen,
    ) -> IntentResult:
        """The lexicon's result; ``seen`` gets each language model tried with its clauses
        and their scores (nothing for a shouted keyword)."""
        if hint not in self._models:
            hint = None
        text = bounded_view(text)  # a no-op for callers that bounded it already
        # NFKC and emoji may lengthen it; a quoted word is mentioned, not said
        prepared = bounded_view(prepare(without_mentions(text), keep_case=True))
        detected = self._identifier.detect(text, hint, prepared)
        primary = detected or hint
        order = [primary] if primary else []
        order += [code for code in self._models if code != primary]
        for code in order:
            shouted = self._models[code].shout(prepared)
            if shouted is not None:
                return IntentResult(shouted, 1.0, detected or code, ((shouted, 1.0),))
        best_none = 0.0
        undecided: IntentResult | None = None
        for code in order:
            model = self._models[code]
            clauses = bounded_clauses(model.analyze(prepared))
            clause_scores = model.score(clauses)
            if trace is not None:
                trace.append((code, clauses, clause_scores))
            seen.append((model, clauses, clause_scores))
            ranked = self._rank(model, clause_scores, expecting_free_text)
            if detected is not None and code != detected:
                # another language than the words': a typo-corrected match there is no
                # evidence ("thanks! also, ..." is no Spanish "aló")
                ranked = tuple(item for item in ranked if not typos_only(clause_scores, item[0]))
            if ranked:
                intent, confidence = ranked[0]
                return IntentResult(intent, confidence, detected, ranked)
            for clause in clause_scores:
                best_none = max([best_none, *clause.scores.values()])
            if any(clause.matched for clause in clause_scores) and undecided is None:
                confirm = self._confirm(model, clause_scores, expecting_free_text)
                undecided = IntentResult(
                    NONE_INTENT, round(best_none, 4), detected, confirm=confirm
                )
                if detected is not None:
                    return undecided
                # The language is unknown (a word two close languages share, "cancelar"):
                # the session's language only half-knowing it must not hide the language
                # that knows it; the other languages are tried before answering none.
        return undecided or IntentResult(NONE_INTENT, round(best_none, 4), detected)

    def _rank(
        self,
        model: LanguageModel,
        clause_scores: Sequence[ClauseScore],
        expecting_free_text: bool,
    ) -> tuple[tuple[str, float], ...]:
        """Every intent of the message that passes its threshold, best first.

        Within a clause the highest (priority, confidence) wins: "cancela la prueba" is a
        cancel. Across clauses the last one with an intent wins ("olvida lo que dije, quiero
        una prueba"), except that social intents (priority 0 or less, like greet) only win
        when nothing else is found ("hola, quiero una prueba" ranks the trial, then the
        greeting), and a farewell (goodbye) only signs off a closing intent of a higher
        priority ("stop texting me, bye" is an opt-out; "olvidalo, gracias igual, chau" stays
        a goodbye: the sets label a cancel with a farewell either way). An intent found in
        several clauses counts once, at its best rank.
        """
        best: dict[str, tuple[bool, int, int, float]] = {}
        for position, clause in enumerate(clause_scores):
            for intent, confidence in clause.scores.items():
                spec = model.specs[intent]
                if confidence < self._threshold_for(spec, expecting_free_text):
                    continue
                rank = (spec.priority > 0, position, spec.priority, confidence)
                if intent not in best or rank > best[intent]:
                    best[intent] = rank
        ordered = sorted(best.items(), key=lambda item: (item[1], item[0]), reverse=True)
        specs = model.specs
        if ordered and specs[top := ordered[0][0]].farewell:  # "stop texting me, bye"
            first = [
                item
                for item in ordered
                if specs[item[0]].closing and specs[item[0]].priority > specs[top].priority
            ]
            ordered = first + [item for item in ordered if item not in first]
        return tuple((intent, round(rank[3], 4)) for intent, rank in ordered)

    def _confirm(
        self,
        model: LanguageModel,
        clause_scores: Sequence[ClauseScore],
        expecting_free_text: bool,
    ) -> str | None:
        """The closing intent to ask about when nothing passed its threshold: the best one
        whose confidence reached its ``confirm_floor`` (guards passed), else ``None``.

        The floor is the same while the user answers a free-text question: a closing phrase
        there that is not sure enough to close ("bueno, creo que con eso estaría" when asked
        for a name) is asked about rather than stored as the answer.
        """
        best: tuple[float, str] | None = None
        for clause in clause_scores:
            for intent, confidence in clause.scores.items():
                spec = model.specs[intent]
                floor = spec.confirm_floor
                if floor is None or not spec.closing:
                    continue
                if confidence >= floor and (best is None or (confidence, intent) > best):
                    best = (confidence, intent)
        return best[1] if best is not None else None

    def _threshold_for(self, spec: IntentSpec, expecting_free_text: bool) -> float:
        base = spec.threshold if spec.threshold is not None else self._threshold
        if not expecting_free_text:
            return base
        if spec.threshold_in_flow is not None:
            return spec.threshold_in_flow
        if spec.closing:
            return max(base, self._config.free_text_closing_threshold)
        return base


def _lexicons(models: Mapping[str, LanguageModel]) -> dict[str, frozenset[str]]:
    """Each language's words for language identification: its model's ``lexicon`` and the
    words of its ``alone`` phrases that no other language's lexicon holds ("wagwan",
    "khuda", "coe" are evidence of the file that borrows them; "hasta" in en's "hasta la
    vista" stays Spanish only)."""
    lexicons = {code: model.lexicon for code, model in models.items()}
    return {
        code: lexicon
        | frozenset(
            word
            for words in models[code].alone
            for word in words
            if not any(word in other for c, other in lexicons.items() if c != code)
        )
        for code, lexicon in lexicons.items()
    }
