"""Where the semantic layer may be heard: what the lexicon's guards say about a message.

The encoder costs about 0.4 ms against the lexicon's 0.05 ms, so it runs only where its
answer may count (:func:`semantic_view`); the guards keep their veto where they are reliable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.business import business_at, chat_process
from bot.intents.coverage import (
    Seen,
    Tried,
    explained,
    opening,
    slot_answer,
    tag_question,
    typos_only,
    uncovered_words,
    unexplained,
)
from bot.intents.guards import opens_filler
from bot.intents.index import PhraseIndex
from bot.intents.model import LanguageModel
from bot.intents.scoring import (
    BACKGROUND_VETO,
    BUSINESS_ELSEWHERE_VETO,
    BUSINESS_VETO,
    MENTION_VETO,
    MENTIONED_ELSEWHERE_VETO,
    NOUN_VETO,
    PAST_VETO,
    QUESTION_VETO,
    ClauseScore,
)
from bot.intents.semantic import MIN_CAUTIOUS_WORDS, MIN_WORDS, LexiconView
from bot.intents.timing import deferral_at, past_at

MAX_EVIDENCE_WORDS = 12
"""Words of a message whose lemma is looked up for an intent's action words ("anulalo" →
"anular"); later words count as typed (a bound on the work for a long message)."""
MAX_SLOT_WORDS = 4
"""A message this short with a name or an address in it is a slot answer ("soy Martín", "my
name is Peter", "mi mail es ana@x.com"): the semantic layer is not asked about it."""
PARTIAL_SCORE = 0.25
"""A closing intent the lexicon scored this much or more, below its threshold, is in the
view's ``partial``: its phrase explains part of the message ("descadastra meu zap daí")."""


def semantic_view(
    seen: Seen,
    closing: frozenset[str],
    guarded: frozenset[str],
    acted: frozenset[str] = frozenset(),
) -> LexiconView | None:
    """What the guards say about the message for the semantic layer, or ``None`` when the
    layer is not heard at all (and the encoder does not run):

    - a guard vetoed an intent for anything but a business object (in its clause or in
      another: "ese pedido, anulalo"), a noun ("all sorted on my end, thanks"), a mention
      ("I've sent STOP twice and you still text me") or a
      past-time word (a negation, a question, a conditional, a deferral, a name), or the
      vetoed phrase's own verb is in the past ("ya anulé ese pedido la semana pasada");
    - the lexicon's fillers, thanks and anti-examples explain every word ("ok", "dale,
      perfecto", "got it, thanks": bare thanks end nothing) and no phrase of an intent scored
      below its threshold (those it acted on, ``acted``, aside: "hola, qué tal");
    - no word is one of the language's own ("Juan Carlos", an email address);
    - a message of one word ("todo": :data:`~bot.intents.semantic.MIN_WORDS`), or a guard
      word in a message of fewer than :data:`MIN_CAUTIOUS_WORDS` words ("ya no");
    - a business object named with at most a word more ("pedido", "my order": the order
      flow's keyword, not a cancel);
    - a slot answer of at most :data:`MAX_SLOT_WORDS` words ("soy Martín").

    Else the view says which guards hold (:class:`~bot.intents.semantic.LexiconView`).
    """
    if not any(_knows_a_word(model, clauses) for model, clauses, _ in seen):
        return None
    guards = _Guards()
    # the message's own language tells a request: "¿me haces el favor de parar esto?" is no
    # question in Portuguese, which has no "haces" among its request openers
    # (only read when another language was tried too: most messages are scored in one)
    own, own_clauses, own_scores = seen[0]
    asks = len(seen) > 1 and any(
        request_opener(own, c, s)[1] for c, s in zip(own_clauses, own_scores, strict=True)
    )
    for tried, (model, clauses, clause_scores) in enumerate(seen):
        # all explained: fillers, anti-examples ("ok"), thanks ("got it, thanks" is no
        # goodbye), not a phrase the lexicon scored below its threshold ("ativa o teste pra
        # mim": the head may agree)
        if all(
            explained(c, s) and not s.scores.keys() - acted
            for c, s in zip(clauses, clause_scores, strict=True)
        ):
            return None
        if not _read_vetoes(guards, (model, clauses, clause_scores), bool(tried), asks):
            return None
        _read_words(guards, (model, clauses, clause_scores), bool(tried), asks)
    words = sum(len(clause.tokens) for clause in seen[0][1])
    if words < MIN_WORDS or ((guards.cautious or guards.past) and words < MIN_CAUTIOUS_WORDS):
        return None
    if words <= MAX_SLOT_WORDS and slot_answer(seen[0][0], seen[0][1]):
        return None
    if guards.business and not guards.vetoed_business and words < MIN_CAUTIOUS_WORDS:
        return None  # a business object named alone ("pedido", "my order") is no request
    evidence, messaging, partial = _evidence(seen, closing, guarded, guards)
    # thanks and one word at most ("tidy, thank you"): a goodbye only from Fusion.close
    thanked = any(own.index.thanks.anywhere(c.tokens) for c in own_clauses) and (
        unexplained(own_clauses, own_scores) <= 1
    )
    return LexiconView(
        closing,
        guarded,
        guards.blocked,
        guards.question,
        guards.business,
        guards.cautious,
        guards.past,
        guards.request,
        evidence,
        messaging,
        partial,
        thanked,
    )


@dataclass
class _Guards:
    """What :func:`semantic_view` gathers over the languages tried (the flags of
    :class:`~bot.intents.semantic.LexiconView`); ``vetoed_business``: a guard vetoed a
    phrase for a business object, rather than one only being named."""

    question: bool = False
    business: bool = False
    vetoed_business: bool = False
    blocked: bool = False
    cautious: bool = False
    past: bool = False
    request: bool = False


def _read_vetoes(guards: _Guards, tried: Tried, other: bool, asks: bool) -> bool:
    """Read the guards' vetoes of one language into ``guards``; false when one of them
    keeps the semantic layer from being heard (a negation, a question, a conditional, a
    deferral, a name, or the vetoed phrase's own verb in the past: "ya anulé ese pedido").

    ``other``: the language is not the message's own (its misspellings and, when the own
    language ``asks``, its question vetoes are ignored)."""
    model, clauses, clause_scores = tried
    for clause, score in zip(clauses, clause_scores, strict=True):
        for intent, reason in score.vetoes.items():
            if other and (
                typos_only([score], intent) or (asks and reason.startswith(QUESTION_VETO))
            ):
                continue  # another language's misspelling ("free" as es "frene") or question
            if reason in (BUSINESS_VETO, BUSINESS_ELSEWHERE_VETO):
                guards.business = guards.vetoed_business = True
            elif reason == BACKGROUND_VETO:  # "before I cancel mine, can I try yours free?"
                guards.business = True  # no close; what the close is the background of may be
            elif reason in (NOUN_VETO, MENTION_VETO, MENTIONED_ELSEWHERE_VETO):
                continue  # "all sorted on my end, thanks", "I've sent STOP twice"
            elif reason.startswith(PAST_VETO) and not _past_verb(model, clause, score, intent):
                guards.past = True  # a past-time word: "the order I placed yesterday, cancel it"
            else:
                return False
    return True


def _read_words(guards: _Guards, tried: Tried, other: bool, asks: bool) -> None:
    """Read one language's guard words into ``guards``: request openers, questions (a tag
    question after a statement asks for assent), business objects, conditionals, past-time
    words, negations and deferrals. ``other`` and ``asks`` as for :func:`_read_vetoes`."""
    model, clauses, clause_scores = tried
    index = model.index
    for n, (clause, score) in enumerate(zip(clauses, clause_scores, strict=True)):
        tokens = clause.tokens
        opener, requested = request_opener(model, clause, score)
        if requested:
            guards.request = True  # "can you call it off please", "¿me lo anulás?"
        elif clause.is_question and not (n and tag_question(clause, score)):
            guards.question = guards.question or not (other and asks)
        for i in range(len(tokens)):
            if business_at(index, tokens, i):
                guards.business = True
            if (
                index.conditionals.starts_at(tokens, i)
                and i >= opener
                and not opens_filler(score.filler_positions, i)
            ):
                guards.blocked = True  # not "would you mind if we stopped here", "if that's ok"
            elif past_at(index, tokens, i):
                guards.past = True  # "we stopped using it last year": a report, never a close
            elif index.negations.starts_at(tokens, i) or deferral_at(index, tokens, i):
                guards.cautious = True


def _evidence(
    seen: Seen, closing: frozenset[str], guarded: frozenset[str], guards: _Guards
) -> tuple[frozenset[str], bool, frozenset[str]]:
    """``(evidence, messaging, partial)`` of :class:`~bot.intents.semantic.LexiconView` for
    the message the languages in ``seen`` read."""
    model, clauses = seen[0][0], seen[0][1]
    typed = [t for clause in clauses for t in clause.tokens]
    evidence = frozenset(
        intent
        for intent, _, _ in model.actions_said(typed, MAX_EVIDENCE_WORDS)
        if intent in guarded - closing
    )
    messaging = guards.business and any(
        m.index.messaging.anywhere(clause.tokens) for m, cs, _ in seen for clause in cs
    )
    scored = {  # "descadastra meu zap daí": the phrase explains a part
        intent
        for _, _, scores in seen
        for score in scores
        for intent, value in score.scores.items()
        if value >= PARTIAL_SCORE
    }
    routes = guarded - closing
    evidence |= scored & routes  # "i want to call off my order": its own phrase, in part
    if guards.vetoed_business:  # a stop about one of the intent's objects: "larga mão desse"
        evidence |= {
            intent
            for intent, objects in model.index.objects.items()
            if intent in routes and any(objects.anywhere(clause.tokens) for clause in clauses)
        }
    return evidence, messaging, frozenset(scored & closing)


def _past_verb(model: LanguageModel, clause: Clause, score: ClauseScore, intent: str) -> bool:
    """True when a word of one of ``intent``'s phrases in the clause is a past form ("ya
    anulé ese pedido la semana pasada", "I cancelled my order last week")."""
    index = model.index
    tokens = clause.tokens
    return any(
        index.past_form(
            tokens[i].orth, index.resolve(tokens[i]).lemma, tokens[i - 1].norm if i else None
        )
        for span in score.spans
        if span.entry.intent == intent
        for i in range(span.start, min(span.end, len(tokens)))
        if tokens[i].kind is TokenKind.WORD
    )


def _knows_a_word(model: LanguageModel, clauses: Sequence[Clause]) -> bool:
    """True when a word of the message is one of the language's own (a stop word, a word of
    the intent file): a name, an email address or a number alone tells the encoder nothing
    worth its time ("Juan Carlos", "ana@x.com", "+54 9 351")."""
    lexicon = model.lexicon
    return any(
        token.kind is TokenKind.WORD and token.norm.lower() in lexicon
        for clause in clauses
        for token in clause.tokens
    )


def request_opener(model: LanguageModel, clause: Clause, score: ClauseScore) -> tuple[int, bool]:
    """Where the clause's words start after a request opener of the language ("can you",
    "¿me lo", "você pode"; fillers aside, as the scorer reads it), and whether one is there.
    An opener before a past form is none: "me" before "llegó" is whom something reached
    ("ya me llegó el colchón, gracias" reports)."""
    index, tokens = model.index, clause.tokens
    start = opening(clause, score)  # "ok, can you ...": fillers aside, as the scorer
    opener = start + index.request_openers.starts_at(tokens, start)
    if start < opener < len(tokens):
        word = tokens[opener]
        if index.past_form(word.orth, index.resolve(word).lemma, tokens[opener - 1].norm):
            return start, False
    return opener, opener > start


def names_object(tried: Tried, intent: str, wanted: bool = False) -> bool:
    """True when a phrase of ``intent`` is followed, right after one of the language's
    ``determiners`` ("the", "my", "o", "el") or a pronoun read as an article (:func:`article`:
    "las", "os"), by a word no phrase explains and that is no stop word: "cancel my photo
    shoot", "cancela o recolhimento do tapete" name something to cancel with the business,
    which the lexicon does not know; "cancel the whole thing" and "cancel my registration"
    name the chat's own process (the intent's ``context``), and so does an object that
    :func:`~bot.intents.business.chat_process` finds ("cancel the transfer i was making",
    "cancela a transferência que eu tava fazendo"); one of the ``demonstratives`` points at
    it ("cancela essa parada"). ``wanted``: only a phrase with one of the file's
    ``wanting`` verbs names it ("ya no quiero el moño", "i don't want the blender anymore")."""
    model, clauses, scores = tried
    index = model.index
    for clause, score in zip(clauses, scores, strict=True):
        tokens = clause.tokens
        loose = {id(token) for token in uncovered_words(clause, score)}
        starts = {span.start for span in score.spans}
        for span in score.spans:
            if span.entry.intent != intent or span.entry.context or span.end in starts:
                continue  # its object is a phrase's: "cancela essa cotação", "cancel it all"
            if wanted and not _wants(index, tokens[span.start : span.end]):
                continue
            after = span.end + index.determiners.starts_at(tokens, span.end)
            if after == span.end and article(model, tokens, span.end):
                after += 1  # "cancela os salgados", not "ya no lo quiero"
            if (
                after > span.end
                and not index.demonstratives.starts_at(tokens, span.end)
                and after < len(tokens)
                and id(tokens[after]) in loose
                and tokens[after].norm not in index.stop_words
                and not chat_process(index, tokens, after, after + 1)
            ):
                return True
    return False


def _wants(index: PhraseIndex, tokens: Sequence[Token]) -> bool:
    """True when one of ``tokens`` is a ``wanting`` verb, by lemma ("quiero" → querer)."""
    return any(index.lemma_of(token.norm) in index.wanting_lemmas for token in tokens)


def article(model: LanguageModel, tokens: Sequence[Token], at: int) -> bool:
    """True when ``tokens[at]`` is one of the file's ``pronouns`` before a word the file
    does not use: right after a closing verb, es and pt object pronouns are the articles
    they are written like ("cancelá las chispas", "cancela os salgados"); before a word
    the file knows they stay pronouns ("ya no lo quiero")."""
    return (
        at + 1 < len(tokens)
        and tokens[at].norm in model.index.pronouns
        and tokens[at + 1].norm not in model.lexicon
    )


def about_business(tried: Tried) -> bool:
    """True when a guard vetoed an intent that is asked for (no farewell) for a business
    object ("cancel my booking"): a request about it, which a goodbye beside it does not
    end. A farewell vetoed so ("ya quedó la cita, nos vemos el martes": the appointment is
    set) requests nothing."""
    farewells = tried[0].farewells
    return any(
        reason in (BUSINESS_VETO, BUSINESS_ELSEWHERE_VETO) and intent not in farewells
        for score in tried[2]
        for intent, reason in score.vetoes.items()
    )
