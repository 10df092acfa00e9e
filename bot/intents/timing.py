"""When a closing phrase is meant: a deferral word puts it off, a past-time word reports it.

"I'll cancel tomorrow" and "cancelé el pedido ayer" ask for no close now; each reads one of
the language file's word lists (``deferrals``, ``past``) where the phrase's clause says it.
A time word is not always about the act, though: "el pedido que hice esta mañana" dates the
order, and "deixa pra outro dia" says what the work the chat is doing is left for (a close
now).
"""

from __future__ import annotations

from bot.intents.analyzer import Token
from bot.intents.index import PhraseIndex

DATED_WINDOW = 3
"""Words at most between an ``ordering`` word and the past-time word that dates the order
("the order I placed yesterday", "o pedido que eu fiz semana passada")."""


def deferral_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> bool:
    """True when a deferral word starts at ``tokens[i]`` and puts the act off.

    One of the file's ``time_nouns`` right after a determiner or an article ("el pedido que
    hice esta mañana" is this morning, not tomorrow; "a las 7 de la mañana"; "el otro día");
    any other deferral stays later after one ("i'll cancel this later", "by the end of the
    month"). Right after a postponement (:func:`postponed_at`) it is the day the chat's work
    is left for, and the work is set aside now.
    """
    if not index.deferrals.starts_at(tokens, i):
        return False
    return i == 0 or not (
        (article_at(index, tokens, i - 1) and index.time_nouns.starts_at(tokens, i))
        or postponed_at(index, tokens, i)
    )


def article_at(index: PhraseIndex, tokens: tuple[Token, ...], at: int) -> bool:
    """True when ``tokens[at]`` is a one-word determiner of the file, or one of its
    ``pronouns`` before a word that is no stop word: es and pt object pronouns are the
    articles they are written like ("a las 7 de la mañana", "frená la transferencia que
    estaba cargando", "os passeios")."""
    if index.determiners.starts_at(tokens, at) == 1:
        return True
    return (
        tokens[at].norm in index.pronouns
        and at + 1 < len(tokens)
        and tokens[at + 1].norm not in index.stop_words
    )


def postponed_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int) -> int:
    """Words of the deferral starting at ``tokens[i]`` right after one of the file's
    ``postponements`` ("leave it for", "dejémoslo para", "deixa pra"), 0 if none: "deixa pra
    outro dia", "let's leave it for later" set the chat's work aside now (a close), and the
    day says nothing more (:class:`~bot.intents.scoring.ClauseScorer` reads it as a filler)."""
    if i == 0 or not index.postponements.ends_at(tokens, i - 1):
        return 0
    return index.deferrals.starts_at(tokens, i)


def past_at(index: PhraseIndex, tokens: tuple[Token, ...], i: int, after: int = 0) -> bool:
    """True when a past-time word starts at ``tokens[i]`` and dates the act ("cancelé
    ayer"), not an object it follows: one of the file's ``ordering`` words at ``after`` or
    later and at most :data:`DATED_WINDOW` words before it places what is cancelled
    ("cancel the coffee beans i ordered yesterday", "el pedido que hice esta mañana"; the
    phrase ends at ``after``: in "eu pedi pra cancelar ontem" the asking is dated)."""
    if not index.past.starts_at(tokens, i):
        return False
    start = max(after, i - DATED_WINDOW)
    return not any(index.ordering.starts_at(tokens, j) for j in range(start, i))
