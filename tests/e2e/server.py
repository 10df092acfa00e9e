"""Run the real ``bot serve`` process for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import REPO

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class BotServer:
    """``python -m bot serve`` in a subprocess on a free port, with a test environment."""

    def __init__(
        self, data_dir: Path, api_url: str, *, config: Path | None = None, **env: str
    ) -> None:
        self.config = config or REPO / "config.yaml"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SESSION_"))},
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WHATSAPP_API_URL": api_url,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "DATABASE_URL": f"sqlite:///{data_dir / 'bot.db'}",
            "SESSION_SWEEP_INTERVAL_SECONDS": "0.2",
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = data_dir / "server.log"

    async def start(self, timeout_s: float = 60.0) -> None:
        """Start the process and wait until ``/healthz`` answers.

        Raises:
            AssertionError: The process exited or was not ready in time (with its log).
        """
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--config",
            str(self.config),
            "--env-file",
            str(self.data_dir / "no.env"),
            cwd=str(REPO),
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + timeout_s
            while asyncio.get_running_loop().time() < deadline:
                if self.process.returncode is not None:
                    raise AssertionError(f"bot serve exited:\n{self.log()}")
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"bot serve not ready in {timeout_s}s:\n{self.log()}")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process and wait for it; returns its exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/webhook/whatsapp", data=body, headers=headers) as response,
        ):
            return response.status, await response.text()

    async def admin(self, path: str, token: str = ADMIN_TOKEN) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            return response.status, await response.json()
