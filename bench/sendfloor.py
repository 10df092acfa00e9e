"""The floor of an outbound send: a bare aiohttp client posting replies, nothing else.

Every reply the bot sends is one HTTP request to the Graph API. This posts ``--sends`` reply
bodies (Meta's text message, as ``bot serve`` sends them: same client settings, uvloop,
orjson) to the fake Graph API with ``--concurrency`` requests in flight, and prints the CPU
this process spent per send. With the ceiling's cost of one acknowledged webhook, it gives what
HTTP alone costs per message on this core: the part of the pipeline no engine work can remove.

    python -m bench.sendfloor --url http://127.0.0.1:PORT [--sends 20000] [--cpu 0]

Prints one JSON object: ``{"sends": N, "cpu_us_per_send": ..., "sends_per_s": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import aiohttp
import uvloop

from bench.workload import BOT_ID
from bot.channels.http import http_client


async def measure(url: str, sends: int, concurrency: int) -> dict[str, float]:
    """Post ``sends`` text replies (after a warm-up) and time them."""
    headers = {"Authorization": "Bearer bench-access-token"}
    timeout = aiohttp.ClientTimeout(total=10)
    endpoint = f"{url}/{BOT_ID}/messages"
    async with http_client(concurrency) as http:  # what bot serve sends with

        async def one(n: int) -> None:
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": f"54911{n % 100_000:08d}",
                "type": "text",
                "text": {"preview_url": False, "body": "¡Gracias! ¿Cuál es tu correo electrónico?"},
            }
            async with http.post(endpoint, json=body, headers=headers, timeout=timeout) as r:
                await r.read()

        async def run(count: int) -> None:
            queue = iter(range(count))

            async def worker() -> None:
                for n in queue:
                    await one(n)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await run(min(2_000, sends))
        started, cpu = time.perf_counter(), time.process_time()
        await run(sends)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    return {
        "sends": sends,
        "cpu_us_per_send": round(used / sends * 1e6, 1),
        "sends_per_s": round(sends / elapsed, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sendfloor")
    parser.add_argument("--url", required=True)
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin this process to")
    args = parser.parse_args(argv)
    assert args.url.startswith("http://127.0.0.1:"), "load goes to 127.0.0.1 only"
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    result = uvloop.run(measure(args.url, args.sends, args.concurrency))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
