"""What the dashboard's browser tests (and the README screenshots) need: Debian's Chromium
driven by Playwright, the real ``bot serve`` with Twilio on, and users who write to it through
signed webhooks (Cloud API and Twilio)."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright, expect
from twilio.request_validator import RequestValidator

from tests.e2e.server import ACCESS_TOKEN, ADMIN_TOKEN, APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, signed, status_update, text_message
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's ``chromium``, installed by ``scripts/system-deps.sh`` from ``make test``
(Playwright never downloads a browser)."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE_ID = "1234567890"
TWILIO_NUMBER = "+14155550100"
_twilio_sids = itertools.count(1)


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


async def launch(playwright: Playwright) -> Browser:
    """Headless Chromium from the system, with the flags that keep it offline and quiet."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class Service:
    """The real service and the fakes of the providers it talks to."""

    bot: BotServer
    graph: FakeGraphAPI
    twilio: FakeTwilioAPI

    @property
    def dashboard(self) -> str:
        return f"{self.bot.url}/dashboard"

    async def whatsapp(self, user: str, text: str, name: str = "Test User") -> None:
        """A signed Cloud API text from ``user`` (answered 200; processed in the background)."""
        body, headers = signed(
            envelope(text_message(text, wa_id=user, phone_number_id=PHONE_ID, name=name)),
            APP_SECRET,
        )
        status, answer = await self.bot.post(body, headers)
        assert status == 200, answer

    async def whatsapp_status(self, user: str, wamid: str, status: str) -> None:
        """A signed Cloud API delivery status of a message the bot sent to ``user``."""
        body, headers = signed(
            envelope(status_update(wamid, status, recipient_id=user, phone_number_id=PHONE_ID)),
            APP_SECRET,
        )
        assert (await self.bot.post(body, headers))[0] == 200

    async def sms(self, user: str, text: str) -> None:
        """A Twilio SMS from ``user`` (+E.164), signed as Twilio signs it."""
        sid = f"SM{next(_twilio_sids):032x}"
        fields = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": user,
            "To": TWILIO_NUMBER,
            "Body": text,
            "NumMedia": "0",
        }
        url = f"{self.bot.url}/webhook/twilio"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, fields)
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=fields, headers={"X-Twilio-Signature": signature}) as response,
        ):
            assert response.status == 200, await response.text()

    async def admin_post(self, path: str, body: dict[str, object]) -> tuple[int, Any]:
        """POST ``body`` as JSON to the admin API's ``path`` (``/v1/...``) with the token."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.bot.url}{path}", json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    async def replies_to(self, user: str, count: int) -> list[str]:
        """Wait until the bot sent ``user`` (Cloud API) ``count`` texts; return them."""
        await self.graph.wait_for(lambda _: len(self.graph.texts_to(user)) >= count, timeout_s=15)
        return self.graph.texts_to(user)


@asynccontextmanager
async def running_service(
    data_dir: Path, config: Path | None = None, **env: str
) -> AsyncIterator[Service]:
    """Start the fakes and ``bot serve`` (SQLite in ``data_dir``, Twilio on; the repository's
    ``config.yaml`` unless ``config``); stop them after."""
    async with FakeGraphAPI(access_token=ACCESS_TOKEN) as graph, FakeTwilioAPI() as twilio:
        bot = BotServer(
            data_dir,
            graph.url,
            config=config,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_URL=twilio.url,
            **env,
        )
        await bot.start()
        try:
            yield Service(bot, graph, twilio)
        finally:
            assert await bot.stop() == 0, bot.log()


async def sign_in(page: Page, service: Service, token: str = ADMIN_TOKEN) -> None:
    """Open the dashboard and sign in through its form; with the right token, wait until the
    dashboard shows (the token is then stored)."""
    await page.goto(service.dashboard)
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    if token == ADMIN_TOKEN:
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


AGENT_KEY = "bot-dashboard-agent"
"""Where the dashboard remembers the agent's name (``localStorage``)."""


def watch_problems(tab: Page, expected_statuses: tuple[int, ...] = ()) -> list[str]:
    """Collect the tab's script errors and console errors (a Content-Security-Policy violation
    is one) into the returned list, except the browser's "Failed to load resource" lines for
    ``expected_statuses`` (a refused sign-in's 401, a taken session's 409)."""
    problems: list[str] = []
    allowed = tuple(f"status of {code}" for code in expected_statuses)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(a in message.text for a in allowed):
            problems.append(f"console: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems


async def new_tab(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    """A tab in a context of its own (own storage: another agent's browser)."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    return await context.new_page()


async def ask_for_a_person(service: Service, user: str, name: str) -> None:
    """``user`` greets the bot, then asks for a person (the ``handoff`` intent); waits for the
    welcome and the handoff notice."""
    await service.whatsapp(user, "hola", name=name)
    await service.replies_to(user, 1)
    await service.whatsapp(user, "quiero hablar con una persona", name=name)
    await service.replies_to(user, 2)
