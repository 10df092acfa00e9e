"""Rules of the code's shape that a reviewer would otherwise check by hand (issue 15).

- Every exception the service defines derives from :class:`bot.errors.BotError`, so the CLI and
  the web layer can turn any of them into a clear message.
- The environment (``os.environ``/``os.getenv``) is read in ``bot/config.py`` alone.
- Imports point down: ``bot/flows/`` imports nothing above it (no engine, wiring, CLI), and
  ``bot/logs.py`` does not import the sessions that log through it; ``bot/sessions/`` imports
  nothing of the layers above it (delivery, flows, engine, web, wiring, CLI).
- ``bot/sessions/`` is made of small modules (none over 500 lines) and small interfaces: no
  abstract class there has more than 12 abstract methods, except the store of a backend that
  only composes them (it declares none of its own).
"""

from __future__ import annotations

import abc
import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import bot
from bot.errors import BotError

BOT_DIR = Path(bot.__file__).parent


def _modules() -> list[str]:
    """Dotted names of every module of the ``bot`` package."""
    return sorted(
        info.name for info in pkgutil.walk_packages([str(BOT_DIR)], prefix="bot.")
    )


def _imported_modules(path: Path) -> set[str]:
    """Dotted names a file imports (``from X import Y`` gives both ``X`` and ``X.Y``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_exception_of_bot_derives_from_bot_error() -> None:
    outside: list[str] = []
    for name in _modules():
        if name == "bot.__main__":
            continue
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ != name or not issubclass(value, BaseException):
                continue
            if not issubclass(value, BotError):
                outside.append(f"{name}.{value.__qualname__}")
    assert outside == []


def test_error_classes_still_catchable_as_value_error() -> None:
    from bot.flows.conditions import ConditionSyntaxError
    from bot.templates import TemplateError

    assert issubclass(ConditionSyntaxError, ValueError)
    assert issubclass(TemplateError, ValueError)


def test_environment_read_only_in_config() -> None:
    readers = [
        str(path.relative_to(BOT_DIR.parent))
        for path in sorted(BOT_DIR.rglob("*.py"))
        if "os.environ" in path.read_text(encoding="utf-8")
        or "os.getenv" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["bot/config.py"]


def test_flows_import_nothing_above_them() -> None:
    above = ("bot.wiring", "bot.engine", "bot.cli", "bot.web", "bot.chat", "bot.flowtests")
    offenders = {
        str(path.relative_to(BOT_DIR.parent)): sorted(
            name for name in _imported_modules(path) if name.startswith(above)
        )
        for path in sorted((BOT_DIR / "flows").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_logs_do_not_import_sessions() -> None:
    imported = _imported_modules(BOT_DIR / "logs.py")
    assert sorted(name for name in imported if name.startswith("bot.sessions")) == []


SESSIONS_DIR = BOT_DIR / "sessions"
MAX_MODULE_LINES = 500
MAX_ABSTRACT_METHODS = 12


def test_sessions_import_nothing_above_them() -> None:
    above = (
        "bot.channels",  # the message types the stores keep come from bot.messages
        "bot.delivery",
        "bot.flows",
        "bot.engine",
        "bot.web",
        "bot.wiring",
        "bot.cli",
        "bot.chat",
        "bot.flowtests",
    )
    offenders = {
        str(path.relative_to(BOT_DIR.parent)): sorted(
            name for name in _imported_modules(path) if name.startswith(above)
        )
        for path in sorted(SESSIONS_DIR.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_sessions_module_is_over_500_lines() -> None:
    sizes = {
        str(path.relative_to(BOT_DIR.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(SESSIONS_DIR.rglob("*.py"))
    }
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _own_abstract_methods(cls: type) -> list[str]:
    return [
        name for name, value in vars(cls).items() if getattr(value, "__isabstractmethod__", False)
    ]


def test_no_sessions_interface_has_more_than_12_abstract_methods() -> None:
    """An interface (an abstract class that declares abstract methods) has at most 12 in all,
    inherited ones included; a class that declares none only composes interfaces."""
    interfaces: dict[str, int] = {}
    for name in _modules():
        if not name.startswith("bot.sessions"):
            continue
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ != name or not isinstance(value, abc.ABCMeta):
                continue
            if _own_abstract_methods(value):
                interfaces[f"{name}.{value.__qualname__}"] = len(value.__abstractmethods__)
    assert "bot.sessions.store.ConversationStore" in interfaces  # the rule sees the interfaces
    assert {k: n for k, n in interfaces.items() if n > MAX_ABSTRACT_METHODS} == {}


WEB_DIR = BOT_DIR / "web"


def test_no_web_module_is_over_500_lines() -> None:
    sizes = {
        str(path.relative_to(BOT_DIR.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(WEB_DIR.rglob("*.py"))
    }
    assert "bot/web/admin/sessions.py" in sizes  # the rule sees the admin API's modules


def test_no_delivery_flows_intents_or_config_module_is_over_500_lines() -> None:
    """bot/delivery, bot/flows, bot/intents and the settings (bot/config*.py) are made of
    small modules, each named after one concept (issue 15)."""
    paths = [
        *(BOT_DIR / "delivery").rglob("*.py"),
        *(BOT_DIR / "flows").rglob("*.py"),
        *(BOT_DIR / "intents").rglob("*.py"),
        *BOT_DIR.glob("config*.py"),
    ]
    sizes = {
        str(path.relative_to(BOT_DIR.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(paths)
    }
    assert "bot/config.py" in sizes and "bot/delivery/outbox.py" in sizes
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}
