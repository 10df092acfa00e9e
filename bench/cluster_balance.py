"""How evenly a burst through the real ``bot serve`` spreads over a local Redis Cluster of 3
masters, and what it costs Redis per inbound message (issue #16).

One worker on ``redis+cluster://`` (or ``--single``: one redis-server, the same burst), the
fake Graph API in this process accepting every send (no status webhooks): ``users`` users send
``per_user`` texts each over 64 keep-alive connections as fast as they are acknowledged; the
run ends when every text is acknowledged and the fake has accepted no reply for 2 s. Measured
on every master, before and after:

- *keys*: ``DBSIZE`` after the burst, and each master's share of them;
- *commands*: ``INFO commandstats`` calls (those Lua scripts run inside included), the
  difference, and each master's share;
- *Redis CPU*: ``INFO cpu`` ``used_cpu_sys`` + ``used_cpu_user``, the difference;
- *round trips*: ``INFO stats`` ``total_writes_processed``, the difference.

Per inbound message: commands, Redis CPU (µs) and round trips, all masters together.

    python -m bench.cluster_balance [--users 600] [--per-user 5] [--single]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.crash_duplicates import SATURATION_ENV, _load
from tests.e2e.server import ACCESS_TOKEN, BotServer
from tests.fakes.graph_api import FakeGraphAPI
from tests.redis_cluster import RedisCluster, command
from tests.redis_server import RedisServer

TARGET_SHARE = 0.40
"""No master may take more than 40 % of the keys or of the commands (issue #16)."""
QUIET_S = 2.0
"""The burst is over once the fake has accepted no reply for this long."""


def _counters(port: int) -> dict[str, float]:
    """``keys``, ``commands`` (summed calls), ``cpu_s`` and ``round_trips`` (replies written,
    ``total_writes_processed``: a pipeline counts once) of the node on ``port``."""
    calls = 0
    for line in command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            fields = dict(item.split("=") for item in line.split(":", 1)[1].split(","))
            calls += int(fields["calls"])
    writes = 0
    for line in command(port, "INFO", "stats").splitlines():
        if line.startswith("total_writes_processed:"):
            writes = int(line.split(":", 1)[1])
    cpu = 0.0
    for line in command(port, "INFO", "cpu").splitlines():
        if line.startswith(("used_cpu_sys:", "used_cpu_user:")):
            cpu += float(line.split(":", 1)[1])
    keys = int(command(port, "DBSIZE") or 0)
    return {"keys": keys, "commands": calls, "cpu_s": cpu, "round_trips": writes}


async def measure(
    folder: Path, *, users: int = 600, per_user: int = 5, single: bool = False
) -> dict[str, Any]:
    """One burst (see the module docstring) on a fresh cluster (or Redis) in ``folder``."""
    server: RedisCluster | RedisServer
    if single:
        server = RedisServer(folder / "redis")
        server.folder.mkdir(parents=True)
        server.start()
        ports = [server.port]
    else:
        server = RedisCluster(folder / "cluster")
        server.start()
        ports = server.masters()
    try:
        env = dict(SATURATION_ENV, DATABASE_URL=server.url)
        names = [f"54988{i:08d}" for i in range(users)]
        async with FakeGraphAPI(access_token=ACCESS_TOKEN) as fake:
            worker = BotServer(folder, fake.url, **env)
            await worker.start()
            try:
                before = {p: _counters(p) for p in ports}
                started = time.monotonic()
                acked = await _load(worker, names, per_user, asyncio.Event())
                replies, last_change = 0, time.monotonic()
                while time.monotonic() - last_change < QUIET_S:
                    await asyncio.sleep(0.25)
                    now = sum(1 for r in fake.requests if r.wamid is not None)
                    if now != replies:
                        replies, last_change = now, time.monotonic()
                    if time.monotonic() - started > 300:
                        raise AssertionError("replies still arriving after 300 s")
                elapsed_s = last_change - started
                after = {p: _counters(p) for p in ports}
            finally:
                await worker.stop()
    finally:
        server.stop()
    keys = {p: int(after[p]["keys"]) for p in ports}
    commands = {p: int(after[p]["commands"] - before[p]["commands"]) for p in ports}
    cpu_s = sum(after[p]["cpu_s"] - before[p]["cpu_s"] for p in ports)
    trips = sum(after[p]["round_trips"] - before[p]["round_trips"] for p in ports)
    inbound = users * per_user
    return {
        "backend": "redis" if single else "redis+cluster (3 masters)",
        "inbound": inbound,
        "acknowledged": acked,
        "replies": replies,
        "elapsed_s": round(elapsed_s, 2),
        "keys_per_master": list(keys.values()),
        "key_share_max": round(max(keys.values()) / max(1, sum(keys.values())), 3),
        "commands_per_master": list(commands.values()),
        "command_share_max": round(max(commands.values()) / max(1, sum(commands.values())), 3),
        "commands_per_inbound": round(sum(commands.values()) / inbound, 1),
        "redis_cpu_us_per_inbound": round(cpu_s * 1e6 / inbound, 1),
        "round_trips_per_inbound": round(trips / inbound, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run :func:`measure` once and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_balance")
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--single", action="store_true", help="one redis-server instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as name:
        result = asyncio.run(
            measure(Path(name), users=args.users, per_user=args.per_user, single=args.single)
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as exc:  # a node that stopped answering redis-cli
        raise SystemExit(f"redis-cli timed out: {exc}") from None
