"""A last resort for a graceful shutdown that does not end: exit the process anyway.

A stopping service first finishes what it holds (in-flight requests, background turns, the
outbox's grace period), each step bounded on its own (:func:`bot.tasks.bounded`). Should
anything still keep the event loop from closing, a task that swallowed its cancellation or
an asynchronous generator whose ``aclose()`` never returns, the process would otherwise stay
alive, holding its port and the SQLite lock, after the supervisor asked it to stop. Nothing
is lost by exiting: inbound messages and pending outbound ones are in the store, and the next
start recovers them (inbox recovery, outbox ``sending`` rows held back for their status).
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import inspect
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable

log = logging.getLogger(__name__)

EXIT_CODE = 70
"""The exit status of a forced exit (``EX_SOFTWARE``): a supervisor can tell it from a clean
stop (0)."""


class ShutdownWatchdog:
    """Ends the process ``deadline_s`` seconds after :meth:`arm` unless it ended before.

    The timer runs in a daemon thread, so it fires even when the event loop is stuck, and it
    never keeps a process alive that ended on its own. On expiry it logs one error naming the
    deadline, writes every thread's stack to stderr (where the stuck await is), flushes the
    log handlers and calls ``exit_process(EXIT_CODE)``.

    Args:
        deadline_s: Seconds a shutdown may take, from :meth:`arm`. Must be positive.
        exit_process: What ends the process; ``os._exit`` (no interpreter clean-up, which
            is what may hang) unless a test injects another.

    Raises:
        ValueError: ``deadline_s`` is not positive.
    """

    def __init__(self, deadline_s: float, exit_process: Callable[[int], object] = os._exit) -> None:
        if deadline_s <= 0:
            raise ValueError(f"shutdown deadline must be positive, got {deadline_s} s")
        self.deadline_s = deadline_s
        self._exit = exit_process
        self._timer: threading.Timer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def armed(self) -> bool:
        """Whether the countdown runs."""
        return self._timer is not None

    def arm(self) -> None:
        """Start the countdown (a second call keeps the first deadline)."""
        if self._timer is not None:
            return
        self._timer = threading.Timer(self.deadline_s, self._expire)
        self._timer.daemon = True
        self._timer.name = "shutdown watchdog"
        self._timer.start()

    async def on_shutdown(self, _app: object) -> None:
        """An aiohttp ``on_shutdown`` signal handler: the first step of a stop arms it (and
        notes the event loop, whose unfinished tasks an expiry lists)."""
        self._loop = asyncio.get_running_loop()
        self.arm()

    def _log_tasks(self) -> None:
        """Log where each unfinished task of the loop waits (a suspended coroutine is on no
        thread's stack). Read from this thread while the loop is stuck: best effort."""
        if self._loop is None:
            return
        try:
            for task in list(asyncio.all_tasks(self._loop)):
                _log_stack(f"unfinished task {task.get_name()}", task.get_coro())
            # A generator being closed (``aclose()``) shows on no task: find it by its await.
            for found in gc.get_objects():
                if inspect.isasyncgen(found) and found.ag_await is not None:
                    _log_stack("asynchronous generator waiting", found)
        except Exception:  # a diagnostic must not stop the exit
            log.exception("could not list the unfinished tasks")

    def _expire(self) -> None:
        log.error(
            "shutdown did not finish in %.0f s; exiting now with status %d (stored inbound "
            "and pending outbound messages are recovered at the next start)",
            self.deadline_s,
            EXIT_CODE,
        )
        # A closed or redirected stderr (no file descriptor) must not stop the exit.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        self._log_tasks()
        for handler in logging.getLogger().handlers:  # os._exit flushes nothing
            with contextlib.suppress(Exception):
                handler.flush()
        self._exit(EXIT_CODE)


def _log_stack(what: str, awaiting: object) -> None:
    """Log ``what`` with the frames of ``awaiting`` (a coroutine or an asynchronous
    generator) and of everything it awaits in turn, outermost first."""
    frames = []
    while awaiting is not None:
        frame = (
            getattr(awaiting, "cr_frame", None)
            or getattr(awaiting, "ag_frame", None)
            or getattr(awaiting, "gi_frame", None)
        )
        if frame is not None:
            frames.append((frame, frame.f_lineno))
        awaiting = (
            getattr(awaiting, "cr_await", None)
            or getattr(awaiting, "ag_await", None)
            or getattr(awaiting, "gi_yieldfrom", None)
        )
    stack = "".join(traceback.format_list(traceback.StackSummary.extract(frames)))
    log.error("%s:\n%s", what, stack.rstrip() or "  (no Python frame)")
