"""A local fake of the endpoints flows call with ``http`` actions (a shop's orders API, a
helpdesk), as a real aiohttp server on 127.0.0.1::

    async with FakeActionAPI() as api:
        api.reply("/orders", 201, {"order_id": "A-1", "eta_minutes": 30})
        api.fail_next("/tickets", status=503, count=2)
        ... ORDER_API_URL = api.url + "/orders" ...
        assert api.requests[0].body["data"]["address"] == "Mitre 100"

Every ``POST`` is recorded (path, JSON body, headers); the answer is the next planned failure
for that path, else its configured reply (``{}`` with 200 by default).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.server import serve_local


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One POST the fake received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass(slots=True)
class _Plan:
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    delays_s: dict[str, float] = field(default_factory=dict)


class FakeActionAPI:
    """Fake JSON endpoints on a free port of 127.0.0.1 (use as an async context manager)."""

    def __init__(self) -> None:
        self.requests: list[ActionRequest] = []
        self._plan = _Plan()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._condition = asyncio.Condition()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (append the endpoint's path)."""
        if self._port is None:
            raise RuntimeError("FakeActionAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    def reply(self, path: str, status: int, body: Any) -> None:
        """Answer POSTs to ``path`` with ``status`` and the JSON ``body`` from now on."""
        self._plan.replies[path] = (status, body)

    def fail_next(self, path: str, status: int = 500, count: int = 1) -> None:
        """Answer the next ``count`` POSTs to ``path`` with ``status`` and an error body."""
        self._plan.failures.setdefault(path, []).extend([status] * count)

    def delay(self, path: str, delay_s: float) -> None:
        """Hold every answer to ``path`` for ``delay_s`` seconds (to provoke client timeouts)."""
        self._plan.delays_s[path] = delay_s

    def to(self, path: str) -> list[ActionRequest]:
        """The requests received on ``path``, in order."""
        return [r for r in self.requests if r.path == path]

    async def wait_for(
        self, predicate: Callable[[list[ActionRequest]], bool], timeout_s: float = 10.0
    ) -> None:
        """Wait until ``predicate(self.requests)`` holds.

        Raises:
            AssertionError: Not within ``timeout_s`` seconds.
        """
        try:
            async with asyncio.timeout(timeout_s), self._condition:
                await self._condition.wait_for(lambda: predicate(self.requests))
        except TimeoutError:
            raise AssertionError(f"not met in {timeout_s}s; requests: {self.requests}") from None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = {}
        failures = self._plan.failures.get(path)
        if failures:
            status, answer = failures.pop(0), {"error": "planned failure"}
        else:
            status, answer = self._plan.replies.get(path, (200, {}))
        async with self._condition:
            self.requests.append(
                ActionRequest(
                    path, body if isinstance(body, dict) else {}, dict(request.headers), status
                )
            )
            self._condition.notify_all()
        delay_s = self._plan.delays_s.get(path)
        if delay_s:
            await asyncio.sleep(delay_s)
        return web.json_response(answer, status=status)

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner, self._port = await serve_local(app, shutdown_timeout_s=0.5)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
