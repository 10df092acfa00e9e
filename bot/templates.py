"""Flow text templates: ``{slot}`` values and plural-aware phrases.

Syntax (a subset of ICU MessageFormat, the format translators' tools know):

- ``{name}``: the value of slot ``name``; ``{price:.2f}`` applies a Python format spec;
  ``{day:date}`` writes an ISO date slot in the reply's language (``22 de noviembre de 2026``;
  also ``:date:full``, ``:date:medium``, ``:date:short``). A slot that is not set stays as
  written (``{name}``), so a mistake shows instead of vanishing.
- ``{count, plural, one {# pizza} other {# pizzas}}``: the branch for the plural category of
  ``count`` in the reply's language (CLDR rules from Babel: ``zero``, ``one``, ``two``, ``few``,
  ``many``, ``other``), or an exact ``=0 {...}`` branch. ``#`` is the number, formatted for the
  language (``1.500`` in Spanish). ``other`` is required. Branches may hold ``{slot}`` too.
- ``{{`` and ``}}`` are literal braces.

:func:`check` finds syntax errors when flows load; :func:`render` never raises.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.errors import BotError

log = logging.getLogger(__name__)

PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


class TemplateError(BotError, ValueError):
    """A template does not parse; ``offset`` is the 0-based position of the problem."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at character {offset + 1})")
        self.offset = offset


@dataclass(frozen=True, slots=True)
class _Placeholder:
    name: str
    spec: str = ""


@dataclass(frozen=True, slots=True)
class _Plural:
    name: str
    branches: Mapping[str, tuple[_Part, ...]]


_Part = str | _Placeholder | _Plural


def _closing(text: str, start: int) -> int:
    """Index of the ``}`` that closes the ``{`` at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise TemplateError("'{' is never closed", start)


def _parse(text: str, base: int = 0, in_plural: bool = False) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i : i + 2] in ("{{", "}}"):
            literal.append(char)
            i += 2
        elif char == "}":
            raise TemplateError("'}' without '{' (write '}}' for a brace)", base + i)
        elif char == "{":
            end = _closing(text, i)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_placeholder(text[i + 1 : end], base + i + 1))
            i = end + 1
        elif char == "#" and in_plural:
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_Placeholder("#"))
            i += 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _placeholder(inner: str, base: int) -> _Part:
    if "," not in inner:
        name, _, spec = inner.partition(":")
        if not name.strip().isidentifier():
            raise TemplateError(f"{{{inner}}} is not a slot name", base)
        return _Placeholder(name.strip(), spec)
    pieces = inner.split(",", 2)
    if len(pieces) != 3 or pieces[1].strip() != "plural" or not pieces[0].strip().isidentifier():
        raise TemplateError("expected {slot, plural, one {...} other {...}}", base)
    name, kind, rest = pieces
    offset = base + len(name) + len(kind) + 2
    branches: dict[str, tuple[_Part, ...]] = {}
    i = 0
    while i < len(rest):
        if rest[i].isspace():
            i += 1
            continue
        start = i
        while i < len(rest) and not rest[i].isspace() and rest[i] != "{":
            i += 1
        selector = rest[start:i]
        while i < len(rest) and rest[i].isspace():
            i += 1
        if i >= len(rest) or rest[i] != "{" or not selector:
            raise TemplateError("a plural branch is 'category {text}'", offset + start)
        if selector not in PLURAL_CATEGORIES and not (
            selector.startswith("=") and selector[1:].isdigit()
        ):
            known = ", ".join(sorted(PLURAL_CATEGORIES))
            raise TemplateError(f"unknown plural category {selector!r} ({known}, =N)", offset)
        end = _closing(rest, i)
        branches[selector] = _parse(rest[i + 1 : end], offset + i + 1, in_plural=True)
        i = end + 1
    if "other" not in branches:
        raise TemplateError("a plural needs an 'other' branch", base)
    return _Plural(name.strip(), branches)


def check(template: str) -> None:
    """Parse ``template``.

    Raises:
        TemplateError: With the position of the first problem.
    """
    _parse(template)


def names(template: str) -> set[str]:
    """The slot names ``template`` reads (empty when it does not parse)."""
    try:
        parts = _parse(template)
    except TemplateError:
        return set()
    found: set[str] = set()
    stack = list(parts)
    while stack:
        part = stack.pop()
        if isinstance(part, _Placeholder) and part.name != "#":
            found.add(part.name)
        elif isinstance(part, _Plural):
            found.add(part.name)
            for branch in part.branches.values():
                stack.extend(branch)
    return found


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plural_category(lang: str, number: float | int) -> str:
    try:
        return str(Locale.parse(lang).plural_form(number))
    except (UnknownLocaleError, ValueError):
        return "one" if number == 1 else "other"


def _format_number(lang: str, number: float | int) -> str:
    try:
        return str(format_decimal(number, locale=lang))
    except (UnknownLocaleError, ValueError):
        return _plain(number)


def _format_date(value: Any, spec: str, lang: str) -> str:
    """``{day:date}`` (long), ``{day:date:full}``, ``:medium``, ``:short``: an ISO date slot
    written the way ``lang`` writes dates (Babel/CLDR)."""
    style = spec.partition(":")[2] or "long"
    try:
        moment = date.fromisoformat(str(value)[:10])
        return str(format_date(moment, format=style, locale=lang))
    except (ValueError, UnknownLocaleError):
        return _plain(value)


def _render_parts(
    parts: tuple[_Part, ...], values: Mapping[str, Any], lang: str, count: Any = None
) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, _Placeholder):
            if part.name == "#":
                number = _number(count)
                out.append(_format_number(lang, number) if number is not None else str(count))
            elif part.name not in values or values[part.name] is None:
                log.warning("no value for placeholder {%s}", part.name)
                out.append("{" + part.name + (":" + part.spec if part.spec else "") + "}")
            elif part.spec.split(":")[0] == "date":
                out.append(_format_date(values[part.name], part.spec, lang))
            elif part.spec:
                try:
                    out.append(format(values[part.name], part.spec))
                except (ValueError, TypeError):
                    out.append(_plain(values[part.name]))
            else:
                out.append(_plain(values[part.name]))
        else:
            raw = values.get(part.name)
            number = _number(raw)
            if number is None:
                log.warning("plural of {%s} needs a number, got %r", part.name, raw)
                branch = part.branches["other"]
            else:
                exact = f"={number}"
                category = _plural_category(lang, number)
                branch = part.branches.get(exact) or part.branches.get(
                    category, part.branches["other"]
                )
            out.append(_render_parts(branch, values, lang, raw))
    return "".join(out)


def render(template: str, values: Mapping[str, Any], lang: str) -> str:
    """Fill ``template`` from ``values`` in language ``lang``. Never raises: a template that
    does not parse (which validation prevents) is returned as written and logged."""
    if "{" not in template and "}" not in template:
        return template
    try:
        parts = _parsed(template)
    except TemplateError as exc:
        log.warning("cannot render template %r: %s", template, exc)
        return template
    return _render_parts(parts, values, lang)


@functools.lru_cache(maxsize=4096)
def _parsed(template: str) -> tuple[_Part, ...]:
    """:func:`_parse`, remembered: the same few templates are rendered for every message."""
    return _parse(template)
