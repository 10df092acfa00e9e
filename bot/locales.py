"""Localized texts from ``locales/<lang>.yaml``.

A locale file is a mapping of keys to texts; nested mappings flatten into dotted keys
(``close: {timeout: ...}`` is ``close.timeout``). Texts are :mod:`bot.templates` templates
(``{name}`` placeholders, plurals, dates) filled from the values passed to
:meth:`Locales.text` (session data, for instance), in the text's language. Every key must exist
in every language: :meth:`Locales.load` checks it, so a missing translation is found at start-up,
not by a user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import templates
from bot.errors import DataFileError
from bot.yamlfile import error_at, load_yaml, where

Position = tuple[int | None, int | None]


class MissingTranslations(DataFileError):
    """Keys that one locale file has and another lacks: one ``problems`` entry per key, each
    at the key's ``file:line:column`` in the file that has it. ``str()`` is one per line."""

    def __init__(self, problems: list[DataFileError]) -> None:
        first = problems[0]
        super().__init__(first.path, first.line, first.problem, first.column)
        self.problems = problems
        self.args = ("\n".join(str(p) for p in problems),)


def _flatten(
    path: Path, node: Any, prefix: str, out: dict[str, str], at: dict[str, Position]
) -> None:
    for key, value in node.items():
        if not isinstance(key, str):
            raise error_at(path, node, key, f"keys must be text, got {key!r}")
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(path, value, full + ".", out, at)
        elif isinstance(value, str):
            out[full] = value
            at[full] = where(node, key)
        else:
            raise error_at(path, node, key, f"{full}: the text must be a string")


@dataclass(frozen=True, slots=True)
class Locales:
    """All localized texts, by language then dotted key."""

    texts: Mapping[str, Mapping[str, str]]
    default_language: str

    @classmethod
    def load(cls, directory: Path, languages: Iterable[str], default_language: str) -> Locales:
        """Load ``directory/<lang>.yaml`` for each language.

        Raises:
            DataFileError: A file is missing or is not a mapping of texts.
            MissingTranslations: Some file lacks keys that another language has (each
                reported at the key's line in the first file that has it).
        """
        texts: dict[str, dict[str, str]] = {}
        positions: dict[str, dict[str, Position]] = {}
        for lang in languages:
            path = directory / f"{lang}.yaml"
            if not path.is_file():
                raise DataFileError(str(path), None, f"missing locale file for language {lang!r}")
            data = load_yaml(path)
            if not isinstance(data, Mapping):
                raise DataFileError(
                    str(path), 1, "a locale file must be a mapping of keys to texts"
                )
            flat: dict[str, str] = {}
            positions[lang] = {}
            _flatten(path, data, "", flat, positions[lang])
            texts[lang] = flat
        problems: list[DataFileError] = []
        all_keys = set().union(*(set(t) for t in texts.values()))
        for lang, flat in texts.items():
            for key in sorted(all_keys - set(flat)):
                has = next(other for other in texts if key in texts[other])
                line, column = positions[has][key]
                problems.append(
                    DataFileError(
                        str(directory / f"{has}.yaml"),
                        line,
                        f"{key!r} has no {lang} text: add it to {directory / f'{lang}.yaml'}",
                        column,
                    )
                )
        if problems:
            raise MissingTranslations(problems)
        return cls(texts=texts, default_language=default_language)

    @property
    def languages(self) -> tuple[str, ...]:
        """The loaded language codes."""
        return tuple(self.texts)

    def has(self, key: str) -> bool:
        """True when ``key`` exists (and therefore exists in every language)."""
        return key in self.texts[self.default_language]

    def language_or_default(self, lang: str | None) -> str:
        """``lang`` when it is loaded, else the default language."""
        return lang if lang is not None and lang in self.texts else self.default_language

    def text(self, lang: str | None, key: str, values: Mapping[str, Any] | None = None) -> str:
        """The text for ``key`` in ``lang`` (default language when ``lang`` is unknown/None).

        Raises:
            KeyError: ``key`` does not exist (flows are validated against :meth:`has` at load).
        """
        language = self.language_or_default(lang)
        return templates.render(self.texts[language][key], values or {}, language)
