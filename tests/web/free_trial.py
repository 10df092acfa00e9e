"""Walk the shipped free-trial flow through any channel, answering each prompt it shows.

The flow's questions may change (a plan choice was added, say); this driver answers the
prompts it recognizes by their locale text and stops at the close notice, so the channel tests
keep testing the channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.locales import Locales

MAX_STEPS = 12


@dataclass
class Walk:
    """What a walk through the flow did."""

    said: list[str] = field(default_factory=list)
    """What the user said, trigger included."""
    heard: list[str] = field(default_factory=list)
    """Every text the bot sent, in order."""


async def walk_free_trial(
    say: Callable[[str], Awaitable[None]],
    heard: Callable[[int], Awaitable[list[str]]],
    locales: Locales,
    lang: str,
    trigger: str,
    name: str,
    email: str,
    shown: Callable[[str], str] = str,
) -> Walk:
    """Start the flow with ``trigger`` and answer until ``close.credentials_delivered``.

    Args:
        say: Send a user text.
        heard: Wait until the bot has sent at least this many texts since the walk began;
            return them all (raise ``AssertionError`` when they do not come).
        shown: How the channel renders a text (voice drops markup), applied to locale texts
            before comparing them with what the bot sent.

    Raises:
        AssertionError: The flow did not end in :data:`MAX_STEPS` texts.
    """

    def text(key: str, **values: str) -> str:
        return shown(locales.text(lang, key, values))

    answers: list[tuple[str, str]] = [
        (text("free_trial.ask_name"), name),
        (text("free_trial.ask_email", name=name), email),
    ]
    if locales.has("free_trial.ask_plan"):
        answers.append((text("free_trial.ask_plan", name=name), "1"))
    notice = text("close.credentials_delivered")
    walk = Walk()

    async def send(words: str) -> None:
        walk.said.append(words)
        await say(words)

    await send(trigger)
    for _ in range(MAX_STEPS):
        walk.heard = await heard(len(walk.heard) + 1)
        last = walk.heard[-1]
        if last == notice:
            return walk
        answer = next((a for prompt, a in answers if last.startswith(prompt)), None)
        if answer is not None:
            await send(answer)
        # else: a text that needs no answer (the credentials); the notice follows it
    raise AssertionError(f"the flow did not end in {MAX_STEPS} texts: {walk.heard}")
