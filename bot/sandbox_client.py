"""``bot send``: talk to a running ``bot serve`` as WhatsApp would, and read its replies.

Each text becomes a Cloud API ``messages`` webhook as Meta documents it (one ``text`` message
with a fresh ``wamid``, the user's ``wa_id`` and the business ``phone_number_id``), signed
with ``X-Hub-Signature-256`` when an app secret is set, and is POSTed to
``<url>/webhook/whatsapp``. The replies are then read through the admin API: the outbound
messages stored after that ``wamid`` in the user's session, once the outbox has settled them
(with ``WHATSAPP_API_URL=sandbox`` at once; with Meta, within ``wait_s`` or shown ``pending``).

Every expected failure raises :class:`SendError` with one line that says what to do.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from bot.channels.whatsapp import SIGNATURE_HEADER, WEBHOOK_OBJECT, sign
from bot.errors import BotError

DEFAULT_USER = "5490000000000"
DEFAULT_PHONE_NUMBER_ID = "100000000000000"
"""The business number id used when ``WHATSAPP_PHONE_NUMBER_ID`` is not set."""
DISPLAY_PHONE_NUMBER = "15550000000"
PROFILE_NAME = "bot send"
WEBHOOK_PATH = "/webhook/whatsapp"
WAIT_S = 5.0
"""How long to wait for a message's replies to be stored and settled, in seconds."""
POLL_S = 0.1
REQUEST_TIMEOUT_S = 10.0
UNSETTLED = frozenset({"pending", "sending"})
SESSIONS_LOOKED_AT = 3
"""The user's newest sessions searched for the posted message (a reply can close one)."""
MESSAGES_READ = 200


