"""Language identification on the labelled sets: confusions without a hint, flips with one.

For every labelled set in ``tests/data/intents/`` (never the held-out judges
``holdout2.jsonl``, ``holdout4.jsonl``, ``holdout5.jsonl``, ``holdout6.jsonl``,
``holdout7.jsonl``, ``holdout8.jsonl``, ``holdout9.jsonl``, ``holdout10.jsonl``,
``holdout11.jsonl``, ``holdout12.jsonl``, ``holdout13.jsonl``, ``holdout14.jsonl``,
``pt_holdout.jsonl`` nor ``pt_holdout2.jsonl``, unless named on the command line) and every message:

- **no hint** (a first message): the detected language against the labelled one, as a
  confusion matrix (rows: labelled; columns: detected, ``-`` for undecided);
- **sticky** (a session already in the labelled language): how often the detection leaves
  it, i.e. the session's reply language would flip. ``es→pt`` and ``pt→es`` are the ones
  issue 18 bounds (≤ 1 %).

    python -m bench.langid [--config config.yaml] [FILE ...]

Prints one block per file and a total.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bot.config import load_settings
from bot.intents import IntentClassifier
from bot.intents.labelled import load_labelled

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "intents"
JUDGES = frozenset(
    {
        "holdout2.jsonl",
        "holdout4.jsonl",
        "holdout5.jsonl",
        "holdout6.jsonl",
        "holdout7.jsonl",
        "holdout8.jsonl",
        "holdout9.jsonl",
        "holdout10.jsonl",
        "holdout11.jsonl",
        "holdout12.jsonl",
        "holdout13.jsonl",
        "holdout14.jsonl",
        "pt_holdout.jsonl",
        "pt_holdout2.jsonl",
    }
)
"""Held-out sets read only when named explicitly."""


def measure(
    classifier: IntentClassifier, path: Path
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]], int]:
    """``(no-hint confusions, sticky flips, messages)`` for one file; keys are
    ``(labelled, detected)`` with ``"-"`` for undecided."""
    confusions: Counter[tuple[str, str]] = Counter()
    flips: Counter[tuple[str, str]] = Counter()
    messages = load_labelled(path)
    for message in messages:
        found = classifier.detect_language(message.text)
        confusions[(message.lang, found or "-")] += 1
        kept = classifier.detect_language(message.text, message.lang)
        if kept is not None and kept != message.lang:
            flips[(message.lang, kept)] += 1
    return confusions, flips, len(messages)


def report(
    name: str,
    confusions: Counter[tuple[str, str]],
    flips: Counter[tuple[str, str]],
    total: int,
    languages: tuple[str, ...],
) -> str:
    """A block of text: the confusion matrix, right/wrong/undecided, es↔pt, sticky flips."""
    columns = [*languages, "-"]
    lines = [f"{name}: {total} messages", f"{'':6}" + "".join(f"{c:>7}" for c in columns)]
    for row in languages:
        if any(confusions[(row, c)] for c in columns):
            lines.append(f"{row:6}" + "".join(f"{confusions[(row, c)]:>7}" for c in columns))
    right = sum(n for (a, b), n in confusions.items() if a == b)
    undecided = sum(n for (_, b), n in confusions.items() if b == "-")
    wrong = total - right - undecided
    es_pt = confusions[("es", "pt")] + confusions[("pt", "es")]
    es_pt_total = sum(n for (a, _), n in confusions.items() if a in ("es", "pt")) or 1
    lines.append(
        f"no hint: {right / total:.1%} right, {wrong / total:.1%} wrong, "
        f"{undecided / total:.1%} undecided; es↔pt confusions {es_pt} of {es_pt_total} "
        f"es/pt messages ({es_pt / es_pt_total:.2%})"
    )
    flipped = ", ".join(f"{a}→{b} {n}" for (a, b), n in sorted(flips.items())) or "none"
    lines.append(f"sticky (session in the labelled language), flips: {flipped}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    settings = load_settings(args.config, {})
    classifier = IntentClassifier.from_directory(
        settings.intents_dir, settings.languages, cache_size=0
    )
    files = args.files or sorted(p for p in DATA.glob("*.jsonl") if p.name not in JUDGES)
    all_confusions: Counter[tuple[str, str]] = Counter()
    all_flips: Counter[tuple[str, str]] = Counter()
    grand = 0
    for path in files:
        confusions, flips, total = measure(classifier, path)
        print(report(path.name, confusions, flips, total, classifier.languages), end="\n\n")
        all_confusions.update(confusions)
        all_flips.update(flips)
        grand += total
    print(report("all", all_confusions, all_flips, grand, classifier.languages))


if __name__ == "__main__":
    main()
