"""``make bench``: every benchmark of issue #7 in one run, a table in the terminal, JSON on disk.

1. end to end on SQLite, one worker (:mod:`bench.e2e`), and the bare-aiohttp ceiling under the
   same load in the same run (:mod:`bench.ceiling`);
2. the classifier alone on one core (:mod:`bench.classify`);
3. the sweeper: 100,000 active sessions, 10,000 due at once, SQLite and Redis
   (:mod:`bench.sweeper`);
4. end to end on one Redis with one and with two workers, with Redis commands and Redis CPU
   per message, and so the messages/s one Redis core serves;
5. start-up time and idle RSS of one worker (from run 1);
6. the SQLite store's call pattern alone, now and batched (:mod:`bench.store_plan`): the
   measured basis of the optimization plan in the README;
7. realistic traffic (:mod:`bench.statuses_report`): Meta's three status webhooks per reply,
   on SQLite beside the echo-bot floor, on one Redis with Redis commands and CPU per inbound
   message, and where those commands come from;
8. Redis Cluster (:mod:`bench.cluster_report`): how a burst spreads over a local cluster of 3
   masters (keys and commands per master, :mod:`bench.cluster_balance`), and Redis commands
   and CPU per inbound message with statuses on one Redis and on the cluster
   (:mod:`bench.redis_cost`).

    python -m bench [--quick] [--skip redis,sweeper,...] [--profile]

``--quick`` runs every part small (a smoke test, about a minute); ``--profile`` samples the
SQLite worker with py-spy during saturation and prints where its time goes. Writes
``bench/results/bench.json`` (everything measured) and ``bench/results/summary.md`` (the
table, for the README).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cluster_report, e2e, procs, profile, statuses_report, workload

RESULTS = procs.REPO / "bench" / "results"
PARTS = (
    "e2e",
    "statuses",
    "classify",
    "worst_case",
    "sweeper",
    "redis",
    "store_plan",
    "cluster",
)

TARGET_HANDLED_PER_S = 2_500
TARGET_RATIO = 1 / 3
TARGET_ACK_P99_MS = 25.0
TARGET_CLASSIFY_PER_S = 20_000
TARGET_CLASSIFY_P99_MS = 0.2
TARGET_WORST_CASE_MS = 5.0
TARGET_SWEEP_S = 5.0
TARGET_IDLE_RSS_MB = 200.0
TARGET_STARTUP_S = 3.0

Row = tuple[str, str, str, str]  # metric, measured, target, verdict


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "?"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run_e2e(sizes: e2e.Sizes, want_profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as folder:
        if want_profile:
            result = _profiled_sqlite_run(Path(folder), sizes)
        else:
            result = e2e.sqlite_run(Path(folder), sizes)
    result["ceiling"] = e2e.ceiling_run(sizes)
    result["send_floor"] = e2e.send_floor_run(sizes)
    return result


def _profiled_sqlite_run(folder: Path, sizes: e2e.Sizes) -> dict[str, Any]:
    """A saturation phase under py-spy; the summary goes to the result's ``profile``."""
    stacks = RESULTS / "profile-sqlite-saturation.txt"
    with procs.fake_graph_api(e2e.LOAD_CPU) as api_url:
        bot = procs.BotServe(
            folder,
            api_url,
            f"sqlite:///{folder / 'bot.db'}",
            workload.APP_SECRET,
            e2e.SERVER_CPU,
        )
        bot.start()
        try:
            target = [bot.url.removeprefix("http://")]
            e2e.run_phase("warm-up", target, api_url, [bot.pid], 0, sizes.warmup_users, None, sizes)
            with profile.record(bot.pid, stacks) as recording:
                phase = e2e.run_phase(
                    "saturation",
                    target,
                    api_url,
                    [bot.pid],
                    2_000_000,
                    sizes.saturate_users,
                    None,
                    sizes,
                )
        finally:
            bot.stop()
    summary = profile.summarize(stacks) if recording and stacks.exists() else None
    return {
        "startup_s": bot.startup_s,
        "phases": [phase.summary()],
        "profile": summary.__dict__ if summary else "py-spy not available",
    }


