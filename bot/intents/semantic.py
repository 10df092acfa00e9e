"""The semantic layer: a supervised head over a multilingual sentence space, beside the lexicon.

The lexicon (phrases, guards, frames) is precise but knows only the phrasings it lists. This
layer encodes a message (:mod:`bot.intents.encoder`, Universal Sentence Encoder multilingual
v3) and a small neural head (:mod:`bot.intents.head`) turns the vector into one probability per
intent, ``none`` included: "could we just drop this" lies next to "drop it", "olvidate de
todo" next to "forget the whole thing", in any of the encoder's 16 languages.

Training data (:mod:`bot.intents.examples`): every example and keyword of the intent files
(``none`` anti-examples included) and the labelled tuning sets named in ``config.yaml``
(``intents.training``: real messages, including the contrasts that must stay ``none``).
Start-up: the examples' vectors and the trained head are kept in the cache folder under a
hash of the texts, labels, weights, training settings and encoder version
(:func:`~bot.intents.examples.head_key`); a later start reads the head (about 4 MB), never
holds the vectors, and finds it through :mod:`bot.intents.head_index` without reading the
examples while the files they come from are unchanged.

Work per message is bounded: the encoder reads the classifier's bounded view, its words cut
to the first and last ones (:mod:`bot.intents.bounds`), at most :data:`MAX_WORDS` words and
:data:`MAX_CHARS` characters, and nothing when letters are not most of it. Answers are
cached per normalized text (LRU). The classifier asks only where the lexicon is unsure
(:func:`fuse`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.intents.bounds import bound_sequence, bounded_view
from bot.intents.cachefile import write_atomically
from bot.intents.encoder import SentenceEncoder, model_version
from bot.intents.examples import CACHE_FORMAT, Example, head_key, training_weights
from bot.intents.head import IntentHead, TrainingSettings
from bot.intents.head_index import remember
from bot.intents.lemmas import DEFAULT_CACHE_DIR
from bot.intents.normalize import prepare
from bot.intents.result import CANCEL, GOODBYE, HANDOFF, NONE_INTENT, OPT_OUT, IntentResult

MAX_WORDS = 24
"""Words of the normalized text given to the encoder (the first and last ones)."""
MAX_CHARS = 160
"""Characters of the normalized text given to the encoder (its cost grows with the text)."""
MIN_LETTER_SHARE = 0.5
"""A text whose letters are less than this share of its non-space characters is not encoded
(digits, punctuation, emoji: "+54 9 351", "!!!???", a URL tells the encoder nothing)."""
MIN_CAUTIOUS_WORDS = 3
"""Fewest words of a message with a guard word that the layer may act on."""
MIN_WORDS = 2
"""Fewest words of any message the layer may act on: one word is the lexicon's (its typos,
shorthand, languages); a sentence encoder finds a neighbour for any single word ("todo"
lies next to "eso es todo", a goodbye)."""

CONFIRMABLE: frozenset[str] = frozenset({GOODBYE, CANCEL})
"""Closing intents the engine can ask about (``IntentResult.confirm``)."""


def encoder_text(text: str) -> str:
    """What the encoder reads of a message: NFKC, lowercase, letter runs cut to two
    (:func:`~bot.intents.normalize.prepare`), whitespace collapsed, bounded (the view's words
    cut to the first and last :data:`MAX_WORDS`, at most :data:`MAX_CHARS` characters);
    empty when letters are less than :data:`MIN_LETTER_SHARE` of it. Also the cache key:
    "Cancel!!" and "cancel!!" are one entry."""
    words = bound_sequence(prepare(bounded_view(text)).split())
    if len(words) > MAX_WORDS:
        words = [*words[: MAX_WORDS - MAX_WORDS // 4], *words[-(MAX_WORDS // 4) :]]
    joined = " ".join(words)[:MAX_CHARS]
    letters = sum(char.isalpha() for char in joined)
    if letters < MIN_LETTER_SHARE * (len(joined) - joined.count(" ")):
        return ""
    return joined


@dataclass(frozen=True, slots=True)
class Guess:
    """The layer's answer for one text.

    Attributes:
        intent: The most probable label (``"none"`` included).
        probability: Its probability, in ``[0, 1]``.
        words: Words of the text the encoder read (0: nothing was encoded).
    """

    intent: str
    probability: float
    words: int = 0


class SemanticModel:
    """The trained head over sentence vectors, with a cache of its answers.

    Args:
        encoder: Turns texts into unit vectors.
        head: The trained head.
        cache_size: Guesses kept per normalized text (LRU; 0 turns the cache off).
    """

    def __init__(self, encoder: SentenceEncoder, head: IntentHead, cache_size: int = 10_000):
        self._encoder = encoder
        self.head = head
        self.labels = head.labels
        self._cached: Callable[[str], Guess] = (
            lru_cache(maxsize=cache_size)(self._guess) if cache_size else self._guess
        )

    @classmethod
    def build(
        cls,
        examples: Sequence[Example],
        encoder: SentenceEncoder | None = None,
        cache_dir: Path | None = None,
        cache_size: int = 10_000,
        settings: TrainingSettings | None = None,
        train: bool = True,
        index: str | None = None,
    ) -> SemanticModel | None:
        """Train the head on ``examples`` (or read it from the cache folder, keyed by a hash
        of the texts, labels, weights, settings and encoder version) and build the model;
        with ``train`` false, ``None`` when the head is not in the cache (training takes
        10-20 s: ``bot serve`` starts without the layer and trains in the background).
        ``index``: a fingerprint of where the examples come from, to index the cached head
        under (:mod:`bot.intents.head_index`: the next start finds it without them).

        Raises:
            ValueError: ``examples`` holds fewer than two labels.
        """
        encoder = encoder or SentenceEncoder(cache_dir)
        settings = settings or TrainingSettings()
        weights = training_weights(examples)
        key = head_key(examples, weights, settings)
        path = (cache_dir or DEFAULT_CACHE_DIR) / f"semantic-head-{key[:16]}.npz"
        head = None
        with contextlib.suppress(OSError, ValueError):
            head = IntentHead.load(path)
        if head is None and not train:
            return None
        if head is None:
            vectors = example_vectors(examples, encoder, cache_dir)
            head = IntentHead.train(vectors, [e.label for e in examples], weights, settings)
            with contextlib.suppress(OSError):
                write_atomically(path, head.save)
        if index is not None and path.is_file():
            remember(path.parent, index, path)
        return cls.ready(encoder, head, cache_size)

    @classmethod
    def ready(cls, encoder: SentenceEncoder, head: IntentHead, cache_size: int) -> SemanticModel:
        """The model over a trained ``head``, the encoder's weights loaded now (at start-up,
        not on the first message)."""
        encoder.load()
        return cls(encoder, head, cache_size)

    def guess(self, text: str) -> Guess:
        """The most probable label for ``text`` (any length; cached per normalized text)."""
        return self._cached(encoder_text(text))

    def _guess(self, key: str) -> Guess:
        if not key:
            return Guess(NONE_INTENT, 1.0, 0)
        with self._encoder.one_thread():  # the head's product too
            vector = self._encoder.encode_one(key)
            probabilities = self.head.probabilities(vector[None, :])[0]
        best = int(np.argmax(probabilities))
        return Guess(self.labels[best], float(probabilities[best]), len(key.split()))


def example_vectors(
    examples: Sequence[Example], encoder: SentenceEncoder, cache_dir: Path | None = None
) -> npt.NDArray[np.float32]:
    """``(len(examples), 512)`` vectors of the examples' texts, read from the cache folder
    when the same texts were encoded before (float16 on disk, about 1 kB a text)."""
    key = hashlib.sha256(f"{model_version()}|{CACHE_FORMAT}".encode())
    for example in examples:
        key.update(f"\0{example.text}".encode())
    path = (cache_dir or DEFAULT_CACHE_DIR) / f"semantic-{key.hexdigest()[:16]}.npy"
    with contextlib.suppress(OSError, ValueError):
        cached: npt.NDArray[np.float16] = np.load(path, allow_pickle=False)
        if cached.shape == (len(examples), cached.shape[-1]):
            return cached.astype(np.float32)
    # rounded to float16 when fresh too, so a cached start and a fresh one train alike
    vectors = encoder.encode([encoder_text(e.text) for e in examples]).astype(np.float16)
    with contextlib.suppress(OSError):
        write_atomically(path, lambda target: np.save(target, vectors))
    return vectors.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Fusion:
    """When the head's probabilities count (chosen by cross-validation on the tuning sets,
    ``python -m bench.intents_cv``).

    Attributes:
        close: The lexicon acted on nothing: a closing intent the head names is acted on
            (the session closes) at this probability or more.
        ask: A closing intent the engine can ask about (goodbye, cancel) from ``ask`` up to
            ``close`` is asked about (``confirm``); so is one in a question, or beside a
            negation, deferral or past-time word that vetoed nothing, from ``cautious``.
        act: Any other intent the head names (a greeting, a trial, an order cancel) is
            acted on at this probability or more.
        confirmed: The lexicon would ask about a closing intent: it closes without asking
            when the head gives that intent this probability or more.
        cautious: See ``ask``: a close in a question or beside a guard word is asked about
            from here (the encoder hardly tells "cancel" from "don't cancel"); beside a
            negation or deferral outside a question, only below ``negated_close`` (with
            both at 0.9, such a close is acted on or not heard, never asked about).
        request: See ``LexiconView.request``: a polite request for a close ("can you call it
            off please") is acted on from this probability.
        sure: The lexicon's close at this confidence or more (its phrases explain the whole
            message: "bye", "cancel this") is not second-guessed (:func:`doubt`); beside a
            word that says more ("cansei, vou embora") it may only become another close
            (:func:`switched`).
        doubt: A lexicon's close below ``sure`` becomes a question (``confirm``) when the
            head rates the message ``none`` at this probability or more.
        negated: An opt-out beside a negation or deferral word that vetoed nothing is acted
            on at this probability or more: opting out is usually said negated ("no me
            manden más", "don't text me again").
        negated_close: Any close beside a negation or deferral word that vetoed nothing
            (outside a question and a past report) is acted on at this probability or more,
            else asked about from ``cautious`` if that is lower: giving up is often said
            negated ("not doing this anymore", "no tengo ganas de seguir", "não tô mais a
            fim"), while "don't cancel" is vetoed by the lexicon before the head is heard.
        switch: A lexicon's close beside words it does not explain becomes the head's other
            close (:data:`SWITCHES`) when the head rates it at this probability or more
            ("cut out the messages, I'm not interested" opts out).
        greeted: The lexicon found only a greeting, beside words it does not explain: a
            close the head names is acted on at this probability or more ("hello, please
            stop messaging me"), never asked about ("oi, voltei" is no goodbye).
        agreed: The lexicon found a close's phrase that explains only part of the message
            (``LexiconView.partial``), outside a question and beside no guard word: the head
            naming that close is acted on at this probability or more ("descadastra meu zap
            daí", "STOP mensagens").
        farewell: ``close`` for a goodbye ("o gás chegou, obrigado", "perfect, got my table.
            thanks!"): on the tuning sets the head was not trained on, a goodbye it named from
            0.8 up to ``close`` was one 22 times in 23 (round 10). Not for thanks beside one
            word at most (``LexiconView.thanked``).
    """

    close: float = 0.95
    ask: float = 0.8
    act: float = 0.75
    confirmed: float = 0.6
    cautious: float = 0.9
    sure: float = 0.9
    request: float = 0.8
    doubt: float = 0.9
    switch: float = 0.95
    negated: float = 0.95
    negated_close: float = 0.9
    greeted: float = 0.9
    agreed: float = 0.8
    farewell: float = 0.8


@dataclass(frozen=True, slots=True)
class LexiconView:
    """What the lexicon saw in a message, for :func:`fuse`.

    Attributes:
        closing: Closing intents (the head never closes where a guard holds).
        guarded: Intents the guards hold (closing ones and, e.g., ``cancel_order``).
        blocked: A clause holds a conditional: no guarded intent is acted on.
        question: A clause is a question that does not open with a request: a close is only
            asked about, and no other guarded intent acted on ("can I cancel my order?").
        business: A closing phrase was vetoed beside a business object ("I need to scrap
            the purchase I made"): only a non-closing intent (an order cancel) may be
            acted on.
        cautious: A negation, deferral or past-time word is present but vetoed nothing.
        past: A guard vetoed a phrase as a report of the past ("I cancelled it yesterday",
            "the order I placed yesterday, cancel it"): no close, but the head may still
            name an order cancel (it learned the past reports as ``none``).
        request: A clause opens with a request opener ("can you", "would you mind",
            "¿me lo"): a close is acted on from ``request`` rather than ``close``.
        evidence: Guarded intents that do not close (an order cancel) the message gives
            evidence of: one of their action words ("void", "anular"), one of their own
            phrases explaining part of it ("i want to call off my order"), or a stop vetoed
            as about a business object beside one of their ``objects`` ("larga mão desse
            pedido aí", "no me manden el pedido, ya no lo quiero"). Only those may be acted
            on ("el pedido de ayer" names an order, it does not cancel one).
        messaging: The message names the messages a business sends ("mensajes", "promos",
            "envio de mensagens"): an opt-out is heard beside a business object.
        partial: Closing intents whose phrase the lexicon found below its threshold, the
            phrase explaining only part of the message ("descadastra meu zap daí"): the
            head naming one of them is acted on from ``agreed``.
        thanked: The message's own language finds thanks in it and leaves at most one word
            unexplained ("tidy, thank you", "valeu, irmão": an acknowledgement and thanks,
            most often mid-chat): a goodbye the head names is acted on from ``close``, not
            ``farewell``, and asked about from ``ask``.
    """

    closing: frozenset[str]
    guarded: frozenset[str] = frozenset()
    blocked: bool = False
    question: bool = False
    business: bool = False
    cautious: bool = False
    past: bool = False
    request: bool = False
    evidence: frozenset[str] = frozenset()
    messaging: bool = False
    partial: frozenset[str] = frozenset()
    thanked: bool = False


def fuse(lexical: IntentResult, guess: Guess, view: LexiconView, fusion: Fusion) -> IntentResult:
    """The lexicon's result, changed by the head only where the lexicon acted on nothing.

    - The lexicon acted, or the head says ``none``: the lexicon's result.
    - A guarded intent (a close, an order cancel) in a clause with a conditional, or any
      close beside a business object: the lexicon's result.
    - The lexicon would ask about a close: it closes when the head gives it ``confirmed``,
      or with the head's other close from ``switch`` outside a question and beside no guard
      word ("i'm gonna bounce, this is too complicated": a goodbye asked, a cancel heard).
    - A close in a question or beside a guard word (negation, deferral, past): asked about
      from ``cautious`` (goodbye and cancel only); beside a negation or deferral outside a
      question, acted on from ``negated_close`` (an opt-out from ``negated``). Another
      guarded intent in a question: the lexicon's result.
    - Else a close is acted on from ``close`` (a goodbye from ``farewell``, unless the
      message is thanks and at most one more word: ``thanked``) and asked about from
      ``ask``; a handoff is acted on from ``close`` too; another intent is acted on from
      ``act``.
    """
    if lexical.intent != NONE_INTENT:
        return lexical
    intent, p = guess.intent, guess.probability
    if intent == NONE_INTENT:
        return lexical
    closing = intent in view.closing
    # a business object: "cancel my gym membership" is no close, "stop the gym's messages" is
    about_object = view.business and not (intent == OPT_OUT and view.messaging)
    if (intent in view.guarded and view.blocked) or (closing and (about_object or view.past)):
        return lexical
    if lexical.confirm is not None:
        if intent == lexical.confirm and p >= fusion.confirmed:
            return acted(lexical, intent, p)
        if closing and p >= fusion.switch and not (view.cautious or view.question):
            return acted(lexical, intent, p)  # "i'm gonna bounce, this is too complicated"
        return lexical
    if closing:
        # Said negated: "no me manden más mensajes" (an opt-out), "not doing this anymore"
        negated = fusion.negated if intent == OPT_OUT else fusion.negated_close
        if view.cautious and not view.question and p >= negated:
            return acted(lexical, intent, p)
        if view.question or view.cautious:
            asked = intent in CONFIRMABLE and p >= fusion.cautious
            return replace(lexical, confirm=intent) if asked else lexical
        needed = fusion.farewell if intent == GOODBYE and not view.thanked else fusion.close
        if p >= (min(fusion.request, needed) if view.request else needed):
            return acted(lexical, intent, p)
        if intent in view.partial and p >= fusion.agreed:  # two readings agree
            return acted(lexical, intent, p)
        if intent in CONFIRMABLE and p >= fusion.ask:
            return replace(lexical, confirm=intent)
        return lexical
    if intent in view.guarded and (view.question or intent not in view.evidence):
        return lexical
    # A handoff silences the bot for up to a day: the head needs a close's certainty for it
    # ("I need support" names the support flow's keyword, not a person).
    needed = fusion.close if intent == HANDOFF else fusion.act
    return acted(lexical, intent, p) if p >= needed else lexical


def beside_greeting(
    lexical: IntentResult, guess: Guess, view: LexiconView, fusion: Fusion
) -> IntentResult:
    """The lexicon found only greetings (``lexical``) in a message with words they do not
    explain: the head's intent is heard as :func:`fuse` hears it where the lexicon found
    nothing, and ranks before the greetings ("hello, I'd like to cancel the order I made
    yesterday" routes to the order cancel and greets); a close only from ``greeted``, and it
    replaces the greeting. A question about a close is not asked, and a goodbye the head
    hears after a greeting is none ("oi, acabei de chegar aqui"): the greeting stands."""
    if guess.intent == GOODBYE or (
        guess.intent in view.closing and guess.probability < fusion.greeted
    ):
        return lexical
    unsure = replace(lexical, intent=NONE_INTENT, confidence=0.0, ranked=(), confirm=None)
    fused = fuse(unsure, guess, view, fusion)
    if fused.intent == NONE_INTENT or any(fused.intent == i for i, _ in lexical.ranked):
        return lexical
    if fused.intent in view.closing:
        return fused
    return replace(fused, ranked=(*fused.ranked, *lexical.ranked))


def doubt(
    lexical: IntentResult,
    guess: Guess,
    fusion: Fusion,
    routes: frozenset[str] = frozenset(),
    closing: frozenset[str] = CONFIRMABLE | {OPT_OUT},
    tail: Callable[[], Guess] | None = None,
) -> IntentResult:
    """A second opinion on a close the lexicon found among other words ("I need to cancel
    the session on Thursday"): asked about instead when the head is sure it is ``none`` or
    another intent outside ``closing`` and ``routes`` ("hey, good to see you" rated a
    greeting; goodbye and cancel are asked about, an opt-out is kept), unless the head
    rates the ``tail`` (the last clause, where the lexicon found the close after a story)
    that close from ``close``; an intent of ``routes`` (guarded intents that do not close:
    an order cancel) or an opt-out rather than a cancel when the head is sure of it; else
    the lexicon's close."""
    other = guess.intent not in closing and guess.intent not in routes
    if other and guess.probability >= fusion.doubt:  # none, or a greeting ("hey, good to see you")
        if lexical.intent not in CONFIRMABLE:
            return lexical
        said = tail() if tail is not None else None  # "..., gracias y hasta el jueves"
        if said is not None and said.intent == lexical.intent and said.probability >= fusion.close:
            return lexical
        return asked(lexical, lexical.intent)
    return routed(lexical, guess, fusion, routes) or switched(lexical, guess, fusion)


def routed(
    lexical: IntentResult, guess: Guess, fusion: Fusion, routes: frozenset[str]
) -> IntentResult | None:
    """The head's intent of ``routes`` (guarded intents that do not close: an order cancel)
    acted on instead of the lexicon's close when the head gives it ``fusion.doubt`` or more
    ("cancel the session on Friday", "cancela la canasta que pedí"), else ``None``."""
    if guess.intent in routes and guess.probability >= fusion.doubt:
        return acted(lexical, guess.intent, guess.probability)
    return None


SWITCHES = frozenset({(CANCEL, OPT_OUT), (GOODBYE, CANCEL), (CANCEL, GOODBYE)})
"""(the lexicon's close, the head's) pairs where a head sure of its close is acted on
instead: each still closes the session; they differ in the notice, the opt-out record."""


def switched(lexical: IntentResult, guess: Guess, fusion: Fusion) -> IntentResult:
    """The lexicon's close, or the head's other close (:data:`SWITCHES`) when the head rates
    it from ``switch``: "this is going nowhere, i'm done" gives up (a cancel), "tudo
    esclarecido, pode encerrar" is a goodbye, "block me from your list, just stop" opts out."""
    if (lexical.intent, guess.intent) in SWITCHES and guess.probability >= fusion.switch:
        return acted(lexical, guess.intent, guess.probability)
    return lexical


def thanked(lexical: IntentResult, guess: Guess, fusion: Fusion) -> IntentResult:
    """A goodbye said only with thanks, beside many words the lexicon does not explain:
    thanks for a request ("please come after 10pm, cheers"), asked about, unless the head
    rates the message a goodbye from ``close`` ("that's exactly what I was after, cheers")."""
    if guess.intent == GOODBYE and guess.probability >= fusion.close:
        return lexical
    return asked(lexical, GOODBYE)


def asked(result: IntentResult, intent: str) -> IntentResult:
    """``result`` acting on nothing and asking about the closing ``intent`` instead
    (``intent: none, confirm: <intent>``: the engine's yes/no question)."""
    return replace(result, intent=NONE_INTENT, ranked=(), confirm=intent)


def acted(lexical: IntentResult, intent: str, probability: float) -> IntentResult:
    """``lexical`` acting on ``intent`` alone, its confidence the head's ``probability``
    (clipped to ``[0, 1]``, 4 decimals), nothing asked."""
    confidence = round(min(max(probability, 0.0), 1.0), 4)
    return replace(
        lexical, intent=intent, confidence=confidence, ranked=((intent, confidence),), confirm=None
    )
