"""Whether a clause opens with a question (:func:`opens_question`): "do you...", "will you
send it" ask; "don't need anything else" and "will revert if any issue" say."""

from __future__ import annotations

from bot.intents.analyzer import Token, TokenKind
from bot.intents.index import PhraseIndex


def opens_question(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> bool:
    """True when one of the language's ``question_words`` starts at ``i`` and is not
    negated before a word other than a ``pronouns`` one: "do you..." and "don't you
    think..." ask; "don't need anything else", "doesn't matter" say (an imperative or a
    statement without its subject). One of the ``subject_questions`` asks only with a
    subject right after it (:func:`_subject_at`): "will you send it?" asks, "will do,
    thanks" and "will revert if any issue. bye" say what the user will do."""
    length = index.question_words.starts_at(tokens, i)
    if not length:
        return False
    negated = index.negations.starts_at(tokens, i + length)
    after = i + length + negated
    if negated:
        return after < len(tokens) and tokens[after].norm in index.pronouns
    if index.subject_questions.starts_at(tokens, i) == length and after < len(tokens):
        return _subject_at(index, tokens, after)
    return True


def _subject_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> bool:
    """True when a subject can start at ``i``: a ``pronouns`` or ``subjects`` word, a
    determiner, a number, or a word written with a capital (``Token.capital``: "will John
    be there")."""
    token = tokens[i]
    return (
        token.norm in index.pronouns
        or bool(index.subjects.starts_at(tokens, i))
        or bool(index.determiners.starts_at(tokens, i))
        or token.kind is TokenKind.NUMBER
        or token.capital
    )
