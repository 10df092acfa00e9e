"""Where the semantic layer may be heard: what the lexicon's guards say about a message.

The encoder costs about 0.4 ms against the lexicon's 0.05 ms, so it runs only where its
answer may count (:func:`semantic_view`); the guards keep their veto where they are reliable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.guards import opens_filler
from bot.intents.model import LanguageModel
from bot.intents.result import CANCEL, GOODBYE, GREET, NONE_INTENT, IntentResult
from bot.intents.scoring import (
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
    - the lexicon's fillers and anti-examples explain every word ("ok", "dale, perfecto"),
      no phrase of an intent scored below its threshold (those it acted on, ``acted``,
      aside: "hola, qué tal") and no thanks are among them (the head tells "got it, thanks",
      a goodbye, from a bare "gracias");
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
    question = business = blocked = cautious = past = request = vetoed_business = False
    # the message's own language tells a request: "¿me haces el favor de parar esto?" is no
    # question in Portuguese, which has no "haces" among its request openers
    asks = any(_opener(seen[0][0], c, s)[1] for c, s in zip(seen[0][1], seen[0][2], strict=True))
    for tried, (model, clauses, clause_scores) in enumerate(seen):
        # all explained: fillers, anti-examples ("ok"), not a phrase the lexicon scored below
        # its threshold ("ativa o teste pra mim": the head may agree) nor thanks
        thanked = any(model.index.thanks.anywhere(c.tokens) for c in clauses)
        if not thanked and all(
            explained(c, s) and not s.scores.keys() - acted
            for c, s in zip(clauses, clause_scores, strict=True)
        ):
            return None
        for clause, score in zip(clauses, clause_scores, strict=True):
            for intent, reason in score.vetoes.items():
                if tried and (
                    _only_corrected(score, intent) or (asks and reason.startswith(QUESTION_VETO))
                ):
                    continue  # another language's misspelling ("free" read as es "frene")
                if reason in (BUSINESS_VETO, BUSINESS_ELSEWHERE_VETO):
                    business = vetoed_business = True
                elif reason in (NOUN_VETO, MENTION_VETO, MENTIONED_ELSEWHERE_VETO):
                    continue  # "all sorted on my end, thanks", "I've sent STOP twice"
                elif reason.startswith(PAST_VETO) and not _past_verb(model, clause, score, intent):
                    past = True  # a past-time word: "the order I placed yesterday, cancel it"
                else:
                    return None  # incl. the intent's own verb in the past: "ya anulé ese pedido"
        index = model.index
        for n, (clause, score) in enumerate(zip(clauses, clause_scores, strict=True)):
            tokens = clause.tokens
            opener, requested = _opener(model, clause, score)
            if requested:
                request = True  # "can you call it off please", "¿me lo anulás?"
            elif clause.is_question and not (n and tag_question(clause, score)):
                question = question or not (tried and asks)
            for i in range(len(tokens)):
                if index.business_objects.starts_at(tokens, i):
                    business = True
                if (
                    index.conditionals.starts_at(tokens, i)
                    and i >= opener
                    and not opens_filler(score.filler_positions, i)
                ):
                    blocked = True  # not "would you mind if we stopped here", "if that's ok"
                elif index.past.starts_at(tokens, i):
                    past = True  # "we stopped using it last year": a report, never a close
                elif index.negations.starts_at(tokens, i) or index.deferrals.starts_at(tokens, i):
                    cautious = True
    words = sum(len(clause.tokens) for clause in seen[0][1])
    if words < MIN_WORDS or ((cautious or past) and words < MIN_CAUTIOUS_WORDS):
        return None
    if words <= MAX_SLOT_WORDS and _slot_answer(seen[0][0], seen[0][1]):
        return None
    if business and not vetoed_business and words < MIN_CAUTIOUS_WORDS:
        return None  # a business object named alone ("pedido", "my order") is no request
    model, clauses = seen[0][0], seen[0][1]
    typed = [t for clause in clauses for t in clause.tokens]
    evidence = frozenset(
        intent
        for intent, _, _ in model.actions_said(typed, MAX_EVIDENCE_WORDS)
        if intent in guarded - closing
    )
    messaging = business and any(
        m.index.messaging.anywhere(clause.tokens) for m, cs, _ in seen for clause in cs
    )
    scored = {  # "descadastra meu zap daí": the phrase explains a part
        intent
        for _, _, scores in seen
        for score in scores
        for intent, value in score.scores.items()
        if value >= PARTIAL_SCORE
    }
    partial = frozenset(scored & closing)
    routes = guarded - closing
    evidence |= scored & routes  # "i want to call off my order": its own phrase, in part
    if vetoed_business:  # a stop about one of the intent's objects: "larga mão desse pedido"
        evidence |= {
            intent
            for intent, objects in model.index.objects.items()
            if intent in routes and any(objects.anywhere(clause.tokens) for clause in clauses)
        }
    return LexiconView(
        closing,
        guarded,
        blocked,
        question,
        business,
        cautious,
        past,
        request,
        evidence,
        messaging,
        partial,
    )


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


def _slot_answer(model: LanguageModel, clauses: Sequence[Clause]) -> bool:
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


def _opener(model: LanguageModel, clause: Clause, score: ClauseScore) -> tuple[int, bool]:
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
    fillers = score.filler_positions
    words = [i for i, token in enumerate(clause.tokens) if token.kind is TokenKind.WORD]
    return clause.is_question and bool(words) and all(i in fillers for i in words)


def explained(clause: Clause, score: ClauseScore) -> bool:
    """True when the clause's phrases (fillers and anti-examples included) cover every word."""
    return not any(uncovered_words(clause, score))


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
        or index.question_words.starts_at(clause.tokens, 0)
        for clause in clauses
    )


