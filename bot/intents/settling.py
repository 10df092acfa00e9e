"""What the whole message bears out once an intent is chosen (:func:`settle`).

A close the lexicon or the semantic layer found can still be undone by another clause of the
message: a wait ("un momento, ya vuelvo"), a correction ("no wait, stop, I meant size M"), a
go-ahead ("cancela só a batata, o resto pode mandar"); and a greeting that doubles as a
farewell says goodbye after thanks ("valeu parceiro, boa noite").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.coverage import Seen, Tried, opening, slot_answer, unexplained
from bot.intents.gating import about_business, request_opener
from bot.intents.keeping import kept
from bot.intents.leaving import later_said
from bot.intents.model import LanguageModel, fillers_only
from bot.intents.questions import opens_question
from bot.intents.result import CANCEL, GOODBYE, GREET, NONE_INTENT, OPT_OUT, IntentResult
from bot.intents.scoring import ClauseScore

THANKED_CONFIDENCE = 0.8
"""The confidence of the goodbye a report ending with thanks says (:func:`thanks_last`)."""
REPORT_WORDS = 2
"""Words at least that the lexicon does not explain before a last clause of thanks for the
message to report something ("the beans arrived, thank you", "heading out, thanks"); one is
an acknowledgement ("arretado, valeu", "nice, vlw"): thanks alone, no goodbye. Words of the
language's ``acknowledgements`` do not count: they acknowledge or appraise what the bot said
("sweet as, cheers", "joya joya, gracias", "entendido, gracias", "bué fixe, obrigada")."""


def waits(seen: Seen) -> bool:
    """True when a clause of the message, in a language tried, holds one of that language's
    ``waits`` ("un momento", "ya te contesto", "brb", "peraí que já volto"): the user is
    coming right back, so the message says no goodbye whatever else reads like one."""
    return any(
        model.index.waits.anywhere(clause.tokens)
        for model, clauses, _ in seen
        for clause in clauses
    )


def leaves_later(seen: Seen) -> bool:
    """True when a clause of the message, in a language tried, says the user takes the chat
    up again at a later time (:func:`~bot.intents.leaving.later_said`): "I'm driving, will
    reply later" leaves for longer than a wait."""
    return any(later_said(model.index, clause) for model, clauses, _ in seen for clause in clauses)


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
            after = request_opener(model, clause, score)[0]
            go_on = index.go_aheads.starts_at(tokens, start) or (
                after > start and index.go_aheads.starts_at(tokens, after)
            )
            if go_on and not index.negations.anywhere(tokens):
                return True
    return False


def redirects(seen: Seen) -> bool:
    """True when a clause without a negation or a close's phrase, in a language tried, holds
    one of that language's ``redirects`` (another way to reach the user: "by email",
    "llámenme", "me chama só aqui", "instead"): "chega de sms, manda o código por email" asks
    for other messages, not for none; in the opt-out's own clause the words say which
    messages stop ("stop the promos by email"), and "stop texting me, and don't call me
    either" is an opt-out."""
    return any(
        model.index.redirects.anywhere(clause.tokens)
        and not model.index.negations.anywhere(clause.tokens)
        and not any(span.entry.intent in _STOPS for span in score.spans)
        for model, clauses, scores in seen
        for clause, score in zip(clauses, scores, strict=True)
    )


_STOPS = frozenset({OPT_OUT, CANCEL, GOODBYE})
"""The intents whose phrase in a clause makes its ``redirects`` say which messages stop."""


MIN_QUESTION_WORDS = 3
"""Words (fillers aside) a later clause needs to ask something new: "blz?", "ok?", "right?"
after a cancel only ask for agreement ("esquece, dps eu vejo isso, blz?")."""


