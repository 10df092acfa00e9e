"""The benchmark's processes: the fake Graph API, ``bot serve``, the ceiling, redis-server, the
load generator; and what Linux tells about them (RSS, CPU time) from ``/proc``.

Every process listens on 127.0.0.1 only, is started on a free port, and is stopped by the
context manager that started it (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ACCESS_TOKEN = "bench-access-token"
ADMIN_TOKEN = "bench-admin-token"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pin(pid: int, cpu: int | None) -> None:
    """Run process ``pid`` on core ``cpu`` only (no-op for ``None`` or off Linux)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {cpu % (os.cpu_count() or 1)})


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of process ``pid`` in MiB, from ``/proc/<pid>/status``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used, from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat[stat.rindex(")") + 2 :].split()
    return (int(after_name[11]) + int(after_name[12])) / CLK_TCK


def get_json(url: str, timeout_s: float = 5.0) -> Any:
    """GET ``url`` (127.0.0.1 only) and decode its JSON answer."""
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


def wait_http_ok(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> float:
    """Poll ``url`` every 10 ms until it answers 200; returns the seconds waited.

    Raises:
        RuntimeError: The process exited, or no 200 within ``timeout_s``.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError(f"{url} not ready within {timeout_s} s")


def stop(process: subprocess.Popen[Any], grace_s: float = 20.0) -> int:
    """SIGTERM ``process`` and wait for it (SIGKILL after ``grace_s``); returns its status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextlib.contextmanager
def fake_graph_api(cpu: int | None) -> Iterator[str]:
    """``tests/fakes/graph_api.py`` in its own process; yields its base URL (with version)."""
    with fake_graph_api_process(cpu) as (url, _):
        yield url


@contextlib.contextmanager
def fake_graph_api_process(cpu: int | None) -> Iterator[tuple[str, int]]:
    """The fake Graph API on uvloop in its own process; yields (base URL, its pid)."""
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "tests.fakes.graph_api",
            "--port",
            "0",
            "--quiet",
            "--uvloop",
            "--token",
            ACCESS_TOKEN,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("ready "):
            raise RuntimeError(f"fake Graph API did not start: {line!r}")
        pin(process.pid, cpu)
        yield line.removeprefix("ready "), process.pid
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


def post_statuses(
    api_url: str, webhook_urls: list[str], secret: str, steps: str, connections: int
) -> None:
    """Turn on the fake's status webhooks (``POST /_fake/statuses``) to ``webhook_urls``,
    ``steps`` as ``"sent=0.05:0.2,delivered=0.3:1,read=1:3"``, over up to ``connections``
    keep-alive connections per URL."""
    base = api_url.rsplit("/", 1)[0]
    assert base.startswith("http://127.0.0.1:"), base
    config = {
        "urls": webhook_urls,
        "app_secret": secret,
        "steps": steps,
        "connections": connections,
    }
    data = json.dumps(config).encode()
    request = urllib.request.Request(
        f"{base}/_fake/statuses", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f"fake refused the status webhooks: {response.read()!r}")


def fake_stats(api_url: str, reset_lateness: bool = False) -> dict[str, Any]:
    """The fake Graph API's counters (see ``FakeGraphAPI.stats``)."""
    base = api_url.rsplit("/", 1)[0]
    query = "?reset_lateness=1" if reset_lateness else ""
    stats: dict[str, Any] = get_json(f"{base}/_fake/stats{query}")
    return stats


class BotServe:
    """``python -m bot serve`` on a free port with the repository's ``config.yaml``."""

    def __init__(
        self,
        folder: Path,
        api_url: str,
        database_url: str,
        secret: str,
        cpu: int | None,
        name: str = "bot",
        launcher: tuple[str, ...] = ("-m", "bot"),
    ) -> None:
        self.port = free_port()
        self.launcher = launcher
        self.url = f"http://127.0.0.1:{self.port}"
        self.cpu = cpu
        self.log_path = folder / f"{name}.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("WHATSAPP_", "SESSION_", "DATABASE_", "TWILIO_"))
            },
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WHATSAPP_API_URL": api_url,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
            "WHATSAPP_APP_SECRET": secret,
            "WHATSAPP_MAX_MPS": "1000000",  # the fake has no rate limit: measure the pipeline
            # Sends in flight per number (default 32): under a saturated worker each send waits
            # for the loop, so 32 would cap the replies, not the pipeline.
            "DELIVERY_CONCURRENCY": "128",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
        }
        self.env_file = folder / "none.env"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    def start(self, timeout_s: float = 60.0) -> None:
        """Launch and wait for ``/healthz`` (answered once the app is ready)."""
        with self.log_path.open("ab") as log:
            launched = time.perf_counter()
            self.process = subprocess.Popen(
                [
                    PYTHON,
                    *self.launcher,
                    "serve",
                    "--config",
                    str(REPO / "config.yaml"),
                    "--env-file",
                    str(self.env_file),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        pin(self.process.pid, self.cpu)
        try:
            wait_http_ok(f"{self.url}/healthz", self.process, timeout_s)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from exc
        self.startup_s = round(time.perf_counter() - launched, 3)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> int:
        return stop(self.process) if self.process is not None else 0

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_count(self, needle: str) -> int:
        """Lines of the log that contain ``needle``."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return sum(needle in line for line in text.splitlines())


@contextlib.contextmanager
def ceiling(cpu: int | None) -> Iterator[str]:
    """The bare aiohttp handler (:mod:`bench.ceiling`); yields ``127.0.0.1:PORT``."""
    with _bench_server(["bench.ceiling"], cpu) as (target, _):
        yield target


@contextlib.contextmanager
def echo_floor(cpu: int | None, api_url: str, secret: str) -> Iterator[tuple[str, int]]:
    """The echo bot (:mod:`bench.echo_floor`) replying through ``api_url``; yields
    (``127.0.0.1:PORT``, its pid)."""
    args = ["bench.echo_floor", "--api-url", api_url, "--secret", secret, "--token", ACCESS_TOKEN]
    with _bench_server(args, cpu) as served:
        yield served


@contextlib.contextmanager
def _bench_server(args: list[str], cpu: int | None) -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", *args, "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pin(process.pid, cpu)
    try:
        wait_for_port(port, process)
        yield f"127.0.0.1:{port}", process.pid
    finally:
        stop(process)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s} s")


class Redis:
    """A throw-away ``redis-server`` on 127.0.0.1 with AOF on and ``appendfsync everysec``
    (Redis's recommended durable set-up), its files in ``folder``."""

    def __init__(self, folder: Path, cpu: int | None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pin(self.process.pid, cpu)
        wait_for_port(self.port, self.process)

    def command(self, *args: str) -> bytes:
        """Send one command (inline protocol) and return the raw reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall((" ".join(args) + "\r\n").encode())
            chunks = []
            while True:
                chunk = conn.recv(65536)
                chunks.append(chunk)
                data = b"".join(chunks)
                if data.startswith(b"$"):
                    size = int(data[1 : data.index(b"\r\n")])
                    if len(data) >= data.index(b"\r\n") + 2 + size + 2:
                        return data
                elif data.endswith(b"\r\n"):
                    return data

    def command_stats(self) -> dict[str, int]:
        """Calls per command since start (``INFO commandstats``; commands run inside Lua
        scripts counted by their own name, the script call as ``evalsha``)."""
        info = self.command("INFO", "commandstats").decode()
        calls = {}
        for line in info.splitlines():
            if line.startswith("cmdstat_"):
                name, _, rest = line.partition(":")
                fields = dict(item.split("=") for item in rest.split(","))
                calls[name.removeprefix("cmdstat_")] = int(fields["calls"])
        return calls

    def used_cpu_s(self) -> float:
        """redis-server's CPU seconds, ``used_cpu_sys + used_cpu_user`` of ``INFO cpu``."""
        info = self.command("INFO", "cpu").decode()
        fields = dict(
            line.split(":", 1) for line in info.splitlines() if line.startswith("used_cpu_")
        )
        return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])

    def command_calls(self) -> int:
        """Total commands Redis has executed (``INFO commandstats``, summed)."""
        info = self.command("INFO", "commandstats").decode()
        total = 0
        for line in info.splitlines():
            if line.startswith("cmdstat_"):
                fields = dict(item.split("=") for item in line.split(":", 1)[1].split(","))
                total += int(fields["calls"])
        return total

    def round_trips(self) -> int:
        """Replies Redis has written (``INFO stats`` ``total_writes_processed``): one per
        command, pipeline or script a client sent and waited for."""
        info = self.command("INFO", "stats").decode()
        for line in info.splitlines():
            if line.startswith("total_writes_processed:"):
                return int(line.split(":", 1)[1])
        return 0

    def stop(self) -> None:
        stop(self.process)


def loadgen(
    targets: list[str],
    first_user: int,
    users: int,
    seed: int,
    connections: int,
    rate: float | None,
    cpu: int | None,
    max_seconds: float,
) -> dict[str, Any]:
    """Run :mod:`bench.loadgen` in its own process and return its report."""
    command = [
        PYTHON,
        "-m",
        "bench.loadgen",
        "--first-user",
        str(first_user),
        "--users",
        str(users),
        "--seed",
        str(seed),
        "--connections",
        str(connections),
        "--max-seconds",
        str(max_seconds),
    ]
    for target in targets:
        command += ["--target", target]
    if rate is not None:
        command += ["--rate", str(rate)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=max_seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