class SendError(BotError):
    """``bot send`` cannot go on; the message is one line naming what to fix."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One stored outbound message (the admin API's history shape, trimmed).

    Attributes:
        text: What the bot said.
        status: ``pending``, ``sending``, ``sent``, ``delivered``, ``read``, ``failed`` or
            ``skipped_window``.
        error_code: The provider's code of a failure (Meta's ``error.code``), if any.
        error_detail: The provider's reason of a failure, if any.
    """

    text: str
    status: str
    error_code: int | None = None
    error_detail: str | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One text sent and what the bot answered to it.

    Attributes:
        text: The text sent.
        wamid: The ``wamid`` it was sent with.
        replies: The bot's messages stored after it, oldest first.
        settled: False when some reply was still ``pending``/``sending`` after the wait.
    """

    text: str
    wamid: str
    replies: tuple[Reply, ...]
    settled: bool


def webhook_body(text: str, user_id: str, phone_number_id: str, wamid: str) -> dict[str, Any]:
    """A Cloud API ``messages`` webhook carrying one text message (Meta's documented shape:
    ``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field":
    "messages", "value": {"messaging_product", "metadata", "contacts", "messages"}}]}]}``)."""
    return {
        "object": WEBHOOK_OBJECT,
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_PHONE_NUMBER,
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": PROFILE_NAME}, "wa_id": user_id}],
                            "messages": [
                                {
                                    "from": user_id,
                                    "id": wamid,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def new_wamid() -> str:
    """A fresh inbound message id (``wamid.`` and 32 hex digits)."""
    return f"wamid.{uuid.uuid4().hex}"


def user_id_of(raw: str) -> str:
    """The WhatsApp ``wa_id`` of ``--user``: digits, a leading ``+`` dropped.

    Raises:
        SendError: It is not a phone number in digits.
    """
    digits = raw.strip().removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 20:
        raise SendError(f"--user must be a phone number in digits (549...), got {raw!r}")
    return digits


class SandboxClient:
    """Posts texts to ``bot serve``'s WhatsApp webhook and reads the replies it stored.

    Args:
        http: An open session; not closed here.
        url: The service's base URL (``http://127.0.0.1:8080``).
        app_secret: ``WHATSAPP_APP_SECRET``; empty sends unsigned.
        admin_token: ``ADMIN_TOKEN`` of the server, to read the replies.
        phone_number_id: The business number id the messages are written to.
        user_id: The sender's ``wa_id``.
        wait_s: How long to wait for each message's replies to be settled, in seconds.
        poll_s: Pause between two looks at the history, in seconds.
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        *,
        app_secret: str,
        admin_token: str,
        phone_number_id: str,
        user_id: str,
        wait_s: float = WAIT_S,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SendError(f"--url must be http://host:port, got {url!r}")
        if not admin_token:
            raise SendError(
                "ADMIN_TOKEN is not set (put the server's in .env): "
                "the replies are read through the admin API"
            )
        self._http = http
        self._url = url.rstrip("/")
        self._secret = app_secret
        self._admin = {"Authorization": f"Bearer {admin_token}"}
        self._phone_number_id = phone_number_id
        self._user_id = user_id
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def check(self) -> None:
        """Check, before anything is sent, that the server answers and takes the admin token.

        Raises:
            SendError: It cannot be reached, or refused ``ADMIN_TOKEN``.
        """
        await self._admin_get("/v1/sessions?limit=1")

    async def say(self, text: str) -> Exchange:
        """Send ``text`` and return the replies stored for it.

        Raises:
            SendError: The server cannot be reached, refused the message or the admin token,
                or stored nothing for the message within ``wait_s``.
        """
        wamid = new_wamid()
        await self._post(webhook_body(text, self._user_id, self._phone_number_id, wamid))
        deadline = self._clock() + self._wait_s
        while True:
            found = await self._replies_to(wamid)
            settled = found is not None and not any(r.status in UNSETTLED for r in found)
            if settled or self._clock() >= deadline:
                break
            await asyncio.sleep(self._poll_s)
        if found is None:
            raise SendError(
                f"the server took the message but stored nothing for it within "
                f"{self._wait_s:g} s (see its log)"
            )
        return Exchange(text, wamid, tuple(found), settled)

    async def _post(self, body: Mapping[str, Any]) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, raw)
        status, answer = await self._request("POST", WEBHOOK_PATH, data=raw, headers=headers)
        if status == 200:
            return
        if status == 401:
            hint = (
                "differs from the server's"
                if self._secret
                else "is not set here, but the server checks signatures"
            )
            raise SendError(f"the webhook refused the signature (401): WHATSAPP_APP_SECRET {hint}")
        if status == 404:
            raise SendError(
                f"{self._url} has no {WEBHOOK_PATH} (the WhatsApp channel is off there): "
                "serve with WHATSAPP_API_URL=sandbox or a WHATSAPP_ACCESS_TOKEN"
            )
        raise SendError(f"the webhook answered {status}: {_reason(answer)}")

    async def _replies_to(self, wamid: str) -> list[Reply] | None:
        """The outbound messages stored after inbound ``wamid`` (up to the user's next
        message), or ``None`` while it is not stored yet."""
        query = (
            f"user={quote(self._user_id, safe='')}&channel=whatsapp"
            f"&bot={quote(self._phone_number_id, safe='')}&limit={SESSIONS_LOOKED_AT}"
        )
        listed = await self._admin_get(f"/v1/sessions?{query}")
        for session in listed.get("sessions", []):
            detail = await self._admin_get(
                f"/v1/sessions/{quote(str(session['id']), safe='')}?limit={MESSAGES_READ}"
            )
            replies = replies_after(detail.get("messages", []), wamid)
            if replies is not None:
                return replies
        return None

    async def _admin_get(self, path: str) -> dict[str, Any]:
        status, answer = await self._request("GET", path, headers=self._admin)
        if status == 401:
            raise SendError("the admin API refused ADMIN_TOKEN (401): it differs from the server's")
        if status != 200 or not isinstance(answer, dict):
            raise SendError(f"the admin API answered {status} to GET {path}: {_reason(answer)}")
        return answer

    async def _request(
        self, method: str, path: str, *, data: bytes | None = None, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        """``(status, JSON answer or text)``.

        Raises:
            SendError: The server cannot be reached or did not answer in time.
        """
        try:
            async with self._http.request(
                method, f"{self._url}{path}", data=data, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
        except aiohttp.ClientConnectionError:
            raise SendError(f"cannot reach {self._url}: is `bot serve` running? (--url)") from None
        except TimeoutError:
            raise SendError(
                f"{self._url} did not answer in {REQUEST_TIMEOUT_S:g} s: is `bot serve` running"
                " there? (--url)"
            ) from None
        except aiohttp.ClientError as exc:
            raise SendError(f"cannot reach {self._url}: {exc} (--url)") from None
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def replies_after(messages: list[dict[str, Any]], wamid: str) -> list[Reply] | None:
    """The outbound messages after the inbound one with ``wamid`` until the next inbound, or
    ``None`` when it is not among ``messages``."""
    start = next(
        (
            i
            for i, m in enumerate(messages)
            if m.get("direction") == "in" and m.get("provider_id") == wamid
        ),
        None,
    )
    if start is None:
        return None
    replies = []
    for message in messages[start + 1 :]:
        if message.get("direction") == "in":
            break
        replies.append(
            Reply(
                text=str(message.get("text") or ""),
                status=str(message.get("status")),
                error_code=message.get("error_code"),
                error_detail=message.get("error_detail"),
            )
        )
    return replies


def _reason(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return str(answer["error"])
    return str(answer)[:200]


def format_exchange(exchange: Exchange) -> list[str]:
    """The lines ``bot send`` prints for one exchange::

        you> hola
        bot> ¡Hola! 👋 Soy el asistente virtual.
             (continued lines indented)
        bot> ... [failed 131047: Re-engagement message]

    A reply that did not settle in time is marked ``[pending]``; no reply at all prints
    ``bot> (no reply)``.
    """
    lines = [f"you> {exchange.text}"]
    if not exchange.replies:
        lines.append("bot> (no reply)")
    for reply in exchange.replies:
        text_lines = reply.text.splitlines() or [""]
        lines.append(f"bot> {text_lines[0]}")
        lines.extend(f"     {line}" for line in text_lines[1:])
        if reply.status in ("sent", "delivered", "read"):
            continue
        mark = reply.status
        if reply.error_code is not None:
            mark += f" {reply.error_code}"
        if reply.error_detail:
            mark += f": {reply.error_detail}"
        lines.append(f"     [{mark}]")
    return lines


async def send_texts(
    url: str,
    texts: list[str],
    *,
    app_secret: str,
    admin_token: str,
    phone_number_id: str,
    user_id: str,
    echo: Callable[[str], None],
    wait_s: float = WAIT_S,
) -> list[Exchange]:
    """Send ``texts`` in order, each after the previous one's replies are settled, and
    ``echo`` each exchange's lines (:func:`format_exchange`) as it completes.

    Raises:
        SendError: See :meth:`SandboxClient.say`; the exchanges before it were echoed.
    """
    async with aiohttp.ClientSession() as http:
        client = SandboxClient(
            http,
            url,
            app_secret=app_secret,
            admin_token=admin_token,
            phone_number_id=phone_number_id,
            user_id=user_id,
            wait_s=wait_s,
        )
        await client.check()
        done = []
        for text in texts:
            exchange = await client.say(text)
            for line in format_exchange(exchange):
                echo(line)
            done.append(exchange)
        return done