def asks_more(seen: Seen) -> bool:
    """True when, in a language tried, a clause after the one with a cancel's phrase is a
    question of at least :data:`MIN_QUESTION_WORDS` words besides fillers: the user drops
    one thing and asks about another ("forget it, do you have it in blue?", "para tudo,
    quanto custa o álbum?"), which is no end of the chat; not when the question holds a
    close's phrase itself ("cancel. can you just stop?") or is the cancel's own reason or
    object, cut off at a ``reasons`` word ("pode cancelar tudo isso que a gente fez?")."""
    for model, clauses, scores in seen:
        first = next((n for n, score in enumerate(scores) if CANCEL in score.scores), None)
        if first is None:
            continue
        for clause, score in zip(clauses[first + 1 :], scores[first + 1 :], strict=True):
            words = sum(
                token.kind is TokenKind.WORD and i not in score.filler_positions
                for i, token in enumerate(clause.tokens)
            )
            same_close = bool(score.matched & _STOPS)  # "cancel. can you just stop?"
            reason = model.index.reasons.starts_at(clause.tokens, 0)  # "...isso que a gente fez?"
            if clause.is_question and words >= MIN_QUESTION_WORDS and not same_close and not reason:
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


def thanks_last(tried: Tried) -> bool:
    """True when the message reports something and ends with thanks: several clauses, the
    last one thanks and fillers only, the earlier ones with at least :data:`REPORT_WORDS`
    words no phrase explains and no ``acknowledgements`` phrase holds (not a greeting:
    "buenas noches, gracias"; not an acknowledgement: "arretado, valeu", "sweet as, cheers"),
    no question, no request opener (:func:`~bot.intents.gating.request_opener`), no
    ``politeness`` word ("please") and no ``submissions`` phrase (the user's own step: "ya te
    mandé el pantallazo") in an earlier clause, no name or address ("the beans arrived and
    they smell incredible, thank you", "o livro chegou, amei o embrulho, obrigada"). In the
    labelled sets such a message closes (a goodbye, or a cancel or opt-out the lexicon finds)
    98 times in 100; "pode confirmar às 14h, obrigada" asks, and "ok, gracias" is thanks
    alone."""
    model, clauses, scores = tried
    if len(clauses) < 2 or any(clause.is_question for clause in clauses):
        return False
    if not (
        model.index.thanks.anywhere(clauses[-1].tokens) and fillers_only(clauses[-1], scores[-1])
    ):
        return False
    pairs = list(zip(clauses, scores, strict=True))
    if any(request_opener(model, clause, score)[1] for clause, score in pairs):
        return False  # "me mandás el link, gracias": thanks for doing that
    if any(instructs(model, clause, score) for clause, score in pairs[:-1]):
        return False  # "leave the parcel with security, thanks": thanks for doing that
    if any(model.index.politeness.anywhere(clause.tokens) for clause in clauses[:-1]):
        return False  # "please come after 10pm, thanks": thanks for doing that
    if any(model.index.submissions.anywhere(clause.tokens) for clause in clauses[:-1]):
        return False  # "ya te mandé el pantallazo, gracias": the process goes on
    told = unexplained(clauses[:-1], scores[:-1], besides=model.index.acknowledgements)
    return told >= REPORT_WORDS and not slot_answer(model, clauses)


def thanks_alone(tried: Tried) -> bool:
    """True when the message is thanks or an acknowledgement with thanks and nothing else:
    no phrase of any intent (vetoed ones included), no question, fewer than
    :data:`REPORT_WORDS` words no phrase explains, ``acknowledgements`` aside ("thanks!",
    "perfecto, gracias", "arretado, valeu", "sweet as, you're a legend, cheers"). No close:
    the user may go on (the labelled sets' rule since round 17); :func:`settle` marks it
    ``bare_thanks`` for the engine's "you're welcome"."""
    model, clauses, scores = tried
    if not clauses or any(clause.is_question for clause in clauses):
        return False
    if any(score.matched for score in scores):
        return False
    if not any(model.index.thanks.anywhere(clause.tokens) for clause in clauses):
        return False
    return unexplained(clauses, scores, besides=model.index.acknowledgements) < REPORT_WORDS