def waits(seen: Seen) -> bool:
    """True when a clause of the message, in a language tried, holds one of that language's
    ``waits`` ("un momento", "ya te contesto", "brb", "peraí que já volto"): the user is
    coming right back, so the message says no goodbye whatever else reads like one."""
    return any(
        model.index.waits.anywhere(clause.tokens)
        for model, clauses, _ in seen
        for clause in clauses
    )


def goes_ahead(seen: Seen) -> bool:
    """True when a clause without a negation, in a language tried, opens (fillers and a
    request opener aside) with one of that language's ``go_aheads`` ("go ahead", "dale,
    seguí", "isso mesmo, pode mandar", "¿podemos seguir?"): the user tells the bot to go
    on, which the semantic layer must not read as a close. "i don't want to continue" and
    "unable to continue" are no go-aheads, nor is a close's own phrase that opens with one
    ("bora parar?")."""
    for model, clauses, scores in seen:
        index = model.index
        for clause, score in zip(clauses, scores, strict=True):
            tokens = clause.tokens
            start = opening(clause, score)
            closes = (s for s in score.spans if s.entry.intent in model.closing)
            if any(s.start <= start < s.end for s in closes):
                continue  # the word opens a close's own phrase: "bora parar?"
            # or right after a request opener: "¿podemos seguir?", "can we keep going?"
            after = _opener(model, clause, score)[0]
            go_on = index.go_aheads.starts_at(tokens, start) or (
                after > start and index.go_aheads.starts_at(tokens, after)
            )
            if go_on and not index.negations.anywhere(tokens):
                return True
    return False


def farewell(tried: Tried) -> bool:
    """True when a greeting that doubles as a farewell ("buenas noches", "boa tarde") comes
    after thanks, in the thanks' clause or the next one, with no greeting before the thanks:
    "valeu parceiro, boa noite" and "obrigado pela informação boa tarde" say goodbye;
    "boa noite, tudo bem?" and "obrigado, preciso de ajuda, boa noite" do not."""
    model, clauses, scores = tried
    index = model.index
    thanked: int | None = None  # the clause of the first thanks
    for n, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
        tokens = clause.tokens
        for i in range(len(tokens)):
            if index.farewells.starts_at(tokens, i):
                return thanked is not None and n - thanked <= 1
            if thanked is None and index.thanks.starts_at(tokens, i):
                thanked = n
            elif thanked is None and any(
                span.start == i and span.entry.intent == GREET for span in score.spans
            ):
                return False  # "oi, obrigado, boa noite": a greeting first
    return False


