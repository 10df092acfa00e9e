"""A local fake of the WhatsApp Cloud API send endpoint, as a real aiohttp server.

It answers ``POST /<version>/<phone_number_id>/messages`` with the bodies Meta documents (a
``wamid`` on success, a Graph API ``error`` object on failure) and records every request::

    async with FakeGraphAPI(access_token="token") as fake:
        client = WhatsAppClient(session, fake.url, "token")
        await client.send_text("1234567890", "5491155550001", "hola")
        await fake.wait_for(lambda reqs: len(reqs) >= 1)
        assert fake.texts_to("5491155550001") == ["hola"]

Also runnable alone for benchmarks: ``python -m tests.fakes.graph_api --port 8081`` prints
``ready <url>`` when listening, then one JSON line per request (the ``RecordedSend`` fields
minus ``headers``; ``--quiet`` turns them off; read stdout or the pipe fills and the fake
stalls), keeps nothing in memory, and stops on SIGINT/SIGTERM. ``GET /_fake/stats`` answers
the counters of :meth:`FakeGraphAPI.stats` (sends accepted and refused, Unix times of the first
and last accepted), so a benchmark can tell when every reply went out.

Status webhooks, as Meta sends them (off by default; see :mod:`tests.fakes.status_webhooks`):
after :meth:`FakeGraphAPI.post_statuses` with the bot's webhook URL and app secret, every
accepted send is followed by signed ``statuses`` webhooks (``sent`` at once by default; with
``steps=REALISTIC`` also ``delivered`` and ``read``, each after a random delay), the wamid it
answered, the recipient, Meta's ``conversation``/``pricing`` objects, and the send's
``biz_opaque_callback_data`` when it had one; tried again with a short backoff while the bot
does not answer 200, for a bounded total time::

    fake.post_statuses(f"{bot_url}/webhook/whatsapp", app_secret)

As a process, ``POST /_fake/statuses`` with ``{"urls": [...], "app_secret": "...",
"steps": "sent=0.05:0.2,delivered=0.3:1,read=1:3", "connections": 16}`` turns them on,
and ``GET /_fake/stats`` also counts them (``?reset_lateness=1`` clears the lateness
percentiles it reports).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.server import serve_local
from tests.fakes.status_webhooks import (
    SENT_ONLY,
    StatusPoster,
    StatusStep,
    parse_steps,
    webhook,
)

DEFAULT_API_VERSION = "v21.0"


@dataclass(frozen=True, slots=True)
class RecordedSend:
    """One request that reached the fake's send endpoint.

    Attributes:
        phone_number_id: The business number id from the URL path.
        to: ``body["to"]`` (``""`` when missing).
        type: ``body["type"]``: ``"text"``, ``"interactive"``, ... (``""`` when missing).
        text: ``text.body`` for text, ``interactive.body.text`` for interactive, else None.
        body: The parsed JSON body (``{}`` when it was not a JSON object).
        headers: The request headers (includes ``Authorization``).
        wamid: The id returned to the caller, or None when the fake answered an error.
        status: The HTTP status the fake answered.
        received_at: When the request arrived (Unix seconds, ``time.time()``).
    """

    phone_number_id: str
    to: str
    type: str
    text: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    wamid: str | None
    status: int = 200
    received_at: float = 0.0


@dataclass(slots=True)
class _PlannedFailure:
    status: int
    code: int
    message: str
    details: str | None
    retry_after: str | None = None


@dataclass(slots=True)
class _Plan:
    failures: list[_PlannedFailure] = field(default_factory=list)
    delays_s: list[float] = field(default_factory=list)
    down: _PlannedFailure | None = None


class FakeGraphAPI:
    """A fake Graph API ``/messages`` endpoint on 127.0.0.1 (a free port unless given).

    Use as an async context manager (or call :meth:`start` / :meth:`close`). Not thread-safe;
    use it from the event loop that started it.
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_version: str = DEFAULT_API_VERSION,
        on_record: Callable[[RecordedSend], None] | None = None,
        keep_requests: bool = True,
    ) -> None:
        """Configure the fake.

        Args:
            access_token: When given, requests must carry ``Authorization: Bearer <token>``;
                others are answered 401 with Meta's OAuth error (code 190).
            host: Interface to listen on.
            port: TCP port; 0 picks a free one.
            api_version: The version segment of :attr:`url`; any version is accepted.
            on_record: Called with every recorded request (used by the standalone mode).
            keep_requests: False leaves :attr:`requests` empty, so memory stays flat in long
                benchmark runs (``wait_for`` and ``texts_to`` then see nothing).
        """
        self.requests: list[RecordedSend] = []
        self._access_token = access_token
        self._host = host
        self._port = port
        self._api_version = api_version
        self._on_record = on_record
        self._keep_requests = keep_requests
        self._plan = _Plan()
        self._condition = asyncio.Condition()
        self._closing = asyncio.Event()
        self._counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._accepted = 0
        self._refused = 0
        self._first_accepted_at: float | None = None
        self._last_accepted_at: float | None = None
        self._statuses: StatusPoster | None = None
        self._retired: list[StatusPoster] = []

    @property
    def url(self) -> str:
        """Base URL to configure as ``WHATSAPP_API_URL``, e.g. ``http://127.0.0.1:PORT/v21.0``."""
        if self._bound_port is None:
            raise RuntimeError("FakeGraphAPI is not started")
        return f"http://{self._host}:{self._bound_port}/{self._api_version}"

    async def start(self) -> None:
        """Start listening; :attr:`url` is valid afterwards."""
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._handle_send)
        app.router.add_get("/_fake/stats", self._handle_stats)
        app.router.add_post("/_fake/statuses", self._handle_statuses)
        self._runner, self._bound_port = await serve_local(app, self._host, self._port)

    def post_statuses(
        self,
        webhook_url: str | Sequence[str],
        app_secret: str,
        *,
        steps: Sequence[StatusStep] = SENT_ONLY,
        retry_for_s: float = 120.0,
        first_backoff_s: float = 0.2,
        max_backoff_s: float = 2.0,
        connections: int = 16,
    ) -> None:
        """Follow every accepted send with signed status webhooks to ``webhook_url`` (several
        URLs: messages spread over them in turn), ``steps`` giving which statuses and when (see
        :mod:`tests.fakes.status_webhooks`), each tried again after ``first_backoff_s``
        (doubling up to ``max_backoff_s``) while it is not answered 200, for at most
        ``retry_for_s`` seconds after the send, over at most ``connections`` keep-alive connections
        per URL. Call again to change them (statuses already
        planned keep their URL)."""
        previous = self._statuses
        self._statuses = StatusPoster(
            webhook(
                webhook_url,
                app_secret,
                steps,
                retry_for_s=retry_for_s,
                first_backoff_s=first_backoff_s,
                max_backoff_s=max_backoff_s,
            ),
            connections,
        )
        if previous is not None:
            self._statuses.posted, self._statuses.given_up = previous.posted, previous.given_up
            self._retired.append(previous)

    @property
    def statuses_posted(self) -> int:
        """Status webhooks the bot answered 200."""
        return sum(self._statuses.posted.values()) if self._statuses else 0

    @property
    def statuses_given_up(self) -> int:
        """Status webhooks not answered 200 within the retry time (lost, as Meta would)."""
        return self._statuses.given_up if self._statuses else 0

    async def statuses_settled(self, timeout_s: float = 60.0) -> None:
        """Wait until no status webhook is waiting to be posted (each posted or given up)."""
        for poster in (*self._retired, self._statuses):
            if poster is not None:
                await poster.settled(timeout_s)

    async def close(self) -> None:
        """Stop the server; requests still being delayed are answered at once; status
        webhooks not posted yet are dropped."""
        self._closing.set()
        for poster in (*self._retired, self._statuses):
            if poster is not None:
                await poster.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def fail_next(
        self,
        status: int = 400,
        code: int = 131047,
        message: str = "Re-engagement message",
        count: int = 1,
        details: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next ``count`` sends with Meta's error body.

        The body is ``{"error": {"message": "(#<code>) <message>", "type": "OAuthException",
        "code": <code>, "error_data": {"messaging_product": "whatsapp", "details": <details
        or message>}, "fbtrace_id": ...}}``, with HTTP ``status`` (and a ``Retry-After``
        header when ``retry_after`` is given). Failures queue up.
        """
        self._plan.failures.extend(
            _PlannedFailure(status, code, message, details, retry_after) for _ in range(count)
        )

    def fail_all(
        self,
        status: int = 503,
        code: int = 2,
        message: str = "Service temporarily unavailable",
        retry_after: str | None = None,
    ) -> None:
        """Answer every send with this error (as :meth:`fail_next` builds it) until
        :meth:`recover`; queued :meth:`fail_next` failures come first."""
        self._plan.down = _PlannedFailure(status, code, message, None, retry_after)

    def recover(self) -> None:
        """Accept sends again: drops the standing :meth:`fail_all` error and queued failures."""
        self._plan.down = None
        self._plan.failures.clear()

    def per_second(self, accepted_only: bool = False) -> dict[int, int]:
        """Requests received per wall-clock second (``int(received_at)`` → count); only the
        accepted ones with ``accepted_only``."""
        counts: dict[int, int] = {}
        for r in self.requests:
            if not accepted_only or r.wamid is not None:
                counts[int(r.received_at)] = counts.get(int(r.received_at), 0) + 1
        return counts

    def delay_next(self, delay_s: float, count: int = 1) -> None:
        """Hold the answer to the next ``count`` sends for ``delay_s`` seconds.

        The request is recorded on arrival. Closing the fake releases held answers.
        """
        self._plan.delays_s.extend(delay_s for _ in range(count))

    def texts_to(self, to: str) -> list[str]:
        """Texts (text bodies and interactive bodies) accepted for user ``to``, in order.

        Sends the fake answered with an error are left out; see :attr:`requests` for those.
        """
        return [
            r.text
            for r in self.requests
            if r.to == to and r.wamid is not None and r.text is not None
        ]

    def stats(self) -> dict[str, Any]:
        """Counters since start: ``accepted`` and ``refused`` sends, the Unix times
        (``time.time()``) of the ``first_accepted_at`` and ``last_accepted_at`` send; with
        status webhooks on, ``statuses_posted`` (answered 200, by status), ``statuses_given_up``,
        ``statuses_in_flight`` (sends whose statuses are not all posted yet),
        ``last_status_at``, ``last_status_due_at`` (the latest planned) and
        ``status_lateness_ms`` (p50/p99/max of answered - planned)."""
        stats: dict[str, Any] = {
            "accepted": self._accepted,
            "refused": self._refused,
            "first_accepted_at": self._first_accepted_at,
            "last_accepted_at": self._last_accepted_at,
        }
        poster = self._statuses
        if poster is not None:
            late = sorted(poster.lateness_s)

            def at(q: float) -> float:
                return round(late[min(len(late) - 1, int(q * len(late)))] * 1e3, 1) if late else 0

            stats |= {
                "statuses_posted": dict(poster.posted),
                "statuses_given_up": poster.given_up,
                "statuses_in_flight": poster.in_flight
                + sum(retired.in_flight for retired in self._retired),
                "last_status_at": poster.last_posted_at,
                "last_status_due_at": poster.last_due_at,
                "status_lateness_ms": {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)},
            }
        return stats

    async def _handle_stats(self, request: web.Request) -> web.Response:
        stats = self.stats()
        if request.query.get("reset_lateness") and self._statuses is not None:
            self._statuses.lateness_s.clear()
        return web.json_response(stats)

    async def _handle_statuses(self, request: web.Request) -> web.Response:
        """``POST /_fake/statuses``: turn status webhooks on (see the module docstring)."""
        try:
            config = await request.json()
            urls = config["urls"]
            if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
                raise ValueError("urls must be a list of strings")
            steps = parse_steps(config.get("steps", "sent=0:0"))
            self.post_statuses(urls, str(config["app_secret"]), steps=steps, retry_for_s=120.0)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, "steps": [s.status for s in steps]})

    async def wait_for(
        self, predicate: Callable[[list[RecordedSend]], bool], timeout_s: float = 10.0
    ) -> None:
        """Wait until ``predicate(self.requests)`` is true.

        Raises:
            AssertionError: Not true within ``timeout_s`` seconds; the message lists the
                requests received so far.
        """
        try:
            async with asyncio.timeout(timeout_s), self._condition:
                await self._condition.wait_for(lambda: predicate(self.requests))
        except TimeoutError:
            summary = "\n".join(
                f"  {r.status} {r.type} to={r.to} text={r.text!r}" for r in self.requests
            )
            raise AssertionError(
                f"condition not met within {timeout_s}s; {len(self.requests)} request(s):\n"
                f"{summary or '  (none)'}"
            ) from None

    async def _handle_send(self, request: web.Request) -> web.Response:
        received_at = time.time()
        phone_number_id = request.match_info["phone_number_id"]
        headers = dict(request.headers)
        raw = await request.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}

        status, answer, wamid, extra_headers = self._answer(headers, parsed, body)
        if wamid is None:
            self._refused += 1
        else:
            self._accepted += 1
            self._last_accepted_at = time.time()
            if self._first_accepted_at is None:
                self._first_accepted_at = self._last_accepted_at
        to = body.get("to")
        msg_type = body.get("type")
        record = RecordedSend(
            phone_number_id=phone_number_id,
            to=to if isinstance(to, str) else "",
            type=msg_type if isinstance(msg_type, str) else "",
            text=_text_of(body),
            body=body,
            headers=headers,
            wamid=wamid,
            status=status,
            received_at=received_at,
        )
        if self._keep_requests:
            async with self._condition:
                self.requests.append(record)
                self._condition.notify_all()
        if self._on_record is not None:
            self._on_record(record)
        if wamid is not None and self._statuses is not None:
            self._statuses.follow(body, phone_number_id, wamid)

        if self._plan.delays_s:
            delay_s = self._plan.delays_s.pop(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=delay_s)
        return web.json_response(answer, status=status, headers=extra_headers)

    def _answer(
        self, headers: dict[str, str], parsed: object, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], str | None, dict[str, str]]:
        """Decide (status, JSON answer, wamid, extra headers) for one request, as Meta would."""
        if self._access_token is not None and (
            headers.get("Authorization") != f"Bearer {self._access_token}"
        ):
            return 401, _oauth_error(), None, {}
        if not isinstance(parsed, dict):
            return 400, _error(100, "(#100) The parameter messaging_product is required."), None, {}
        if body.get("messaging_product") != "whatsapp":
            return 400, _error(100, "(#100) The parameter messaging_product is required."), None, {}
        if not isinstance(body.get("to"), str) or not body["to"]:
            return 400, _error(100, "(#100) The parameter to is required."), None, {}
        failure = self._plan.failures.pop(0) if self._plan.failures else self._plan.down
        if failure is not None:
            answer = _error(
                failure.code,
                f"(#{failure.code}) {failure.message}",
                failure.details or failure.message,
            )
            retry = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return failure.status, answer, None, retry
        wamid = f"wamid.HBgL{next(self._counter):06d}{uuid.uuid4().hex}"
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": wamid}],
        }
        return 200, answer, wamid, {}


def _text_of(body: dict[str, Any]) -> str | None:
    container: object
    if body.get("type") == "text":
        container = body.get("text")
        key = "body"
    elif body.get("type") == "interactive":
        interactive = body.get("interactive")
        container = interactive.get("body") if isinstance(interactive, dict) else None
        key = "text"
    else:
        return None
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, str) else None


def _error(code: int, message: str, details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": f"A{uuid.uuid4().hex[:22]}",
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


def _oauth_error() -> dict[str, Any]:
    return _error(190, "Invalid OAuth access token - Cannot parse access token")


async def _serve(host: str, port: int, access_token: str | None, quiet: bool) -> None:
    def emit(record: RecordedSend) -> None:
        line = asdict(record)
        del line["headers"]  # carries the access token
        print(json.dumps(line, ensure_ascii=False), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    fake = FakeGraphAPI(
        access_token, host=host, port=port, on_record=None if quiet else emit, keep_requests=False
    )
    async with fake:
        print(f"ready {fake.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Run the fake as its own process (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.graph_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--quiet", action="store_true", help="do not print a JSON line per request")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (benchmarks)")
    args = parser.parse_args(argv)
    serving = _serve(args.host, args.port, args.token, args.quiet)
    if args.uvloop:
        import uvloop

        uvloop.run(serving)
    else:
        asyncio.run(serving)


if __name__ == "__main__":
    main()