def instructed(seen: Seen) -> bool:
    """True when a clause of the message, in a language tried, opens with one of that
    language's ``instructions`` (:func:`instructs`)."""
    return any(
        instructs(model, clause, score)
        for model, clauses, scores in seen
        for clause, score in zip(clauses, scores, strict=True)
    )


FRONTED_WORDS = 2
"""Words at most after the determiner of a fronted object or time, before an instruction
("el paquete dejalo con el guardia", "el viernes entreguen temprano")."""
CONDITION_WORDS = 5
"""Words at most after a conditional opening the clause, before an instruction ("si no hay
nadie déjalo con la vecina", "if nobody's in leave it at the door")."""


def instructs(model: LanguageModel, clause: Clause, score: ClauseScore) -> bool:
    """True when the clause opens (fillers and a request opener aside) with one of the
    language's ``instructions``, with a determiner and at most :data:`FRONTED_WORDS` words
    before one, or with a conditional and at most :data:`CONDITION_WORDS` words before one:
    "dejala en la puerta del edificio", "leave the parcel with security", "el paquete dejalo
    con el guardia", "si no hay nadie déjalo con la vecina" tell the business what to do."""
    start = request_opener(model, clause, score)[0]
    tokens, index = clause.tokens, model.index
    after = start + index.determiners.starts_at(tokens, start)  # a fronted object
    candidates = (
        range(after + 1, min(after + 1 + FRONTED_WORDS, len(tokens))) if after > start else ()
    )
    if index.conditionals.starts_at(tokens, 0):  # "si" may read as the filler "sí"
        candidates = range(1, min(1 + CONDITION_WORDS, len(tokens)))
    return any(index.instructions.starts_at(tokens, i) for i in (start, *candidates))


_GREETED_REQUEST = "a request about a business object (about_business) after the greeting: none"


def settle(
    result: IntentResult, seen: Seen, expecting_free_text: bool
) -> tuple[IntentResult, str | None]:
    """``result`` as the whole message bears it out (:func:`_settled`), and why it changed
    (``None``: it did not); a ``none`` that asks nothing and is thanks alone
    (:func:`thanks_alone`) is marked ``bare_thanks``."""
    settled, why = _settled(result, seen, expecting_free_text)
    if settled.intent == NONE_INTENT and settled.confirm is None and seen and thanks_alone(seen[0]):
        return replace(settled, bare_thanks=True), why
    return settled, why


