"""What a message's phrases explain, and what the words they leave tell.

The lexicon scores each clause with the phrases it matched (:class:`~bot.intents.scoring.
ClauseScore`); here are the readings of those matches that the layers above share: the words
no phrase covers (:func:`uncovered_words`), whether the message goes on after a close
(:func:`onward`, :func:`turns`), says more than it (:func:`says_more`) or only thanks
(:func:`thanks_only`), and where a clause's words start after its fillers (:func:`opening`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet

from bot.intents.analyzer import Clause, Token, TokenKind
from bot.intents.guards import GuardWords
from bot.intents.model import LanguageModel, fillers_only
from bot.intents.questions import opens_question
from bot.intents.result import GREET, NONE_INTENT
from bot.intents.scoring import ClauseScore

Tried = tuple[LanguageModel, tuple[Clause, ...], list[ClauseScore]]
"""A language model the lexicon tried, with the message's clauses and their scores."""
Seen = list[Tried]
"""Each language model the lexicon tried, in order."""


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


def unexplained(
    clauses: Sequence[Clause], scores: Sequence[ClauseScore], besides: GuardWords | None = None
) -> int:
    """How many words of ``clauses`` no phrase explains (fillers and anti-examples count as
    explaining; :func:`uncovered_words`), words inside a phrase of ``besides`` (a word list,
    such as the ``acknowledgements``) aside."""
    return sum(
        1
        for clause, score in zip(clauses, scores, strict=True)
        for _ in uncovered_words(
            clause, score, besides.positions(clause.tokens) if besides is not None else frozenset()
        )
    )


def uncovered_words(
    clause: Clause, score: ClauseScore, aside: AbstractSet[int] = frozenset()
) -> Iterator[Token]:
    """The clause's words that none of its phrases (fillers and anti-examples included)
    covers, in order, the positions ``aside`` left out."""
    covered = {i for span in score.spans for i in range(span.start, span.end)} | aside
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


def typos_only(clause_scores: Sequence[ClauseScore], intent: str) -> bool:
    """True when every phrase of ``intent`` found in the clauses is a corrected misspelling
    (``Span.fuzzy``)."""
    spans = [span for score in clause_scores for span in score.spans if span.entry.intent == intent]
    return bool(spans) and all(span.fuzzy for span in spans)
