"""Take the README's dashboard screenshots: ``python -m tests.e2e.dashboard_screenshots [DIR]``
(default ``docs/screenshots``; needs Debian's ``chromium``).

Seeds a day of history into a fresh SQLite store (sessions spread over the last 24 hours, in
every channel and with every kind of close), starts the real ``bot serve`` on it, has two
users write live through signed webhooks, then photographs the Health, Sessions,
conversation and Flows views at desktop size and the sessions list at phone size; then two
users end up waiting for a person (one asks, one fails the support flow's invoice question
twice) and an agent takes one, replies and gets an answer: the Handoffs queue and the agent's
seat.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from bot.locales import Locales
from bot.sessions.model import Delivery, Direction, MessageRecord, Session, SessionKey, Status
from bot.sessions.sqlite import SqliteStore
from tests.conftest import REPO
from tests.e2e.dashboard_kit import (
    PHONE_ID,
    TWILIO_NUMBER,
    Service,
    launch,
    running_service,
    sign_in,
)

LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
NAMES = ["Lucía", "Mateo", "Valentina", "Santiago", "Camila", "Benjamín", "Martina", "Joaquín"]
TRIAL = [("ask_name", "free_trial.ask_name"), ("ask_email", "free_trial.ask_email"),
         ("ask_plan", "free_trial.ask_plan")]  # fmt: skip
# (status, close reason, index of the last question reached) of seeded free trials
ENDINGS = [
    (Status.COMPLETED, "credentials_delivered", 3),
    (Status.COMPLETED, "credentials_delivered", 3),
    (Status.COMPLETED, "credentials_delivered", 3),
    (Status.COMPLETED, "goodbye", 1),
    (Status.CANCELLED, "cancel", 2),
    (Status.TIMEOUT, "timeout", 1),
    (Status.TIMEOUT, "timeout", 0),
]

FAREWELLS = {"goodbye": "chau, gracias", "cancel": "cancelar"}


def _key(rng: random.Random) -> SessionKey:
    digits = f"54911{rng.randrange(10**8):08d}"
    channel = rng.choice(["whatsapp", "whatsapp", "whatsapp", "twilio_whatsapp", "sms"])
    if channel == "whatsapp":
        return SessionKey(channel, PHONE_ID, digits)
    return SessionKey(channel, TWILIO_NUMBER, f"+{digits}")


def _history(
    rng: random.Random, now: datetime, count: int
) -> list[tuple[Session, list[MessageRecord]]]:
    """Closed free-trial sessions created over the last 24 hours, with their messages."""
    seeded = []
    for _ in range(count):
        created = now - timedelta(minutes=rng.uniform(20, 24 * 60))
        status, reason, reached = rng.choice(ENDINGS)
        name = rng.choice(NAMES)
        answers = [name, f"{name.lower()}@example.com", "Pro"]
        session = Session(
            id=uuid.uuid4().hex,
            key=_key(rng),
            status=status,
            created_at=created,
            last_activity_at=created,
            expires_at=None,
            close_reason=reason,
            flow_id="free_trial",
            language="es",
            display_name=name,
            data={"name": name},
        )
        at = created
        messages = [_message(session, Direction.IN, "quiero una prueba", at)]
        asked = TRIAL[: min(reached, 2) + 1]
        for i, (step, text_key) in enumerate(asked):
            at += timedelta(seconds=rng.uniform(2, 40))
            question = LOCALES.text("es", text_key, session.data)
            messages.append(_message(session, Direction.OUT, question, at, step))
            last = i == len(asked) - 1 and reached < 3
            answer = FAREWELLS.get(reason) if last else answers[i]
            if answer:
                at += timedelta(seconds=rng.uniform(5, 90))
                messages.append(_message(session, Direction.IN, answer, at, step))
        session.last_activity_at = at
        quiet = timedelta(minutes=30) if status is Status.TIMEOUT else timedelta(seconds=2)
        session.closed_at = at + quiet
        notice = LOCALES.text("es", f"close.{reason}", session.data)
        messages.append(_message(session, Direction.OUT, notice, session.closed_at))
        if session.closed_at < now:
            seeded.append((session, messages))
    return seeded


def _message(
    session: Session, direction: Direction, text: str, at: datetime, step: str | None = None
) -> MessageRecord:
    return MessageRecord(
        session_id=session.id,
        key=session.key,
        direction=direction,
        kind="text",
        text=text,
        created_at=at,
        step_id=step,
        status=Delivery.READ if direction is Direction.OUT else Delivery.RECEIVED,
        provider_id=f"wamid.seed{uuid.uuid4().hex}" if direction is Direction.IN else None,
    )


async def _seed(db: Path) -> None:
    store = SqliteStore(db)
    await store.open()
    try:
        for session, messages in _history(random.Random(8), datetime.now(UTC), 140):
            await store.commit([session], messages)
    finally:
        await store.close()


async def _shoot(page: Page, path: Path) -> None:
    await page.wait_for_timeout(300)  # let the chart finish its layout
    await page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path}")


async def main(out: Path, config: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _seed(Path(tmp) / "bot.db")
        async with (
            running_service(Path(tmp), config) as service,
            async_playwright() as playwright,
        ):
            lucia, ana = "5491155550189", "+5491155550172"
            for count, text in enumerate(("hola", "quiero una prueba", "Lucía"), start=1):
                await service.whatsapp(lucia, text, name="Lucía")
                await service.replies_to(lucia, count)
            for request in service.graph.requests[-2:]:
                if request.wamid:
                    await service.whatsapp_status(lucia, request.wamid, "delivered")
            await service.whatsapp_status(lucia, service.graph.requests[-3].wamid or "", "read")
            await service.sms(ana, "hola")
            browser = await launch(playwright)
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            page = await context.new_page()
            await sign_in(page, service)
            await expect(page.get_by_test_id("hourly-totals")).to_contain_text("opened")
            await _shoot(page, out / "health.png")
            await page.get_by_role("link", name="Sessions").click()
            await expect(page.locator("table.sessions tbody tr").first).to_be_visible()
            await _shoot(page, out / "sessions.png")
            live = page.locator("table.sessions tbody tr", has_text="+54911****89")
            await live.get_by_role("link").click()
            await expect(page.locator(".msg").first).to_be_visible()
            await _shoot(page, out / "conversation.png")
            await page.get_by_role("link", name="Flows").click()
            await expect(page.locator("section.flow").first).to_be_visible()
            await _shoot(page, out / "flows.png")
            phone = await browser.new_context(
                viewport={"width": 390, "height": 780}, is_mobile=True
            )
            small = await phone.new_page()
            await sign_in(small, service)
            await small.goto(f"{service.dashboard}/#/sessions")
            await expect(small.locator("table.sessions tbody tr").first).to_be_visible()
            await _shoot(small, out / "sessions-phone.png")
            await _agent_seat(service, page, out)
            await browser.close()


async def _say(service: Service, user: str, name: str, texts: list[str]) -> None:
    """``user`` writes ``texts`` one by one, each after the bot's answer to the previous."""
    for text in texts:
        sent = len(service.graph.texts_to(user))
        await service.whatsapp(user, text, name=name)
        await service.replies_to(user, sent + 1)


