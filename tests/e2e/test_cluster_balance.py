"""A burst through the real ``bot serve`` on a local Redis Cluster of 3 masters spreads evenly:
no master holds more than 40 % of the keys or runs more than 40 % of the commands
(``bench.cluster_balance``; measured 34 % / 34 % with 2,000 messages)."""

from __future__ import annotations

from pathlib import Path

from bench.cluster_balance import TARGET_SHARE, measure


async def test_no_master_takes_more_than_40_percent_of_keys_or_commands(tmp_path: Path) -> None:
    result = await measure(tmp_path, users=240, per_user=3)
    assert result["acknowledged"] == result["inbound"] == 720, result
    assert result["replies"] >= result["inbound"], result  # every text answered
    assert len(result["keys_per_master"]) == 3, result
    assert min(result["keys_per_master"]) > 0, result
    assert result["key_share_max"] <= TARGET_SHARE, result
    assert result["command_share_max"] <= TARGET_SHARE, result
