"""Classifier throughput and latency on one core, with the shipped intents and the dev set.

Every message of ``tests/data/intents/dev.jsonl`` (es + en, typos, emoji, long and short) is
classified ``--passes`` times in each scenario, timing each call with ``perf_counter_ns``:

- ``new``: the message cache is off, as for a message never seen before (the per-word caches
  are warm after the first pass, as in a running service);
- ``new, no hint``: the same without the session's language (a first message; texts without
  word evidence go to lingua);
- ``repeated``: the same texts again with the message cache on (``ok``, ``sí``, ``hola``...);
- ``cold``: one pass on a freshly built classifier (every cache empty).

    python -m bench.classify [--passes 20] [--cpu 0]

Prints a table (messages/s, p50, p99, max in ms) and writes ``bench/results/classify.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.config import load_settings
from bot.intents import IntentClassifier
from bot.intents.labelled import load_labelled

REPO = Path(__file__).resolve().parent.parent
TRAINING = load_settings(REPO / "config.yaml", {}).intents_training
"""The labelled sets the shipped head trains on (``config.yaml`` ``intents.training``)."""
DEV = REPO / "tests" / "data" / "intents" / "dev.jsonl"
RESULTS = REPO / "bench" / "results" / "classify.json"


@dataclass
class Result:
    scenario: str
    messages: int
    per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def measure(name: str, calls: list[Callable[[], object]]) -> Result:
    """Run each call once, timing each; throughput counts the loop's whole time."""
    latencies_ns = []
    clock = time.perf_counter_ns
    start = clock()
    for call in calls:
        before = clock()
        call()
        latencies_ns.append(clock() - before)
    total_s = (clock() - start) / 1e9
    latencies_ns.sort()
    return Result(
        scenario=name,
        messages=len(calls),
        per_s=len(calls) / total_s,
        p50_ms=statistics.median(latencies_ns) / 1e6,
        p99_ms=latencies_ns[int(len(latencies_ns) * 0.99) - 1] / 1e6,
        max_ms=latencies_ns[-1] / 1e6,
    )


def run(passes: int) -> list[Result]:
    messages = [(m.text, m.lang) for m in load_labelled(DEV)]
    build_start = time.perf_counter()
    classifier = IntentClassifier.from_directory(
        REPO / "intents", cache_size=0, learned=True, training_sets=TRAINING
    )
    build_s = time.perf_counter() - build_start
    print(f"classifier built in {build_s:.2f} s; {len(messages)} dev messages x {passes} passes")

    cold = measure("cold (first pass)", [_call(classifier, t, h) for t, h in messages])
    gc.freeze()  # what the loader built is never garbage; keep the collector off it
    new = measure("new", [_call(classifier, t, h) for _ in range(passes) for t, h in messages])
    no_hint = measure(
        "new, no hint", [_call(classifier, t, None) for _ in range(passes) for t, h in messages]
    )
    cached = IntentClassifier.from_directory(REPO / "intents", learned=True, training_sets=TRAINING)
    for text, hint in messages:
        cached.classify(text, hint)
    repeated = measure(
        "repeated", [_call(cached, t, h) for _ in range(passes) for t, h in messages]
    )
    return [new, no_hint, repeated, cold]


def _call(classifier: IntentClassifier, text: str, hint: str | None) -> Callable[[], object]:
    return lambda: classifier.classify(text, hint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20, help="passes over the dev set")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin the process to")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    results = run(args.passes)
    print(f"\n{'scenario':<20}{'msg/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for r in results:
        print(
            f"{r.scenario:<20}{r.per_s:>10,.0f}{r.p50_ms:>10.3f}{r.p99_ms:>10.3f}{r.max_ms:>10.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpu": args.cpu,
                "passes": args.passes,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
