"""What a message costs Redis with realistic traffic, on one Redis and on a local cluster.

One worker (``bot serve`` on core 0), the fake Graph API on core 1 posting Meta's three status
webhooks after each accepted send (:mod:`bench.statuses`), a warm-up and a saturation phase
(:data:`bench.e2e.Sizes.redis_status_users` users); over the saturation, summed over every
master: ``INFO commandstats`` calls (those Lua scripts run inside included, as Redis counts
them) and ``used_cpu_sys + used_cpu_user``, per inbound message; the worker's CPU per inbound
and the messages/s fully handled (statuses applied).

    python -m bench.redis_cost [--cluster] [--users 1000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench import procs, statuses, workload
from bench.e2e import LOAD_CPU, SERVER_CPU, Sizes, run_phase
from tests.redis_cluster import RedisCluster, command


def _stats(port: int) -> tuple[dict[str, int], float]:
    """Calls by command and CPU seconds of the node on ``port``."""
    calls: dict[str, int] = {}
    for line in command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            fields = dict(item.split("=") for item in rest.split(","))
            calls[name.removeprefix("cmdstat_")] = int(fields["calls"])
    cpu = 0.0
    for line in command(port, "INFO", "cpu").splitlines():
        if line.startswith(("used_cpu_sys:", "used_cpu_user:")):
            cpu += float(line.split(":", 1)[1])
    return calls, cpu


def _total(ports: list[int]) -> tuple[dict[str, int], float]:
    calls: dict[str, int] = {}
    cpu = 0.0
    for port in ports:
        node_calls, node_cpu = _stats(port)
        cpu += node_cpu
        for name, n in node_calls.items():
            if name not in ("info", "cluster", "ping", "command"):
                calls[name] = calls.get(name, 0) + n
    return calls, cpu


def measure(folder: Path, sizes: Sizes, cluster: bool) -> dict[str, Any]:
    """One worker with statuses on a fresh Redis (or a 3-master cluster) in ``folder``."""
    server: Any
    if cluster:
        server = RedisCluster(folder / "cluster")
        server.start()
        url, ports = server.url, server.masters()
    else:
        server = procs.Redis(folder, LOAD_CPU)
        url, ports = server.url, [server.port]
    try:
        with procs.fake_graph_api_process(LOAD_CPU) as (api, fake_pid):
            bot = procs.BotServe(folder, api, url, workload.APP_SECRET, SERVER_CPU)
            bot.start()
            try:
                procs.post_statuses(
                    api,
                    [f"{bot.url}{workload.WEBHOOK_PATH}"],
                    workload.APP_SECRET,
                    statuses.STEPS,
                    statuses.STATUS_CONNECTIONS,
                )
                target = [bot.url.removeprefix("http://")]
                common: dict[str, Any] = {"statuses_per_reply": statuses.STATUSES_PER_REPLY}
                run_phase(
                    "warm-up", target, api, [bot.pid], 0, sizes.warmup_users, None, sizes, **common
                )
                calls_before, cpu_before = _total(ports)
                saturated = run_phase(
                    "saturation",
                    target,
                    api,
                    [bot.pid],
                    statuses.SATURATION_FIRST_USER,
                    sizes.redis_status_users,
                    None,
                    sizes,
                    load_pids=(fake_pid,),
                    **common,
                )
                calls_after, cpu_after = _total(ports)
                check = statuses.check_admin_read(bot.url)
            finally:
                bot.stop()
    finally:
        server.stop()
    inbound = max(saturated.messages, 1)
    by_name = {
        name: round((n - calls_before.get(name, 0)) / inbound, 2)
        for name, n in calls_after.items()
        if n > calls_before.get(name, 0)
    }
    summary = saturated.summary()
    return {
        "backend": "redis+cluster (3 masters)" if cluster else "redis",
        "inbound": inbound,
        "handled_per_s": summary["handled_per_s"],
        "worker_cpu_ms_per_inbound": summary["server_cpu_ms_per_message"],
        "redis_commands_per_inbound": round(sum(by_name.values()), 1),
        "redis_cpu_us_per_inbound": round((cpu_after - cpu_before) * 1e6 / inbound, 1),
        "by_name": dict(sorted(by_name.items(), key=lambda item: -item[1])),
        "ack_errors": summary["ack_errors"],
        "lost_replies": summary["lost_replies"],
        "statuses_missing": summary.get("statuses_missing"),
        "store_check": check,
        "tracebacks_in_log": bot.log_count("Traceback"),
    }


def main(argv: list[str] | None = None) -> None:
    """Run :func:`measure` once and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.redis_cost")
    parser.add_argument("--cluster", action="store_true", help="a local 3-master cluster")
    parser.add_argument("--users", type=int, default=Sizes.redis_status_users)
    args = parser.parse_args(argv)
    sizes = Sizes(redis_status_users=args.users)
    with tempfile.TemporaryDirectory(prefix="bench-redis-cost-") as name:
        print(json.dumps(measure(Path(name), sizes, args.cluster), indent=2))


if __name__ == "__main__":
    main()
