"""Training the semantic head of the served content in the background, one training at a
time, and keeping loaded content out of the garbage collector's full passes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.wiring import Content, Runtime

log = logging.getLogger(__name__)


def freeze() -> None:
    """Keep the content just loaded out of the garbage collector's full passes.

    Content (intent tables, flows, spaCy's vocabulary: ~150,000 objects) lives until the
    next reload; full passes walked it all (a ~45 ms pause, now and then, in the middle of
    requests). Content a reload replaced stays frozen: a few MB per edit.
    """
    gc.collect()
    gc.freeze()
    _trim_heap()


def _trim_heap() -> None:
    """Give the C heap's free pages back to the OS (glibc's ``malloc_trim``; elsewhere
    nothing): loading content frees what it was built from (the cached copy of the intent
    files, the parse), which would otherwise stay in the process's resident memory."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class HeadTraining:
    """Trains the semantic head of the served content when it is pending, one training at
    a time, in a daemon thread.

    ``train`` loads the content again and trains the head the cache lacks (10-20 s of CPU).
    :meth:`run` trains at start if the served content's head is pending, and again each time
    :meth:`wanted` is called (after a reload) and the served content's head is pending. A
    training whose content was replaced meanwhile (an edit) is discarded, and the newer
    content is trained next: edits made during a training cost one more training, never two
    threads at once. A failure is logged and the lexicon keeps answering alone. A shutdown
    (``stop`` set) does not wait for a thread (it ends with the process).
    """

    def __init__(self, runtime: Runtime, train: Callable[[], Content], stop: asyncio.Event) -> None:
        self._runtime = runtime
        self._train = train
        self._stop = stop
        self._wanted = asyncio.Event()
        self._wanted.set()  # the content served at start

    def wanted(self) -> None:
        """The served content changed: train its head if it is pending."""
        self._wanted.set()

    async def run(self) -> None:
        """Train whenever wanted and pending, until ``stop`` is set."""
        while await _first(self._stop, self._wanted) is self._wanted:
            self._wanted.clear()
            if self._runtime.content.classifier.head_pending:
                await self._once()

    async def _once(self) -> None:
        """One training; its content is served if nothing replaced the content meanwhile."""
        runtime = self._runtime
        started = runtime.content
        log.info(
            "semantic head not in the cache: training it in the background (10-20 s); "
            "until then the lexicon answers alone"
        )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Content] = loop.create_future()

        def settle(outcome: Content | Exception) -> None:
            if done.done():
                return
            if isinstance(outcome, Exception):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

        def work() -> None:
            outcome: Content | Exception
            try:
                outcome = self._train()
            except Exception as exc:  # reported on the loop
                outcome = exc
            with contextlib.suppress(RuntimeError):  # the loop closed: the service stopped
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=work, name="semantic head", daemon=True).start()
        stopping = asyncio.ensure_future(self._stop.wait())
        waiting: set[asyncio.Future[Any]] = {done, stopping}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not done.done():
            return  # shutting down
        try:
            content = done.result()
        except Exception:
            log.exception("semantic head training failed: the lexicon answers alone")
            return
        if runtime.content is not started:
            log.info("semantic head trained for content an edit replaced: discarded")
            return
        runtime.reload(content)
        freeze()
        log.info("semantic head trained and in use")


async def _first(*events: asyncio.Event) -> asyncio.Event:
    """Wait until one of ``events`` is set and return it (the first of them, if several)."""
    waiters = {asyncio.ensure_future(event.wait()): event for event in events}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return next(event for event in events if event.is_set())
