"""Scoring one clause: pick phrase spans, apply the guards, turn coverage into confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.intents import business
from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.complements import negated_complement, negated_throughout
from bot.intents.config import ScoringConfig
from bot.intents.guards import in_a_run, opens_filler
from bot.intents.index import FILLER, PhraseIndex, Resolved, Span
from bot.intents.person_names import NAME_PAIR_VETO, NAME_VETO, name_reason
from bot.intents.questions import opens_question
from bot.intents.result import NONE_INTENT
from bot.intents.spans import select_context, select_spans
from bot.intents.timing import deferral_at, past_at, postponed_at

NOUN_VETO = "a noun here (after a determiner)"
"""The veto of a closing word used as a noun ("on my end", "the end one")."""
MENTION_VETO = "mentioned, not said (after a verb of typing or saying)"
"""The veto of a closing word reported as typed or said ("mi hija escribió stop sin querer")."""
MENTIONED_ELSEWHERE_VETO = "about a closing word the message mentions"
"""The veto of a close in a message that mentions its word elsewhere ("typed stop, ignore
that")."""
BACKGROUND_VETO = "a background to what is asked (after a subordinator: 'before', 'en vez de')"
"""The veto of a guarded phrase that subordinates to another request ("before I cancel...")."""
_BUSINESS = "about a business object (a booking, an order), not the conversation"
BUSINESS_VETO = _BUSINESS
"""The veto of a close beside a business object ("cancel my booking")."""
BUSINESS_ELSEWHERE_VETO = "about a business object named in another clause, not the conversation"
"""The veto of a cancel in one clause when another names a business object ("olvidate del
pedido, cancelalo")."""
QUESTION_VETO = "in a question"
"""How the veto of a closing intent in a question starts."""
PAST_VETO = "a report of the past"
"""How the veto of a guarded intent by a past-time word or a past form starts."""
NEGATED = "negated"
"""How a negation veto's reason starts ("negated by 'no'")."""
SUPPRESSED_VETO = "part of a guarded"
"""How the veto of a lesser intent dragged along by a guarded close starts."""
_NOT_ABOUT = frozenset({NOUN_VETO, NAME_VETO, NAME_PAIR_VETO, _BUSINESS, BACKGROUND_VETO})
"""Vetoes saying the word is not the closing intent at all, so the clause is not about it."""


@dataclass(frozen=True, slots=True)
class IntentTraits:
    """What scoring needs to know about an intent besides its phrases."""

    closing: bool
    deferrable: bool
    priority: int
    guarded: bool = False
    """Questions, conditionals, deferrals and past reports veto it (closing intents, and
    author intents such as ``cancel_order`` that ask for them)."""
    farewell: bool = False
    """Said, not asked for (goodbye): see :attr:`~bot.intents.data.IntentSpec.farewell`."""


@dataclass(frozen=True, slots=True)
class ClauseScore:
    """Result of scoring one clause.

    Attributes:
        scores: Confidence in ``[0, 1]`` per intent that survived the guards.
        matched: Every intent with a phrase in the clause, vetoed ones included, and
            ``"none"`` for an anti-example: evidence that the clause was understood in this
            language.
        spans: The phrases chosen in the clause (fillers, ``none`` and the surviving intents'
            context words included), in order.
        vetoes: Intent → why it was vetoed ("negated by 'no'", "in a question", ...).
    """

    scores: dict[str, float]
    matched: frozenset[str]
    spans: tuple[Span, ...] = ()
    vetoes: Mapping[str, str] = field(default_factory=dict)

    @property
    def filler_positions(self) -> frozenset[int]:
        """Token positions in the clause that fillers cover ("ok", "bueno", "uai")."""
        return frozenset(
            i
            for span in self.spans
            if span.entry.intent == FILLER
            for i in range(span.start, span.end)
        )


class ClauseScorer:
    """Confidence per intent for one clause of one language.

    The clause's phrase matches are chosen longest-first without overlap (so "nice to see
    you" beats "see you", and a ``none`` anti-example swallows the keyword inside it). An
    intent is then vetoed for the clause when one of its phrases is negated ("no quiero
    cancelar"). A closing intent also when the clause is a question ("¿puedo cancelar?"),
    hypothetical ("if I cancel"), put off ("cancelo mañana") or in the past ("I quit last
    week"), when its verb is a past form ("cancelé la tarjeta", "I cancelled it"; only if
    no other phrase of the intent in the clause asks), when its word is a noun ("the cancel
    button", "el stop") or a proper name ("me llamo Chao", "Chao Wang"), and when its only
    evidence is an emoji beside another intent's words ("hello 👋"). A vetoed closing intent
    takes the clause's lesser intents with it: "can I stop the trial?" is about stopping,
    not a trial request. The rest score by coverage: how much of the clause (by weight) the
    intent's phrases, its context words ("cancela esto", "quit the chat"), fillers and
    lower-priority intents explain.
    """

    def __init__(
        self, index: PhraseIndex, traits: Mapping[str, IntentTraits], config: ScoringConfig
    ) -> None:
        """Bind the scorer to a language's index, its intents' traits and the parameters."""
        self._index = index
        self._traits = traits
        self._config = config

    def resolve_all(self, clauses: tuple[Clause, ...]) -> list[list[Resolved]]:
        """Resolve each clause's tokens (cut to ``max_clause_tokens``); an unknown word made
        of two phrase words ("goodnight") becomes both.

        The work is a budget per message, the same whatever is cached (so a result never
        depends on earlier messages): the first ``max_new_words`` words of the message that
        the vocabulary does not list as typed are looked up further (lemma, accent variants,
        doubled letters, diminutive, sound, compound; about 25 µs each when new), and the
        first ``max_typo_searches`` of those still unknown get a typo search (another 25 µs);
        later ones stay unknown, as typed.
        """
        index = self._index
        vocabulary = index.vocabulary
        config = self._config
        new_left = config.max_new_words
        searches_left = config.max_typo_searches
        result = []
        for clause in clauses:
            resolved = []
            for token in clause.tokens[: config.max_clause_tokens]:
                if token.kind is TokenKind.WORD and token.norm not in vocabulary:
                    if not new_left:
                        resolved.append(index.as_typed(token))
                        continue
                    new_left -= 1
                item = index.resolve(token)
                if item.how == "unknown" and searches_left and index.searchable(item):
                    searches_left -= 1
                    item = index.search(token) or item
                parts = index.compound(token) if item.how == "unknown" else None
                if parts is None:
                    resolved.append(item)
                else:
                    resolved.extend(index.resolve(part) for part in parts)
            result.append(resolved)
        return result

    def score(self, clause: Clause, resolved: list[Resolved]) -> ClauseScore:
        """Confidence for each intent with a phrase in ``clause`` (its tokens ``resolved`` by
        :meth:`resolve_all`) that survived the guards."""
        chosen = select_spans(self._index.find_spans(resolved))
        if not chosen:
            return ClauseScore({}, frozenset())
        tokens = tuple(item.token for item in resolved)
        fillers = [span for span in chosen if span.entry.intent == FILLER]
        filler_positions = {i for span in fillers for i in range(span.start, span.end)}
        filler_positions.update(  # the "no" of "no gracias" is polite, not meaning
            i
            for i in range(len(tokens) - 1)
            if self._declines(tokens, i) and self._index.negations.ends_at(tokens, i)
        )
        filler_positions.update(self._postponed(tokens))
        phrased = {  # words of some intent's phrase (an anti-example's too)
            i for span in chosen if span.entry.intent != FILLER for i in range(span.start, span.end)
        }
        vetoes: dict[str, str] = {}
        by_intent: dict[str, list[Span]] = {}
        for span in chosen:
            intent = span.entry.intent
            if intent not in (FILLER, NONE_INTENT):
                by_intent.setdefault(intent, []).append(span)
        for intent, spans in by_intent.items():
            own = {i for span in spans for i in range(span.start, span.end)}
            free = [i for i in range(len(tokens)) if i not in own]
            others = phrased.difference(own)
            reported: str | None = None
            negated: dict[int, str] = {}  # span index -> why
            for n, span in enumerate(spans):
                reason = self._guarded(
                    span, clause, resolved, tokens, filler_positions, free, others
                )
                if reason is not None and reason.startswith(NEGATED):
                    negated[n] = reason
                    continue
                if reason is not None:
                    vetoes[intent] = reason
                    break
                if reported is None and not self._subjunctive(tokens, filler_positions):
                    reported = self._past_form_reason(span, resolved)
            else:
                why = negated_throughout(spans, negated)
                if why is not None:
                    vetoes[intent] = why
                    continue
                # A past form reports; it vetoes only if every phrase of the intent is one
                # ("ya cancelé la tarjeta y quiero cancelar la cuenta" still asks).
                if reported is not None and all(
                    self._past_form_reason(span, resolved) is not None for span in spans
                ):
                    vetoes[intent] = reported
        self._suppress(by_intent, vetoes, filler_positions)
        filler_positions.update(self._request_opener(tokens, filler_positions))
        matched = frozenset(by_intent)
        if any(span.entry.intent == NONE_INTENT for span in chosen):
            matched |= {NONE_INTENT}  # an anti-example ("bus stop") is understanding too
        for intent in vetoes:
            del by_intent[intent]

        weights = [item.weight for item in resolved]
        total = sum(weights)
        if total <= 0:
            return ClauseScore({}, matched, tuple(chosen), vetoes)
        context: list[Span] | None = None
        kept_context: list[Span] = []
        scores: dict[str, float] = {}
        for intent, spans in by_intent.items():
            priority = self._traits[intent].priority
            covered = set(filler_positions)
            for other, other_spans in by_intent.items():
                if other == intent or self._traits[other].priority < priority:
                    covered.update(i for span in other_spans for i in range(span.start, span.end))
            if len(covered) < len(tokens):  # words left: maybe the intent's context words
                if context is None:
                    context = self._index.find_context(resolved, by_intent)
                taken = filler_positions | {
                    i
                    for other, other_spans in by_intent.items()
                    if other == intent or self._traits[other].priority >= priority
                    for span in other_spans
                    for i in range(span.start, span.end)
                }
                for span in select_context(context, intent, taken):
                    kept_context.append(span)
                    covered.update(range(span.start, span.end))
                # "the booking form", "the claim i was filing", "the daily tips"
                covered |= business.process_modifiers(self._index, tokens, covered)
                covered |= business.relative_process(self._index, tokens, covered)
                covered |= business.sent_object(self._index, tokens, spans, covered)
            coverage = sum(weights[i] for i in covered) / total
            scores[intent] = self._confidence(spans, weights, coverage)
        if kept_context:
            chosen = sorted([*chosen, *kept_context], key=lambda s: (s.start, s.entry.context))
        return ClauseScore(scores, matched, tuple(chosen), vetoes)

    def _suppress(
        self, by_intent: Mapping[str, list[Span]], vetoes: dict[str, str], fillers: set[int]
    ) -> None:
        """Veto what a guarded closing intent drags along, and emoji-only closing evidence
        (whose emoji then count as fillers: the 👋 of "hola 👋" is part of the greeting)."""
        traits = self._traits
        guarded = [i for i, why in vetoes.items() if traits[i].closing and why not in _NOT_ABOUT]
        if guarded:
            top = max(guarded, key=lambda intent: traits[intent].priority)
            for intent in by_intent:
                if intent not in vetoes and traits[intent].priority < traits[top].priority:
                    vetoes[intent] = f"{SUPPRESSED_VETO} {top!r}"
        worded = {
            intent
            for intent, spans in by_intent.items()
            if intent not in vetoes and not all(_emoji_only(span) for span in spans)
        }
        for intent in by_intent:
            if intent not in vetoes and traits[intent].closing and intent not in worded and worded:
                vetoes[intent] = f"only an emoji, beside words of {min(worded)!r}"
                fillers.update(i for span in by_intent[intent] for i in range(span.start, span.end))

    def _confidence(self, spans: list[Span], weights: list[float], coverage: float) -> float:
        span_weights = [sum(weights[span.start : span.end]) or 1.0 for span in spans]
        mean = sum(s.score * w for s, w in zip(spans, span_weights, strict=True)) / sum(
            span_weights
        )
        confidence = mean * coverage
        floor = self._config.keyword_floor
        for span in spans:
            if span.entry.keyword and not span.fuzzy:
                strength = floor + (1.0 - floor) * coverage**3
                confidence = max(confidence, span.score * strength)
        return min(1.0, confidence)

    def _guarded(
        self,
        span: Span,
        clause: Clause,
        resolved: list[Resolved],
        tokens: tuple[Token, ...],
        fillers: set[int],
        free: list[int],
        others: set[int],
    ) -> str | None:
        """Why the span's intent must not fire in this clause, or ``None`` (``others``: the
        positions of other intents' phrases).

        Any intent: a negation shortly before the phrase (not one inside another of the
        intent's phrases: the "never" of "nvm, forget it"); guarded ones also a subordinator
        there ("before I cancel", "em vez de cancelar"). Closing intents also: a question,
        a question word opening the clause, a conditional or a past-time word at one of the
        ``free`` positions (outside the intent's own phrases: "cancelo si no me gusta",
        "cancelé el pedido ayer"), a business object or a ``partials`` word right after the
        phrase ("cancela só a batata"), a determiner right before it, a capital letter
        that makes it a name ("me llamo Chao", "Chao Wang"); deferrable ones also a deferral
        word there ("I'll cancel later"). Past forms of the verb are checked by the caller
        (:meth:`_past_form_reason`): they veto only when every phrase of the intent is one.
        """
        index = self._index
        traits = self._traits[span.entry.intent]
        negation = negated_complement(index, span, tokens, resolved, free)
        if negation is not None:  # "no me interesa cancelar", "not interested in cancelling"
            return f"what the phrase before it negates ({negation!r}) is not wanted"
        # Negation shortly before the phrase ("no quiero cancelar"); fillers end its scope
        # ("no gracias, adiós"), and a run of them only stresses a phrase that holds its own
        # ("no no no para para ya no quiero seguir"). A trailing "no" ("cancelar no").
        negative = index.negations.anywhere(tokens, span.start, span.end)
        for position in range(
            span.start - 1, max(-1, span.start - 1 - self._config.negation_window), -1
        ):
            if position in fillers or position not in free:
                break  # a filler or another phrase of the intent ("never mind, forget it")
            if traits.guarded and index.subordinators.ends_at(tokens, position):
                return BACKGROUND_VETO  # "antes de cancelar meu plano, quero testar o de vocês"
            if negative and in_a_run(index.negations, tokens, position, span.start):
                break
            if (
                index.negations.ends_at(tokens, position)
                and not self._declines(tokens, position)
                and not self._answered(traits, tokens, position, span, fillers)
            ):
                return f"{NEGATED} by {tokens[position].orth!r}"
        if (  # not in a question, where it is a tag: "tem teste gratuito, não?"
            span.end == len(tokens) - 1
            and index.negations.ends_at(tokens, span.end)
            and not index.negations.anywhere(tokens, span.start, span.end)
            and not clause.is_question
        ):  # (a negated phrase's trailing "não" is concord: "não quero mais isso não")
            return f"{NEGATED} by a trailing {tokens[span.end].orth!r}"
        if not traits.closing and business.stopped_at(index, tokens, span.start):
            return _BUSINESS  # "cancel my free trial": the trial is stopped, not asked for
        if not traits.guarded:
            return None
        if traits.closing and span.start > 0 and index.mentions.ends_at(tokens, span.start - 1):
            return MENTION_VETO  # "my son typed cancel by mistake": the word is quoted
        opener = next((i for i in range(len(tokens)) if i not in fillers), 0)
        asking = self._request(span, resolved, opener, free, others)
        request = bool(asking)
        if clause.is_question and not request:
            return QUESTION_VETO
        if opener < span.start and not request and opens_question(index, tokens, opener):
            return f"{QUESTION_VETO} opened by {tokens[opener].orth!r}"

        for i in free:
            # the "if" of an opener asks ("would you mind if we stop here"), and that of a
            # filler of several words is politeness ("if that's alright with you", "si no es
            # molestia"; "si" alone is "sí"): no condition
            if (
                index.conditionals.starts_at(tokens, i)
                and i not in asking
                and not opens_filler(fillers, i)
            ):
                return f"hypothetical: {tokens[i].orth!r}"
            if past_at(index, tokens, i, span.end):
                return f"{PAST_VETO}: {tokens[i].orth!r}"
        if traits.closing:
            # the object a goodbye is about follows it closely: "all done with the payment"
            near = index.farewell_window(tokens, span.end, free) if traits.farewell else free
            # a guard word inside another of the intent's phrases is none ("cancel that
            # cancel", "era só isso mesmo"): only ``free`` positions count
            before = span.start - 1
            if before in free and index.determiners.ends_at(tokens, before):
                return NOUN_VETO  # before the object: "the stop button on my order page"
            if business.object_after(index, tokens, span.end, near, free, fillers, traits.farewell):
                return _BUSINESS  # "cancel my booking", "cancela só a batata", "cancel my 4pm"
            name = name_reason(self._index, span, resolved, tokens, fillers)
            if name is not None:
                return name
        if traits.deferrable:
            for i in free:
                if deferral_at(index, tokens, i):
                    return f"put off by {tokens[i].orth!r}"
        return None

    def _request_opener(self, tokens: tuple[Token, ...], fillers: set[int]) -> range:
        """Positions of the request opener the clause starts with ("could you", "¿me lo"),
        which then weigh like fillers: "could you cancel this?" is all cancel. Empty if none."""
        opener = next((i for i in range(len(tokens)) if i not in fillers), 0)
        if opener >= len(tokens):
            return range(0)
        return range(opener, opener + self._index.request_openers.starts_at(tokens, opener))

    def _subjunctive(self, tokens: tuple[Token, ...], fillers: set[int]) -> bool:
        """True when the clause opens with a request opener holding a conditional word
        ("would you mind if we", "is it ok if i"): a past form after it is wished for, not
        reported ("would you mind if we stopped here?")."""
        index = self._index
        return any(
            index.conditionals.starts_at(tokens, i) for i in self._request_opener(tokens, fillers)
        )

    def _request(
        self, span: Span, resolved: list[Resolved], opener: int, free: list[int], others: set[int]
    ) -> range:
        """The positions of the request opener when the clause asks for the action politely,
        else an empty range: it opens with a request opener ("could you", "would you mind",
        "¿podrías", "¿me lo", "is it ok if we") before the phrase with no other intent's
        phrase between (in "is it ok if I cancel later?" the opener asks for the cancel, not
        for the goodbye "later"), and no question word follows the opener ("can you tell me
        how to cancel?" asks about it) but one inside the intent's context ("can you cancel
        what we started?", "could you stop whatever you are doing")."""
        index = self._index
        tokens = tuple(item.token for item in resolved)
        end = opener + index.request_openers.starts_at(tokens, opener)
        if end == opener or end >= span.end:
            return range(0)
        if any(i in others for i in range(end, span.start)):
            return range(0)
        asked = [i for i in free if i >= end and index.question_words.starts_at(tokens, i)]
        if asked:  # after the phrase too: "dá pra cancelar quando quiser?"
            context = index.find_context(resolved, (span.entry.intent,))
            if any(all(not c.start <= i < c.end for c in context) for i in asked):
                return range(0)
        return range(opener, end)

    def _past_form_reason(self, span: Span, resolved: list[Resolved]) -> str | None:
        """Why a span of a closing intent reports the past: one of its words is a past form
        of its verb that no phrase lists ("cancelé la tarjeta", "I cancelled my card"; not
        "me arrepentí"), see :mod:`~bot.intents.tense`; else ``None``. Not a goodbye's: its
        past thanks for what was done ("vocês me ajudaram muito", "me fui")."""
        if not (traits := self._traits[span.entry.intent]).guarded or traits.farewell:
            return None
        for i in range(span.start, span.end):
            item = resolved[i]
            token = item.token
            if token.kind is not TokenKind.WORD or item.how != "exact":
                continue  # a corrected word ("byee", "cancell") is no evidence of a tense
            before = resolved[i - 1].token.norm if i > 0 else None
            if self._index.past_form(token.orth, item.lemma, before):
                return f"{PAST_VETO}: {token.orth!r}"
        return None

    def _answered(
        self,
        traits: IntentTraits,
        tokens: tuple[Token, ...],
        position: int,
        span: Span,
        fillers: set[int],
    ) -> bool:
        """True when the negation before a close is an answer, not a negation of it
        (:meth:`_answers`): before a goodbye or a close of two words or more ("nope nothing
        else", "no no leave it"), or a run of two answers or more before a one-word close
        ("no no no stop, i don't want to do the form"); one "no" before a one-word cancel
        keeps the veto ("no cancel" may mean "don't")."""
        answers = self._answers(tokens, position, span, fillers)
        if traits.farewell or (traits.closing and span.end - span.start > 1):
            return answers > 0
        return traits.closing and answers > 1

    def _answers(
        self, tokens: tuple[Token, ...], position: int, span: Span, fillers: set[int]
    ) -> int:
        """How many answer words open the clause right before ``span``, with nothing else
        (fillers aside): "nope nothing else", "no that's all thanks", "no no that's
        everything" answer "anything else?"; 0 when other words come before it."""
        if position >= span.start:
            return 0
        answers = self._index.answers
        start = next((i for i in range(span.start) if i not in fillers), span.start)
        count = 0
        while start < span.start:
            length = answers.starts_at(tokens, start)
            if not length:
                return 0
            start += length
            count += 1
        return count if start == span.start else 0

    def _postponed(self, tokens: tuple[Token, ...]) -> set[int]:
        """The preposition and deferral words of a postponement ("deixa *pra outro dia*",
        "leave it *for later*"; :func:`~bot.intents.timing.postponed_at`): the day the chat's
        work is left for says nothing more, as a filler would."""
        found: set[int] = set()
        for i in range(1, len(tokens)):
            if length := postponed_at(self._index, tokens, i):
                found.update(range(i - 1, i + length))
        return found

    def _declines(self, tokens: tuple[Token, ...], position: int) -> bool:
        """True for "no thanks"/"no gracias": a negation directly followed by a filler word."""
        following = position + 1
        return following < len(tokens) and tokens[following].norm in self._index.filler_words


def _emoji_only(span: Span) -> bool:
    """True for a one-token span whose phrase has no letters or digits (an emoji cue)."""
    return span.end - span.start == 1 and not any(char.isalnum() for char in span.entry.text)
