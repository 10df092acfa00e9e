"""The semantic layer's second opinion on a close the lexicon found (:func:`reconsider`).

The lexicon's closing phrases are precise, but the words around them can change what the
message does: it goes on to a question ("eso es todo, pero tengo otra consulta"; after a
cancel the lexicon is not sure of, "olvidate de la lija gruesa, ¿tenés fina?"), thanks for
a request ("could you cancel my lesson this arvo, cheers"), names something to cancel with
the business ("cancel my photo shoot"), or says another close ("cansei, vou embora"). Here
the head's answer for the whole message (and for the clause that closes it, after a story)
settles each of those, or the close is asked about instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.intents.analyzer import Clause
from bot.intents.coverage import (
    Seen,
    closing_tail,
    only_names_besides,
    onward,
    says_more,
    thanks_only,
    turns,
)
from bot.intents.gating import about_business, names_object
from bot.intents.result import CANCEL, GOODBYE, IntentResult
from bot.intents.semantic import Fusion, Guess, asked, doubt, routed, switched, thanked

SECOND_OPINION = frozenset({GOODBYE})
"""Closes the head is asked about, however sure the lexicon, when the message goes on
after them (:func:`~bot.intents.coverage.onward`)."""


def reconsider(
    lexical: IntentResult,
    seen: Seen,
    guess: Callable[[str], Guess],
    fusion: Fusion,
    closing: frozenset[str],
    routes: frozenset[str],
    text: str,
) -> IntentResult:
    """``lexical`` (a close, ``lexical.intent`` in ``closing``) as the head bears it out.

    Args:
        lexical: The lexicon's result for ``text``.
        seen: The languages tried, the one that found the close last.
        guess: The head's answer for a text (cached by the caller).
        fusion: The confidences at which the head is heard.
        closing: The intents that close the session.
        routes: Guarded intents that do not close (an order cancel): a head sure of one
            routes the message there.
        text: The message.

    Returns:
        The close, the head's other close, a route, or the close asked about (``confirm``).
    """
    tried = seen[-1]  # the language that found the close
    unsure_cancel = lexical.intent == CANCEL and lexical.confidence < fusion.sure
    after: list[Clause] = []
    if lexical.intent in SECOND_OPINION or unsure_cancel:
        after = onward(tried, lexical.intent, closing)
    if turns(tried[0], after):
        # "eso es todo, pero tengo otra consulta", "olvidate de la lija gruesa, ¿tenés
        # fina?": the message turns to a question; asked about, never acted on
        return asked(lexical, lexical.intent)
    more = after if lexical.intent in SECOND_OPINION else []  # what a goodbye goes on to
    if lexical.intent == GOODBYE and about_business(tried):
        # "could you cancel my lesson this arvo, cheers": thanks for a request
        return asked(lexical, GOODBYE)
    if lexical.intent == GOODBYE and thanks_only(tried, GOODBYE):
        return thanked(lexical, guess(text), fusion)
    if unsure_object(lexical, seen, fusion):
        # "cancel my photo shoot": something to cancel with the business, which the
        # lexicon does not know: asked about, unless the head is sure of a route
        return routed(lexical, guess(text), fusion, routes) or asked(lexical, CANCEL)
    if not more and (lexical.confidence >= fusion.sure or only_names_besides(seen)):
        if not says_more(tried):
            return lexical  # all closing words ("bye", "no, no, cancelá"), a name
        # "cansei, vou embora": which close, the head may know better
        return switched(lexical, guess(text), fusion)
    whole, told = guess(text), partial(guess, closing_tail(tried, lexical.intent))
    return doubt(lexical, whole, fusion, routes, closing, told)


def unsure_object(lexical: IntentResult, seen: Seen, fusion: Fusion) -> bool:
    """True when the lexicon's cancel, below ``fusion.sure``, is followed by a business
    object it does not know (:func:`~bot.intents.gating.names_object`): without a head to
    ask, "cancel my photo shoot" is asked about; :func:`reconsider` asks the same unless
    the head is sure of a route. "stop the sign-up" (sure: a phrase names the chat's
    process) still closes. A sure cancel too where a wanting verb names the object ("ya no
    quiero el moño, cancélalo porfa": a thing ordered, whatever else says cancel)."""
    if lexical.intent != CANCEL:
        return False
    if lexical.confidence < fusion.sure:
        return names_object(seen[-1], CANCEL)
    return names_object(seen[-1], CANCEL, wanted=True)
