"""Collect every problem of the flow files, each located at ``file:line:column``.

The loader does not stop at the first mistake: it records each one in :class:`Problems` and
keeps checking, so ``bot validate`` (and a rejected hot reload) shows an author all of them at
once. :class:`InvalidFlows` carries the list; ``str()`` of it is one problem per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.errors import BotError, DataFileError, FlowError
from bot.yamlfile import where


def value_where(node: Any, key: Any) -> tuple[int | None, int | None]:
    """1-based ``(line, column)`` of the *value* at ``node[key]`` (falls back to the key's).

    ruamel.yaml records where each mapping value starts (``lc.value``); pointing at the value
    puts an editor's cursor on the wrong word rather than on its key.
    """
    lc = getattr(node, "lc", None)
    if lc is None or isinstance(node, list):
        return where(node, key)
    try:
        line, column = lc.value(key)
    except (KeyError, TypeError, AttributeError):
        return where(node, key)
    return line + 1, column + 1


class InvalidFlows(BotError):
    """The flow files have problems; ``problems`` lists them in file order.

    ``str()`` is one ``file:line:column: message`` line per problem.
    """

    def __init__(self, problems: Iterable[DataFileError]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """A list of :class:`~bot.errors.FlowError` built while loading."""

    def __init__(self) -> None:
        self.items: list[DataFileError] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, path: Path | str, node: Any, key: Any, message: str) -> None:
        """Record ``message`` at the key ``key`` of ``node`` (at ``node`` when ``key`` is None)."""
        line, column = where(node, key)
        self.items.append(FlowError(str(path), line, message, column))

    def add_value(self, path: Path | str, node: Any, key: Any, message: str) -> None:
        """Record ``message`` at the value of ``node[key]``."""
        line, column = value_where(node, key)
        self.items.append(FlowError(str(path), line, message, column))

    def add_error(self, error: DataFileError) -> None:
        """Record an error raised by a lower layer (a YAML syntax error, a bad CSV row)."""
        self.items.append(error)

    def raise_if_any(self) -> None:
        """Raise :class:`InvalidFlows` when anything was recorded."""
        if self.items:
            raise InvalidFlows(self.items)
