"""The classifier's worst case per message on one core, over adversarial shapes up to 1 MiB.

Each shape (punctuation runs, runs without spaces, emoji, zero-width and combining marks,
mixed scripts, NFKC-expanding characters, new words, URLs, up to the webhook's 1 MiB body
limit) is classified ``--calls`` times with a different ending (no cache helps), in turn
without a hint and with each language, after the dev set warmed the per-word caches as in a
running service. Each call's CPU time (``thread_time``) is kept; the result is the slowest
call per shape and over all shapes. Budget: 5 ms (issue #13).

    python -m bench.worst_case [--calls 30] [--cpu 0]

Prints a table and writes ``bench/results/worst_case.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import load_settings
from bot.intents import IntentClassifier
from bot.intents.labelled import load_labelled

REPO = Path(__file__).resolve().parent.parent
TRAINING = load_settings(REPO / "config.yaml", {}).intents_training
"""The labelled sets the shipped head trains on (``config.yaml`` ``intents.training``)."""
DEV = REPO / "tests" / "data" / "intents" / "dev.jsonl"
RESULTS = REPO / "bench" / "results" / "worst_case.json"
BUDGET_MS = 5.0
BODY_LIMIT = 1024 * 1024


def shapes(rnd: random.Random) -> dict[str, Callable[[int], str]]:
    """Shape name → a text of that shape for call ``i`` (``i`` makes each one new)."""

    def word(i: int) -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)) + str(i)

    return {
        "punctuation 4,096": lambda i: "".join(rnd.choice("!?.,;:'\"-—()¿¡…") for _ in range(4096)),
        "no spaces 100 KB": lambda i: "a" * 100_000 + str(i),
        "no spaces 1 MB": lambda i: "ab1" * (BODY_LIMIT // 3) + str(i),
        "repeated emoji 64 KB": lambda i: "😀👍🏽❤️" * 16_000 + str(i),
        "zero-width + combining 64 KB": lambda i: "a\u0301\u200b\u0308" * 16_000 + str(i),
        "mixed scripts 64 KB": lambda i: "holaпривет你好مرحبا" * 4_000 + str(i),
        "NFKC-expanding 64 KB": lambda i: "\ufdfa" * 65_536 + str(i),
        "new words 600 chars": lambda i: " ".join(word(j) for j in range(100)),
        "new words 1 MB": lambda i: (" ".join(word(j) for j in range(100)) * 1_500)[:BODY_LIMIT],
        "hyphenated new words": lambda i: "-".join(word(j) for j in range(120)),
        "quoted new words": lambda i: " ".join("'''" + word(j) + "'''" for j in range(60)),
        "URLs 100 KB": lambda i: " ".join(f"https://{word(j)}.com/x" for j in range(5_000)),
        "emails 100 KB": lambda i: " ".join(f"{word(j)}@{word(j)}.com" for j in range(5_000)),
        "laughter 100 KB": lambda i: "ja" * 50_000 + str(i),
        # shapes the semantic layer reads (the lexicon is unsure): its encoder's worst case
        "a close among new words (encoder)": lambda i: (
            "please cancel the " + " ".join(word(j) for j in range(100))
        ),
        "words of the language + rare pieces (encoder)": lambda i: (
            "quiero que " + " ".join(word(j) + "ñzqx" for j in range(60))
        ),
    }


def run(calls: int) -> dict[str, float]:
    """Slowest call's CPU ms per shape."""
    classifier = IntentClassifier.from_directory(
        REPO / "intents", cache_size=0, learned=True, training_sets=TRAINING
    )
    for message in load_labelled(DEV):
        classifier.classify(message.text, message.lang)
        classifier.classify(message.text)
    gc.freeze()
    rnd = random.Random(13)
    worst: dict[str, float] = {}
    for name, make in shapes(rnd).items():
        slowest_s = 0.0
        for i in range(calls):
            text = make(i)
            hint = (None, "es", "en")[i % 3]
            started = time.thread_time()
            classifier.classify(text, hint)
            slowest_s = max(slowest_s, time.thread_time() - started)
        worst[name] = round(slowest_s * 1000, 2)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="calls per shape")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin the process to")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    worst = run(args.calls)
    print(f"{'shape':<32}{'worst ms':>10}")
    for name, ms in worst.items():
        print(f"{name:<32}{ms:>10.2f}")
    overall = max(worst.values())
    print(f"{'worst over all shapes':<32}{overall:>10.2f}  (budget {BUDGET_MS:g} ms)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "cpu": args.cpu,
                "calls": args.calls,
                "budget_ms": BUDGET_MS,
                "worst_ms": overall,
                "shapes": worst,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
