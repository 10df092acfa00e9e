"""End to end: the dashboard's agent seat (issue 19) in headless Chromium against the real
``bot serve`` and the fake Graph API: the Handoffs queue, take, reply, the user's messages
live, another agent refused, return to the bot, close with or without the notice.

Every wait is on a page condition (Playwright's auto-waiting ``expect``) or on what the fake
Graph API received, never a sleep: the page polls the admin API every 2 s.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, Route, async_playwright, expect

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.dashboard_kit import (
    AGENT_KEY,
    Service,
    ask_for_a_person,
    chromium_available,
    launch,
    new_tab,
    running_service,
    sign_in,
    watch_problems,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

if not chromium_available():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: make test installs it (scripts/system-deps.sh)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
WAIT_MS = 15_000  # the page polls every 2 s; the bot answers within a second
expect.set_options(timeout=WAIT_MS)
CARLA = "5491155550261"
CARLA_TITLE = "WhatsApp from +54911****61"
DIEGO = "5491155550272"
DIEGO_TITLE = "WhatsApp from +54911****72"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    async with running_service(tmp_path_factory.mktemp("seat")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """The first agent's tab; fails the test on any script or console error but the 409 a
    refused call logs (the tests check what the page says about it)."""
    tab = await new_tab(browser)
    tab.set_default_timeout(WAIT_MS)
    problems = watch_problems(tab, expected_statuses=(409,))
    yield tab
    await tab.context.close()
    assert problems == []


def queue_row(page: Page, title: str) -> Locator:
    return page.locator("table.handoffs tbody tr", has_text=title)


async def open_from_queue(page: Page, title: str) -> None:
    await page.get_by_role("link", name="Handoffs").click()
    await queue_row(page, title).get_by_role("link", name=title).click()
    await expect(page.get_by_role("heading", name=title)).to_contain_text("handoff")


async def test_an_agent_takes_replies_and_returns_a_conversation_to_the_bot(
    page: Page, browser: Browser, service: Service
) -> None:
    await sign_in(page, service)
    await ask_for_a_person(service, CARLA, "Carla")
    notice = LOCALES.text("es", "handoff.notice")
    assert service.graph.texts_to(CARLA)[-1] == notice

    # The queue shows her without a reload, with why, what she said, and a ticking wait.
    await expect(page.get_by_test_id("handoff-count")).to_have_text(re.compile(r"\b1$"))
    await page.reload()  # Health counts her apart from the sessions the bot answers
    await expect(page.get_by_test_id("active-sessions")).to_contain_text(
        "1 more with a person or waiting for one"
    )
    await page.get_by_role("link", name="Handoffs").click()
    row = queue_row(page, CARLA_TITLE)
    await expect(row).to_contain_text("asked for a person")
    await expect(row.locator("td[data-label='Agent']")).to_have_text("waiting")
    await expect(row.locator("td[data-label='Last message']")).to_contain_text(
        "quiero hablar con una persona"
    )
    waited = await row.locator("td[data-label='Waiting']").inner_text()
    await expect(row.locator("td[data-label='Waiting']")).not_to_have_text(waited)
    await service.whatsapp(CARLA, "es por una factura")  # stored; the bot stays silent
    await expect(row.locator("td[data-label='Last message']")).to_contain_text("es por una factura")

    # Open it: nobody holds it, so the reply box is disabled until she is taken.
    await row.get_by_role("link", name=CARLA_TITLE).click()
    await expect(page.get_by_test_id("holder")).to_contain_text("Waiting for a person")
    nav = page.get_by_role("navigation", name="Views")
    await expect(nav.get_by_role("link", name="Handoffs")).to_have_attribute("aria-current", "page")
    await expect(nav.get_by_role("link", name="Sessions")).not_to_have_attribute(
        "aria-current", "page"
    )
    reply = page.get_by_label("Reply to the user")
    await expect(reply).to_be_disabled()
    chat = page.get_by_role("list", name="Messages")
    await expect(chat.locator(".msg.out .text").last).to_have_text(notice)
    await page.get_by_label("Your name").fill("Ana")
    await page.get_by_role("button", name="Take", exact=True).click()
    await expect(page.get_by_test_id("holder")).to_contain_text("You hold it (as Ana)")
    assert await page.evaluate(f"() => localStorage.getItem('{AGENT_KEY}')") == "Ana"
    await expect(reply).to_be_enabled()

    # Reply with Enter: shown at once as pending (the POST is held back here), then sent.
    held, passed = asyncio.Event(), asyncio.Event()

    async def hold_post(route: Route) -> None:
        post = route.request.method == "POST"
        if post:
            await held.wait()
        await route.continue_()
        if post:
            passed.set()

    def is_messages(url: str) -> bool:
        return url.split("?")[0].endswith("/messages")

    await page.route(is_messages, hold_post)
    text = "Hola Carla, soy Ana. ¿Me pasas el número de factura?"
    await reply.fill(text)
    await reply.press("Enter")
    mine = chat.locator(".msg.out", has_text=text)
    await expect(mine.locator(".delivery")).to_have_text(re.compile("pending"))
    await expect(mine).to_contain_text("Ana")
    await expect(reply).to_have_value("")
    held.set()
    await passed.wait()
    await page.unroute(is_messages, hold_post)
    await service.replies_to(CARLA, 3)
    assert service.graph.texts_to(CARLA) == [LOCALES.text("es", "welcome"), notice, text]
    await expect(mine.locator(".delivery")).to_have_text(re.compile("sent"))
    await expect(mine).to_have_count(1)  # the stored message replaced the pending one
    wamid = next(r.wamid for r in reversed(service.graph.requests) if r.to == CARLA)
    await service.whatsapp_status(CARLA, wamid or "", "read")
    await expect(mine.locator(".delivery")).to_have_text(re.compile("read"))

    # Her next message shows up live in the open conversation; the bot stays silent.
    await service.whatsapp(CARLA, "Es la F-00123, gracias")
    await expect(chat.locator(".msg.in").last).to_contain_text("Es la F-00123, gracias")
    assert len(service.graph.texts_to(CARLA)) == 3

    # Another agent, in another browser, sees who holds it and is refused when taking it.
    other = await new_tab(browser)
    other.set_default_timeout(WAIT_MS)
    other_problems = watch_problems(other, expected_statuses=(409,))
    await sign_in(other, service)
    await open_from_queue(other, CARLA_TITLE)
    await expect(other.get_by_test_id("holder")).to_contain_text("Held by Ana")
    await expect(other.get_by_label("Reply to the user")).to_be_disabled()
    await other.get_by_label("Your name").fill("Beto")
    await other.get_by_role("button", name="Take", exact=True).click()
    await expect(other.get_by_role("alert")).to_have_text("Held by Ana.")
    await other.context.close()
    assert other_problems == []

    # Back to the bot: the next message gets a bot reply again.
    await page.get_by_role("button", name="Return to the bot").click()
    await expect(page.get_by_role("status").filter(has_text="Back to the bot")).to_be_visible()
    await expect(page.get_by_role("heading", name=CARLA_TITLE)).to_contain_text("active")
    await expect(page.get_by_label("Reply to the user")).to_have_count(0)
    returned = (await service.replies_to(CARLA, 4))[3]
    welcome = LOCALES.text("es", "welcome")
    assert returned == f"{LOCALES.text('es', 'handoff.returned')}\n\n{welcome}"
    await service.whatsapp(CARLA, "quiero una prueba")
    ask_name = LOCALES.text("es", "free_trial.ask_name")
    assert (await service.replies_to(CARLA, 5))[4] == ask_name
    await expect(chat.locator(".msg.out").last).to_contain_text(ask_name)
    await page.get_by_role("link", name="Handoffs").click()
    await expect(queue_row(page, CARLA_TITLE)).to_have_count(0)  # left the queue


async def session_of(service: Service, user: str) -> str:
    status, body = await service.bot.admin(f"/v1/sessions?user={user}&limit=1")
    assert status == 200, body
    sid: str = body["sessions"][0]["id"]
    return sid


async def test_the_name_is_remembered_a_closed_one_says_so_and_close_asks_about_the_notice(
    page: Page, service: Service
) -> None:
    eva = "5491155550283"
    eva_title = "WhatsApp from +54911****83"
    await ask_for_a_person(service, DIEGO, "Diego")
    await ask_for_a_person(service, eva, "Eva")
    await sign_in(page, service)
    await page.get_by_role("link", name="Handoffs").click()
    await expect(queue_row(page, DIEGO_TITLE)).to_be_visible()
    await expect(queue_row(page, eva_title)).to_be_visible()
    await expect(page.locator("table.handoffs tbody tr")).to_have_count(2)  # Carla went back

    # Take Diego; after a reload the name is remembered and he is still ours.
    await open_from_queue(page, DIEGO_TITLE)
    await page.get_by_label("Your name").fill("Ana")
    await page.get_by_role("button", name="Take", exact=True).click()
    await expect(page.get_by_test_id("holder")).to_contain_text("You hold it (as Ana)")
    await page.reload()
    await expect(page.get_by_test_id("holder")).to_contain_text("You hold it (as Ana)")

    # Someone closes him through the API while the reply is on its way: it is refused in
    # plain words; the page catches up (closed, no seat).
    diego = await session_of(service, DIEGO)

    async def close_first(route: Route) -> None:
        if route.request.method == "POST":
            status, _ = await service.admin_post(f"/v1/sessions/{diego}/close", {"notify": False})
            assert status == 200
        await route.continue_()

    await page.route(f"**/v1/sessions/{diego}/messages", close_first)
    reply = page.get_by_label("Reply to the user")
    await reply.fill("¿Sigues ahí?")
    await reply.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text(
        "Not sent: This conversation is completed now."
    )
    await expect(page.get_by_role("heading", name=DIEGO_TITLE)).to_contain_text("completed")
    await expect(page.get_by_label("Reply to the user")).to_have_count(0)
    assert service.graph.texts_to(DIEGO) == [
        LOCALES.text("es", "welcome"),
        LOCALES.text("es", "handoff.notice"),
    ]

    # The queue dropped him without a reload; Eva is taken with the remembered name and
    # closed from the seat, without the notice and then (another user) with it.
    await page.get_by_role("link", name="Handoffs").click()
    await expect(queue_row(page, DIEGO_TITLE)).to_have_count(0)
    await queue_row(page, eva_title).get_by_role("link", name=eva_title).click()
    await expect(page.get_by_label("Your name")).to_have_value("Ana")
    await page.get_by_role("button", name="Take", exact=True).click()
    await page.get_by_role("button", name="Close…").click()
    dialog = page.get_by_role("dialog", name="Close this conversation")
    notify = dialog.get_by_label("Send the closing notice")
    await expect(notify).to_be_checked()
    await notify.uncheck()
    await dialog.get_by_role("button", name="Close conversation").click()
    closed = page.get_by_role("status").filter(has_text="closed without a notice")
    await expect(closed).to_be_visible()
    await expect(page.get_by_role("heading", name=eva_title)).to_contain_text("completed")

    frank = "5491155550294"
    await ask_for_a_person(service, frank, "Frank")
    await page.get_by_role("link", name="Handoffs").click()
    await open_from_queue(page, "WhatsApp from +54911****94")
    await page.get_by_role("button", name="Take", exact=True).click()
    await page.get_by_role("button", name="Close…").click()
    dialog = page.get_by_role("dialog", name="Close this conversation")
    await dialog.get_by_role("button", name="Close conversation").click()
    notice = page.get_by_role("status").filter(has_text="the user got the closing notice")
    await expect(notice).to_be_visible()
    texts = await service.replies_to(frank, 3)
    assert texts[2] == LOCALES.text("es", "close.completed")
    assert len(service.graph.texts_to(eva)) == 2  # welcome and the handoff notice only
    await page.get_by_role("link", name="Handoffs").click()
    await expect(page.get_by_text("Nobody is waiting for a person.")).to_be_visible()
    await expect(page.get_by_test_id("handoff-count")).to_have_count(0)


async def test_the_seat_fits_a_phone_screen(browser: Browser, service: Service) -> None:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = await context.new_page()
    phone.set_default_timeout(WAIT_MS)
    problems = watch_problems(phone)
    user = "5491155550305"
    await ask_for_a_person(service, user, "Gina")
    await sign_in(phone, service)
    await phone.goto(f"{service.dashboard}/#/handoffs")
    title = "WhatsApp from +54911****05"
    await expect(queue_row(phone, title).locator("td[data-label='Agent']")).to_be_visible()
    assert await phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    await open_from_queue(phone, title)
    await phone.get_by_label("Your name").fill("Ana")
    await phone.get_by_role("button", name="Take", exact=True).click()
    reply = phone.get_by_label("Reply to the user")
    await reply.fill("Hola Gina")
    await phone.get_by_role("button", name="Send").click()
    await expect(phone.locator(".msg.out", has_text="Hola Gina")).to_contain_text("sent")
    assert await phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert (await service.replies_to(user, 3))[2] == "Hola Gina"
    await context.close()
    assert problems == []


async def test_an_agent_takes_over_an_active_conversation_with_the_keyboard(
    page: Page, service: Service
) -> None:
    user = "5491155550316"
    title = "WhatsApp from +54911****16"
    await service.whatsapp(user, "hola", name="Hugo")
    await service.replies_to(user, 1)
    await sign_in(page, service)
    await page.goto(f"{service.dashboard}/#/sessions/{await session_of(service, user)}")
    await expect(page.get_by_role("heading", name=title)).to_contain_text("active")
    await page.get_by_role("button", name="Take over…").press("Enter")
    await page.get_by_label("Your name").press_sequentially("Ana")
    await page.get_by_label("Your name").press("Enter")  # submits the form
    await expect(page.get_by_role("heading", name=title)).to_contain_text("handoff")
    await expect(page.get_by_test_id("holder")).to_contain_text("You hold it (as Ana)")
    assert (await service.replies_to(user, 2))[1] == LOCALES.text("es", "handoff.notice")
    await page.get_by_label("Reply to the user").press_sequentially("Hola Hugo")
    await page.get_by_label("Reply to the user").press("Enter")
    assert (await service.replies_to(user, 3))[2] == "Hola Hugo"
    # the box has the focus back once the send is answered (ready for the next reply); a
    # link pressed before that answer used to lose its Enter to the box
    await expect(page.get_by_label("Reply to the user")).to_be_focused()
    await page.get_by_role("link", name="← Handoffs").press("Enter")
    row = queue_row(page, title)
    await expect(row).to_contain_text("taken over by an agent")
    await expect(row.locator("td[data-label='Agent']")).to_have_text("Ana")
