"""Load generator: signed Cloud API webhooks to 127.0.0.1, open-loop at a fixed rate or closed-
loop at saturation, in its own process.

The requests are built before the clock starts (:mod:`bench.workload`: unique wamids, signed
bodies, complete HTTP/1.1 requests as bytes), so the timed loop only writes bytes and reads
answers over keep-alive connections. Each user is bound to one connection ("lane"), and a lane
sends its requests one after the other, so a user's messages arrive in order, as WhatsApp
delivers them; users are interleaved, so a user's next message comes much later.

- ``--rate R``: request ``i`` is due at ``start + i / R``; a lane waits for that moment, and
  latency is measured from it (so a lane that fell behind counts its waiting: no coordinated
  omission).
- no ``--rate``: every lane sends its next request as soon as the previous one is answered.

The run is bounded: it stops after its requests or after ``--max-seconds``, whichever comes
first. Prints one JSON object on stdout (see :class:`Report`)::

    python -m bench.loadgen --target 127.0.0.1:8080 --users 2000 --connections 64 [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from bench import workload

LOCALHOST = "127.0.0.1"


@dataclass
class Report:
    """What one load run measured.

    Attributes:
        sent: Requests written.
        ok: Answered 200.
        errors: Other outcomes: HTTP status (as text) or ``"connection"`` → count.
        started_at: Unix time of the first request (``time.time()``, comparable across the
            benchmark's processes).
        finished_at: Unix time of the last answer.
        acks_per_s: ``ok`` over the run's duration.
        latency_ms: p50, p95, p99 and max answer latency, in milliseconds.
        offered_per_s: The fixed rate asked for, or ``None`` at saturation.
        timed_out: The run hit ``--max-seconds`` before its last request.
    """

    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    finished_at: float = 0.0
    acks_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    offered_per_s: float | None = None
    timed_out: bool = False


class _Lane:
    """One keep-alive connection sending its requests in order."""

    def __init__(self, host: str, port: int, requests: list[tuple[float, bytes]]) -> None:
        self.host, self.port = host, port
        self.requests = requests  # (due time on the loop clock or 0.0, request bytes)
        self.latencies_s: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.last_answer = 0.0

    async def run(self, paced: bool) -> None:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            for due, request in self.requests:
                if paced:
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                started = due if paced else loop.time()
                writer.write(request)
                try:
                    status = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    self.outcomes["connection"] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    continue
                self.last_answer = time.time()
                self.latencies_s.append(loop.time() - started)
                self.outcomes["ok" if status == 200 else str(status)] += 1
        finally:
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length:
        await reader.readexactly(length)
    return status


def build_lanes(
    targets: list[tuple[str, int]],
    first_user: int,
    users: int,
    seed: int,
    connections: int,
    rate: float | None,
) -> list[_Lane]:
    """Every request of the workload, assigned to lanes by user (lane ``user % connections``,
    lane ``i`` to target ``i % len(targets)``), with its due time when paced."""
    batch = workload.scripts(first_user, users, seed)
    per_lane: list[list[tuple[float, bytes]]] = [[] for _ in range(connections)]
    for index, (item, step) in enumerate(workload.interleaved(batch)):
        lane = item.user % connections
        host, port = targets[lane % len(targets)]
        due = index / rate if rate else 0.0
        per_lane[lane].append(
            (due, workload.request_bytes(f"{host}:{port}", workload.webhook_body(item, step)))
        )
    return [
        _Lane(*targets[i % len(targets)], requests)
        for i, requests in enumerate(per_lane)
        if requests
    ]


async def run(lanes: list[_Lane], rate: float | None, max_seconds: float) -> Report:
    """Send every lane's requests (paced at ``rate`` per second, or as fast as answered)."""
    loop = asyncio.get_running_loop()
    start_loop = loop.time() + 0.05
    for lane in lanes:
        lane.requests = [(start_loop + due, request) for due, request in lane.requests]
    await asyncio.sleep(max(0.0, start_loop - loop.time()))
    report = Report(offered_per_s=rate, started_at=time.time())
    tasks = [asyncio.create_task(lane.run(paced=rate is not None)) for lane in lanes]
    done, pending = await asyncio.wait(tasks, timeout=max_seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    report.timed_out = bool(pending)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    for lane in lanes:
        outcomes.update(lane.outcomes)
        latencies.extend(lane.latencies_s)
    report.finished_at = max((lane.last_answer for lane in lanes), default=report.started_at)
    report.ok = outcomes.pop("ok", 0)
    report.errors = dict(outcomes)
    report.sent = report.ok + sum(report.errors.values())
    duration_s = max(report.finished_at - report.started_at, 1e-9)
    report.acks_per_s = round(report.ok / duration_s, 1)
    report.latency_ms = percentiles_ms(latencies)
    return report


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``latencies_s``, in milliseconds (empty: all 0)."""
    if not latencies_s:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(latencies_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


def _target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host not in (LOCALHOST, "localhost"):
        raise argparse.ArgumentTypeError(f"only {LOCALHOST} is a target, got {host!r}")
    return LOCALHOST, int(port)


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument(
        "--target",
        type=_target,
        action="append",
        required=True,
        help="127.0.0.1:PORT; repeat for several workers",
    )
    parser.add_argument("--first-user", type=int, default=0)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=None, help="requests/s; omit to saturate")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin this process to")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    lanes = build_lanes(
        args.target, args.first_user, args.users, args.seed, args.connections, args.rate
    )
    print(f"built {sum(len(lane.requests) for lane in lanes)} requests", file=sys.stderr)
    report = asyncio.run(run(lanes, args.rate, args.max_seconds))
    print(json.dumps(asdict(report)), flush=True)


if __name__ == "__main__":
    main()