def run_classify(quick: bool) -> dict[str, Any]:
    passes = "2" if quick else "10"
    _run_module(["bench.classify", "--passes", passes, "--cpu", str(e2e.SERVER_CPU)])
    data: dict[str, Any] = json.loads((RESULTS / "classify.json").read_text())
    return data


def run_worst_case(quick: bool) -> dict[str, Any]:
    calls = "6" if quick else "30"
    _run_module(["bench.worst_case", "--calls", calls, "--cpu", str(e2e.SERVER_CPU)])
    data: dict[str, Any] = json.loads((RESULTS / "worst_case.json").read_text())
    return data


def run_sweeper(quick: bool) -> list[dict[str, Any]]:
    sizes = ["--sessions", "20000", "--due", "2000"] if quick else []
    _run_module(["bench.sweeper", "--backend", "both", *sizes])
    data: list[dict[str, Any]] = json.loads((RESULTS / "sweeper.json").read_text())
    return data


def run_store_plan(quick: bool) -> list[dict[str, Any]]:
    count = "4000" if quick else "20000"
    _run_module(["bench.store_plan", "--messages", count, "--cpu", str(e2e.SERVER_CPU)])
    data: list[dict[str, Any]] = json.loads((RESULTS / "store_plan.json").read_text())
    return data


def run_redis(sizes: e2e.Sizes) -> list[dict[str, Any]]:
    if shutil.which("redis-server") is None:
        print("  redis-server is not installed: skipped (apt-get install -y redis-server)")
        return []
    results = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix=f"bench-redis{workers}-") as folder:
            results.append(e2e.redis_run(Path(folder), workers, sizes))
    return results


def run_cluster(sizes: e2e.Sizes, quick: bool) -> dict[str, Any]:
    if shutil.which("redis-server") is None:
        print("  redis-server is not installed: skipped (apt-get install -y redis-server)")
        return {}
    return cluster_report.run_all(sizes, quick)


def _run_module(args: list[str]) -> None:
    print(f"  $ python -m {' '.join(args)}", flush=True)
    subprocess.run(
        [sys.executable, "-m", *args], cwd=procs.REPO, check=True, stdout=subprocess.DEVNULL
    )


