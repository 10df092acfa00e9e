"""Realistic webhook traffic: every reply followed by Meta's three status webhooks.

Meta posts ``sent``, ``delivered`` and ``read`` for each message a business sends, so a real
webhook carries about inbound + 3 x outbound requests, and each status updates a stored
message. Here the fake Graph API posts them back (``tests/fakes/status_webhooks.py``: Meta's
documented bodies, signed, :data:`STEPS` delays after the send) and a message counts *fully
handled* when its replies were accepted and every status of them was answered 200 (the
webhook answers 200 only after the status is applied to the store).

Runs, each on a fresh store, the worker(s) on core 0 and the load side on core 1 as in
:mod:`bench.e2e`:

- SQLite, one worker: warm-up, saturation; then every stored outbound message must be ``read``;
- the echo-bot floor (:mod:`bench.echo_floor`), same load and statuses, same core;
- one redis-server, 1 and 2 workers: saturation, with Redis commands (by name) and Redis CPU
  (``used_cpu_sys + used_cpu_user``) per inbound message; a sample of sessions read back
  through the admin API must have every outbound message ``read``.

Throughput is inbound messages over (last reply accepted - first request sent), as without
statuses: the statuses of the phase's first seconds arrive later than in steady state (the
delays), and those of its last seconds after the window, which is as much status work as the
steady state would put in the window. ``status_lateness_ms`` (answered - planned, per status)
shows whether the worker kept up with them; ``handled_per_s_to_last_status`` is the
pessimistic figure, up to the last ``read`` answered (its delay included).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

from bench import procs, profile, workload
from bench.e2e import LOAD_CPU, SERVER_CPU, Phase, Sizes, run_phase

STEPS = "sent=0.05:0.2,delivered=0.3:1,read=1:3"
"""Seconds after an accepted send each status is posted (uniform in min:max)."""
STATUSES_PER_REPLY = 3
STATUS_CONNECTIONS = 256
"""Keep-alive connections the fake posts statuses over, per worker URL: enough that statuses,
which arrive at their own pace (open loop), are served as they come while the load
generator's 64 connections saturate the worker with inbound messages."""
SATURATION_FIRST_USER = 3_000_000
ADMIN_SAMPLE = 300
"""Sessions read back through the admin API after a Redis run."""


def _webhook(url: str) -> str:
    return f"{url}{workload.WEBHOOK_PATH}"


def _phases(
    targets: list[str],
    api_url: str,
    pids: list[int],
    fake_pid: int,
    sizes: Sizes,
    replies_per_message: int | None = None,
    profile_to: Path | None = None,
) -> tuple[Phase, Phase]:
    """A warm-up and a saturation phase, statuses on (the saturation sampled by py-spy into
    ``profile_to`` when given)."""
    common: dict[str, Any] = {
        "statuses_per_reply": STATUSES_PER_REPLY,
        "replies_per_message": replies_per_message,
    }
    warm = run_phase(
        "warm-up", targets, api_url, pids, 0, sizes.warmup_users, None, sizes, **common
    )
    with profile.record(pids[0], profile_to) if profile_to else contextlib.nullcontext():
        saturated = run_phase(
            "saturation",
            targets,
            api_url,
            pids,
            SATURATION_FIRST_USER,
            sizes.status_users,
            None,
            sizes,
            load_pids=(fake_pid,),
            **common,
        )
    return warm, saturated


def sqlite_run(folder: Path, sizes: Sizes, profile_to: Path | None = None) -> dict[str, Any]:
    """One worker on SQLite with statuses; every stored outbound message ``read`` after
    (``profile_to``: py-spy's stacks of the saturation phase)."""
    with procs.fake_graph_api_process(LOAD_CPU) as (api_url, fake_pid):
        bot = procs.BotServe(
            folder, api_url, f"sqlite:///{folder / 'bot.db'}", workload.APP_SECRET, SERVER_CPU
        )
        bot.start()
        try:
            procs.post_statuses(
                api_url, [_webhook(bot.url)], workload.APP_SECRET, STEPS, STATUS_CONNECTIONS
            )
            target = [bot.url.removeprefix("http://")]
            warm, saturated = _phases(
                target, api_url, [bot.pid], fake_pid, sizes, profile_to=profile_to
            )
        finally:
            status = bot.stop()
    return {
        "steps": STEPS,
        "exit_status": status,
        "tracebacks_in_log": bot.log_count("Traceback"),
        "phases": [warm.summary(), saturated.summary()],
        "store_check": check_sqlite_read(folder / "bot.db"),
    }


