"""End to end: a second ``bot serve`` (issue #13, finding 5).

On a port in use it ends with one line and exit status 2 before touching the store; on a
SQLite file another ``bot serve`` holds, likewise, and the first one goes on serving. ``bot
sessions cleanup`` still runs beside it, and after a SIGKILL the file is free again.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.conftest import REPO
from tests.e2e.server import APP_SECRET, BotServer
from tests.e2e.test_readonly_disk import LOCALES, PHONE_ID
from tests.fakes.cloud_payloads import envelope, new_wamid, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

USER = "5494400000088"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def _run(server: BotServer, *command: str) -> tuple[int, str]:
    """``python -m bot COMMAND --config ... --env-file ...`` with ``server``'s environment,
    to its end (at most 60 s): ``(exit status, stderr)``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        "--config",
        str(server.config),
        "--env-file",
        str(server.data_dir / "no.env"),
        cwd=str(REPO),
        env=server.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def _answered(server: BotServer, fake: FakeGraphAPI, user: str) -> None:
    body, headers = signed(
        envelope(text_message("hola", wa_id=user, phone_number_id=PHONE_ID, wamid=new_wamid())),
        APP_SECRET,
    )
    assert (await server.post(body, headers))[0] == 200
    await fake.wait_for(lambda _: len(fake.texts_to(user)) == 1, timeout_s=15)
    assert fake.texts_to(user) == [LOCALES.text("es", "welcome")]


async def test_a_port_in_use_ends_with_one_line_before_the_store_is_touched(
    tmp_path: Path, fake: FakeGraphAPI
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        server = BotServer(tmp_path, fake.url, PORT=str(port), DATABASE_URL=f"sqlite:///{data}/bot.db")
        status, stderr = await _run(server, "serve")
    assert (status, stderr) == (
        2,
        f"error: cannot listen on 127.0.0.1:{port}: address already in use (PORT)\n",
    )
    assert not data.exists(), "the store's folder was not even created"


async def test_a_second_serve_on_the_same_file_is_refused_and_the_first_serves_on(
    tmp_path: Path, fake: FakeGraphAPI
) -> None:
    first = BotServer(tmp_path, fake.url)
    await first.start()
    try:
        second = BotServer(tmp_path, fake.url)  # another port, the same DATABASE_URL
        assert second.port != first.port
        status, stderr = await _run(second, "serve")
        database = tmp_path / "bot.db"
        assert (status, stderr) == (
            2,
            f"error: {database} is in use by another bot serve (pid {first.process.pid}): "  # type: ignore[union-attr]
            "run one bot serve per SQLite file, or use Redis for several workers "
            "(DATABASE_URL)\n",
        )
        await _answered(first, fake, USER)

        status, stderr = await _run(second, "sessions", "cleanup")  # beside it, as documented
        assert (status, stderr) == (0, "")
    finally:
        await first.stop(signal.SIGKILL)

    again = BotServer(tmp_path, fake.url)  # the OS dropped the lock with the killed process
    await again.start()
    try:
        _, health = await again.admin("/v1/health")
        assert health["store"]["status"] == "ok"
    finally:
        assert await again.stop() == 0
