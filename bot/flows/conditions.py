"""Expressions on session data, evaluated safely with ``simpleeval``: the conditions of
``next: [{if: ...}]`` and the ``= ...`` values of ``set``.

An expression is one Python-like expression over slot names: comparisons (``quantity >= 10``,
``plan == 'pro'``, ``'@empresa.com' in email``), ``and`` / ``or`` / ``not``, arithmetic,
``len(x)``, ``lower(x)``. A slot that is not set reads as ``None``; ``true``, ``false`` and
``null`` are spelled as in YAML or as in Python. No attribute access to dunder names, no
imports, no assignments: ``simpleeval`` refuses them. An expression that fails at run time
(``'a' > 3``) counts as false and is logged.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import InvalidExpression, SimpleEval

from bot.errors import BotError

log = logging.getLogger(__name__)

_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}


def _lower(value: Any) -> str:
    return str(value).lower() if value is not None else ""


_FUNCTIONS = {"len": len, "lower": _lower, "int": int, "float": float, "str": str}
_EVALUATOR = SimpleEval(functions=_FUNCTIONS)


class _Names(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        return _CONSTANTS.get(key)


class ConditionSyntaxError(BotError, ValueError):
    """An expression does not parse; ``offset`` is the 1-based column inside the expression."""

    def __init__(self, message: str, offset: int | None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A parsed expression. Build with :meth:`parse`; test with :meth:`holds`.

    Attributes:
        text: The expression as written.
        names: Slot names it reads (for the loader's "unknown slot" check).
    """

    text: str
    tree: ast.AST
    names: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``text``.

        Raises:
            ConditionSyntaxError: Not a single valid expression, or it uses a function that
                is not offered.
        """
        try:
            tree = SimpleEval.parse(text)
        except SyntaxError as exc:
            raise ConditionSyntaxError(f"invalid condition: {exc.msg}", exc.offset) from None
        except InvalidExpression as exc:
            raise ConditionSyntaxError(f"invalid condition: {exc}", None) from None
        if not isinstance(tree, ast.Expr):
            raise ConditionSyntaxError("a condition must be an expression, not a statement", 1)
        called: set[str] = set()
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
            elif isinstance(node, ast.Name):
                names.add(node.id)
        unknown = sorted(called - set(_FUNCTIONS))
        if unknown:
            offered = ", ".join(sorted(_FUNCTIONS))
            raise ConditionSyntaxError(f"unknown function {unknown[0]!r} (use {offered})", None)
        return cls(text=text, tree=tree, names=frozenset(names - called - set(_CONSTANTS)))

    def holds(self, data: Mapping[str, Any]) -> bool:
        """True when the expression is truthy for ``data``; an evaluation error is False."""
        return bool(self.evaluate(data))

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        """The expression's value for ``data`` (``set: {total: "= price * quantity"}``);
        ``None`` when evaluating fails (logged)."""
        evaluator = _EVALUATOR  # one for all: evaluating is synchronous, building one is not free
        evaluator.names = _Names(data)
        try:
            return evaluator.eval(self.text, previously_parsed=self.tree)
        except Exception as exc:  # any error in an author's expression: no value
            log.warning("expression %r failed: %s", self.text, exc)
            return None