def check_sqlite_read(path: Path) -> dict[str, Any]:
    """Outbound messages by stored status; ``ok`` when there are some and all are ``read``."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT status, COUNT(*) FROM messages WHERE direction='out' GROUP BY status"
        ).fetchall()
    finally:
        db.close()
    by_status = {str(status): int(count) for status, count in rows}
    return {"outbound_by_status": by_status, "ok": bool(by_status) and set(by_status) == {"read"}}


def echo_floor_run(sizes: Sizes) -> dict[str, Any]:
    """The echo bot on the worker's core, same load, same statuses."""
    with (
        procs.fake_graph_api_process(LOAD_CPU) as (api_url, fake_pid),
        procs.echo_floor(SERVER_CPU, api_url, workload.APP_SECRET) as (target, pid),
    ):
        procs.post_statuses(
            api_url, [_webhook(f"http://{target}")], workload.APP_SECRET, STEPS, STATUS_CONNECTIONS
        )
        warm, saturated = _phases([target], api_url, [pid], fake_pid, sizes, 1)
    return {"steps": STEPS, "phases": [warm.summary(), saturated.summary()]}


def redis_run(folder: Path, workers: int, sizes: Sizes) -> dict[str, Any]:
    """``workers`` workers on one redis-server with statuses: saturation, Redis commands and
    CPU per inbound message, outbound messages of a sample of sessions all ``read``."""
    redis = procs.Redis(folder, LOAD_CPU if workers == 1 else None)
    try:
        with procs.fake_graph_api_process(LOAD_CPU if workers == 1 else None) as (api, fake_pid):
            bots = [
                procs.BotServe(
                    folder,
                    api,
                    redis.url,
                    workload.APP_SECRET,
                    SERVER_CPU + i,
                    name=f"worker{i}",
                )
                for i in range(workers)
            ]
            for bot in bots:
                bot.start()
            try:
                procs.post_statuses(
                    api,
                    [_webhook(bot.url) for bot in bots],
                    workload.APP_SECRET,
                    STEPS,
                    STATUS_CONNECTIONS,
                )
                targets = [bot.url.removeprefix("http://") for bot in bots]
                pids = [bot.pid for bot in bots]
                warm = run_phase(
                    "warm-up",
                    targets,
                    api,
                    pids,
                    0,
                    sizes.warmup_users,
                    None,
                    sizes,
                    statuses_per_reply=STATUSES_PER_REPLY,
                )
                calls_before, cpu_before = redis.command_stats(), redis.used_cpu_s()
                saturated = run_phase(
                    "saturation",
                    targets,
                    api,
                    pids,
                    SATURATION_FIRST_USER,
                    sizes.redis_status_users,
                    None,
                    sizes,
                    statuses_per_reply=STATUSES_PER_REPLY,
                    load_pids=(fake_pid,),
                )
                calls_after, cpu_after = redis.command_stats(), redis.used_cpu_s()
                check = check_admin_read(bots[0].url)
            finally:
                for bot in bots:
                    bot.stop()
    finally:
        redis.stop()
    inbound = max(saturated.messages, 1)
    by_command = {
        name: round((calls - calls_before.get(name, 0)) / inbound, 2)
        for name, calls in calls_after.items()
        if calls > calls_before.get(name, 0)
    }
    return {
        "workers": workers,
        "steps": STEPS,
        "phases": [warm.summary(), saturated.summary()],
        "redis_commands_per_inbound": round(sum(by_command.values()), 1),
        "redis_commands_per_inbound_by_name": dict(
            sorted(by_command.items(), key=lambda item: -item[1])
        ),
        "redis_cpu_us_per_inbound": round((cpu_after - cpu_before) * 1e6 / inbound, 1),
        "store_check": check,
        "tracebacks_in_log": sum(bot.log_count("Traceback") for bot in bots),
    }


def check_admin_read(url: str, sample: int = ADMIN_SAMPLE) -> dict[str, Any]:
    """Read the ``sample`` newest sessions back through the admin API: outbound messages by
    status; ``ok`` when all are ``read``."""
    headers = {"Authorization": f"Bearer {procs.ADMIN_TOKEN}"}

    def get(path: str) -> Any:
        request = urllib.request.Request(f"{url}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    by_status: dict[str, int] = {}
    sessions = get(f"/v1/sessions?limit={sample}")["sessions"]
    for session in sessions:
        for message in get(f"/v1/sessions/{session['id']}")["messages"]:
            if message["direction"] == "out":
                by_status[message["status"]] = by_status.get(message["status"], 0) + 1
    return {
        "sessions_read": len(sessions),
        "outbound_by_status": by_status,
        "ok": bool(by_status) and set(by_status) == {"read"},
    }
