"""A local fake of Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

It checks HTTP basic auth (account SID and Auth Token), reads the form fields Twilio documents
(``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``), answers 201 with a
message resource (``sid`` ``SM`` + 32 hex, ``status: queued``) or Twilio's error object, and
records every request::

    async with FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN) as fake:
        ...  # point TWILIO_API_URL at fake.url
        await fake.wait_for(lambda sent: len(sent) >= 1)
        assert fake.texts_to("whatsapp:+5491155550001") == ["..."]
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.server import serve_local

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-twilio-auth-token"


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One request to the fake's Messages endpoint.

    Attributes:
        account_sid: From the URL path.
        to: ``To`` (``whatsapp:+...`` or ``+...``).
        from_: ``From`` (``""`` when a messaging service was used).
        body: ``Body``.
        messaging_service_sid: ``MessagingServiceSid`` or ``""``.
        status_callback: ``StatusCallback`` or ``""``.
        sid: The SID answered, or ``None`` when the fake answered an error.
        status: The HTTP status answered.
    """

    account_sid: str
    to: str
    from_: str
    body: str
    messaging_service_sid: str
    status_callback: str
    sid: str | None
    status: int


class FakeTwilioAPI:
    """Twilio's Messages API on 127.0.0.1 (a free port); use as an async context manager."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.requests: list[RecordedMessage] = []
        self._expected_auth = "Basic " + base64.b64encode(
            f"{account_sid}:{auth_token}".encode()
        ).decode("ascii")
        self._failures: list[tuple[int, int, str]] = []
        self._counter = itertools.count(1)
        self._condition = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """The base URL to configure as ``TWILIO_API_URL``."""
        if self._port is None:
            raise RuntimeError("FakeTwilioAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._runner, self._port = await serve_local(app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self, status: int = 400, code: int = 21211, message: str = "Invalid 'To'"
    ) -> None:
        """Answer the next send with Twilio's error object."""
        self._failures.append((status, code, message))

    def texts_to(self, to: str) -> list[str]:
        """Bodies accepted for ``To`` = ``to``, in order."""
        return [r.body for r in self.requests if r.to == to and r.sid is not None]

    async def wait_for(
        self, predicate: Callable[[list[RecordedMessage]], bool], timeout_s: float = 10.0
    ) -> None:
        """Wait until ``predicate(self.requests)`` is true.

        Raises:
            AssertionError: Not true within ``timeout_s``; lists what arrived.
        """
        try:
            async with asyncio.timeout(timeout_s), self._condition:
                await self._condition.wait_for(lambda: predicate(self.requests))
        except TimeoutError:
            summary = "\n".join(f"  {r.status} to={r.to} body={r.body!r}" for r in self.requests)
            raise AssertionError(
                f"condition not met within {timeout_s}s:\n{summary or '  (none)'}"
            ) from None

    async def wait_texts(self, to: str, count: int, timeout_s: float = 10.0) -> list[str]:
        """Wait until ``to`` got ``count`` texts; return them all."""
        await self.wait_for(lambda _: len(self.texts_to(to)) >= count, timeout_s)
        return self.texts_to(to)

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        field: Callable[[str], str] = lambda name: str(form.get(name, ""))  # noqa: E731
        status, answer, sid = self._answer(request, field)
        record = RecordedMessage(
            account_sid=request.match_info["sid"],
            to=field("To"),
            from_=field("From"),
            body=field("Body"),
            messaging_service_sid=field("MessagingServiceSid"),
            status_callback=field("StatusCallback"),
            sid=sid,
            status=status,
        )
        async with self._condition:
            self.requests.append(record)
            self._condition.notify_all()
        return web.json_response(answer, status=status)

    def _answer(
        self, request: web.Request, field: Callable[[str], str]
    ) -> tuple[int, dict[str, Any], str | None]:
        if request.headers.get("Authorization") != self._expected_auth:
            return 401, _error(401, 20003, "Authenticate"), None
        if not field("To"):
            return 400, _error(400, 21604, "A 'To' phone number is required."), None
        if not field("Body"):
            return 400, _error(400, 21602, "Message body is required."), None
        if not field("From") and not field("MessagingServiceSid"):
            return 400, _error(400, 21603, "A 'From' phone number is required."), None
        if self._failures:
            status, code, message = self._failures.pop(0)
            return status, _error(status, code, message), None
        sid = f"SM{next(self._counter):032x}"
        return (
            201,
            {
                "sid": sid,
                "account_sid": request.match_info["sid"],
                "to": field("To"),
                "from": field("From") or None,
                "body": field("Body"),
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            },
            sid,
        )


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