def rows(results: dict[str, Any]) -> list[tuple[str, list[Row]]]:
    """The table: sections of (metric, measured, target, verdict)."""
    sections: list[tuple[str, list[Row]]] = []
    failed = [
        (part, str(result["error"])[:60])
        for part, result in results.items()
        if isinstance(result, dict) and "error" in result
    ]
    if failed:
        sections.append(("Parts that failed", [(p, "failed", e, "MISSED") for p, e in failed]))
        results = {part: r for part, r in results.items() if part not in dict(failed)}
    sqlite = results.get("e2e")
    if sqlite and "ceiling" in sqlite:
        phases = {p["name"]: p for p in sqlite["phases"]}
        sat, fixed = phases.get("saturation"), phases.get("fixed rate")
        ceiling = sqlite["ceiling"]["handled_per_s"]
        table: list[Row] = []
        if sat:
            ratio = sat["handled_per_s"] / ceiling if ceiling else 0.0
            table += [
                (
                    "handled messages/s (saturation, replies accepted)",
                    f"{sat['handled_per_s']:,.0f}",
                    f">= {TARGET_HANDLED_PER_S:,}",
                    _verdict(sat["handled_per_s"] >= TARGET_HANDLED_PER_S),
                ),
                ("ceiling: bare aiohttp acks/s, same load, same core", f"{ceiling:,.0f}", "", ""),
                (
                    "ratio to the ceiling",
                    f"{ratio:.1%}",
                    f">= {TARGET_RATIO:.0%}",
                    _verdict(ratio >= TARGET_RATIO),
                ),
                ("ack p50 / p95 / p99 ms at saturation", _lat(sat), "", ""),
                (
                    "worker CPU ms per message (saturation)",
                    f"{sat['server_cpu_ms_per_message']:.3f}",
                    "",
                    "",
                ),
            ]
        if fixed:
            p99 = fixed["ack_latency_ms"]["p99"]
            table += [
                (
                    f"ack p50 / p95 / p99 ms at {fixed['offered_per_s']:,.0f}/s offered",
                    _lat(fixed),
                    f"p99 <= {TARGET_ACK_P99_MS:g}",
                    _verdict(p99 <= TARGET_ACK_P99_MS),
                ),
                (
                    f"replies done after the last ack at {fixed['offered_per_s']:,.0f}/s (s)",
                    f"{fixed['reply_lag_s']:.2f}",
                    "",
                    "",
                ),
            ]
        errors = sum(sum(p["ack_errors"].values()) for p in sqlite["phases"])
        lost = sum(p["lost_replies"] for p in sqlite["phases"])
        check = sqlite.get("store_check")  # absent in a --profile run
        check_text = "not run" if check is None else "ok" if check["ok"] else str(check)
        table += [
            (
                "errors / lost replies / store check",
                f"{errors} / {lost} / {check_text}",
                "0 / 0 / ok",
                _verdict(errors == 0 and lost == 0 and (check is None or check["ok"])),
            ),
        ]
        if "peak_rss_mb" in sqlite:
            table.append(("peak RSS of the worker (MB)", f"{sqlite['peak_rss_mb']:.0f}", "", ""))
        floor = sqlite.get("send_floor")
        if floor and sat and ceiling:
            ack_us = 1e6 / ceiling
            sends = sat["expected_replies"] / sat["messages"]
            http_us = ack_us + sends * floor["cpu_us_per_send"]
            ours_us = sat["server_cpu_ms_per_message"] * 1000
            table += [
                (
                    "floor: bare aiohttp client, CPU us per send, same core",
                    f"{floor['cpu_us_per_send']:.0f}",
                    "",
                    "",
                ),
                (
                    f"HTTP alone per message (1 ack + {sends:.2f} sends), us; share of ours",
                    f"{http_us:.0f}; {http_us / ours_us:.0%}",
                    "",
                    "",
                ),
            ]
        sections.append(("End to end: SQLite, one worker", table))
        startup: list[Row] = [
            (
                "start-up: launch to ready (s)",
                f"{sqlite['startup_s']:.2f}",
                f"<= {TARGET_STARTUP_S:g}",
                _verdict(sqlite["startup_s"] <= TARGET_STARTUP_S),
            ),
        ]
        if "idle_rss_mb" in sqlite:
            startup.append(
                (
                    "idle RSS of one worker (MB)",
                    f"{sqlite['idle_rss_mb']:.0f}",
                    f"<= {TARGET_IDLE_RSS_MB:g}",
                    _verdict(sqlite["idle_rss_mb"] <= TARGET_IDLE_RSS_MB),
                )
            )
        sections.append(("Start-up", startup))
    classify = results.get("classify")
    if classify:
        table = []
        for r in classify["results"]:
            target = verdict = ""
            if r["scenario"] == "new":
                target = f">= {TARGET_CLASSIFY_PER_S:,}/s, p99 <= {TARGET_CLASSIFY_P99_MS}"
                verdict = _verdict(
                    r["per_s"] >= TARGET_CLASSIFY_PER_S and r["p99_ms"] <= TARGET_CLASSIFY_P99_MS
                )
            table.append(
                (
                    f"{r['scenario']}: messages/s, p99 ms",
                    f"{r['per_s']:,.0f}, {r['p99_ms']:.3f}",
                    target,
                    verdict,
                )
            )
        sections.append(("Classifier alone, one core", table))
    worst = results.get("worst_case")
    if worst:
        slowest = max(worst["shapes"], key=worst["shapes"].get)
        sections.append(
            (
                "Classifier worst case, one core (bench/worst_case.py)",
                [
                    (
                        "classifier worst case per message (ms CPU; slowest shape)",
                        f"{worst['worst_ms']:.2f}; {slowest}",
                        f"<= {TARGET_WORST_CASE_MS:g}",
                        _verdict(worst["worst_ms"] <= TARGET_WORST_CASE_MS),
                    )
                ],
            )
        )
    sections += statuses_report.rows(results.get("statuses"))
    sweeper = results.get("sweeper")
    if sweeper:
        table = [
            (
                f"{r['backend']}: {r['due']:,} of {r['sessions']:,} due: s to all notices; "
                "peak RSS MB",
                f"{r['sweep_s']:.2f}; {r['peak_rss_mb']:.0f}",
                f"<= {TARGET_SWEEP_S:g} s",
                _verdict(r["sweep_s"] <= TARGET_SWEEP_S),
            )
            for r in sweeper
        ]
        sections.append(("Sweeper", table))
    redis = results.get("redis")
    if redis:
        table = []
        for r in redis:
            phases = {p["name"]: p for p in r["phases"]}
            for name in ("fixed rate", "saturation"):
                phase = phases[name]
                offered = (
                    f"{phase['offered_per_s']:.0f}/s offered"
                    if phase["offered_per_s"]
                    else "saturation"
                )
                errors = sum(phase["ack_errors"].values())
                table.append(
                    (
                        f"{r['workers']} worker(s), {offered}: handled/s; ack p99 ms; "
                        "errors / lost",
                        f"{phase['handled_per_s']:,.0f}; {phase['ack_latency_ms']['p99']:.0f}; "
                        f"{errors} / {phase['lost_replies']}",
                        "0 / 0",
                        _verdict(errors == 0 and phase["lost_replies"] == 0),
                    )
                )
        one = redis[0]
        table += [
            (
                "Redis commands per message (fixed rate)",
                f"{one['redis_commands_per_message']}",
                "",
                "",
            ),
            (
                "Redis CPU per message (us, fixed rate)",
                f"{one['redis_cpu_us_per_message']}",
                "",
                "",
            ),
            (
                "messages/s one Redis core serves (1e6 / CPU us)",
                f"{one['messages_per_s_one_redis_core']:,}",
                "",
                "",
            ),
            (
                "Redis round trips per message (fixed rate; saturation)",
                f"{one['redis_round_trips_per_message']}; "
                f"{one['saturation_redis_round_trips_per_message']}",
                "",
                "",
            ),
            (
                "at saturation: Redis commands, CPU us per message; messages/s one core",
                f"{one['saturation_redis_commands_per_message']}; "
                f"{one['saturation_redis_cpu_us_per_message']}; "
                f"{one['saturation_messages_per_s_one_redis_core']:,}",
                "",
                "",
            ),
        ]
        sections.append(("End to end: one Redis", table))
    sections += cluster_report.rows(results.get("cluster"))
    plan = results.get("store_plan")
    if plan:
        sections.append(
            (
                "SQLite store call pattern alone (bench/store_plan.py), one core",
                [
                    (
                        f"{r['pattern']}: CPU us per message; messages/s",
                        f"{r['cpu_us_per_message']:.0f}; {r['messages_per_s']:,}",
                        "",
                        "",
                    )
                    for r in plan
                ],
            )
        )
    return sections


