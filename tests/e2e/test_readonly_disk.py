"""End to end: the real ``bot serve`` on a SQLite file it may not write (issue #13, finding 4).

Webhooks answer 503 (never a 200 for what is not stored), ``/readyz`` and ``/v1/health`` say
the store is not writable, and once the file is writable again the next webhook is stored and
answered, without a restart.

Root ignores file modes; the server is then started without ``CAP_DAC_OVERRIDE`` (dropped
from its bounding set before ``exec``), so the file's mode applies to it as to any user.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import APP_SECRET, BotServer
from tests.e2e.test_redis_workers import history
from tests.fakes.cloud_payloads import envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

PHONE_ID = "1234567890"
USER = "5494400000077"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _file_modes_apply() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes file modes apply to a child run as root (drops the
    capabilities that bypass them), ``None`` for a child not run as root."""
    if os.geteuid() != 0:
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def drop() -> None:
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def _read_only_works(folder: Path) -> bool:
    """True when a child started like the server cannot write a file of mode 0444."""
    probe = folder / "probe"
    probe.write_text("")
    probe.chmod(0o444)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'w')"],
            preexec_fn=_file_modes_apply(),
            capture_output=True,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.unlink()
    return b"PermissionError" in done.stderr


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token="test-access-token") as api:
        yield api


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def test_a_read_only_file_is_not_ready_and_serves_again_without_a_restart(
    tmp_path: Path, fake: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _read_only_works(tmp_path):
        message = "cannot start a process that file modes apply to"
        if os.environ.get("CI"):
            pytest.fail(message)  # never skip silently in CI
        pytest.skip(message)
    folder = tmp_path / "data"
    folder.mkdir()
    made = BotServer(folder, fake.url)
    await made.start()  # creates the file and its schema
    assert await made.stop() == 0
    files = sorted(folder.glob("bot.db*"))
    assert folder / "bot.db" in files
    for file in files:
        file.chmod(0o444)

    spawn = asyncio.create_subprocess_exec

    async def as_any_user(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        return await spawn(*args, preexec_fn=_file_modes_apply(), **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", as_any_user)
    server = BotServer(folder, fake.url)
    await server.start()
    try:
        body, headers = signed(
            envelope(text_message("hola", wa_id=USER, phone_number_id=PHONE_ID)), APP_SECRET
        )
        status, text = await server.post(body, headers)
        assert (status, "attempt to write a readonly database" in text) == (503, True)
        status, ready = await _get(f"{server.url}/readyz")
        assert status == 503
        assert ready["reason"] == "store not writable: sqlite: attempt to write a readonly database"
        status, health = await server.admin("/v1/health")
        assert (status, health["store"]["status"]) == (200, "unavailable")
        assert "readonly" in health["store"]["detail"]

        for file in files:
            file.chmod(0o644)
        status, _ = await server.post(body, headers)  # Meta delivers it again
        assert status == 200
        status, ready = await _get(f"{server.url}/readyz")
        assert (status, ready["status"]) == (200, "ready")
        status, health = await server.admin("/v1/health")
        assert health["store"]["status"] == "ok"
        await fake.wait_for(lambda _: len(fake.texts_to(USER)) == 1, timeout_s=15)
        assert fake.texts_to(USER) == [LOCALES.text("es", "welcome")]
        stored = [m["text"] for m in await history(server, USER) if m["direction"] == "in"]
        assert stored == ["hola"]
    finally:
        await server.stop()
    log = server.log()
    assert "fails: attempt to write a readonly database" in log
    assert "writes to" in log and "succeed again" in log
    assert "retention cleanup skipped: store unavailable" in log
    assert "Traceback" not in log  # a full or read-only disk is one line per job, not a trace
