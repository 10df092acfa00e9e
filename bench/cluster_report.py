"""The ``cluster`` part of ``make bench`` (issue #16): its runs in order, and its rows.

1. the balance of a burst over a local 3-master Redis Cluster
   (:func:`bench.cluster_balance.measure`: keys and commands per master, no status webhooks):
   no master over
   :data:`bench.cluster_balance.TARGET_SHARE` of either;
2. what an inbound message costs Redis with Meta's three status webhooks per reply
   (:func:`bench.redis_cost.measure`), on one Redis and on the cluster: commands and Redis CPU
   per inbound against :data:`bench.statuses_report.TARGET_REDIS_COMMANDS` and
   :data:`bench.statuses_report.TARGET_REDIS_CPU_US`.

Each run starts its own redis-server(s) in a temporary folder; a run that fails leaves
``{"error": text}`` in its place and a ``MISSED`` row, the others still run.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cluster_balance, redis_cost
from bench.e2e import Sizes
from bench.statuses_report import TARGET_REDIS_COMMANDS, TARGET_REDIS_CPU_US

Row = tuple[str, str, str, str]  # metric, measured, target, verdict

BURST_PER_USER = 5
"""Texts per user in the balance burst."""
BURST_USERS = 600
BURST_USERS_QUICK = 100
"""Users of the balance burst: 3,000 messages, or 500 with ``--quick`` (about 2 s)."""


def _guarded(run: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``run(*args)``, or ``{"error": text}`` when it fails the way a bench run fails."""
    try:
        return run(*args)
    except (
        RuntimeError,
        OSError,
        AssertionError,
        subprocess.SubprocessError,
    ) as exc:  # AssertionError: replies still arriving after 300 s
        print(f"  cluster run failed: {exc}", flush=True)
        return {"error": str(exc)}


def _balance(users: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-balance-") as folder:
        return asyncio.run(
            cluster_balance.measure(Path(folder), users=users, per_user=BURST_PER_USER)
        )


def _cost(sizes: Sizes, cluster: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-redis-cost-") as folder:
        return redis_cost.measure(Path(folder), sizes, cluster)


def run_all(sizes: Sizes, quick: bool) -> dict[str, Any]:
    """``{"balance": {...}, "cost": [one Redis, cluster]}``; sizes of the cost runs from
    ``sizes`` (``warmup_users``, ``redis_status_users``)."""
    users = BURST_USERS_QUICK if quick else BURST_USERS
    print(f"  balance: {users * BURST_PER_USER:,} messages on 3 masters", flush=True)
    result: dict[str, Any] = {"balance": _guarded(_balance, users), "cost": []}
    for cluster in (False, True):
        print(f"  cost with statuses: {'cluster' if cluster else 'one Redis'}", flush=True)
        result["cost"].append(_guarded(_cost, sizes, cluster))
    return result


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _failed(name: str, run: dict[str, Any]) -> Row:
    return (f"{name}: failed", str(run["error"])[:60], "runs", "MISSED")


def balance_rows(run: dict[str, Any]) -> list[Row]:
    """Rows of one :func:`bench.cluster_balance.measure` result."""
    if "error" in run:
        return [_failed("balance burst", run)]
    limit = f"<= {cluster_balance.TARGET_SHARE:.0%}"
    keys, commands = run["keys_per_master"], run["commands_per_master"]
    return [
        (
            "keys per master; largest share",
            f"{' / '.join(f'{n:,}' for n in keys)}; {run['key_share_max']:.1%}",
            limit,
            _verdict(run["key_share_max"] <= cluster_balance.TARGET_SHARE),
        ),
        (
            "commands per master; largest share",
            f"{' / '.join(f'{n:,}' for n in commands)}; {run['command_share_max']:.1%}",
            limit,
            _verdict(run["command_share_max"] <= cluster_balance.TARGET_SHARE),
        ),
        (
            "acknowledged / sent; replies accepted",
            f"{run['acknowledged']:,} / {run['inbound']:,}; {run['replies']:,}",
            "all acknowledged",
            _verdict(run["acknowledged"] == run["inbound"]),
        ),
        (
            "per inbound: Redis commands; Redis CPU us; round trips",
            f"{run['commands_per_inbound']:g}; {run['redis_cpu_us_per_inbound']:.0f}; "
            f"{run['round_trips_per_inbound']:g}",
            "",
            "",
        ),
    ]


def cost_rows(run: dict[str, Any], name: str) -> list[Row]:
    """Rows of one :func:`bench.redis_cost.measure` result, metrics prefixed with ``name``."""
    if "error" in run:
        return [_failed(name, run)]
    commands, cpu_us = run["redis_commands_per_inbound"], run["redis_cpu_us_per_inbound"]
    errors = sum(run["ack_errors"].values())
    missing = run.get("statuses_missing") or 0
    check = run["store_check"]
    clean = errors == 0 and not run["lost_replies"] and not missing and check["ok"]
    clean = clean and not run.get("tracebacks_in_log")
    by_name = ", ".join(f"{c} {n:g}" for c, n in list(run["by_name"].items())[:6])
    return [
        (
            f"{name}: Redis commands per inbound",
            f"{commands:.1f}",
            f"<= {TARGET_REDIS_COMMANDS:g}",
            _verdict(commands <= TARGET_REDIS_COMMANDS),
        ),
        (
            f"{name}: Redis CPU us per inbound",
            f"{cpu_us:.0f}",
            f"<= {TARGET_REDIS_CPU_US:g}",
            _verdict(cpu_us <= TARGET_REDIS_CPU_US),
        ),
        (
            f"{name}: handled/s; errors / lost; statuses missing; store check",
            f"{run['handled_per_s']:,.0f}; {errors} / {run['lost_replies']}; {missing}; "
            f"{'ok' if check['ok'] else check['outbound_by_status']}",
            "0 / 0; 0; ok",
            _verdict(clean),
        ),
        (f"{name}: commands per inbound by name (top 6)", by_name, "", ""),
    ]


def rows(result: dict[str, Any] | None) -> list[tuple[str, list[Row]]]:
    """Sections of (metric, measured, target, verdict) for the table."""
    if not result or "balance" not in result:
        return []
    balance = result["balance"]
    burst = f"{balance['inbound']:,} messages" if "inbound" in balance else "a burst"
    sections = [
        (
            f"Redis Cluster, 3 masters: {burst} as fast as acknowledged, no statuses",
            balance_rows(balance),
        )
    ]
    cost: list[Row] = []
    for run, name in zip(result["cost"], ("one Redis", "cluster"), strict=False):
        cost += cost_rows(run, name)
    if cost:
        sections.append(("Redis cost per inbound, 3 statuses per reply, one worker", cost))
    return sections