def _lat(phase: dict[str, Any]) -> str:
    lat = phase["ack_latency_ms"]
    return f"{lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f}"


def print_table(sections: list[tuple[str, list[Row]]]) -> None:
    width = max((len(r[0]) for _, table in sections for r in table), default=40)
    for title, table in sections:
        print(f"\n{title}")
        for metric, measured, target, verdict in table:
            print(f"  {metric:<{width}}  {measured:>22}  {target:<26} {verdict}")


def markdown(info: dict[str, Any], sections: list[tuple[str, list[Row]]]) -> str:
    lines = [
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}.",
        "",
        "| | measured | target | |",
        "|---|---:|---|---|",
    ]
    for title, table in sections:
        lines.append(f"| **{title}** | | | |")
        for metric, measured, target, verdict in table:
            mark = f"**{verdict}**" if verdict == "MISSED" else verdict
            lines.append(f"| {metric} | {measured} | {target} | {mark} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--skip", default="", help=f"comma-separated parts of {PARTS}")
    parser.add_argument(
        "--profile", action="store_true", help="profile the SQLite worker at saturation with py-spy"
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every started process is stopped by its context manager.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    skip = {part for part in args.skip.split(",") if part}
    unknown = skip - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose among {PARTS}")
    sizes = (
        e2e.Sizes(
            warmup_users=100,
            rate_users=400,
            rate_per_s=500,
            saturate_users=800,
            redis_rate_users=60,
            status_users=600,
            redis_status_users=300,
        )
        if args.quick
        else e2e.Sizes()
    )
    started = time.perf_counter()
    info = machine()
    print(f"bench: {info['cpu']}, {info['cores']} cores, Python {info['python']}", flush=True)
    results: dict[str, Any] = {"machine": info, "sizes": sizes.__dict__, "quick": args.quick}
    RESULTS.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, str, Callable[[], Any]]] = [
        ("e2e", "end to end on SQLite, then the ceiling", lambda: run_e2e(sizes, args.profile)),
        (
            "statuses",
            "realistic traffic: statuses on SQLite, the echo floor, Redis",
            lambda: statuses_report.run_all(
                sizes, RESULTS / "profile-sqlite-statuses.txt" if args.profile else None
            ),
        ),
        ("classify", "classifier alone", lambda: run_classify(args.quick)),
        ("worst_case", "classifier worst case", lambda: run_worst_case(args.quick)),
        ("sweeper", "sweeper", lambda: run_sweeper(args.quick)),
        ("redis", "end to end on Redis, 1 and 2 workers", lambda: run_redis(sizes)),
        (
            "store_plan",
            "the store's call pattern, now and batched",
            lambda: run_store_plan(args.quick),
        ),
        (
            "cluster",
            "Redis Cluster: balance over 3 masters; cost with statuses, one Redis and cluster",
            lambda: run_cluster(sizes, args.quick),
        ),
    ]
    for part, title, step in steps:
        if part in skip:
            continue
        print(f"- {title} ({time.perf_counter() - started:.0f} s)", flush=True)
        try:
            results[part] = step()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"  {part} failed: {exc}", flush=True)
            results[part] = {"error": str(exc)}
        (RESULTS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    results["total_s"] = round(time.perf_counter() - started, 1)
    (RESULTS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    sections = rows(results)
    print_table(sections)
    if args.profile and isinstance(results.get("e2e", {}).get("profile"), dict):
        print("\nWhere the SQLite worker's time goes at saturation (% of py-spy samples)")
        for name, pct in results["e2e"]["profile"]["categories"]:
            print(f"  {pct:5.1f}  {name}")
    statuses_profile = RESULTS / "profile-sqlite-statuses.txt"
    if args.profile and "statuses" in results and statuses_profile.exists():
        print("\nWith statuses (% of py-spy samples)")
        for name, pct in profile.summarize(statuses_profile).categories:
            print(f"  {pct:5.1f}  {name}")
    summary = RESULTS / "summary.md"
    if not args.quick and not skip:
        summary.write_text(markdown(info, sections))
    print(
        f"\n{results['total_s']:.0f} s; results in {RESULTS.relative_to(procs.REPO)}/bench.json"
        + (f" and {summary.name}" if not args.quick and not skip else "")
    )


if __name__ == "__main__":
    main()
