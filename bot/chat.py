"""``bot chat``: the real engine in a terminal, for flow authors without a WhatsApp account.

Lines typed are inbound text messages from one user; the bot's replies and close notices are
printed as they are sent, timeouts included (the sweeper runs as in the service), and each
close is followed by its status and reason (``[session completed: ticket_created]``).
Commands: ``/wait MINUTES`` moves the clock forward (to see a timeout without waiting),
``/quit``. With piped input every line, commands included, is echoed after ``you>`` before
its answer, so the output reads as a transcript.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.channels.base import Choice, InboundKind, InboundMessage, numbered_text
from bot.clock import utc_now
from bot.config import Settings
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionQuery, SessionStore
from bot.wiring import Content, build_runtime

CHANNEL = "whatsapp"


class OffsetClock:
    """The wall clock plus an offset that ``/wait`` increases."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset


class TerminalSender:
    """An :class:`~bot.channels.base.OutboundSender` that prints what the bot sends."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._ids = itertools.count(1)

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Print ``text`` as the bot's message; returns a fake message id."""
        indented = text.replace("\n", "\n     ")
        print(f"bot> {indented}", file=self.out, flush=True)
        return f"chat.{next(self._ids)}"

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        """Print the question with its options numbered (``  1. Basic``); typing the number,
        the title or a close misspelling of it answers."""
        return await self.send_text(bot_id, to, numbered_text(text, choices))


class CloseReporter:
    """Prints ``[session <status>: <reason>]`` once for each of a user's sessions that closed."""

    def __init__(self, store: SessionStore, user_id: str, out: TextIO) -> None:
        self.store = store
        self.user_id = user_id
        self.out = out
        self._reported: set[str] = set()

    async def report(self) -> None:
        """Print the sessions closed since the last call, oldest close first."""
        sessions = await self.store.list_sessions(SessionQuery(user_id=self.user_id, limit=20))
        closed = [s for s in sessions if s.closed_at is not None and s.id not in self._reported]
        for session in sorted(closed, key=lambda s: s.closed_at or s.created_at):
            self._reported.add(session.id)
            reason = session.close_reason or "none"
            print(f"[session {session.status.value}: {reason}]", file=self.out, flush=True)


async def run_chat(
    settings: Settings,
    content: Content,
    user_id: str,
    lang: str | None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    """Run the chat loop until ``/quit`` or end of input.

    Args:
        lang: Fix the session language (one of ``settings.languages``); ``None`` lets the
            engine detect it.
    """
    clock = OffsetClock()
    with tempfile.TemporaryDirectory(prefix="bot-chat-") as folder:
        store = SqliteStore(Path(folder) / "chat.db")
        await store.open()
        sender = TerminalSender(out)
        runtime = build_runtime(settings, content, store, {CHANNEL: sender}, clock)
        bot_id = settings.whatsapp.phone_number_id or "chat"
        stop = asyncio.Event()
        sweeper = asyncio.create_task(runtime.sweeper.run(stop))
        closes = CloseReporter(store, user_id, out)
        interactive = stdin.isatty()
        print(
            f"Chatting as {user_id} (session timeout {settings.session_timeout_min:g} min). "
            "Commands: /wait MINUTES, /quit.",
            file=out,
            flush=True,
        )
        try:
            while True:
                if interactive:
                    print("you> ", end="", file=out, flush=True)
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                if not interactive:
                    print(f"you> {text}", file=out, flush=True)
                if text == "/quit":
                    break
                if text.startswith("/wait"):
                    minutes = text.removeprefix("/wait").strip() or str(
                        settings.session_timeout_min
                    )
                    try:
                        clock.offset += timedelta(minutes=float(minutes))
                    except ValueError:
                        print("usage: /wait MINUTES", file=out, flush=True)
                        continue
                    await runtime.sweeper.run_once()
                    await closes.report()
                    continue
                await runtime.engine.handle(
                    InboundMessage(
                        channel=CHANNEL,
                        bot_id=bot_id,
                        user_id=user_id,
                        message_id=f"chat.{uuid.uuid4().hex}",
                        kind=InboundKind.TEXT,
                        text=text,
                        timestamp=clock(),
                        language=lang,
                    ),
                )
                await closes.report()
        finally:
            stop.set()
            await asyncio.wait([sweeper])
            await store.close()
