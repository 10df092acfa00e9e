"""Business objects in a clause: a thing the user has with the business, or the chat's own process.

"cancel my booking for friday" names a booking the user has: cancelling it is no close.
"i don't want to finish the booking", "não quero mais fazer a reserva" and "cancela la
inscripción que estábamos haciendo" name the booking the chat is making: one of the file's
``making`` verbs (that make, fill in or finish what the chat puts together), by lemma,
shortly before the object or in a relative clause right after it makes it the chat's own
process, and a cancel of it ends the chat. So does one of the file's ``processes`` nouns
(the process the chat puts the user through) right beside it: "stop the booking process",
"forget the booking form", "olvídate de la cotización del seguro", "esquece esse pedido de
orçamento".
A possessive right after a close names the user's own thing even when no list has it:
"cancel my 4pm sync with ravi", "cancela minha vaga na monitoria" (:func:`owned_at`). So
does a clause before the close that only names a thing: "the hearing test for my dad, cancel
it" (:func:`names_a_thing`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.intents.analyzer import Token, TokenKind
from bot.intents.index import PhraseIndex, Span
from bot.intents.timing import article_at

MAKING_WINDOW = 3
"""Words at most between a ``making`` verb and the object it makes ("fazer a reserva",
"seguir con la inscripción"); one more after the relative word that follows the object,
which has its subject in between ("a reserva que a gente tava fazendo")."""
PROCESS_AFTER = 2
"""Words at most from the end of an object to one of the file's ``processes`` nouns after
it that makes it the chat's own process ("the booking form", "o pedido de orçamento")."""
MODIFIERS = 2
"""Words at most between a determiner and a ``processes`` noun that name which process it is
("the booking form", "this credit application", "the grooming booking thing")."""
SENT_WORDS = 5
"""Words at most after an opt-out phrase's sending verb that say what is sent ("the daily
tips", "about the bloody festival", "essas propaganda no meu zap")."""
_GERUNDS = ("ndo", "ing")
"""Endings of a verb in progress: "que eu tava fazendo", "that we were filling in"."""


def business_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> bool:
    """True when a business object starts at ``tokens[i]`` and is no process the chat is
    making or putting the user through (see the module docstring)."""
    length = index.business_objects.starts_at(tokens, i)
    return bool(length) and not chat_process(index, tokens, i, i + length)


def owned_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> bool:
    """True when one of the ``possessives`` starts at ``tokens[i]`` and the word after it
    names a thing the user has with the business ("cancel my 4pm sync with ravi", "cancel
    my loan application", "cancela a minha marcação de sábado"): a word, not one of the
    ``own_words`` (what is the user's in the chat itself: "forget my question", "delete my
    number"), a ``processes`` noun (the chat's own process: "cancel my registration") or a
    ``messaging`` word. A vocative ("deixa pra lá, minha filha") is a filler, which the
    caller leaves out."""
    length = index.possessives.starts_at(tokens, i)
    after = i + length
    if not length or after >= len(tokens) or tokens[after].kind is TokenKind.EMOJI:
        return False
    return not (
        index.own_words.starts_at(tokens, after)
        or index.processes.starts_at(tokens, after)
        or index.messaging.starts_at(tokens, after)
    )


def object_after(
    index: PhraseIndex,
    tokens: tuple[Token, ...],
    end: int,
    near: Sequence[int],
    free: Sequence[int],
    fillers: set[int],
    farewell: bool,
) -> bool:
    """True when a closing phrase that ends at ``end`` is about a business object, so no
    close: one of the ``business_objects`` at a position of ``near`` (:func:`business_at`:
    "cancel my booking"), a ``partials`` word right after it (a part of what was asked for:
    "cancela só a batata"), or, for a close asked for (not a ``farewell``), the user's own
    thing right after it (:func:`owned_at`: "cancel my 4pm sync with ravi"), at a position
    of ``free`` that is no filler, the phrase ending with no ``sending`` verb (what "stop
    spamming my phone" stops is the sending). ``free``: positions outside the intent's own
    phrases; ``near``: those where an object makes the phrase about it."""
    if any(business_at(index, tokens, i) for i in near):
        return True
    if end not in free:
        return False
    if index.partial_at(tokens, end):
        return True
    return (
        not farewell
        and end not in fillers
        and not index.sending.ends_at(tokens, end - 1)
        and owned_at(index, tokens, end)
    )


