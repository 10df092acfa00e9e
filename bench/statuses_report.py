"""The ``statuses`` part of ``make bench``: its runs in order, and its rows of the table.

Order: the echo floor, then SQLite (one after the other on the same core, so that both see
the same machine), Redis with one and two workers, the Redis breakdown by store method.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import redis_breakdown, statuses
from bench.e2e import Sizes

TARGET_HANDLED_PER_S = 2_000
TARGET_FLOOR_RATIO = 0.4
TARGET_REDIS_COMMANDS = 15.0
TARGET_REDIS_CPU_US = 50.0

Row = tuple[str, str, str, str]


def run_all(sizes: Sizes, profile_to: Path | None = None) -> dict[str, Any]:
    """Every run of the part (Redis ones only when redis-server is installed)."""
    result: dict[str, Any] = {"steps": statuses.STEPS}
    result["echo_floor"] = statuses.echo_floor_run(sizes)
    with tempfile.TemporaryDirectory(prefix="bench-status-sqlite-") as folder:
        result["sqlite"] = statuses.sqlite_run(Path(folder), sizes, profile_to)
    if shutil.which("redis-server") is None:
        return result
    result["redis"] = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix=f"bench-status-redis{workers}-") as folder:
            result["redis"].append(statuses.redis_run(Path(folder), workers, sizes))
    with tempfile.TemporaryDirectory(prefix="bench-status-trace-") as folder:
        result["redis_breakdown"] = redis_breakdown.run(Path(folder), sizes)
    return result


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _saturation(run: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in run["phases"] if p["name"] == "saturation")


def _statuses_text(phase: dict[str, Any]) -> str:
    applied = sum(phase.get("statuses_applied", {}).values())
    return f"{applied:,} / {phase.get('statuses_expected', 0):,}"


def rows(result: dict[str, Any] | None) -> list[tuple[str, list[Row]]]:
    """Sections of (metric, measured, target, verdict) for the table."""
    if not result or "sqlite" not in result:
        return []
    ours, floor = _saturation(result["sqlite"]), _saturation(result["echo_floor"])
    ratio = ours["handled_per_s"] / floor["handled_per_s"] if floor["handled_per_s"] else 0.0
    cpu_ratio = floor["server_cpu_ms_per_message"] / max(ours["server_cpu_ms_per_message"], 1e-9)
    check = result["sqlite"]["store_check"]
    errors = sum(ours["ack_errors"].values())
    late = ours["status_lateness_ms"]
    sqlite: list[Row] = [
        (
            "inbound messages/s fully handled, statuses applied (saturation)",
            f"{ours['handled_per_s']:,.0f}",
            f">= {TARGET_HANDLED_PER_S:,}",
            _verdict(ours["handled_per_s"] >= TARGET_HANDLED_PER_S),
        ),
        (
            "echo-bot floor: messages/s, same load and statuses, same core",
            f"{floor['handled_per_s']:,.0f}",
            "",
            "",
        ),
        (
            "ratio to the echo floor (messages/s; by CPU per message; the lower counts)",
            f"{ratio:.2f}; {cpu_ratio:.2f}",
            f">= {TARGET_FLOOR_RATIO}",
            _verdict(min(ratio, cpu_ratio) >= TARGET_FLOOR_RATIO),
        ),
        (
            "worker CPU ms per inbound, statuses included: ours; echo floor",
            f"{ours['server_cpu_ms_per_message']:.3f}; {floor['server_cpu_ms_per_message']:.3f}",
            "",
            "",
        ),
        (
            "statuses applied / expected; errors / lost replies",
            f"{_statuses_text(ours)}; {errors} / {ours['lost_replies']}",
            "all; 0 / 0",
            _verdict(
                ours.get("statuses_missing", 1) == 0 and errors == 0 and not ours["lost_replies"]
            ),
        ),
        (
            "stored outbound messages by status after the run",
            ", ".join(f"{k} {v:,}" for k, v in check["outbound_by_status"].items()),
            "all read",
            _verdict(check["ok"]),
        ),
        (
            "status lateness p50 / p99 ms; backlog at the end s",
            f"{late['p50']:.0f} / {late['p99']:.0f}; {ours.get('status_backlog_s', 0):.1f}",
            "",
            "",
        ),
        (
            "handled/s up to the last read answered (pessimistic); load core busy: ours; floor",
            f"{ours.get('handled_per_s_to_last_status', 0):,.0f}; "
            f"{ours.get('load_core_busy', 0):.0%}; {floor.get('load_core_busy', 0):.0%}",
            "",
            "",
        ),
    ]
    sections = [("Realistic traffic: 3 statuses per reply, SQLite, one worker", sqlite)]
    if result.get("redis"):
        sections.append(("Realistic traffic on one Redis", _redis_rows(result)))
    return sections


def _redis_rows(result: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    for run in result["redis"]:
        phase = _saturation(run)
        errors = sum(phase["ack_errors"].values())
        check = run["store_check"]
        ok = errors == 0 and not phase["lost_replies"] and not phase.get("statuses_missing")
        table.append(
            (
                f"{run['workers']} worker(s), saturation: handled/s; errors / lost; statuses; "
                f"{check['sessions_read']} sessions' replies read",
                f"{phase['handled_per_s']:,.0f}; {errors} / {phase['lost_replies']}; "
                f"{_statuses_text(phase)}; {'ok' if check['ok'] else check['outbound_by_status']}",
                "0 / 0; all; ok",
                _verdict(ok and check["ok"]),
            )
        )
    one = result["redis"][0]
    commands, cpu_us = one["redis_commands_per_inbound"], one["redis_cpu_us_per_inbound"]
    by_name = ", ".join(
        f"{name} {count:g}"
        for name, count in list(one["redis_commands_per_inbound_by_name"].items())[:8]
    )
    table += [
        (
            "Redis commands per inbound, statuses included (1 worker, saturation)",
            f"{commands:.1f}",
            f"<= {TARGET_REDIS_COMMANDS:g}",
            _verdict(commands <= TARGET_REDIS_COMMANDS),
        ),
        (
            "Redis CPU us per inbound (used_cpu_sys + used_cpu_user)",
            f"{cpu_us:.0f}",
            f"<= {TARGET_REDIS_CPU_US:g}",
            _verdict(cpu_us <= TARGET_REDIS_CPU_US),
        ),
        ("commands per inbound by name (top 8)", by_name, "", ""),
    ]
    breakdown = result.get("redis_breakdown")
    if breakdown:
        for method, entry in list(breakdown["by_method"].items())[:8]:
            calls = ", ".join(f"{c} {n:g}" for c, n in list(entry["calls"].items())[:3])
            table.append((f"  from {method}", f"{entry['commands_per_inbound']:.1f}", calls, ""))
    return table
