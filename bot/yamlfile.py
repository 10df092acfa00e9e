"""YAML loading that keeps line numbers, so data-file errors point at ``file:line:column``.

Built on ruamel.yaml's round-trip loader: every mapping and sequence it returns carries the
position of its items (``.lc``), which :func:`where` turns into 1-based line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.errors import DataFileError


def load_yaml(path: Path) -> Any:
    """Parse one YAML file, keeping positions.

    Returns:
        The document: ruamel ``CommentedMap``/``CommentedSeq`` (dict/list subclasses) or a scalar;
        ``None`` for an empty file.

    Raises:
        DataFileError: The file cannot be read or is not valid YAML (with the parser's line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(str(path), None, "file is not valid UTF-8") from exc
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise DataFileError(str(path), line, problem, column) from exc
    except YAMLError as exc:
        raise DataFileError(str(path), None, f"invalid YAML: {exc}") from exc


def where(node: Any, key: Any = None) -> tuple[int | None, int | None]:
    """Return the 1-based ``(line, column)`` of ``node`` or of its item ``key``.

    ``key`` is a mapping key (position of the key) or a sequence index (position of the item).
    Returns ``(None, None)`` when the node carries no position (e.g. a plain scalar).
    """
    lc = getattr(node, "lc", None)
    if lc is None:
        return None, None
    try:
        if key is None:
            return lc.line + 1, lc.col + 1
        if isinstance(node, list):
            line, col = lc.item(key)
        else:
            line, col = lc.key(key)
        return line + 1, col + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return lc.line + 1, lc.col + 1


def error_at(path: Path | str, node: Any, key: Any, problem: str) -> DataFileError:
    """Build a :class:`DataFileError` located at ``node[key]`` (or ``node`` when key is None)."""
    line, column = where(node, key)
    return DataFileError(str(path), line, problem, column)
