"""Replies sent twice after a SIGKILL of ``bot serve`` at saturation (issue #13, finding 7).

One worker on SQLite (or Redis), the fake Graph API in this process, unpaced sends with 128
in flight (as ``make bench`` runs it): ``users`` users send ``per_user`` texts each over 64
connections as fast as they are acknowledged. The fake follows each accepted send with a
signed ``sent`` status webhook (as Meta does, with the send's ``biz_opaque_callback_data``),
tried again while the bot is down. Once the fake has accepted ``kill_after`` replies the
worker is killed with SIGKILL, started again on the same store and port, and left to send what
it left (a send left ``sending`` waits ``grace_s`` for its status, then is sent again); then
it is stopped and the store and the fake's record are compared, per user and reply text:

- *duplicates*: replies the fake accepted more often than the store holds them;
- *lost*: stored replies the fake never accepted (must be 0: at least once), and replies still
  ``pending`` or ``sending`` at the end (must be 0);
- *interrupted*: sends the dead process left in flight, ``settled_by_status`` (a status
  webhook named them: not sent again) or ``resent`` (none within the grace), from the second
  process's ``bot_outbound_interrupted_total``.

    python -m bench.crash_duplicates [--users 400] [--per-user 4] [--kill-after 900]
        [--grace 20] [--no-statuses] [--redis | --cluster]

Prints one JSON object (``replies``: accepted by the fake; ``duplicate_share``: duplicates
over replies).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.server import ACCESS_TOKEN, APP_SECRET, BotServer, free_port
from tests.fakes.cloud_payloads import envelope, new_wamid, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

PHONE_ID = "1234567890"
CONNECTIONS = 64
SATURATION_ENV = {
    "WHATSAPP_MAX_MPS": "1000000",  # the fake has no rate limit: the pipeline is the limit
    "DELIVERY_CONCURRENCY": "128",
    "SESSION_TIMEOUT_MINUTES": "30",
    "SESSION_SWEEP_INTERVAL_SECONDS": "1",
    "LOG_LEVEL": "WARNING",
}


async def _load(server: BotServer, users: list[str], per_user: int, stop: asyncio.Event) -> int:
    """Post every user's texts in order over :data:`CONNECTIONS` connections until ``stop``;
    returns how many were acknowledged with 200."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    acked = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)

    async def one(http: aiohttp.ClientSession) -> None:
        nonlocal acked
        while not stop.is_set() and not queue.empty():
            user = queue.get_nowait()
            for n in range(per_user):
                text = "hola" if n == 0 else f"mensaje {n:02d}"
                body, headers = signed(
                    envelope(
                        text_message(text, wa_id=user, phone_number_id=PHONE_ID, wamid=new_wamid())
                    ),
                    APP_SECRET,
                )
                try:
                    async with http.post(
                        f"{server.url}/webhook/whatsapp", data=body, headers=headers
                    ) as response:
                        acked += response.status == 200
                except aiohttp.ClientError:
                    return  # killed: what was not acknowledged Meta would deliver again
                if stop.is_set():
                    return

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(one(http) for _ in range(CONNECTIONS)))
    return acked


