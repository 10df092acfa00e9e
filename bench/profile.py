"""Where a worker's time goes: py-spy samples a running process, this module sums the stacks.

``py-spy record --format raw`` writes one line per distinct stack, ``frame;frame;...;leaf N``
(N samples, about one per 1/rate s while the thread was on the CPU; idle threads are left out).
:func:`summarize` turns that into the share of samples that spent time *inside* each function
(inclusive) and *in* it (self), and the share per thread, so the README can say what costs what.
With ``BENCH_PROFILE_GIL=1`` in the environment, :func:`record` samples only the thread that
holds the GIL (py-spy ``--gil``); small functions are often misattributed in that mode.

    python -m bench.profile stacks.txt [--top 25]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("idle: waiting in epoll", ("selectors.py:EpollSelector.select",)),
    (
        "store: thread hand-off (call_soon_threadsafe, self-pipe)",
        ("_write_to_self", "_read_from_self", "call_soon_threadsafe"),
    ),
    (
        "store: SQLite work (the store's thread)",
        ("aiosqlite/core.py:_connection_worker_thread", "bot/sessions/sqlite/worker.py"),
    ),
    (
        "store: calls on the event loop (aiosqlite, bot/sessions stores)",
        ("aiosqlite/", "bot/sessions/sqlite/", "bot/sessions/redis", "redis/"),
    ),
    (
        "outbound: Graph API client (aiohttp client, outbox)",
        ("aiohttp/client", "aiohttp/connector", "bot/channels/whatsapp/client.py", "bot/delivery/"),
    ),
    ("classifier (bot/intents)", ("bot/intents/",)),
    ("flows (bot/flows)", ("bot/flows/",)),
    ("logging", ("logging/", "bot/logs.py")),
    ("metrics (prometheus_client)", ("prometheus_client/", "bot/metrics.py")),
    (
        "webhook handler: verify, parse (bot/web/whatsapp.py)",
        (
            "bot/web/whatsapp.py",
            "bot/channels/whatsapp/payload.py",
            "bot/channels/whatsapp/signature.py",
        ),
    ),
    (
        "HTTP server (aiohttp web, middlewares)",
        (
            "aiohttp/web_protocol",
            "aiohttp/web_request",
            "aiohttp/web_response",
            "aiohttp/web_app",
            "aiohttp/http_",
            "aiohttp/web_urldispatcher",
            "aiohttp/web_middlewares",
            "bot/web/observability.py",
            "bot/web/errors.py",
        ),
    ),
    ("engine, session rules, tasks", ("bot/engine.py", "bot/sessions/", "bot/tasks.py")),
)
"""Buckets of :func:`categorize`, in priority order: a sample goes to the first bucket one of
whose markers appears in any frame of its stack (so a store call made by the engine counts as
store); the rest is the event loop and other."""


@dataclass(frozen=True)
class Summary:
    """Shares of samples, in percent, largest first."""

    samples: int
    threads: list[tuple[str, float]]
    inclusive: list[tuple[str, float]]
    self_time: list[tuple[str, float]]
    categories: list[tuple[str, float]]


@contextlib.contextmanager
def record(pid: int, output: Path, rate_hz: int = 200) -> Iterator[bool]:
    """Sample process ``pid`` with py-spy while the block runs; yields False (and records
    nothing) when py-spy is missing. Needs ptrace rights (root, or ``CAP_SYS_PTRACE``)."""
    binary = shutil.which("py-spy") or str(Path(__import__("sys").executable).parent / "py-spy")
    if not Path(binary).exists():
        yield False
        return
    process = subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(output),
            "--rate",
            str(rate_hz),
            "--nonblocking",
            "--threads",
            *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield True
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes its output and exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _name(frame: str) -> str:
    """``func (path/to/module.py:12)`` → ``module.py:func`` (path kept from the package)."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{match['func']}"


def summarize(path: Path, top: int = 25) -> Summary:
    """Read a py-spy raw file and rank functions by inclusive and self samples."""
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames and frames[0].startswith(("thread", "process")) else ""
        names = [_name(f) for f in frames if not f.startswith(("thread", "process"))]
        total += count
        threads[thread or "?"] += count
        for name in set(names):
            inclusive[name] += count
        if names:
            self_time[names[-1]] += count
        categories[categorize(names)] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / max(total, 1), 1)) for name, n in counter.most_common(top)]

    return Summary(total, share(threads), share(inclusive), share(self_time), share(categories))


def categorize(names: list[str]) -> str:
    """The :data:`CATEGORIES` bucket of one stack (outermost frame first)."""
    if names and CATEGORIES[0][1][0] in names[-1]:
        return CATEGORIES[0][0]
    for category, markers in CATEGORIES[1:]:
        if any(marker in name for name in names for marker in markers):
            return category
    return "event loop, other"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    summary = summarize(args.stacks, args.top)
    print(f"{summary.samples} samples")
    for title, rows in (
        ("where (% of samples)", summary.categories),
        ("thread", summary.threads),
        ("inclusive %", summary.inclusive),
        ("self %", summary.self_time),
    ):
        print(f"\n{title}")
        for name, pct in rows:
            print(f"{pct:6.1f}  {name}")


if __name__ == "__main__":
    main()
