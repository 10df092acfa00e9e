"""Background tasks with a kept reference, logged failures, and a drain on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskSet:
    """Keeps every spawned task until it ends (asyncio holds only weak references)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Start ``coro`` now; its exception, if any, is logged, never lost."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` seconds for running tasks, then cancel what is left and
        wait up to :data:`CANCEL_WAIT_S` seconds more for it (see :func:`stop_tasks`)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        if pending:
            log.warning("cancelled %d background tasks at shutdown", len(pending))
            await stop_tasks(pending, CANCEL_WAIT_S)


CANCEL_WAIT_S = 5.0
"""How long a cancelled task is waited for before shutdown goes on without it."""


async def stop_tasks(tasks: Collection[asyncio.Task[Any]], limit_s: float) -> None:
    """Cancel ``tasks`` (those not done) and wait up to ``limit_s`` seconds for them to end.

    A task that swallows its cancellation and keeps awaiting is left behind with a warning
    naming it, instead of holding the shutdown forever. The caller's own cancellation is not
    swallowed.
    """
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=limit_s)
    if stuck:
        log.warning(
            "%d tasks did not end %.1f s after being cancelled: %s",
            len(stuck),
            limit_s,
            ", ".join(sorted(t.get_name() for t in stuck)),
        )


async def bounded(step: Awaitable[object], limit_s: float, what: str) -> None:
    """Await ``step`` for up to ``limit_s`` seconds; past that it is cancelled and a warning
    names ``what``. An exception from ``step`` is logged, not raised: a shutdown step that
    fails or hangs must not keep the next ones from running (a ``TimeoutError`` of its own,
    raised before the limit, is a failure, not a hang)."""
    limit = asyncio.timeout(limit_s)
    try:
        async with limit:
            await step
    except TimeoutError:
        if not limit.expired():
            log.exception("shutdown: %s failed", what)
            return
        log.warning("shutdown: %s did not finish in %.1f s; going on without it", what, limit_s)
    except Exception:
        log.exception("shutdown: %s failed", what)


async def periodic(
    stop: asyncio.Event, interval_s: float, job: Callable[[], Awaitable[object]], name: str
) -> None:
    """Run ``job`` now and then every ``interval_s`` seconds until ``stop`` is set.

    A failing run is logged with its traceback and the next run tries again.
    """
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, interval_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
