"""End to end: the dashboard in headless Chromium (Debian's, through Playwright) against the
real ``bot serve`` process, with users writing through signed Cloud API and Twilio webhooks.

Every wait is on a page condition (Playwright's auto-waiting ``expect``), never a sleep: the
page polls the admin API, so what the webhook stores shows up without a reload.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    async_playwright,
    expect,
)

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.dashboard_kit import (
    Service,
    chromium_available,
    launch,
    running_service,
    sign_in,
)
from tests.e2e.server import ADMIN_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="module")

if not chromium_available():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: make test installs it (scripts/system-deps.sh)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
WAIT_MS = 15_000  # the page polls every 2.5 s; the bot answers within a second
expect.set_options(timeout=WAIT_MS)
ANA = "5491155550121"  # Cloud API: bare digits
ANA_TITLE = "WhatsApp from +54911****21"
BEN = "+5491155550132"  # Twilio SMS: +E.164
BEN_TITLE = "SMS from +54911****32"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    async with running_service(tmp_path_factory.mktemp("dashboard")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab (own sessionStorage); fails the test on any script error or console error
    (a Content-Security-Policy violation is one)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(WAIT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "401" not in message.text:  # refused sign-in: expected
            problems.append(f"console: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield tab
    await context.close()
    assert problems == []


def row(page: Page, title: str) -> Locator:
    """The sessions table's row with ``title``."""
    return page.locator("table.sessions tbody tr", has_text=title)


