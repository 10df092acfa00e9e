"""A throw-away Redis Cluster on free ports, for tests that need a real one.

``redis-server --cluster-enabled yes`` once per node (each in its own folder, AOF on) and
``redis-cli --cluster create`` over them: 3 masters, or 3 masters with a replica each
(``replicas=1``, for the failover test). ``cluster-node-timeout`` is small (1,000 ms by
default) so that a replica is elected within seconds of its master's death. Fails, never
skips, when ``redis-server`` or ``redis-cli`` is missing or has no cluster support.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

START_S = 20.0
"""Longest wait for the nodes to answer and for every slot to be served."""
BUS_OFFSET = 10_000
"""A cluster node also listens on its port + 10,000 (the cluster bus)."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port(taken: set[int]) -> int:
    """A free port whose cluster bus port is free too (both below 65,536)."""
    for _ in range(1000):
        port = random.randint(20_000, 65_535 - BUS_OFFSET)
        if port in taken or port + BUS_OFFSET in taken:
            continue
        if _free(port) and _free(port + BUS_OFFSET):
            taken.update((port, port + BUS_OFFSET))
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (apt-get install -y redis-server)")
    return found


def command(port: int, *args: str, timeout_s: float = 2.0) -> str:
    """One command to ``127.0.0.1:port`` through ``redis-cli`` (its reply, stripped)."""
    done = subprocess.run(
        [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return done.stdout.strip()


class RedisCluster:
    """``masters`` masters (and ``replicas`` replicas each) on 127.0.0.1, data in ``folder``.

    Attributes:
        ports: Every node's port, masters first as ``redis-cli --cluster create`` assigns them.
        url: ``redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`` (every node a startup node).
    """

    def __init__(
        self, folder: Path, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000
    ) -> None:
        self.folder = folder
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        taken: set[int] = set()
        self.ports = [_free_port(taken) for _ in range(masters * (1 + replicas))]
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        args = [f"127.0.0.1:{p}" for p in self.ports]
        done = subprocess.run(
            [
                _binary("redis-cli"),
                "--cluster",
                "create",
                *args,
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
            self.stop()
            pytest.fail(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")
        self.wait_ok()

    def start_node(self, port: int) -> None:
        """Start (or restart, with its data and node file) the node on ``port``."""
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                _binary("redis-server"),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(folder),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(self.node_timeout_ms),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--protected-mode",
                "no",
                "--repl-diskless-sync-delay",
                "0",
                "--logfile",
                str(folder / "log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes[port] = process
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log_file = folder / "log"
                log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                pytest.fail(f"redis-server exited ({process.returncode}): {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server on {port} did not start")
        if "cluster_enabled:1" not in command(port, "INFO", "cluster"):
            pytest.fail("redis-server has no cluster support (cluster_enabled is not 1)")

    def wait_ok(self) -> None:
        """Wait (bounded) until every live node says ``cluster_state:ok`` and every replica
        has synchronized with its master (a replica that never did cannot take over)."""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            live = [p for p, proc in self.processes.items() if proc.poll() is None]
            if all("cluster_state:ok" in command(p, "CLUSTER", "INFO") for p in live) and all(
                "master_link_status:up" in info or "role:master" in info
                for info in (command(p, "INFO", "replication") for p in live)
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the cluster did not reach cluster_state:ok")

    def masters(self) -> list[int]:
        """Ports of the live nodes that are masters now."""
        found = []
        for port, process in self.processes.items():
            if process.poll() is None and "role:master" in command(port, "INFO", "replication"):
                found.append(port)
        return sorted(found)

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port`` (as a crash)."""
        process = self.processes.pop(port)
        process.kill()
        process.wait(timeout=10)

    def flush(self) -> None:
        """Empty every master (and their scripts' caches stay)."""
        for port in self.masters():
            command(port, "FLUSHALL")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
