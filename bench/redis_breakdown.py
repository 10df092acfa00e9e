"""Where a message's Redis commands come from: by store method, scripts' inner commands included.

One worker (:mod:`bench.redis_trace`: every command counted by the store method that caused
it) on a fresh redis-server watched with ``MONITOR`` (which shows each script call followed by
the commands the script ran inside Redis), under the statuses workload of
:mod:`bench.statuses` at saturation. Both tracers cost time, so this is a run of its own; its
throughput means nothing, its counts are what a message costs.

For each store method: its commands per inbound message, a script call counting once plus
the commands it ran (as ``INFO commandstats`` counts them), and what they are.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench import procs, statuses, workload
from bench.e2e import LOAD_CPU, SERVER_CPU, Sizes, run_phase


class Monitor:
    """A ``MONITOR`` connection read by a thread: client commands by name (``EVALSHA`` with
    its SHA-1) and, per script SHA-1, the commands scripts ran inside Redis."""

    def __init__(self, port: int) -> None:
        self.client: Counter[str] = Counter()
        self.inner: dict[str, Counter[str]] = {}
        self._conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._conn.sendall(b"MONITOR\r\n")
        self._conn.settimeout(None)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        script = "?"
        buffer = b""
        try:
            while chunk := self._conn.recv(1 << 16):
                buffer += chunk
                *lines, buffer = buffer.split(b"\r\n")
                for line in lines:
                    script = self._line(line.decode(errors="replace"), script)
        except OSError:
            return

    def _line(self, line: str, script: str) -> str:
        """Count one MONITOR line; returns the SHA-1 of the script being run."""
        line = line.removeprefix("+")  # each line is a RESP simple string
        source_end = line.find("] ")
        if source_end > 0:
            words = line[source_end + 2 :].split('" "')
            command = words[0].strip('"').upper()
            if line[:source_end].endswith(" lua"):
                self.inner.setdefault(script, Counter())[command] += 1
            else:
                self.client[command] += 1
                if command == "EVALSHA" and len(words) > 1:
                    script = words[1].strip('"')
        return script

    def stop(self) -> None:
        self._conn.close()
        self._thread.join(timeout=5)


def run(folder: Path, sizes: Sizes) -> dict[str, Any]:
    """The traced run (see the module docstring)."""
    trace = folder / "trace.json"
    redis = procs.Redis(folder, LOAD_CPU)
    try:
        with procs.fake_graph_api_process(LOAD_CPU) as (api_url, _):
            bot = procs.BotServe(
                folder,
                api_url,
                redis.url,
                workload.APP_SECRET,
                SERVER_CPU,
                launcher=("-m", "bench.redis_trace", str(trace)),
            )
            bot.start()
            try:
                procs.post_statuses(
                    api_url,
                    [f"{bot.url}{workload.WEBHOOK_PATH}"],
                    workload.APP_SECRET,
                    statuses.STEPS,
                    statuses.STATUS_CONNECTIONS,
                )
                monitor = Monitor(redis.port)
                phase = run_phase(
                    "traced",
                    [bot.url.removeprefix("http://")],
                    api_url,
                    [bot.pid],
                    statuses.SATURATION_FIRST_USER,
                    sizes.redis_status_users,
                    None,
                    sizes,
                    statuses_per_reply=statuses.STATUSES_PER_REPLY,
                )
                monitor.stop()
            finally:
                bot.stop()
    finally:
        redis.stop()
    traced = json.loads(trace.read_text())
    return breakdown(traced, monitor, phase.messages)


def breakdown(traced: dict[str, Any], monitor: Monitor, inbound: int) -> dict[str, Any]:
    """Commands per inbound message by store method (scripts' inner commands added at their
    average per call), with what each method sends, largest first."""
    names = {name: sha for sha, name in traced["scripts"].items()}
    inner_per_call: dict[str, float] = {}
    for sha, inner in monitor.inner.items():
        script_calls = 0
        for name, candidate in names.items():
            if candidate == sha:
                script_calls = max(1, _script_calls(traced["calls"], name))
        inner_per_call[sha] = sum(inner.values()) / max(script_calls, 1)
    methods: dict[str, dict[str, Any]] = {}
    for key, count in traced["calls"].items():
        method, _, command = key.partition(" | ")
        entry = methods.setdefault(method, {"commands_per_inbound": 0.0, "calls": {}})
        weight = 1.0
        if command.startswith("EVALSHA "):
            sha = names.get(command.removeprefix("EVALSHA "), command.removeprefix("EVALSHA "))
            weight += inner_per_call.get(sha, 0.0)
        entry["commands_per_inbound"] += count * weight / inbound
        entry["calls"][command] = round(count / inbound, 2)
    for entry in methods.values():
        entry["commands_per_inbound"] = round(entry["commands_per_inbound"], 2)
        entry["calls"] = dict(sorted(entry["calls"].items(), key=lambda item: -item[1]))
    ordered = dict(sorted(methods.items(), key=lambda item: -item[1]["commands_per_inbound"]))
    scripts_inside = {
        traced["scripts"].get(sha, sha[:8]): {
            "inner_commands_per_call": round(inner_per_call.get(sha, 0.0), 1),
            "what": dict(inner.most_common(6)),
        }
        for sha, inner in monitor.inner.items()
    }
    return {
        "inbound": inbound,
        "commands_per_inbound": round(sum(m["commands_per_inbound"] for m in methods.values()), 1),
        "by_method": ordered,
        "scripts": scripts_inside,
    }


def _script_calls(calls: dict[str, int], script: str) -> int:
    return sum(count for key, count in calls.items() if key.endswith(f"| EVALSHA {script}"))