def stopped_at(index: PhraseIndex, tokens: tuple[Token, ...], start: int) -> bool:
    """True when the phrase starting at ``tokens[start]`` is the user's own thing that a
    ``stopping`` verb right before its possessive stops: the trial of "cancel my free
    trial" is cancelled, not asked for."""
    for length in (1, 2):  # "my", "a minha"
        verb = start - length - 1
        if verb >= 0 and index.possessives.starts_at(tokens, verb + 1) == length:
            return index.lemma_of(tokens[verb].norm) in index.stopping_lemmas
    return False


def names_a_thing(index: PhraseIndex, tokens: tuple[Token, ...]) -> bool:
    """True when the clause ``tokens`` only names a thing the user has with the business:
    it opens with one of the ``possessives`` or ``articles`` and a word that is none of the
    ``own_words`` or ``processes`` ("my eye test at 11", "the lads' pitch for thursday", "a
    marcação no cabeleireiro"), and says nothing: no word of ``common_verbs``, no negation,
    subject or past form ("my wife says no", "o pastor mudou a data", "meu marido não
    deixou" are statements, and a cancel after them ends the chat)."""
    opener = index.possessives.starts_at(tokens, 0) or index.articles.starts_at(tokens, 0)
    if not opener or opener >= len(tokens):
        return False
    if index.own_words.starts_at(tokens, opener) or index.processes.starts_at(tokens, opener):
        return False
    return not any(
        index.common_verbs.starts_at(tokens, j)
        or index.negations.starts_at(tokens, j)
        # "el" is also an unaccented "él", "a gente" no article
        or index.subjects.starts_at(tokens, j) > index.articles.starts_at(tokens, j)
        or _past_verb(index, tokens, j)
        for j in range(len(tokens))
    )


def _past_verb(index: PhraseIndex, tokens: tuple[Token, ...], j: int) -> bool:
    """True when ``tokens[j]`` is a past form; after a determiner it is a noun instead
    ("el lavado de la moto", "o pedido de ontem")."""
    token = tokens[j]
    if j and index.determiners.ends_at(tokens, j - 1):
        return False
    return index.past_form(token.orth.lower(), index.lemma_of(token.norm), None)


def chat_process(index: PhraseIndex, tokens: tuple[Token, ...], i: int, end: int) -> bool:
    """True when the object ``tokens[i:end]`` is the chat's own process (see the module
    docstring): a ``processes`` noun beside it ("the booking form"), a ``making`` verb
    shortly before it ("finish the booking") or in the progressive in a relative clause
    right after it ("la inscripción que estábamos haciendo", "the transfer i was making")."""
    before = range(max(0, i - MAKING_WINDOW), i)
    processes = index.processes  # read whether or not the file has ``making`` verbs
    if any(processes.ends_at(tokens, j) for j in before) or any(
        processes.starts_at(tokens, j) for j in range(end, min(len(tokens), end + PROCESS_AFTER))
    ):
        return True  # "el trámite de la reserva", "the booking form", "o pedido de orçamento"
    if any(_makes(index, tokens, j) and _stop_words(index, tokens, j + 1, i) for j in before):
        return True  # "fazer a reserva", "seguir con la inscripción"; not "fiz a reserva ontem"
    # "la inscripción que estábamos haciendo"; not "la tarjeta que termina en 4432"
    return _made_at(index, tokens, end) is not None


def _stop_words(index: PhraseIndex, tokens: tuple[Token, ...], start: int, end: int) -> bool:
    """True when every word of ``tokens[start:end]`` is a stop word of the language: a
    ``making`` verb makes the object after it ("seguir con la inscripción", "fill in the
    form"), not one of another verb between ("seguir pagando la suscripción")."""
    return all(token.norm in index.stop_words for token in tokens[start:end])


def _made_at(index: PhraseIndex, tokens: tuple[Token, ...], end: int) -> int | None:
    """Where the relative clause opening at ``tokens[end]`` (one of the ``relatives``) has
    a ``making`` verb in the progressive, within :data:`MAKING_WINDOW` words after its
    subject ("que estábamos haciendo", "i was filing"; right after one of the file's
    ``progressives`` too: European Portuguese "que eu estava a fazer"), or ``None``."""
    if not index.relatives.starts_at(tokens, end):
        return None
    after = range(end + 1, min(len(tokens), end + 2 + MAKING_WINDOW))
    return next(
        (j for j in after if _in_progress(index, tokens, j) and _makes(index, tokens, j)), None
    )


