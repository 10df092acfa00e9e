"""The classifier's work per message, bounded by design: a head and a tail of the text.

Chat messages that mean something short ("cancelar", "gracias, chau", a 30-word voice note)
are read whole. A longer text (a pasted document, 1 MB of punctuation) is read as its first
``HEAD_PIECES`` whitespace-separated pieces within ``HEAD_CHARS`` characters and its last
``TAIL_PIECES`` within ``TAIL_CHARS``, joined by a line break, so no clause spans the cut:
the greeting at the start and the goodbye at the end still count, and every later step
(normalization, language identification, tokenization, scoring) sees at most about 600
characters and 30 pieces, whatever was sent.

Only slicing and scans of at most ``HEAD_CHARS + TAIL_CHARS`` characters touch the text, so
building the view costs the same for 1 MB as for 1 kB. A cut never splits a word when a
whitespace is near, nor a grapheme (a letter and its combining marks, an emoji and its
modifiers) when there is none.

:func:`bound_sequence` applies the same head-and-tail rule to the tokens and words derived
from the view (a piece like ``a-b-c-d`` makes several words).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TypeVar

HEAD_CHARS = 400
"""Characters of the text's start that are read (at most)."""
TAIL_CHARS = 200
"""Characters of the text's end that are read (at most)."""
HEAD_PIECES = 20
"""Whitespace-separated pieces of the text's start that are read (at most)."""
TAIL_PIECES = 10
"""Whitespace-separated pieces of the text's end that are read (at most)."""
HEAD_ITEMS = 20
"""Tokens (or words) of the start kept by :func:`bound_sequence`."""
TAIL_ITEMS = 10
"""Tokens (or words) of the end kept by :func:`bound_sequence`."""
SEPARATOR = "\n"
"""Joins the head and the tail: a line break ends a clause."""
VIEW_CHARS = HEAD_CHARS + len(SEPARATOR) + TAIL_CHARS
"""The longest text read whole, and the longest view."""

_PIECE_RE = re.compile(r"\S+")
# Characters that belong to the grapheme before them: a cut must not start with one.
_EXTENDERS = frozenset("\u200c\u200d\u20e3") | frozenset(
    chr(c) for c in (*range(0xFE00, 0xFE10), *range(0x1F3FB, 0x1F400), *range(0xE0020, 0xE0080))
)
_MAX_CLUSTER = 32
"""Longest grapheme a cut steps over; past it (a pile of combining marks) any cut will do."""

_T = TypeVar("_T")


def bounded_view(text: str) -> str:
    """``text`` itself when it is short, else its head and tail joined by a line break.

    Args:
        text: Any text, any length (the webhook's body limit is 1 MiB).

    Returns:
        ``text`` unchanged when it has at most ``VIEW_CHARS`` characters and
        ``HEAD_PIECES + TAIL_PIECES`` pieces; otherwise at most as many (so a view is its own
        view).
    """
    if len(text) <= VIEW_CHARS and len(text.split()) <= HEAD_PIECES + TAIL_PIECES:
        return text
    head_end = _head_end(text, HEAD_CHARS, HEAD_PIECES)
    tail_start = _tail_start(text, TAIL_CHARS, TAIL_PIECES)
    if tail_start < head_end:  # only when the text is short: then the pieces tell
        tail_start = head_end
    return text[:head_end] + SEPARATOR + text[tail_start:]


def bound_sequence(items: Sequence[_T]) -> list[_T]:
    """The first ``HEAD_ITEMS`` and last ``TAIL_ITEMS`` of ``items`` (all of them if fewer)."""
    if len(items) <= HEAD_ITEMS + TAIL_ITEMS:
        return list(items)
    return [*items[:HEAD_ITEMS], *items[len(items) - TAIL_ITEMS :]]


def _head_end(text: str, max_chars: int, max_pieces: int) -> int:
    """Where the head ends: after its last whole piece, or inside a first piece too long."""
    window_end = min(len(text), max_chars)
    cut_inside = window_end < len(text) and not text[window_end].isspace()
    end = 0
    for count, match in enumerate(_PIECE_RE.finditer(text, 0, window_end)):
        if count == max_pieces:
            break
        if cut_inside and match.end() == window_end:  # this piece goes on past the window
            if count == 0:
                end = _grapheme_floor(text, window_end)
            break
        end = match.end()
    return end


def _tail_start(text: str, max_chars: int, max_pieces: int) -> int:
    """Where the tail starts: at its first whole piece, or inside a last piece too long."""
    window_start = max(0, len(text) - max_chars)
    cut_inside = window_start > 0 and not text[window_start - 1].isspace()
    starts = [m.start() for m in _PIECE_RE.finditer(text, window_start)]
    if not starts:
        return len(text)
    if cut_inside and starts[0] == window_start:  # this piece began before the window
        if len(starts) == 1:
            return _grapheme_ceil(text, window_start)
        starts = starts[1:]
    return starts[max(0, len(starts) - max_pieces)]


def _grapheme_floor(text: str, end: int) -> int:
    """``end`` moved back so that ``text[end]`` (the first character left out) starts a
    grapheme."""
    stop = max(1, end - _MAX_CLUSTER)
    position = end
    while position > stop and _extends(text[position]):
        position -= 1
    return position if not _extends(text[position]) else end


def _grapheme_ceil(text: str, start: int) -> int:
    """``start`` moved on so that ``text[start]`` (the first character kept) starts a
    grapheme."""
    stop = min(len(text), start + _MAX_CLUSTER)
    position = start
    while position < stop and _extends(text[position]):
        position += 1
    return position


def _extends(char: str) -> bool:
    """True for a character that joins the one before it (combining mark, joiner, variation
    selector, skin tone, tag, low surrogate)."""
    return (
        char in _EXTENDERS
        or "\udc00" <= char <= "\udfff"
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
    )
