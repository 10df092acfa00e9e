"""End-to-end benchmark: the real ``bot serve`` under webhook load, against the bare-aiohttp
ceiling in the same run; on SQLite (one worker) and on one Redis (one and two workers).

Placement on a 2-core machine: the worker runs on core 0; the load generator, the fake Graph
API and redis-server on core 1, so "one worker" means one core, like the ceiling, which gets
the same core and the same load. With two workers each gets a core and the rest floats.

Phases of one run (each with its own users, so no session carries over):

1. start-up: seconds from launch until ``/healthz`` answers; idle RSS one second later;
2. warm-up: a short saturating burst (caches, connections), not reported;
3. fixed rate: ``--rate`` messages/s offered, open loop: ack latency p50/p95/p99;
4. saturation: ``--connections`` keep-alive connections sending as fast as answered.

A message is *fully handled* when its replies were accepted by the fake Graph API; throughput
is inbound messages over the time from the first request to the last reply accepted. After a
SQLite run the database is checked: every acknowledged message stored, no inbox left, no
reply pending or failed.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procs, workload

SERVER_CPU = 0
LOAD_CPU = 1
REPLY_IDLE_TIMEOUT_S = 15.0
"""A phase's replies are given up on (and counted lost) after this long without progress."""


@dataclass
class Sizes:
    """Users per phase (about 4.7 messages each) and the load's shape."""

    warmup_users: int = 400
    rate_users: int = 2_100
    rate_per_s: float = 1_000.0
    saturate_users: int = 4_300
    redis_rate_users: int = 130
    redis_rate_per_s: float = 60.0
    connections: int = 64
    seed: int = 7
    max_phase_s: float = 120.0
    status_users: int = 3_000
    """Users of a saturation phase with status webhooks (SQLite and the echo floor)."""
    redis_status_users: int = 1_000
    """The same on Redis (slower per message) and for the Redis breakdown."""


@dataclass
class Phase:
    """One load phase against one deployment.

    Attributes:
        messages: Inbound messages sent.
        acks: Load generator report (see ``bench.loadgen.Report``).
        expected_replies: Outbound messages the scripts call for.
        accepted_replies: Outbound messages the fake Graph API accepted in this phase.
        handled_per_s: Messages over (last reply accepted - first request sent).
        reply_lag_s: Last reply accepted - last ack answered.
        server_cpu_ms_per_message: CPU of the worker process(es) per message.
    """

    name: str
    messages: int
    acks: dict[str, Any]
    expected_replies: int
    accepted_replies: int = 0
    handled_per_s: float = 0.0
    reply_lag_s: float = 0.0
    server_cpu_ms_per_message: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lost_replies(self) -> int:
        return self.expected_replies - self.accepted_replies

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "messages": self.messages,
            "offered_per_s": self.acks.get("offered_per_s"),
            "acks_per_s": self.acks["acks_per_s"],
            "ack_latency_ms": self.acks["latency_ms"],
            "ack_errors": self.acks["errors"],
            "timed_out": self.acks["timed_out"],
            "expected_replies": self.expected_replies,
            "accepted_replies": self.accepted_replies,
            "lost_replies": self.lost_replies,
            "handled_per_s": self.handled_per_s,
            "reply_lag_s": self.reply_lag_s,
            "server_cpu_ms_per_message": self.server_cpu_ms_per_message,
            **self.extra,
        }