async def test_sign_in_keeps_the_token_in_the_tab_and_never_in_the_url(
    page: Page, service: Service
) -> None:
    await sign_in(page, service, token="not-the-token")
    await expect(page.get_by_role("alert")).to_have_text("That token was refused.")

    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Health")).to_be_visible()
    await expect(page.get_by_test_id("store-status")).to_contain_text("OK")
    assert ADMIN_TOKEN not in page.url
    stored = await page.evaluate("() => sessionStorage.getItem('bot-dashboard-token')")
    assert stored == ADMIN_TOKEN
    assert await page.evaluate("() => document.cookie") == ""

    await page.reload()
    await expect(page.get_by_role("heading", name="Health")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.evaluate("() => sessionStorage.length") == 0


async def test_an_operator_watches_filters_reads_and_cancels_a_conversation(
    page: Page, service: Service
) -> None:
    await sign_in(page, service)
    await page.get_by_role("link", name="Sessions").click()
    await expect(page.get_by_test_id("page-info")).to_be_visible()

    # Sessions created by webhooks appear without a reload.
    await service.whatsapp(ANA, "hola", name="Ana")
    await service.sms(BEN, "hola")
    await expect(row(page, ANA_TITLE)).to_be_visible()
    await expect(row(page, BEN_TITLE)).to_be_visible()
    await expect(row(page, ANA_TITLE)).to_contain_text("+54911****21")
    await expect(row(page, ANA_TITLE)).to_contain_text("active")
    assert "5491155550121" not in await page.locator("table.sessions").inner_text()

    # Channel tabs.
    await page.get_by_role("tab", name="SMS").click()
    await expect(row(page, BEN_TITLE)).to_be_visible()
    await expect(row(page, ANA_TITLE)).to_have_count(0)
    assert "channel=sms" in page.url
    await page.get_by_role("tab", name="WhatsApp").click()
    await expect(row(page, ANA_TITLE)).to_be_visible()
    await expect(row(page, BEN_TITLE)).to_have_count(0)
    await page.get_by_role("tab", name="Voice").click()
    await expect(page.get_by_text("No sessions match.")).to_be_visible()
    await page.get_by_role("tab", name="All").click()
    await expect(row(page, BEN_TITLE)).to_be_visible()

    # Open the WhatsApp conversation and read it; it follows the user live.
    await row(page, ANA_TITLE).get_by_role("link").click()
    await expect(page.get_by_role("heading", name=ANA_TITLE)).to_be_visible()
    chat = page.get_by_role("list", name="Messages")
    await expect(chat.locator(".msg.in")).to_have_text([re.compile("hola")])
    welcome = LOCALES.text("es", "welcome")
    await expect(chat.locator(".msg.out .text")).to_have_text([welcome])
    await service.whatsapp(ANA, "quiero una prueba")
    ask_name = LOCALES.text("es", "free_trial.ask_name")
    question = chat.locator(".msg.out", has_text=ask_name)
    await expect(question).to_contain_text("ask_name")  # the step that asked it
    await expect(question).to_contain_text("sent")

    # Delivery statuses from Meta show on the message.
    await service.replies_to(ANA, 2)
    wamid = next(r.wamid for r in reversed(service.graph.requests) if r.to == ANA and r.wamid)
    await service.whatsapp_status(ANA, wamid, "read")
    await expect(question.locator(".delivery")).to_have_text(re.compile("read"))
    await service.whatsapp(ANA, "Ana")
    await expect(page.locator(".facts.data")).to_contain_text("Ana")  # collected data
    await expect(page.locator(".facts").first).to_contain_text("free_trial · ask_email")

    # Cancel it, telling the user; the notice is recorded in the conversation.
    await page.get_by_role("button", name="Cancel…").click()
    dialog = page.get_by_role("dialog", name="Cancel this session")
    await expect(dialog.get_by_label(re.compile("Tell the user"))).to_be_checked()
    await dialog.get_by_role("button", name="Cancel session").click()
    notified = page.get_by_role("status").filter(has_text="the user was notified")
    await expect(notified).to_be_visible()
    await expect(page.get_by_role("heading", name=ANA_TITLE)).to_contain_text("cancelled")
    notice = LOCALES.text("es", "close.cancelled")
    await expect(chat.locator(".msg.out", has_text=notice)).to_contain_text("sent")
    await expect(page.get_by_role("button", name="Cancel…")).to_have_count(0)
    assert (await service.replies_to(ANA, 4))[-1] == notice

    # Back in the list, the status filter finds it among the cancelled ones.
    await page.get_by_role("link", name="← Sessions").click()
    await page.get_by_label("Status").select_option("cancelled")
    await expect(row(page, ANA_TITLE)).to_contain_text("operator")
    await expect(row(page, BEN_TITLE)).to_have_count(0)


async def test_health_flows_and_a_failed_send_show_what_happened(
    page: Page, service: Service
) -> None:
    user = "5491155550143"
    service.graph.fail_next(code=131047, message="Re-engagement message")
    await service.whatsapp(user, "quiero una prueba")  # the question fails to send
    await service.graph.wait_for(lambda sent: any(r.to == user for r in sent), timeout_s=15)
    await service.whatsapp(user, "chau")  # goodbye while asked for the name
    await service.replies_to(user, 1)

    await sign_in(page, service)
    await expect(page.get_by_test_id("hourly-totals")).to_contain_text("1 goodbye")
    await expect(page.get_by_test_id("send-errors")).to_contain_text("code 131047")
    await expect(page.locator(".chart canvas")).to_be_visible()
    await page.goto(f"{service.dashboard}/#/sessions?status=completed")
    await row(page, "WhatsApp from +54911****43").get_by_role("link").click()
    failed = page.locator(".msg.out .delivery.failed")
    await expect(failed).to_contain_text("failed (131047")
    await page.get_by_role("link", name="Flows").click()
    trial = page.locator("section.flow[data-flow='free_trial']")
    ask_name = trial.locator("tr[data-step='ask_name']")
    await expect(ask_name.locator("td[data-label='Said goodbye']")).to_have_text("1")
    await expect(trial.get_by_test_id("completion")).to_have_text(re.compile(r"\d+ %"))


async def test_it_fits_a_phone_screen(browser: Browser, service: Service) -> None:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = await context.new_page()
    phone.set_default_timeout(WAIT_MS)
    await service.whatsapp("5491155550154", "hola")
    await sign_in(phone, service)
    for view in ("health", "flows", "sessions"):
        await phone.goto(f"{service.dashboard}/#/{view}")
        await expect(phone.get_by_role("status").first).to_contain_text("Live")
        overflow = await phone.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{view} is {overflow}px wider than the screen"
    first = phone.locator("table.sessions tbody tr").first
    await expect(first.locator("td[data-label='Title']")).to_be_visible()
    await first.get_by_role("link").click()
    await expect(phone.get_by_role("list", name="Messages")).to_be_visible()
    assert await phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    await context.close()
