"""The ``cluster`` part of ``make bench``: its rows give each figure of issue #16 its target
and the right verdict, and a run that failed shows as ``MISSED`` (no cluster needed)."""

from __future__ import annotations

from typing import Any

from bench.__main__ import PARTS
from bench.__main__ import rows as bench_rows
from bench.cluster_report import rows


def _balance(keys: list[int], commands: list[int], acked: int = 500) -> dict[str, Any]:
    return {
        "backend": "redis+cluster (3 masters)",
        "inbound": 500,
        "acknowledged": acked,
        "replies": 1_100,
        "elapsed_s": 1.9,
        "keys_per_master": keys,
        "key_share_max": round(max(keys) / sum(keys), 3),
        "commands_per_master": commands,
        "command_share_max": round(max(commands) / sum(commands), 3),
        "commands_per_inbound": 42.8,
        "redis_cpu_us_per_inbound": 180.4,
        "round_trips_per_inbound": 3.0,
    }


def _cost(backend: str, commands: float, cpu_us: float, **extra: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "backend": backend,
        "inbound": 1_400,
        "handled_per_s": 812.3,
        "worker_cpu_ms_per_inbound": 1.2,
        "redis_commands_per_inbound": commands,
        "redis_cpu_us_per_inbound": cpu_us,
        "by_name": {"zadd": 6.1, "hset": 4.0, "evalsha": 3.2},
        "ack_errors": {},
        "lost_replies": 0,
        "statuses_missing": 0,
        "store_check": {"sessions_read": 300, "outbound_by_status": {"read": 900}, "ok": True},
        "tracebacks_in_log": 0,
    }
    run.update(extra)
    return run


def _table(result: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        metric: (measured, target, verdict)
        for _, table in rows(result)
        for metric, measured, target, verdict in table
    }


def test_even_shards_and_lean_costs_are_met() -> None:
    table = _table(
        {
            "balance": _balance([4_595, 4_506, 4_713], [29_288, 27_894, 29_286]),
            "cost": [_cost("redis", 14.9, 50.0), _cost("redis+cluster (3 masters)", 15.0, 42.0)],
        }
    )
    assert table["keys per master; largest share"] == (
        "4,595 / 4,506 / 4,713; 34.1%",
        "<= 40%",
        "met",
    )
    assert table["commands per master; largest share"][1:] == ("<= 40%", "met")
    assert table["acknowledged / sent; replies accepted"] == (
        "500 / 500; 1,100",
        "all acknowledged",
        "met",
    )
    assert table["one Redis: Redis commands per inbound"] == ("14.9", "<= 15", "met")
    assert table["one Redis: Redis CPU us per inbound"] == ("50", "<= 50", "met")
    assert table["cluster: Redis commands per inbound"] == ("15.0", "<= 15", "met")
    assert table["cluster: handled/s; errors / lost; statuses missing; store check"] == (
        "812; 0 / 0; 0; ok",
        "0 / 0; 0; ok",
        "met",
    )
    assert (
        table["cluster: commands per inbound by name (top 6)"][0] == "zadd 6.1, hset 4, evalsha 3.2"
    )


def test_a_hot_shard_and_heavy_costs_are_missed() -> None:
    table = _table(
        {
            "balance": _balance([1_000, 1_000, 1_100], [10_000, 5_000, 5_000], acked=498),
            "cost": [
                _cost("redis", 44.6, 189.0),
                _cost(
                    "redis+cluster (3 masters)",
                    15.1,
                    50.4,
                    lost_replies=2,
                    store_check={"outbound_by_status": {"read": 3, "sent": 1}, "ok": False},
                ),
            ],
        }
    )
    # 1,100 of 3,100 keys is 35.5 %: met; 10,000 of 20,000 commands is 50 %: missed.
    assert table["keys per master; largest share"][2] == "met"
    assert table["commands per master; largest share"] == (
        "10,000 / 5,000 / 5,000; 50.0%",
        "<= 40%",
        "MISSED",
    )
    assert table["acknowledged / sent; replies accepted"][2] == "MISSED"
    assert table["one Redis: Redis commands per inbound"] == ("44.6", "<= 15", "MISSED")
    assert table["one Redis: Redis CPU us per inbound"] == ("189", "<= 50", "MISSED")
    assert table["cluster: Redis commands per inbound"][2] == "MISSED"
    assert table["cluster: Redis CPU us per inbound"][2] == "MISSED"
    health = table["cluster: handled/s; errors / lost; statuses missing; store check"]
    assert health[0] == "812; 0 / 2; 0; {'read': 3, 'sent': 1}"
    assert health[2] == "MISSED"


def test_a_failed_run_is_a_missed_row_and_the_others_still_count() -> None:
    table = _table(
        {
            "balance": {"error": "the cluster did not reach cluster_state:ok"},
            "cost": [_cost("redis", 12.0, 40.0), {"error": "redis-cli timed out"}],
        }
    )
    assert table["balance burst: failed"] == (
        "the cluster did not reach cluster_state:ok",
        "runs",
        "MISSED",
    )
    assert table["one Redis: Redis commands per inbound"][2] == "met"
    assert table["cluster: failed"][2] == "MISSED"


def test_the_part_is_in_make_bench_and_its_table() -> None:
    assert "cluster" in PARTS
    result = {"balance": _balance([10, 10, 10], [30, 30, 30]), "cost": []}
    titles = [title for title, _ in bench_rows({"cluster": result})]
    assert titles == ["Redis Cluster, 3 masters: 500 messages as fast as acknowledged, no statuses"]
    assert rows({}) == []  # skipped: redis-server not installed
