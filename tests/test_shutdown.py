"""Stopping the service: every shutdown step is bounded, and a stop that hangs anyway ends
the process (the store keeps what was not finished)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from bot.tasks import bounded, stop_tasks
from bot.watchdog import EXIT_CODE, ShutdownWatchdog
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def _bot_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture the service's warnings whatever level an earlier test left on its logger."""
    with caplog.at_level(logging.INFO, logger="bot"):
        yield


async def _stubborn(started: asyncio.Event) -> None:
    """A task that swallows its cancellation and keeps waiting, as a buggy ``finally`` can."""
    started.set()
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            continue


async def test_a_step_that_never_ends_is_left_behind_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    never = asyncio.Event()
    await bounded(never.wait(), 0, "outbox")
    assert "shutdown: outbox did not finish" in caplog.text


async def test_a_failing_step_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise OSError("disk gone")

    ran = []

    async def after() -> None:
        ran.append("store")

    await bounded(broken(), 5, "outbox")
    await bounded(after(), 5, "store")
    assert ran == ["store"]
    assert "shutdown: outbox failed" in caplog.text


async def test_a_step_s_own_timeout_is_a_failure_not_a_hang(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def connect() -> None:
        raise TimeoutError("the store did not answer")  # its own, well before the limit

    await bounded(connect(), 5, "store")
    assert "shutdown: store failed" in caplog.text
    assert "did not finish" not in caplog.text


async def test_a_task_that_swallows_its_cancellation_does_not_hold_the_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(_stubborn(started), name="stubborn turn")
    await started.wait()
    await stop_tasks([task], 0)
    assert "did not end" in caplog.text and "stubborn turn" in caplog.text
    assert not task.done()
    task.get_coro().close()  # the test's own clean-up


async def test_the_callers_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()
    stubborn = asyncio.create_task(_stubborn(started))
    await started.wait()
    stopping = asyncio.create_task(stop_tasks([stubborn], 3600))
    await asyncio.sleep(0)  # stop_tasks now waits for the stubborn task
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    stubborn.get_coro().close()


def test_the_watchdog_exits_with_its_status_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exited = threading.Event()
    codes: list[int] = []

    def exit_process(code: int) -> None:
        codes.append(code)
        exited.set()

    watchdog = ShutdownWatchdog(0.01, exit_process)
    assert not watchdog.armed
    watchdog.arm()
    watchdog.arm()  # a second signal keeps the first deadline
    assert exited.wait(10)
    assert codes == [EXIT_CODE]
    assert "shutdown did not finish in 0 s" in caplog.text


def test_the_watchdog_needs_a_positive_deadline() -> None:
    with pytest.raises(ValueError, match="positive"):
        ShutdownWatchdog(0)


HANGING_SERVICE = textwrap.dedent(
    """
    import asyncio, socket, sys
    from aiohttp import web
    from bot.watchdog import ShutdownWatchdog

    async def stuck_generator():
        try:
            yield
        finally:
            await asyncio.Event().wait()  # aclose() at the loop's end never returns

    async def resources(app):
        left = stuck_generator()
        await left.__anext__()
        app["left"] = left
        print("ready", flush=True)
        yield

    app = web.Application()
    app.cleanup_ctx.append(resources)
    watchdog = ShutdownWatchdog(float(sys.argv[1]))
    app.on_shutdown.append(watchdog.on_shutdown)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    web.run_app(app, sock=sock, print=None, shutdown_timeout=0.1)
    """
)


def test_a_service_whose_stop_hangs_still_exits() -> None:
    """The hang seen once in a saturated Redis run: an asynchronous generator whose
    ``aclose()`` never returned kept a stopped ``bot serve`` alive, idle, for good."""
    process = subprocess.Popen(
        [sys.executable, "-c", HANGING_SERVICE, "1.0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.communicate()
    code = process.returncode
    assert code == EXIT_CODE
    assert "shutdown did not finish in 1 s" in stderr
    assert "stuck_generator" in stderr  # the stack dump shows what hung


def test_the_watchdog_limit_is_every_shutdown_step_at_its_bound() -> None:
    """The process watchdog (``bot serve``) must not end a shutdown whose steps are all still
    within their bounds: a longer outbox grace lengthens the limit by as much."""
    from dataclasses import replace

    from bot.config import load_settings
    from bot.web.app import shutdown_bounds_s, shutdown_limit_s

    settings = load_settings(REPO / "config.yaml", {})
    grace_s = settings.delivery.shutdown_grace_s
    longer = replace(settings, delivery=replace(settings.delivery, shutdown_grace_s=grace_s + 30))

    assert shutdown_limit_s(longer) - shutdown_limit_s(settings) == pytest.approx(30)
    assert shutdown_bounds_s(settings)["outbox"] > grace_s
    assert list(shutdown_bounds_s(settings))[-1] == "store"
