"""Closing words that are part of a person's or a place's name ("me llamo Chao", "Chau
Street", "Chao Wang"): the scorer vetoes them (:func:`name_reason`)."""

from __future__ import annotations

from bot.intents.analyzer import Token, TokenKind
from bot.intents.index import PhraseIndex, Resolved, Span

NAME_VETO = "a name here (capitalized in mid-sentence)"
"""The veto of a closing phrase capitalized in mid-sentence."""
NAME_PAIR_VETO = "a name here (beside another capitalized name)"
"""The veto of a closing word that is also a name, before a capitalized unknown word."""


def name_reason(
    index: PhraseIndex,
    span: Span,
    resolved: list[Resolved],
    tokens: tuple[Token, ...],
    fillers: set[int],
) -> str | None:
    """Why ``span`` (a closing phrase) is part of a name, or ``None``.

    A closing phrase whose first word is capitalized in mid-sentence is part of a name ("me
    llamo Chao", "vivo en Chau Street"); after a filler it is not ("Gracias Chau"), nor is a
    capital further in ("fica com Deus"). A closing word that is also a name (the file's
    ``names``: "Chao", "Chau") is one at the start too when a capitalized word the file does
    not know follows it ("Chao Wang", "Chau Ming Li"), but not before a known word ("Chau
    Gracias", "Chao Amigo")."""
    before = span.start - 1
    if before >= 0 and before not in fillers and tokens[span.start].capital:
        return NAME_VETO  # its first word: "fica com Deus" says goodbye
    after = span.end
    if (
        after < len(tokens)
        and span.end - span.start == 1
        and tokens[span.start].capital
        and tokens[after].capital
        and resolved[after].how == "unknown"
        and tokens[after].kind is TokenKind.WORD
        and index.names.starts_at(tokens, span.start) == 1
    ):
        return NAME_PAIR_VETO
    return None
