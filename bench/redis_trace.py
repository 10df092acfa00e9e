"""``bot serve`` with every Redis command counted by the store method that caused it.

Runs the bot's command line (``python -m bench.redis_trace OUT.json serve --config ...``) after
wrapping, in this process only:

- every coroutine method of the classes of ``bot.sessions.redis`` (the store's mixins, its
  locks): the outermost one running sets the *method* of what it awaits;
- redis-py's ``Redis.execute_command`` and ``Pipeline.execute_command`` (a queued command)
  and the store's ``CommandBatcher.call`` (a command joining the loop turn's pipeline, counted
  in its caller's context; the batch's own sending is not counted again).

A command is named by its first word; ``EVALSHA`` by the script: the name of the constant in
``bot.sessions.redis`` whose SHA-1 it is (``EVALSHA scripts.APPLY``). Commands a Lua script runs
inside Redis are not seen here (see ``bench/redis_breakdown.py``, which adds them from
``MONITOR``). At exit, ``OUT.json`` gets ``{"method | command": calls}`` and the script names.
Used by the benchmark only; ``bot serve`` itself is unchanged.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import hashlib
import importlib
import inspect
import json
import pkgutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

METHOD: contextvars.ContextVar[str | None] = contextvars.ContextVar("store_method", default=None)
IN_BATCH: contextvars.ContextVar[bool] = contextvars.ContextVar("in_batch", default=False)
PACKAGE = "bot.sessions.redis"

calls: Counter[str] = Counter()
scripts: dict[str, str] = {}
"""SHA-1 of a Lua source → ``module.CONSTANT``."""


def command_name(args: tuple[Any, ...]) -> str:
    """``"GET"``, ``"EVALSHA scripts.APPLY"``, ... for a command's arguments."""
    if not args:
        return "?"
    first = args[0]
    name = (first.decode() if isinstance(first, bytes) else str(first)).upper()
    if name == "EVALSHA" and len(args) > 1:
        sha = args[1].decode() if isinstance(args[1], bytes) else str(args[1])
        return f"EVALSHA {scripts.get(sha, sha[:8])}"
    return name


def _count(args: tuple[Any, ...]) -> None:
    if not IN_BATCH.get():
        calls[f"{METHOD.get() or '(outside the store)'} | {command_name(args)}"] += 1


def _outermost(label: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if METHOD.get() is not None:
            return await method(*args, **kwargs)
        token = METHOD.set(label)
        try:
            return await method(*args, **kwargs)
        finally:
            METHOD.reset(token)

    return wrapper


def install() -> None:
    """Wrap the store's methods and redis-py's command entry points (see the docstring)."""
    import redis.asyncio.client as client

    package = importlib.import_module(PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, str) and "redis.call" in value:
                scripts[hashlib.sha1(value.encode()).hexdigest()] = f"{info.name}.{name}"
            if not inspect.isclass(value) or value.__module__ != module.__name__:
                continue
            for attr, member in list(vars(value).items()):
                if inspect.iscoroutinefunction(member) and attr != "_send":
                    setattr(value, attr, _outermost(f"{value.__name__}.{attr}", member))
        batcher = getattr(module, "CommandBatcher", None)
        if batcher is not None and batcher.__module__ == module.__name__:
            _wrap_batcher(batcher)

    direct: Any = client.Redis.execute_command

    async def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        _count(args)
        return await direct(self, *args, **options)

    queued: Any = client.Pipeline.execute_command

    def pipeline_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        _count(args)
        return queued(self, *args, **kwargs)

    client.Redis.execute_command = execute_command  # type: ignore[method-assign]
    client.Pipeline.execute_command = pipeline_command  # type: ignore[method-assign]


def _wrap_batcher(batcher: type) -> None:
    call, send = batcher.call, batcher._send  # type: ignore[attr-defined]

    def counted_call(self: Any, *args: Any) -> Any:
        _count(args)
        return call(self, *args)

    async def uncounted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        IN_BATCH.set(True)  # this task's context only
        return await send(self, *args, **kwargs)

    batcher.call = counted_call  # type: ignore[attr-defined]
    batcher._send = uncounted_send  # type: ignore[attr-defined]


def main() -> None:
    """``python -m bench.redis_trace OUT.json <bot command line>``."""
    out = Path(sys.argv[1])
    install()
    atexit.register(
        lambda: out.write_text(json.dumps({"calls": dict(calls), "scripts": scripts}, indent=1))
    )
    from bot.cli import main as bot_main

    sys.argv = ["bot", *sys.argv[2:]]
    bot_main()


if __name__ == "__main__":
    main()
