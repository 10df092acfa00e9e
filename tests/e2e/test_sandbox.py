"""End to end: the README's "Try it in five minutes", on real processes.

A copy of the project's config and data folders with ``.env.example`` as its ``.env`` (what
``make run`` serves: the WhatsApp sandbox, on SQLite under ``data/``), only ``HOST`` and
``PORT`` overridden so the test listens on 127.0.0.1 and a free port. ``bot send`` runs in a
subprocess from that folder, as a newcomer runs it, and its output is checked line by line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
import pytest_asyncio
from dotenv import dotenv_values

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import BotServer, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLE = {k: v or "" for k, v in dotenv_values(REPO / ".env.example").items()}
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
SETTING_PREFIXES = ("WHATSAPP_", "TWILIO_", "SESSION_", "DELIVERY_", "LOG_")
SETTINGS = {"ADMIN_TOKEN", "DATABASE_URL", "DEFAULT_LANGUAGE", "PUBLIC_BASE_URL", "HOST", "PORT"}
SANDBOX_LINE = "WHATSAPP_API_URL=sandbox: replies are kept in the store, not sent"


def t(key: str) -> str:
    return LOCALES.text("es", key, {})


def bot_lines(text: str) -> list[str]:
    """How ``bot send`` prints one reply."""
    first, *rest = text.splitlines()
    return [f"bot> {first}", *(f"     {line}" for line in rest)]


def clean_environment(**extra: str) -> dict[str, str]:
    """The process environment without any of the service's settings (so only the project's
    ``.env`` speaks), plus ``extra``."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS and k not in EXAMPLE and not k.startswith(SETTING_PREFIXES)
    }
    return {**kept, **extra}


class Project:
    """A copy of the project files ``make run`` needs, with ``.env`` = ``.env.example``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = BotServer(root, api_url="unused", config=root / "config.yaml")
        # Only the project's .env speaks, but for where to listen (127.0.0.1, a free port).
        self.server.env = clean_environment(HOST="127.0.0.1", PORT=str(self.server.port))
        self.env = clean_environment(PORT=str(self.server.port))  # bot send's default --url
        shutil.copy(REPO / "config.yaml", root / "config.yaml")
        for folder in ("flows", "intents", "locales"):
            shutil.copytree(REPO / folder, root / folder)
        shutil.copy(REPO / ".env.example", root / ".env")
        shutil.copy(REPO / ".env.example", root / "no.env")  # the env file BotServer passes

    async def send(self, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
        """Run ``bot send ARGS`` from the project folder; ``(exit status, stdout, stderr)``."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "send",
            *args,
            cwd=str(self.root),
            env=dict(env if env is not None else self.env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def project(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Project]:
    """The project copy, served by ``bot serve`` with exactly ``.env.example``'s values."""
    project = Project(tmp_path_factory.mktemp("project"))
    await project.server.start()
    yield project
    assert await project.server.stop() == 0, project.server.log()


async def test_the_example_env_serves_the_sandbox_without_whatsapp_tokens(
    project: Project,
) -> None:
    assert EXAMPLE["WHATSAPP_API_URL"] == "sandbox"
    assert EXAMPLE["WHATSAPP_ACCESS_TOKEN"] == ""
    log = project.server.log()
    assert log.count(SANDBOX_LINE) == 1, log
    assert "ERROR" not in log and "Traceback" not in log, log
    assert (project.root / "data" / "bot.db").is_file()  # DATABASE_URL of .env.example


async def test_bot_send_prints_the_welcome(project: Project) -> None:
    status, out, err = await project.send("hola")
    assert (status, err) == (0, "")
    assert out.splitlines() == ["you> hola", *bot_lines(t("welcome"))]


async def test_several_texts_are_answered_in_order_each_under_its_message(
    project: Project,
) -> None:
    user = "5491100000002"
    status, out, err = await project.send("--user", f"+{user}", "hola", "quiero una prueba")
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "you> hola",
        *bot_lines(t("welcome")),
        "you> quiero una prueba",
        *bot_lines(t("free_trial.ask_name")),
    ]
    # What the dashboard's conversation view shows: recorded sent, with sandbox wamids.
    server = project.server
    code, listed = await server.admin(f"/v1/sessions?user={user}", token=EXAMPLE["ADMIN_TOKEN"])
    assert code == 200
    (session,) = listed["sessions"]
    code, detail = await server.admin(f"/v1/sessions/{session['id']}", token=EXAMPLE["ADMIN_TOKEN"])
    outbound = [m for m in detail["messages"] if m["direction"] == "out"]
    assert [(m["status"], m["provider_id"]) for m in outbound] == [
        ("sent", f"wamid.sandbox.{m['id']}") for m in outbound
    ]
    assert len(outbound) == 2


async def test_server_not_running(project: Project) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    status, out, err = await project.send("--url", url, "hola")
    assert (status, out) == (2, "")
    assert err == f"error: cannot reach {url}: is `bot serve` running? (--url)\n"


async def test_a_wrong_app_secret_is_named_and_nothing_is_stored(project: Project) -> None:
    user = "5491100000003"
    env = {**project.env, "WHATSAPP_APP_SECRET": "not-the-server-secret"}
    status, out, err = await project.send("--user", user, "hola", env=env)
    assert (status, out) == (2, "")
    assert err == (
        "error: the webhook refused the signature (401): "
        "WHATSAPP_APP_SECRET differs from the server's\n"
    )
    code, listed = await project.server.admin(
        f"/v1/sessions?user={user}", token=EXAMPLE["ADMIN_TOKEN"]
    )
    assert (code, listed["total"]) == (200, 0)


async def test_no_admin_token_is_named_before_anything_is_sent(project: Project) -> None:
    status, out, err = await project.send("hola", env={**project.env, "ADMIN_TOKEN": ""})
    assert (status, out) == (2, "")
    assert err.startswith("error: ADMIN_TOKEN is not set"), err
    assert err.count("\n") == 1


async def test_a_wrong_admin_token_is_named_before_anything_is_sent(project: Project) -> None:
    user = "5491100000004"
    env = {**project.env, "ADMIN_TOKEN": "not-the-server-token"}
    status, out, err = await project.send("--user", user, "hola", env=env)
    assert (status, out) == (2, "")
    assert err == "error: the admin API refused ADMIN_TOKEN (401): it differs from the server's\n"
    code, listed = await project.server.admin(
        f"/v1/sessions?user={user}", token=EXAMPLE["ADMIN_TOKEN"]
    )
    assert (code, listed["total"]) == (200, 0)