def run_phase(
    name: str,
    targets: list[str],
    api_url: str | None,
    pids: list[int],
    first_user: int,
    users: int,
    rate: float | None,
    sizes: Sizes,
    *,
    statuses_per_reply: int = 0,
    replies_per_message: int | None = None,
    load_pids: tuple[int, ...] = (),
) -> Phase:
    """Send one phase's messages and wait for every reply (``api_url=None``: acks only).

    With ``statuses_per_reply`` (the fake posting status webhooks, see :mod:`bench.statuses`)
    it also waits until that many statuses per reply were answered 200, and a message counts
    handled only when they all were. ``replies_per_message`` replaces the scripts' reply counts
    (the echo bot answers each message once). ``load_pids``: processes on the load core (the
    fake), whose CPU with the load generator's gives the load core's busy share.
    """
    batch = workload.scripts(first_user, users, sizes.seed)
    before = procs.fake_stats(api_url, reset_lateness=True) if api_url else {}
    cpu_before = sum(procs.cpu_s(pid) for pid in pids)
    load_before = sum(procs.cpu_s(pid) for pid in load_pids)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    acks = procs.loadgen(
        targets, first_user, users, sizes.seed, sizes.connections, rate, LOAD_CPU, sizes.max_phase_s
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = sum(procs.cpu_s(pid) for pid in load_pids)
    messages = workload.message_count(batch)
    if not api_url:
        expected = 0
    elif replies_per_message is not None:
        expected = messages * replies_per_message
    else:
        expected = workload.expected_replies(batch)
    phase = Phase(name, messages, acks, expected)
    finished_at = acks["finished_at"]
    statuses_ok = True
    if api_url:
        accepted, finished_at = _wait_replies(api_url, before["accepted"], phase.expected_replies)
        phase.accepted_replies = accepted
        phase.reply_lag_s = round(max(0.0, finished_at - acks["finished_at"]), 3)
        if statuses_per_reply:
            phase.extra = _wait_statuses(
                api_url, before, phase.expected_replies * statuses_per_reply, finished_at
            )
            statuses_ok = phase.extra["statuses_missing"] == 0
            # Work left when the last reply went out: the statuses still queued then.
            finished_at += phase.extra["status_backlog_s"]
    duration_s = max(finished_at - acks["started_at"], 1e-9)
    complete = phase.lost_replies == 0 and acks["ok"] == phase.messages and statuses_ok
    phase.handled_per_s = round((phase.messages if complete else 0) / duration_s, 1)
    cpu_used = sum(procs.cpu_s(pid) for pid in pids) - cpu_before
    phase.server_cpu_ms_per_message = round(cpu_used * 1000 / max(phase.messages, 1), 3)
    if statuses_per_reply and complete:
        to_last = max(phase.extra["status_tail_s"] + phase.reply_lag_s + acks_window(acks), 1e-9)
        phase.extra["handled_per_s_to_last_status"] = round(phase.messages / to_last, 1)
    if load_pids:
        loadgen_s = (children.ru_utime + children.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        window_s = max(acks["finished_at"] - acks["started_at"], 1e-9)
        phase.extra["load_core_busy"] = round((load_after - load_before + loadgen_s) / window_s, 2)
    return phase


def acks_window(acks: dict[str, Any]) -> float:
    """Seconds from the first request to the last answer of a load generator report."""
    return float(acks["finished_at"] - acks["started_at"])


def _wait_statuses(
    api_url: str, before: dict[str, Any], expected: int, last_reply_at: float
) -> dict[str, Any]:
    """Poll the fake until ``expected`` more statuses were answered 200 and none is left in
    flight, or no progress for :data:`REPLY_IDLE_TIMEOUT_S`. Returns the phase's status
    figures: applied (by status), missing, given up, seconds from the last reply accepted to
    the last status answered, and lateness (answered - planned) percentiles."""
    posted_before = sum(before.get("statuses_posted", {}).values())
    given_up_before = before.get("statuses_given_up", 0)
    last_count, last_progress = -1, time.monotonic()
    while True:
        stats = procs.fake_stats(api_url)
        posted = sum(stats["statuses_posted"].values()) - posted_before
        done = posted >= expected and stats["statuses_in_flight"] == 0
        if posted != last_count:
            last_count, last_progress = posted, time.monotonic()
        elif time.monotonic() - last_progress > REPLY_IDLE_TIMEOUT_S:
            done = True
        if done:
            by_status = {
                name: count - before.get("statuses_posted", {}).get(name, 0)
                for name, count in stats["statuses_posted"].items()
            }
            return {
                "statuses_expected": expected,
                "statuses_applied": by_status,
                "statuses_missing": max(0, expected - posted),
                "statuses_given_up": stats["statuses_given_up"] - given_up_before,
                "status_tail_s": round(
                    (stats["last_status_at"] or last_reply_at) - last_reply_at, 2
                ),
                "status_backlog_s": round(
                    max(
                        0.0, (stats["last_status_at"] or 0.0) - (stats["last_status_due_at"] or 0.0)
                    ),
                    2,
                ),
                "status_lateness_ms": stats["status_lateness_ms"],
            }
        time.sleep(0.05)


def _wait_replies(api_url: str, before: int, expected: int) -> tuple[int, float]:
    """Poll the fake until ``expected`` more sends were accepted, or no progress for
    :data:`REPLY_IDLE_TIMEOUT_S`. Returns (accepted in this phase, Unix time of the last)."""
    last_count, last_progress = -1, time.monotonic()
    while True:
        stats = procs.fake_stats(api_url)
        accepted = stats["accepted"] - before
        if accepted >= expected:
            return accepted, stats["last_accepted_at"]
        if accepted != last_count:
            last_count, last_progress = accepted, time.monotonic()
        elif time.monotonic() - last_progress > REPLY_IDLE_TIMEOUT_S:
            return accepted, stats["last_accepted_at"] or time.time()
        time.sleep(0.02)


def sqlite_run(folder: Path, sizes: Sizes) -> dict[str, Any]:
    """One worker on the SQLite default: start-up, idle RSS, fixed rate, saturation, checks."""
    with procs.fake_graph_api(LOAD_CPU) as api_url:
        bot = procs.BotServe(
            folder, api_url, f"sqlite:///{folder / 'bot.db'}", workload.APP_SECRET, SERVER_CPU
        )
        bot.start()
        try:
            time.sleep(1.0)
            idle_rss_mb = procs.memory_mb(bot.pid)[0]
            target = [bot.url.removeprefix("http://")]
            run_phase("warm-up", target, api_url, [bot.pid], 0, sizes.warmup_users, None, sizes)
            fixed = run_phase(
                "fixed rate",
                target,
                api_url,
                [bot.pid],
                1_000_000,
                sizes.rate_users,
                sizes.rate_per_s,
                sizes,
            )
            saturated = run_phase(
                "saturation",
                target,
                api_url,
                [bot.pid],
                2_000_000,
                sizes.saturate_users,
                None,
                sizes,
            )
            peak_rss_mb = procs.memory_mb(bot.pid)[1]
        finally:
            status = bot.stop()
    acked = sum(p.acks["ok"] for p in (fixed, saturated)) + _acked_warmup(sizes)
    return {
        "startup_s": bot.startup_s,
        "idle_rss_mb": idle_rss_mb,
        "peak_rss_mb": peak_rss_mb,
        "exit_status": status,
        "tracebacks_in_log": bot.log_count("Traceback"),
        "phases": [fixed.summary(), saturated.summary()],
        "store_check": check_sqlite(folder / "bot.db", acked),
    }


def _acked_warmup(sizes: Sizes) -> int:
    return workload.message_count(workload.scripts(0, sizes.warmup_users, sizes.seed))


def check_sqlite(path: Path, acked: int) -> dict[str, Any]:
    """What the database says after the run (the worker stopped)."""
    db = sqlite3.connect(path)
    try:

        def one(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        found = {
            "inbound_stored": one("SELECT COUNT(*) FROM messages WHERE direction='in'"),
            "inbox_left": one("SELECT COUNT(*) FROM inbox"),
            "outbound_sent": one(
                "SELECT COUNT(*) FROM messages WHERE direction='out' AND status='sent'"
            ),
            "outbound_not_sent": one(
                "SELECT COUNT(*) FROM messages WHERE direction='out' AND status!='sent'"
            ),
        }
    finally:
        db.close()
    found["acked"] = acked
    found["ok"] = (
        found["inbound_stored"] == acked
        and found["inbox_left"] == 0
        and found["outbound_not_sent"] == 0
    )
    return found


def ceiling_run(sizes: Sizes) -> dict[str, Any]:
    """The bare aiohttp handler on the worker's core, same saturating load."""
    with procs.ceiling(SERVER_CPU) as target:
        run_phase("warm-up", [target], None, [], 0, sizes.warmup_users, None, sizes)
        saturated = run_phase(
            "saturation", [target], None, [], 2_000_000, sizes.saturate_users, None, sizes
        )
    return saturated.summary()


def send_floor_run(sizes: Sizes) -> dict[str, Any]:
    """A bare aiohttp client (:mod:`bench.sendfloor`) on the worker's core posting replies to
    the fake Graph API: the CPU one outbound send costs, nothing else."""
    sends = max(2_000, sizes.saturate_users * 5)
    with procs.fake_graph_api(LOAD_CPU) as api_url:
        done = subprocess.run(
            [
                procs.PYTHON,
                "-m",
                "bench.sendfloor",
                "--url",
                api_url,
                "--sends",
                str(sends),
                "--cpu",
                str(SERVER_CPU),
            ],
            cwd=procs.REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def redis_run(folder: Path, workers: int, sizes: Sizes) -> dict[str, Any]:
    """``workers`` workers (cores 0, 1, ...) sharing one redis-server: a gentle fixed rate
    (``sizes.redis_rate_per_s``), then saturation as on SQLite.

    Also measures what one message costs Redis, at the fixed rate and at saturation: commands
    (``INFO commandstats``, those run inside Lua scripts included), round trips (replies
    written, ``total_writes_processed``: a pipeline or a script counts once) and redis-server
    CPU time, from which the messages/s one Redis core can serve follows (Redis runs commands
    on one thread). At the fixed rate, Redis's idle work (its timers, the workers' periodic
    looks) is a large share of the CPU per message; saturation shows the cost of load alone.
    """
    redis = procs.Redis(folder, LOAD_CPU if workers == 1 else None)
    try:
        with procs.fake_graph_api(LOAD_CPU if workers == 1 else None) as api_url:
            bots = [
                procs.BotServe(
                    folder,
                    api_url,
                    redis.url,
                    workload.APP_SECRET,
                    SERVER_CPU + i if workers > 1 else SERVER_CPU,
                    name=f"worker{i}",
                )
                for i in range(workers)
            ]
            for bot in bots:
                bot.start()
            try:
                targets = [bot.url.removeprefix("http://") for bot in bots]
                pids = [bot.pid for bot in bots]
                calls_before = redis.command_calls()
                trips_before = redis.round_trips()
                redis_cpu_before = procs.cpu_s(redis.process.pid)
                fixed = run_phase(
                    "fixed rate",
                    targets,
                    api_url,
                    pids,
                    1_000_000,
                    sizes.redis_rate_users,
                    sizes.redis_rate_per_s,
                    sizes,
                )
                calls = redis.command_calls() - calls_before
                trips = redis.round_trips() - trips_before
                redis_cpu = procs.cpu_s(redis.process.pid) - redis_cpu_before
                calls_before = redis.command_calls()
                trips_before = redis.round_trips()
                redis_cpu_before = procs.cpu_s(redis.process.pid)
                saturated = run_phase(
                    "saturation",
                    targets,
                    api_url,
                    pids,
                    2_000_000,
                    sizes.saturate_users,
                    None,
                    sizes,
                )
                saturated_calls = redis.command_calls() - calls_before
                saturated_trips = redis.round_trips() - trips_before
                saturated_cpu = procs.cpu_s(redis.process.pid) - redis_cpu_before
                peak = max(procs.memory_mb(pid)[1] for pid in pids)
            finally:
                for bot in bots:
                    bot.stop()
    finally:
        redis.stop()
    per_message_us = redis_cpu * 1e6 / max(fixed.messages, 1)
    saturated_us = saturated_cpu * 1e6 / max(saturated.messages, 1)
    return {
        "workers": workers,
        "phases": [fixed.summary(), saturated.summary()],
        "peak_rss_mb": peak,
        "redis_commands_per_message": round(calls / max(fixed.messages, 1), 1),
        "redis_cpu_us_per_message": round(per_message_us, 1),
        "messages_per_s_one_redis_core": round(1e6 / per_message_us) if per_message_us else None,
        "redis_round_trips_per_message": round(trips / max(fixed.messages, 1), 1),
        "saturation_redis_commands_per_message": round(
            saturated_calls / max(saturated.messages, 1), 1
        ),
        "saturation_redis_round_trips_per_message": round(
            saturated_trips / max(saturated.messages, 1), 1
        ),
        "saturation_redis_cpu_us_per_message": round(saturated_us, 1),
        "saturation_messages_per_s_one_redis_core": (
            round(1e6 / saturated_us) if saturated_us else None
        ),
        "tracebacks_in_log": sum(bot.log_count("Traceback") for bot in bots),
        "store_unavailable_in_log": sum(bot.log_count("store unavailable") for bot in bots),
    }