def _sqlite_outbound(path: Path) -> list[tuple[str, str, str]]:
    """(user, text, status) of every stored reply."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT user_id, COALESCE(text, ''), status FROM messages WHERE direction='out'"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled in {timeout_s} s")
        await asyncio.sleep(0.25)


async def measure(
    folder: Path,
    *,
    users: int = 400,
    per_user: int = 4,
    kill_after: int = 900,
    database_url: str | None = None,
    outbound: Callable[[], Awaitable[list[tuple[str, str, str]]]] | None = None,
    grace_s: float = 20.0,
    statuses: bool = True,
    status_backoff_s: float = 2.0,
) -> dict[str, Any]:
    """Run one kill at saturation (see the module docstring) in ``folder``.

    Args:
        grace_s: ``DELIVERY_INTERRUPTED_GRACE_SECONDS`` of both processes.
        statuses: Whether the fake posts status webhooks (longest backoff
            ``status_backoff_s`` between tries while the bot is down).
        database_url: The store (default: ``sqlite:///<folder>/bot.db``).
        outbound: Reads (user, text, status) of every stored reply (default: the SQLite file).
    """
    env = dict(SATURATION_ENV)
    env["DELIVERY_INTERRUPTED_GRACE_SECONDS"] = str(grace_s)
    port = str(free_port())  # the same for both processes: the webhook URL Meta knows
    env["PORT"] = port
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    db_path = folder / "bot.db"
    read_outbound = outbound or (lambda: asyncio.to_thread(_sqlite_outbound, db_path))
    names = [f"54977{i:08d}" for i in range(users)]
    async with FakeGraphAPI(access_token=ACCESS_TOKEN) as fake:
        first = BotServer(folder, fake.url, **env)
        first.port, first.url = int(port), f"http://127.0.0.1:{port}"
        if statuses:
            fake.post_statuses(
                f"{first.url}/webhook/whatsapp",
                APP_SECRET,
                retry_for_s=300.0,
                max_backoff_s=status_backoff_s,
            )
        await first.start()
        stop = asyncio.Event()
        loading = asyncio.create_task(_load(first, names, per_user, stop))
        try:
            await fake.wait_for(lambda reqs: len(reqs) >= kill_after, timeout_s=120)
            await first.stop(signal.SIGKILL)
            killed_at = time.time()
        finally:
            stop.set()
            acked = await loading
            if first.process is not None and first.process.returncode is None:
                await first.stop(signal.SIGKILL)
        at_kill = sum(1 for r in fake.requests if r.wamid is not None)
        second = BotServer(folder, fake.url, **env)
        second.port, second.url = first.port, first.url
        await second.start()
        restarted = time.monotonic()
        try:

            async def settled() -> bool:
                rows = await read_outbound()
                return bool(rows) and not any(s in ("pending", "sending") for _, _, s in rows)

            await _until(settled, timeout_s=120 + grace_s)
            settled_after_s = time.monotonic() - restarted
            if statuses:
                await fake.statuses_settled(timeout_s=60)
            interrupted = await _interrupted(second.url)
        finally:
            await second.stop()
        rows = await read_outbound()
    accepted = collections.Counter(
        (r.to, r.text or "") for r in fake.requests if r.wamid is not None
    )
    stored: dict[str, collections.Counter[tuple[str, str]]] = collections.defaultdict(
        collections.Counter
    )
    for user, text, status in rows:
        stored[status][(user, text)] += 1
    every = sum(stored.values(), collections.Counter[tuple[str, str]]())
    duplicates = sum(max(0, n - every[k]) for k, n in accepted.items())
    lost = sum(max(0, n - accepted[k]) for k, n in every.items())
    return {
        "backend": database_url.partition("://")[0] if database_url else "sqlite",
        "acknowledged": acked,
        "replies_accepted_at_kill": at_kill,
        "replies": sum(accepted.values()),
        "stored_replies": len(rows),
        "duplicates": duplicates,
        "duplicate_share": round(duplicates / max(1, sum(accepted.values())), 4),
        "lost": lost,
        "left_pending": sum(stored["pending"].values()) + sum(stored["sending"].values()),
        "statuses": {s: sum(c.values()) for s, c in stored.items() if c},
        "interrupted_settled_by_status": interrupted.get("settled_by_status", 0),
        "interrupted_resent": interrupted.get("resent", 0),
        "grace_s": grace_s,
        "status_webhooks": statuses,
        "status_webhooks_posted": fake.statuses_posted,
        "status_webhooks_given_up": fake.statuses_given_up,
        "all_settled_after_restart_s": round(settled_after_s, 1),
        "killed_at": killed_at,
    }


async def _interrupted(url: str) -> dict[str, int]:
    """``bot_outbound_interrupted_total`` of the process at ``url``, by outcome."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        text = await response.text()
    found: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("bot_outbound_interrupted_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            found[outcome] = found.get(outcome, 0) + int(float(line.rsplit(" ", 1)[1]))
    return found


def main(argv: list[str] | None = None) -> None:
    """Run :func:`measure` once and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.crash_duplicates")
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--per-user", type=int, default=4)
    parser.add_argument("--kill-after", type=int, default=900)
    parser.add_argument("--grace", type=float, default=20.0, help="interrupted grace, s")
    parser.add_argument("--no-statuses", action="store_true", help="the fake posts none")
    parser.add_argument("--redis", action="store_true", help="on a local redis-server")
    parser.add_argument(
        "--cluster", action="store_true", help="on a local Redis Cluster (3 masters)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as name:
        folder = Path(name)
        redis: AbstractContextManager[Any] = nullcontext()
        if args.redis:
            from tests.redis_server import RedisServer

            redis = _Redis(RedisServer(folder / "redis"))
        elif args.cluster:
            from tests.redis_cluster import RedisCluster

            redis = _Redis(RedisCluster(folder / "redis"))
        with redis as server:
            kwargs: dict[str, Any] = {}
            if server is not None:
                kwargs = {"database_url": server.url, "outbound": _redis_outbound(server.url)}
            result = asyncio.run(
                measure(
                    folder,
                    users=args.users,
                    per_user=args.per_user,
                    kill_after=args.kill_after,
                    grace_s=args.grace,
                    statuses=not args.no_statuses,
                    **kwargs,
                )
            )
    print(json.dumps(result, indent=2))


class _Redis:
    def __init__(self, server: Any) -> None:
        self.server = server

    def __enter__(self) -> Any:
        self.server.folder.mkdir()
        self.server.start()
        return self.server

    def __exit__(self, *_: object) -> None:
        self.server.stop()


def _redis_outbound(url: str) -> Callable[[], Awaitable[list[tuple[str, str, str]]]]:
    """Reads (user, text, status) of every stored reply from the ``message:<id>`` keys (on a
    Redis Cluster, ``{tag}message:<id>`` on every master)."""

    async def read() -> list[tuple[str, str, str]]:
        import redis.asyncio as aioredis
        from redis.asyncio.cluster import RedisCluster

        from bot.sessions.redis.maintenance import cluster_nodes

        client: Any
        if url.startswith("redis+cluster://"):
            client = RedisCluster(startup_nodes=cluster_nodes(url), decode_responses=True)
            pattern = "*message:*"
        else:
            client = aioredis.from_url(url, decode_responses=True)
            pattern = "message:*"
        try:
            names = [n async for n in client.scan_iter(pattern, count=1000)]
            async with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.get(name)
                raws = await pipe.execute() if names else []
        finally:
            await client.aclose()
        rows = []
        for raw in raws:
            if raw:
                m = json.loads(raw)
                if m.get("direction") == "out":
                    rows.append((m["user_id"], m.get("text") or "", m["status"]))
        return rows

    return read


if __name__ == "__main__":
    main()
