"""The benchmark's conversations: many users walking the free-trial flow, plus goodbyes and
cancels, as signed WhatsApp Cloud API webhook requests.

Every user gets one scripted conversation (a :class:`Script`), chosen and filled at random
from a seed, so a run is reproducible and every process that builds the workload from the same
``(first_user, users, seed)`` gets the same messages (with fresh, unique wamids). The payloads
are the ``messages`` webhooks Meta documents for the Cloud API, built with
``tests/fakes/cloud_payloads.py`` and signed with ``X-Hub-Signature-256`` (HMAC-SHA256 of the
raw body with the app secret), as Meta signs them.

The scripts follow ``flows/free_trial.yaml`` (greet, trigger, name, email, plan as a reply-
button tap or typed, credentials) and ``intents/*.yaml``; each message says how many replies
the bot sends for it, so the harness knows when every message is *fully handled*: its reply
accepted by the fake Graph API.

===========  =====================================================  =======
kind         messages                                                replies
===========  =====================================================  =======
signup       greet, trigger, name, email, plan                      1+1+1+1+2
signup_bye   signup, then a goodbye (a new session, closed at once)  +1
cancel       greet, trigger, name, "cancelar"                       1+1+1+1
goodbye      greet, trigger, "adiós" while the name is asked         1+1+1
===========  =====================================================  =======

The plan step answers with credentials and the ``close.credentials_delivered`` notice (2); a
goodbye or a cancel answers with its close notice (1); the greeting with ``welcome``; the
trigger with ``free_trial.ask_name``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.fakes.cloud_payloads import (
    DEFAULT_PHONE_NUMBER_ID,
    envelope,
    interactive_reply,
    signed,
    text_message,
)

WEBHOOK_PATH = "/webhook/whatsapp"
APP_SECRET = "bench-app-secret"
FIRST_WA_ID = 5_491_100_000_000
"""wa_id of user 0 (an Argentine mobile number); user ``n`` is ``FIRST_WA_ID + n``."""

_GREETINGS = {
    "es": ["hola", "buenas tardes", "holaa, qué tal?", "buen día!", "hola 😊", "buenas"],
    "en": ["hi there", "hello", "good morning 👋", "hey, hi", "hello!"],
}
_TRIGGERS = {
    "es": [
        "quiero una prueba gratis",
        "me gustaría probar el servicio",
        "quiero la prueba gratis porfa",
        # voice-to-text: long, unpunctuated
        "hola buenas tardes mira te escribo porque vi en la página que tienen una prueba "
        "gratis y me gustaría probarla para mi negocio de ropa",
    ],
    "en": [
        "I want a free trial",
        "can I get a demo please",
        "hi, I saw your ad and I would like to try the product for my small business, "
        "is there a free trial",
    ],
}
_FIRST = ["Ana", "Luis", "María José", "Chao", "Camila", "John", "Priya", "Jorge", "Lucía"]
_LAST = ["Pérez", "Gómez", "Li", "Fernández", "Smith", "Rodríguez", "Núñez", "O'Brien"]
_PLANS = [("basic", {"es": "Básico", "en": "Basic"}), ("pro", {"es": "Pro", "en": "Pro"})]
_TYPED_PLANS = {"es": ["1", "pro", "básico", "el pro"], "en": ["1", "pro", "basic", "2"]}
_GOODBYES = {
    "es": ["gracias, chau 👋", "adiós", "muchas gracias, hasta luego"],
    "en": ["thanks, bye!", "bye", "thank you, goodbye"],
}
_CANCELS = {
    "es": ["cancelar", "cancela todo", "olvidalo, cancelá"],
    "en": ["cancel", "stop, cancel it"],
}
_KINDS = [("signup", 0.35), ("signup_bye", 0.25), ("cancel", 0.25), ("goodbye", 0.15)]


@dataclass(frozen=True, slots=True)
class Step:
    """One inbound message of a script.

    Attributes:
        text: The text typed, or the title of the tapped button.
        tap: The tapped reply button's id (``None`` for typed text).
        replies: How many outbound messages the bot sends for it.
    """

    text: str
    tap: str | None
    replies: int


@dataclass(frozen=True, slots=True)
class Script:
    """One user's conversation."""

    user: int
    wa_id: str
    name: str
    lang: str
    kind: str
    steps: tuple[Step, ...]


def script(user: int, seed: int) -> Script:
    """The conversation of user number ``user`` (deterministic for ``(user, seed)``)."""
    rng = random.Random(seed * 1_000_003 + user)
    lang = "es" if rng.random() < 0.7 else "en"
    kind = rng.choices([k for k, _ in _KINDS], [w for _, w in _KINDS])[0]
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    email = f"{name.split()[0].lower()}.{user}@example.com".replace("í", "i").replace("é", "e")
    steps = [
        Step(rng.choice(_GREETINGS[lang]), None, 1),
        Step(rng.choice(_TRIGGERS[lang]), None, 1),
    ]
    if kind == "goodbye":
        steps.append(Step("adiós" if lang == "es" else "bye", None, 1))
    else:
        steps.append(Step(name, None, 1))
        if kind == "cancel":
            steps.append(Step(rng.choice(_CANCELS[lang]), None, 1))
        else:
            steps.append(Step(email, None, 1))
            if rng.random() < 0.6:
                value, titles = rng.choice(_PLANS)
                steps.append(Step(titles[lang], value, 2))
            else:
                steps.append(Step(rng.choice(_TYPED_PLANS[lang]), None, 2))
            if kind == "signup_bye":
                steps.append(Step(rng.choice(_GOODBYES[lang]), None, 1))
    wa_id = str(FIRST_WA_ID + user)
    return Script(user, wa_id, name, lang, kind, tuple(steps))


def scripts(first_user: int, users: int, seed: int) -> list[Script]:
    """The scripts of users ``first_user .. first_user + users - 1``."""
    return [script(user, seed) for user in range(first_user, first_user + users)]


def interleaved(batch: list[Script]) -> Iterator[tuple[Script, Step]]:
    """Every step of every script in send order: each user's first message, then each
    user's second, ... (a user's messages stay in their order, far apart in time)."""
    longest = max((len(s.steps) for s in batch), default=0)
    for position in range(longest):
        for item in batch:
            if position < len(item.steps):
                yield item, item.steps[position]


def webhook_body(item: Script, step: Step) -> dict[str, Any]:
    """The Cloud API webhook body of one step (a new unique wamid each call)."""
    common: dict[str, Any] = {"wa_id": item.wa_id, "name": item.name}
    if step.tap is not None:
        value = interactive_reply(step.tap, step.text, **common)
    else:
        value = text_message(step.text, **common)
    return envelope(value)


def request_bytes(host: str, body: dict[str, Any], secret: str = APP_SECRET) -> bytes:
    """One complete HTTP/1.1 keep-alive POST of ``body`` to the webhook, signed."""
    raw, headers = signed(body, secret)
    head = [
        f"POST {WEBHOOK_PATH} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: facebookexternalua",
        f"Content-Length: {len(raw)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + raw


def expected_replies(batch: list[Script]) -> int:
    """Outbound messages the bot sends for every message of ``batch``."""
    return sum(step.replies for item in batch for step in item.steps)


def message_count(batch: list[Script]) -> int:
    """Inbound messages in ``batch``."""
    return sum(len(item.steps) for item in batch)


BOT_ID = DEFAULT_PHONE_NUMBER_ID
"""The business phone number id every payload is addressed to."""