def _in_progress(index: PhraseIndex, tokens: tuple[Token, ...], j: int) -> bool:
    """True when ``tokens[j]`` has a gerund's ending or follows one of the ``progressives``
    ("estava a", "estamos a": European Portuguese says the progressive with an infinitive)."""
    return tokens[j].norm.endswith(_GERUNDS) or (
        j > 0 and index.progressives.ends_at(tokens, j - 1)
    )


def _makes(index: PhraseIndex, tokens: tuple[Token, ...], j: int) -> bool:
    """True when ``tokens[j]`` is a form of a ``making`` verb, not a past one."""
    token = tokens[j]
    lemma = index.lemma_of(token.norm)
    if lemma not in index.making_lemmas or index.ordering.starts_at(tokens, j):
        return False  # a listed past form places the order: "fiz um pedido"
    return not index.past_form(token.orth, lemma, tokens[j - 1].norm if j else None)


def process_modifiers(index: PhraseIndex, tokens: tuple[Token, ...], covered: set[int]) -> set[int]:
    """Positions of the words that name which process a ``processes`` noun is, with the
    determiner before them: "booking" and "the" in "stop the booking form", where
    ``covered`` (positions a phrase or context explains) holds "form"; the noun too when a
    covered phrase ends right before the determiner ("the profile setup" in "stop the
    profile setup"). At most :data:`MODIFIERS` words, none of them covered, right after one
    of the ``determiners``."""
    found: set[int] = set()
    for j in range(len(tokens)):
        length = index.processes.starts_at(tokens, j)
        if not length:
            continue
        for d in range(j - 2, max(-1, j - MODIFIERS - 2), -1):
            between = range(d + 1, j)
            if any(k in covered or index.determiners.starts_at(tokens, k) for k in between):
                break
            if index.determiners.starts_at(tokens, d) != 1:
                continue
            if j in covered:
                found.update(range(d, j))
            elif d - 1 in covered:  # right after the phrase: "stop the profile setup"
                found.update(range(d, j + length))
            break
    return found


def relative_process(index: PhraseIndex, tokens: tuple[Token, ...], covered: set[int]) -> set[int]:
    """Positions of an object and of the relative clause that says the chat is making it,
    right after a covered phrase: "the claim i was filing" in "stop the claim i was filing
    now", "the transfer i am setting up" (a stop word right after the verb too: "up").
    From the determiner to one of the ``making`` verbs in the progressive, at most
    :data:`MODIFIERS` words of object and :data:`MAKING_WINDOW` after the relative word,
    none of them covered (``covered``: positions a phrase or context explains)."""
    found: set[int] = set()
    for d in range(1, len(tokens)):
        if d - 1 not in covered or d in covered or not article_at(index, tokens, d):
            continue
        relative = index.relatives.first_at(tokens, d + 2, d + MODIFIERS + 2)
        verb = None if relative is None else _made_at(index, tokens, relative)
        if verb is None or any(k in covered for k in range(d + 1, verb + 1)):
            continue
        found.update(range(d, verb + 1))
        after = verb + 1  # a particle: "setting up", "putting in"
        if after < len(tokens) and after not in covered and tokens[after].norm in index.stop_words:
            found.add(after)
    return found


def sent_object(
    index: PhraseIndex, tokens: tuple[Token, ...], spans: Sequence[Span], covered: set[int]
) -> set[int]:
    """Positions of what a stop of sending refuses: the words after a phrase of ``spans``
    (an opt-out's, or a cancel's that then opts out, see
    :func:`~bot.intents.messaging.messages_stopped`) that ends with one of the
    file's ``sending`` verbs, to the end of the clause, when they are at most
    :data:`SENT_WORDS` and none is covered (``covered``: positions a phrase or context
    explains): "the daily tips" in "stop sending me the daily tips", "los retos diarios" in
    "dejen de mandarme los retos diarios", "every day" in "stop msg me every day". Whatever a
    business sends is what the user refuses."""
    found: set[int] = set()
    for span in spans:
        # the verb ends the phrase, or its pronoun follows it ("stop sending" + "us")
        end = next(
            (
                e
                for e in (span.end, span.end - 1)
                if e < len(tokens) and index.sending.ends_at(tokens, e)
            ),
            None,
        )
        if end is None:
            continue
        rest = range(end + 1, len(tokens))
        if rest and len(rest) <= SENT_WORDS and not any(k in covered for k in rest):
            found.update(range(span.end, len(tokens)))
    return found