def settle(
    result: IntentResult, seen: Seen, expecting_free_text: bool
) -> tuple[IntentResult, str | None]:
    """``result`` as the whole message bears it out, and why it changed (``None``: it did
    not): a goodbye beside a wait is none (:func:`waits`), a cancel beside a correction is
    none (:func:`corrects`), a cancel beside a go-ahead is asked about (:func:`goes_ahead`:
    "esquece, pode continuar"), a cancel the semantic layer heard beside a wait is asked
    about ("pera, falta coisa": no phrase of the lexicon says cancel), a greeting that
    doubles as a farewell after thanks is a goodbye (:func:`farewell`)."""
    if GOODBYE in (result.intent, result.confirm) and waits(seen):
        return result.without(GOODBYE), "a wait (waits): no goodbye"  # "un momento, ya vuelvo"
    if result.intent == CANCEL and not _phrased(seen, CANCEL) and waits(seen):
        asked = replace(result.without(CANCEL), confirm=CANCEL)  # "pera, falta coisa"
        return asked, "a wait (waits) and no cancel phrase: the cancel is asked about"
    if CANCEL in (result.intent, result.confirm) and corrects(seen, CANCEL):
        return result.without(CANCEL), "a correction (corrections): no cancel"
    if result.intent == CANCEL and goes_ahead(seen):  # "cancela só a batata, o resto pode mandar"
        asked = replace(result.without(CANCEL), confirm=CANCEL)
        return asked, "a go-ahead (go_aheads): the cancel is asked about"
    if result.intent == GREET and not expecting_free_text and seen and farewell(seen[-1]):
        said = ((GOODBYE, result.confidence),)  # "valeu parceiro, boa noite"
        farewell_after_thanks = "a farewell greeting after thanks (farewells): goodbye"
        return replace(result, intent=GOODBYE, ranked=said, confirm=None), farewell_after_thanks
    return result, None


def _phrased(seen: Seen, intent: str) -> bool:
    """True when a phrase of ``intent`` is in the message, in a language tried (vetoed or
    not)."""
    return any(intent in score.matched for _, _, scores in seen for score in scores)


def corrects(seen: Seen, intent: str) -> bool:
    """True when a clause without a phrase of ``intent``, in a language tried, opens (fillers
    aside) with one of that language's ``corrections`` ("i meant", "quise decir", "me
    equivoqué"), or when the message sets a number against another (:func:`_number_not_number`):
    "no wait, stop, I meant size M" and "stop, the zip is 10012 not 10021" stop to correct
    an answer, not the chat."""
    for model, clauses, scores in seen:
        for clause, score in zip(clauses, scores, strict=True):
            if any(span.entry.intent == intent for span in score.spans):
                continue
            start = opening(clause, score)
            if model.index.corrections.starts_at(clause.tokens, start):
                return True
        if _number_not_number(model, clauses):
            return True
    return False


NUMBER_GAP = 2
"""Words at most between a number and the negation that sets another against it ("42 not
24", "11300, no 11200", "é 42 e não 44")."""


def _number_not_number(model: LanguageModel, clauses: Sequence[Clause]) -> bool:
    """True when a number is followed (clause boundaries aside, at most :data:`NUMBER_GAP`
    words between) by a negation and right after it (a determiner aside) another number: a
    corrected value ("it's the 12th not the 21st")."""
    tokens = tuple(token for clause in clauses for token in clause.tokens)
    negations, determiners = model.index.negations, model.index.determiners
    for i, token in enumerate(tokens):
        if not _numeric(token):
            continue
        for j in range(i + 1, min(i + 2 + NUMBER_GAP, len(tokens))):
            length = negations.starts_at(tokens, j)
            after = j + length
            if length and after < len(tokens):
                after += determiners.starts_at(tokens, after)  # "the 12th, not the 21st"
                if after < len(tokens) and _numeric(tokens[after]):
                    return True
    return False


def _numeric(token: Token) -> bool:
    """A number, or an ordinal written with digits ("21st", "2º" read as "2o")."""
    return token.kind is TokenKind.NUMBER or (
        token.norm[:1].isdigit() and token.norm.rstrip("abcdefghijklmnopqrstuvwxyz").isdigit()
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
        and sum(1 for c, s in zip(clauses, scores, strict=True) for _ in uncovered_words(c, s))
        >= THANKED_FOR_WORDS
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