def _settled(
    result: IntentResult, seen: Seen, expecting_free_text: bool
) -> tuple[IntentResult, str | None]:
    """``result`` as the whole message bears it out, and why it changed (``None``: it did not):
    a goodbye or cancel beside a stop said negated is none (:func:`~bot.intents.keeping.kept`:
    "no frenes, está buenísimo", "não, não parem, está ótimo assim") unless the message
    leaves for later ("vou almoçar e depois continuo, não fecha não"), a goodbye beside a wait
    is none (:func:`waits`) unless the message leaves for later (:func:`leaves_later`: "im on
    the bus, will reply later"), a cancel beside a correction is none (:func:`corrects`), a
    cancel beside a go-ahead is asked about (:func:`goes_ahead`:
    "esquece, pode continuar"), a cancel the semantic layer heard beside a wait is asked about
    ("pera, falta coisa": no phrase of the lexicon says cancel), so is a cancel with a new
    question after it (:func:`asks_more`), an opt-out beside another way to reach the user is
    asked about (:func:`redirects`), a goodbye beside an instruction to the business is asked
    about (:func:`instructed`), a goodbye before a well-being question is a greeting
    (:func:`greets_after`: "good night, how are you?"), a greeting before a request about a
    business object is none (:func:`~bot.intents.gating.about_business`: "hi, I need to
    cancel my dentist appointment", which the help answers, not the welcome; ``ranked``
    keeps the greeting), a greeting that doubles as a farewell after thanks is a goodbye
    (:func:`farewell`)."""
    closes = {result.intent, result.confirm} & {CANCEL, GOODBYE}
    if closes and kept(seen) and not leaves_later(seen):  # "no frenes, está buenísimo"
        return result.without(CANCEL).without(GOODBYE), "a stop said negated (kept): no close"
    if (
        result.intent in (NONE_INTENT, GREET)
        and result.confirm in (None, GOODBYE)  # "deu certo a chave, muito obrigada"
        and not expecting_free_text
        and seen
        and thanks_last(seen[0])
        and not (waits(seen) or goes_ahead(seen) or corrects(seen, GOODBYE) or kept(seen))
    ):  # "the beans arrived and they smell incredible, thank you"
        said = ((GOODBYE, THANKED_CONFIDENCE),)
        thanked = replace(
            result, intent=GOODBYE, confidence=THANKED_CONFIDENCE, ranked=said, confirm=None
        )
        return thanked, "a report ending with thanks: goodbye"
    if result.intent == GOODBYE and seen and greets_after(seen[-1]):
        greeted = ((GREET, result.confidence),)  # "good night, how are you doing?"
        asked_after = "a well-being question after the farewell (greets_after): a greeting"
        return replace(result, intent=GREET, ranked=greeted, confirm=None), asked_after
    if result.intent == GOODBYE and instructed(seen):  # "dejala en la puerta, gracias"
        told = "an instruction to the business (instructions): the goodbye is asked about"
        return result.asking(GOODBYE), told
    if GOODBYE in (result.intent, result.confirm) and waits(seen) and not leaves_later(seen):
        return result.without(GOODBYE), "a wait (waits): no goodbye"  # "un momento, ya vuelvo"
    if result.intent == OPT_OUT and redirects(seen):  # "para de mandar sms, me chama aqui"
        redirected = "another way to reach the user (redirects): the opt-out is asked about"
        return result.asking(OPT_OUT), redirected
    if result.intent == CANCEL and not _phrased(seen, CANCEL) and waits(seen):
        heard = "a wait (waits) and no cancel phrase: the cancel is asked about"
        return result.asking(CANCEL), heard  # "pera, falta coisa"
    if CANCEL in (result.intent, result.confirm) and corrects(seen, CANCEL):
        return result.without(CANCEL), "a correction (corrections): no cancel"
    if result.intent == CANCEL and goes_ahead(seen):  # "cancela só a batata, o resto pode mandar"
        return result.asking(CANCEL), "a go-ahead (go_aheads): the cancel is asked about"
    if result.intent == CANCEL and asks_more(seen):  # "forget it, do you have it in blue?"
        return result.asking(CANCEL), "a question after it: the cancel is asked about"
    if result.intent == GREET and any(about_business(tried) for tried in seen):
        # "hi, i need to cancel my dentist appointment": a request the greeting opens
        return replace(result, intent=NONE_INTENT, confidence=0.0), _GREETED_REQUEST
    if result.intent == GREET and not expecting_free_text and seen and farewell(seen[-1]):
        said = ((GOODBYE, result.confidence),)  # "valeu parceiro, boa noite"
        farewell_after_thanks = "a farewell greeting after thanks (farewells): goodbye"
        return replace(result, intent=GOODBYE, ranked=said, confirm=None), farewell_after_thanks
    return result, None


def greets_after(tried: Tried) -> bool:
    """True when a well-being question (a clause with a greeting phrase that is a question
    or opens with a question word) follows the last clause with a goodbye phrase, in the
    language that found the intent: a word that says goodbye and hello ("ciao", "good
    night") opens the chat before one ("good night, how are you doing?", "ciao! how's it
    going"); no one asks how the business is after saying goodbye ("bye, hope you're well"
    still leaves)."""
    model, clauses, scores = tried
    said = [n for n, score in enumerate(scores) if GOODBYE in score.scores]
    return bool(said) and any(
        GREET in score.scores
        and (
            clause.is_question or opens_question(model.index, clause.tokens, opening(clause, score))
        )
        for clause, score in zip(clauses[said[-1] + 1 :], scores[said[-1] + 1 :], strict=True)
    )


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
