"""Sweeper benchmark: 100,000 active sessions, 10,000 due at once, on each store backend.

Measures the seconds from the first sweep until every timeout notice was accepted by a local
fake Graph API (its own process, ``tests/fakes/graph_api.py``), and the benchmark process's
peak RSS. The sweeper and a started outbox run as in ``bot serve`` (the outbox sends while the
sweeper closes the next batch; uvloop's event loop), with the pace lifted so that the pipeline
is measured. Redis runs as a throw-away ``redis-server`` on a free port, set up as in the
end-to-end benchmark (AOF, ``appendfsync everysec``: :class:`bench.procs.Redis`).

    python -m bench.sweeper [--sessions 100000] [--due 10000] [--backend sqlite|redis|both]

Prints a table and writes ``bench/results/sweeper.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench import procs
from bot.channels.whatsapp import WhatsAppClient
from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.locales import Locales
from bot.sessions.model import Session, SessionKey, Status
from bot.sessions.redis import RedisStore
from bot.sessions.service import SessionService
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import SessionStore
from bot.sessions.sweeper import Sweeper

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Result:
    backend: str
    sessions: int
    due: int
    create_s: float
    sweep_s: float
    notices_per_s: float
    peak_rss_mb: float


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.graph_api", "--port", "0", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("ready "):
        raise RuntimeError(f"fake Graph API did not start: {line!r}")
    return process, line.removeprefix("ready ")


async def fill(store: SessionStore, total: int, due: int, batch: int = 2000) -> None:
    """``total`` active sessions; the first ``due`` expired at T0, the rest an hour later."""
    for start in range(0, total, batch):
        sessions = []
        for i in range(start, min(start + batch, total)):
            expires = T0 if i < due else T0 + timedelta(hours=1)
            sessions.append(
                Session(
                    id=uuid.uuid4().hex,
                    key=SessionKey("whatsapp", "1234567890", f"549{i:010d}"),
                    status=Status.ACTIVE,
                    created_at=T0 - timedelta(minutes=30),
                    last_activity_at=T0 - timedelta(minutes=30),
                    expires_at=expires,
                    language="es",
                )
            )
        await store.commit(sessions, [])


async def run(backend: str, store: SessionStore, api_url: str, total: int, due: int) -> Result:
    await store.open()
    started = time.perf_counter()
    await fill(store, total, due)
    create_s = time.perf_counter() - started
    locales = Locales.load(REPO / "locales", ["es", "en"], "es")
    service = SessionService(locales, 1800)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:
        outbox = Outbox(
            store,
            {"whatsapp": WhatsAppClient(http, api_url, "bench-token")},
            clock=lambda: T0,
            settings=DeliverySettings(max_mps=1_000_000),  # measure the pipeline, not the pace
        )
        sweeper = Sweeper(store, service, outbox, store.user_locks(), lambda: T0)
        await outbox.start()  # as in ``bot serve``: notices leave from the outbox's senders
        started = time.perf_counter()
        try:
            closed = await sweeper.run_once()
            await outbox.join()
            sweep_s = time.perf_counter() - started
        finally:
            await outbox.stop()
    pending = await store.pending_outbound(10)
    await store.close()
    assert closed == due, f"closed {closed} of {due}"
    assert not pending, "some notices were not accepted"
    return Result(
        backend=backend,
        sessions=total,
        due=due,
        create_s=round(create_s, 2),
        sweep_s=round(sweep_s, 2),
        notices_per_s=round(due / sweep_s),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


async def main_async(args: argparse.Namespace) -> list[Result]:
    fake, api_url = start_fake()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sweeper-") as folder:
            if args.backend in ("sqlite", "both"):
                store = SqliteStore(Path(folder) / "bench.db")
                results.append(await run("sqlite", store, api_url, args.sessions, args.due))
            if args.backend in ("redis", "both"):
                redis = procs.Redis(Path(folder), None)
                try:
                    results.append(
                        await run("redis", RedisStore(redis.url), api_url, args.sessions, args.due)
                    )
                finally:
                    redis.stop()
    finally:
        fake.terminate()
        fake.wait()
    return results


def _event_loop() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop, as ``bot serve`` runs on (asyncio's own where uvloop is missing)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "redis", "both"], default="both")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=_event_loop()) as runner:
        results = runner.run(main_async(args))
    row = "{:8} {:>9} {:>7} {:>7} {:>8} {:>10} {:>12}"
    print(row.format("backend", "sessions", "due", "fill s", "sweep s", "notices/s", "peak RSS MB"))
    for r in results:
        print(
            row.format(
                r.backend, r.sessions, r.due, r.create_s, r.sweep_s, r.notices_per_s, r.peak_rss_mb
            )
        )
    out = REPO / "bench" / "results" / "sweeper.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
