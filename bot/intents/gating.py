"""Where the semantic layer may be heard: what the lexicon's guards say about a message.

The encoder costs about 0.4 ms against the lexicon's 0.05 ms, so it runs only where its
answer may count (:func:`semantic_view`); the guards keep their veto where they are reliable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.business import business_at, chat_process
from bot.intents.guards import opens_filler
from bot.intents.model import LanguageModel, fillers_only
from bot.intents.questions import opens_question
from bot.intents.result import GREET, NONE_INTENT
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

Tried = tuple[LanguageModel, tuple[Clause, ...], list[ClauseScore]]
"""A language model the lexicon tried, with the message's clauses and their scores."""
Seen = list[Tried]
"""Each language model the lexicon tried, in order."""

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
                _only_corrected(score, intent) or (asks and reason.startswith(QUESTION_VETO))
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


def slot_answer(model: LanguageModel, clauses: Sequence[Clause]) -> bool:
    """True when a token is an email address or URL, or a word after the first is
    capitalized and not one of the language's own (a name: "soy Martín", "it's Jessica")."""
    lexicon = model.lexicon
    tokens = [token for clause in clauses for token in clause.tokens]
    return any(
        token.kind is TokenKind.OTHER
        or (n > 0 and token.capital and token.norm.lower() not in lexicon)
        for n, token in enumerate(tokens)
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
    "¿me lo", "você pode"; fillers aside, as the scorer reads it), and whether one is there."""
    start = opening(clause, score)  # "ok, can you ...": fillers aside, as the scorer
    opener = start + model.index.request_openers.starts_at(clause.tokens, start)
    return opener, opener > start


def _only_corrected(score: ClauseScore, intent: str) -> bool:
    """True when every phrase of ``intent`` the clause matched went through a corrected
    misspelling."""
    spans = [span for span in score.spans if span.entry.intent == intent]
    return bool(spans) and all(span.fuzzy for span in spans)


def tag_question(clause: Clause, score: ClauseScore) -> bool:
    """True when ``clause`` is a question of fillers only ("ok?", "¿sí?", "tá?", "right?"):
    after a statement it asks for assent, not about the statement ("nada de mandar mais
    promoção pra esse número, ok?" opts out)."""
    return (
        clause.is_question
        and any(token.kind is TokenKind.WORD for token in clause.tokens)
        and fillers_only(clause, score)
    )


def explained(clause: Clause, score: ClauseScore) -> bool:
    """True when the clause's phrases (fillers and anti-examples included) cover every word."""
    return not any(uncovered_words(clause, score))


def unexplained(clauses: Sequence[Clause], scores: Sequence[ClauseScore]) -> int:
    """How many words of ``clauses`` no phrase explains (fillers and anti-examples count as
    explaining; :func:`uncovered_words`)."""
    return sum(
        1
        for clause, score in zip(clauses, scores, strict=True)
        for _ in uncovered_words(clause, score)
    )


def uncovered_words(clause: Clause, score: ClauseScore) -> Iterator[Token]:
    """The clause's words that none of its phrases (fillers and anti-examples included)
    covers, in order."""
    covered = {i for span in score.spans for i in range(span.start, span.end)}
    return (
        token
        for i, token in enumerate(clause.tokens)
        if token.kind is TokenKind.WORD and i not in covered
    )


def says_more(tried: Tried) -> bool:
    """True when a word of the message that no phrase covers is neither a stop word nor a
    negation of the language: "cansei, vou embora" says more than its goodbye; "no, no,
    cancelá" and "pará, pará" do not."""
    model, clauses, scores = tried
    index = model.index
    return any(
        token.norm not in index.stop_words and not index.negations.starts_at((token,), 0)
        for clause, score in zip(clauses, scores, strict=True)
        for token in uncovered_words(clause, score)
    )


def onward(tried: Tried, intent: str | None, closing: frozenset[str]) -> list[Clause]:
    """The clauses after the first one with ``intent`` (``None``: after the first clause)
    that have no ``closing`` intent and words the lexicon's phrases do not explain, or an
    anti-example of the intent files: where thanks go on to something new ("appreciate it,
    now how do i reset my password", "obrigada pela ajuda, mas o boleto não chegou")
    rather than say goodbye. Empty when the message does not go on."""
    _, clauses, scores = tried
    found = intent is None
    result = []
    for position, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
        new = not explained(clause, score) or NONE_INTENT in score.matched  # an anti-example
        if found and position and new and not closing & score.scores.keys():
            result.append(clause)
        found = found or intent in score.scores
    return result


def closing_tail(tried: Tried, intent: str) -> str:
    """The words of the last clause with ``intent`` and of the fillers-only clauses after
    it, when clauses come before it: a close said at the end of a story ("el camión viene
    el jueves, ya les pasé la dirección. gracias y hasta el jueves"). Empty otherwise."""
    _, clauses, scores = tried
    found = [n for n, score in enumerate(scores) if intent in score.scores]
    if not found or found[-1] == 0:
        return ""
    last = found[-1]
    after = zip(clauses[last + 1 :], scores[last + 1 :], strict=True)
    if any(not explained(clause, score) or score.scores for clause, score in after):
        return ""
    return " ".join(token.orth for clause in clauses[last:] for token in clause.tokens)


def turns(model: LanguageModel, clauses: Sequence[Clause]) -> bool:
    """True when one of ``clauses`` (:func:`onward`'s) is a question, or opens with a
    contrast word of the language (``contrasts``: "but", "pero", "mas", "por cierto", "one
    more question"): "eso es todo, pero tengo otra consulta" and "good night team, are you
    open tomorrow?" turn to something new whatever the head says of them."""
    index = model.index
    return any(
        clause.is_question
        or index.contrasts.starts_at(clause.tokens, 0)
        or opens_question(index, clause.tokens, 0)
        for clause in clauses
    )


def opens_with_greeting(tried: Tried) -> bool:
    """True when the message's first words, fillers aside, are a greeting phrase, whether or
    not it reached its threshold ("holaa gracias por el seguimiento!!")."""
    _, clauses, scores = tried
    if not clauses:
        return False
    start = opening(clauses[0], scores[0])
    return any(span.start == start and span.entry.intent == GREET for span in scores[0].spans)


THANKED_FOR_WORDS = 5
"""Words the lexicon does not explain beside a goodbye that is only thanks, from which the
thanks are *for* something (a request, an instruction) rather than a goodbye: "cheers, that's
me done" (4: "that is me done") closes, "pop it through the letterbox if it fits, cheers" (7)
does not."""


def thanks_only(tried: Tried, intent: str) -> bool:
    """True when every phrase of ``intent`` in the message is a word of thanks of the
    language (``thanks``: "cheers", "thanks", "valeu"), and at least
    :data:`THANKED_FOR_WORDS` words are ones the lexicon does not explain: thanks *for*
    something ("my shift ends at 10pm so please come after that, cheers"), not a goodbye."""
    model, clauses, scores = tried
    thanks = model.index.thanks
    spans = [
        (clause, span)
        for clause, score in zip(clauses, scores, strict=True)
        for span in score.spans
        if span.entry.intent == intent
    ]
    return (
        bool(spans)
        and all(thanks.starts_at(c.tokens, s.start) >= s.end - s.start for c, s in spans)
        and unexplained(clauses, scores) >= THANKED_FOR_WORDS
    )


def names_object(tried: Tried, intent: str) -> bool:
    """True when a phrase of ``intent`` is followed, right after one of the language's
    ``determiners`` ("the", "my", "o", "el") or a pronoun read as an article (:func:`article`:
    "las", "os"), by a word no phrase explains and that is no stop word: "cancel my photo
    shoot", "cancela o recolhimento do tapete" name something to cancel with the business,
    which the lexicon does not know; "cancel the whole thing" and "cancel my registration"
    name the chat's own process (the intent's ``context``), and so does an object that
    :func:`~bot.intents.business.chat_process` finds ("cancel the transfer i was making",
    "cancela a transferência que eu tava fazendo"); one of the ``demonstratives`` points at
    it ("cancela essa parada")."""
    model, clauses, scores = tried
    index = model.index
    for clause, score in zip(clauses, scores, strict=True):
        tokens = clause.tokens
        loose = {id(token) for token in uncovered_words(clause, score)}
        starts = {span.start for span in score.spans}
        for span in score.spans:
            if span.entry.intent != intent or span.entry.context or span.end in starts:
                continue  # its object is a phrase's: "cancela essa cotação", "cancel it all"
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


def opening(clause: Clause, score: ClauseScore) -> int:
    """The position of the clause's first word that no leading filler covers ("ok, yes,
    go ahead" → 3)."""
    fillers = score.filler_positions
    start = 0
    while start in fillers:
        start += 1
    return start


def only_names_besides(seen: Seen) -> bool:
    """True when every word the lexicon's phrases leave unexplained (in the language that
    found the intent, the last one tried) is capitalized and not one of the language's own:
    a close said to someone by name ("bye Peter", "chau Martín") is all closing words."""
    model, clauses, scores = seen[-1]
    return all(
        token.capital and token.norm.lower() not in model.lexicon
        for clause, score in zip(clauses, scores, strict=True)
        for token in uncovered_words(clause, score)
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


def typos_only(clause_scores: Sequence[ClauseScore], intent: str) -> bool:
    """True when every phrase of ``intent`` found in the clauses is a corrected misspelling
    (``Span.fuzzy``)."""
    spans = [span for score in clause_scores for span in score.spans if span.entry.intent == intent]
    return bool(spans) and all(span.fuzzy for span in spans)