async def _agent_seat(service: Service, page: Page, out: Path) -> None:
    """Two users wait for a person; the agent Sofía takes Camila's conversation, replies, and
    Camila answers: ``handoffs.png`` (the queue) and ``handoff.png`` (the seat)."""
    camila, mateo = "5491155550196", "5491155550207"
    await _say(service, mateo, "Mateo", ["hola", "quiero hablar con una persona"])
    await service.whatsapp(mateo, "es por mi contraseña", name="Mateo")
    steps = ["soporte", "Camila", "camila@example.com", "Facturación", "no la encuentro", "123"]
    await _say(service, camila, "Camila", steps)
    await service.whatsapp(camila, "me cobraron dos veces este mes", name="Camila")
    await page.evaluate("() => localStorage.setItem('bot-dashboard-agent', 'Sofía')")
    await page.get_by_role("link", name="Handoffs").click()
    rows = page.locator("table.handoffs tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.last).to_contain_text("me cobraron dos veces")
    await _shoot(page, out / "handoffs.png")
    await rows.last.get_by_role("link").click()
    await page.get_by_role("button", name="Take", exact=True).click()
    reply = page.get_by_label("Reply to the user")
    await expect(reply).to_be_enabled()
    answer = "Hola Camila, soy Sofía de facturación. Veo los dos cobros: te devuelvo uno hoy."
    before = len(service.graph.texts_to(camila))
    await reply.fill(answer)
    await reply.press("Enter")
    sent = await service.replies_to(camila, before + 1)
    assert sent[-1] == answer, sent
    wamid = next(r.wamid for r in reversed(service.graph.requests) if r.to == camila)
    await service.whatsapp_status(camila, wamid or "", "read")
    await service.whatsapp(camila, "¡Gracias! ¿Me llega un comprobante?", name="Camila")
    chat = page.get_by_role("list", name="Messages")
    await expect(chat.locator(".msg.in").last).to_contain_text("comprobante")
    await expect(chat.locator(".msg.out").last.locator(".delivery")).to_contain_text("read")
    await reply.fill("Sí, te lo envío por correo a camila@example.com")
    await page.evaluate("() => window.scrollTo(0, 0)")
    await _shoot(page, out / "handoff.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--config", type=Path, help="config.yaml (default: the repository's)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.out, args.config))
