"""Cross-validated figures of the semantic layer's head on the labelled tuning sets.

The head trains on the intent files' examples and the tuning sets (``config.yaml``
``intents.training``), so its score on those sets is not a measure. Here each tuning set's
messages are split into ``--folds`` folds (a fixed seed); the head of fold ``k`` trains on
the files and every other fold and classifies fold ``k`` with the whole classifier (lexicon,
guards, fusion). Each set's figures are then computed from its out-of-fold answers, as
``bot eval`` computes them. Sets named with ``--extra`` (the old held-out set) are scored
with the head trained on everything, never trained on.

    python -m bench.intents_cv [--folds 5] [--extra tests/data/intents/holdout.jsonl]
        [--heads DIR] [--answers OUT.jsonl] [--by-set] [--train k=v,k=v]

``--by-set`` splits by whole sets instead (each set's messages all in one fold, the sets
dealt to the folds largest first): every set is then classified by a head that never saw its
writer, as a fresh writer's messages are. Random folds inside each set leak each writer's
style and wording into the head that scores the rest of the set, so they flatter the head.
``--train`` overrides :class:`~bot.intents.head.TrainingSettings` for every head trained.

Prints, per set: macro-F1, false closes, missed closes, business closes, and the share of
messages that reached the encoder; the lexicon alone beside it.

Training the heads is most of the time (about 90 s a fold on 21,000 examples). With
``--heads DIR`` the fold heads and the full head are saved there and read back on the next
run while the training data, folds, seed and the head's code are the same (a SHA-256 of
them is checked), so a rule or a bar is measured out of fold in two or three minutes.
``--answers`` writes every out-of-fold answer as a JSON line ``[set, line, label, intent,
confirm, text]`` (the first fusion setting) for diffing two versions of the code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import bot.intents.head as head_module
from bot.config import load_settings
from bot.intents import IntentClassifier
from bot.intents.data import load_language_file
from bot.intents.evaluation import Report, evaluate
from bot.intents.examples import (
    Example,
    examples_from_files,
    examples_from_messages,
    head_key,
    training_weights,
)
from bot.intents.head import IntentHead, TrainingSettings
from bot.intents.labelled import LabelledMessage, load_labelled
from bot.intents.result import IntentResult
from bot.intents.semantic import Fusion, SemanticModel, example_vectors

REPO = Path(__file__).resolve().parent.parent


@dataclass
class _Counting:
    """Counts the texts that reach the encoder."""

    model: SemanticModel
    calls: int = 0

    def guess(self, text: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.model.guess(text)


def line(name: str, report: Report, encoded: int | None = None) -> str:
    """One row of figures for ``report``."""
    share = f"  encoder {encoded / report.total:5.1%}" if encoded is not None else ""
    business = (
        f"  business {report.business_closes}/{report.business_total}"
        if report.business_total
        else ""
    )
    return (
        f"{name:<28} F1 {report.macro_f1:.3f}  false {report.false_closes}/"
        f"{report.false_close_total}  missed {report.missed_closes}{business}"
        f"  asked {report.asked_closes}+{report.asked_others}{share}"
    )


def run(
    folds: int,
    extra: Sequence[Path],
    fusions: Sequence[Fusion],
    seed: int = 0,
    show: bool = False,
    errors: bool = False,
    heads_dir: Path | None = None,
    answers_path: Path | None = None,
    by_set: bool = False,
    training: TrainingSettings | None = None,
) -> list[str]:
    """Out-of-fold figures per tuning set and fusion setting; lines to print. The heads are
    read from ``heads_dir`` when it holds them for this data (:func:`_heads`), and saved
    there otherwise; ``answers_path`` gets the out-of-fold answers of the first fusion."""
    settings = load_settings(REPO / "config.yaml", {})
    languages = settings.languages
    base = IntentClassifier.from_directory(
        settings.intents_dir,
        languages,
        threshold=settings.intent_threshold,
        learned=True,
        training_sets=settings.intents_training,
        cache_dir=settings.cache_dir,
    )
    model = base._learned
    assert model is not None
    encoder = model._encoder
    files = [load_language_file(settings.intents_dir / f"{c}.yaml", c) for c in languages]
    file_examples = examples_from_files(files)
    sets = {path.stem: load_labelled(path) for path in settings.intents_training}
    messages = [(name, m) for name, ms in sets.items() for m in ms]
    message_examples = examples_from_messages(m for _, m in messages)
    examples = [*file_examples, *message_examples]
    vectors = example_vectors(examples, encoder, settings.cache_dir)
    weights = training_weights(examples)
    labels = [e.label for e in examples]
    n_files = len(file_examples)
    if by_set:
        fold_of = _fold_by_set([name for name, _ in messages], folds)
    else:
        fold_of = np.random.default_rng(seed).integers(0, folds, len(messages))
    training = training or TrainingSettings()
    out: list[str] = []
    lexicon = base.with_semantic(None)
    for name, ms in sets.items():
        out.append(line(f"{name} lexicon", _eval(lexicon, ms)))
    key = _data_key(examples, weights, folds, seed if not by_set else -1, training)
    trained = _heads(heads_dir, key, folds)
    if trained is None:
        trained = []
        for k in range(folds):
            keep = np.concatenate([np.ones(n_files, bool), fold_of != k])
            kept_labels = [y for y, kept in zip(labels, keep, strict=True) if kept]
            trained.append(IntentHead.train(vectors[keep], kept_labels, weights[keep], training))
        trained.append(IntentHead.train(vectors, labels, weights, training))
        if heads_dir is not None:
            _save_heads(heads_dir, key, trained)
    heads = [SemanticModel(encoder, head) for head in trained[:folds]]
    full = SemanticModel(encoder, trained[folds])
    for number, fusion in enumerate(fusions):
        out.append(f"-- {fusion}")
        answers: dict[int, IntentResult] = {}
        encoded: dict[str, int] = {}
        for k, semantic in enumerate(heads):
            counting = _Counting(semantic)
            clf = base.with_semantic(semantic)
            clf._learned = counting  # type: ignore[assignment]
            clf._fusion = fusion
            for i, (name, m) in enumerate(messages):
                if fold_of[i] == k:
                    before = counting.calls
                    answers[i] = clf.classify(m.text, m.lang)
                    encoded[name] = encoded.get(name, 0) + counting.calls - before
        if answers_path is not None and number == 0:
            _write_answers(answers_path, messages, answers)
        by_set: dict[str, dict[int, IntentResult]] = {}
        for i, (name, m) in enumerate(messages):
            by_set.setdefault(name, {})[id(m)] = answers[i]
        for name, ms in sets.items():
            got = by_set[name]
            out.append(line(f"{name} cv", evaluate(ms, lambda m, g=got: g[id(m)]), encoded[name]))
            if errors:
                for m in ms:
                    new = got[id(m)]
                    if new.intent != m.intent:
                        out.append(
                            f"  ! {name}:{m.line} {m.intent} -> {new.intent}/{new.confirm}"
                            f" {m.text!r}"
                        )
            if show:
                for m in ms:
                    old, new = lexicon.classify(m.text, m.lang), got[id(m)]
                    if (old.intent, old.confirm) != (new.intent, new.confirm):
                        mark = "+" if new.intent == m.intent else "~"
                        mark = "-" if old.intent == m.intent != new.intent else mark
                        out.append(
                            f"  {mark} {name}:{m.line} {m.intent}: {old.intent}/{old.confirm} -> "
                            f"{new.intent}/{new.confirm} {new.confidence:.2f} {m.text!r}"
                        )
        clf = base.with_semantic(full)
        clf._fusion = fusion
        for path in extra:
            ms = load_labelled(path)
            out.append(line(f"{path.stem} (full head)", _eval(clf, ms)))
    return out


def _fold_by_set(names: Sequence[str], folds: int) -> np.ndarray:
    """Each message's fold when whole sets are dealt to the folds (``names``: each message's
    set): the largest set first, each to the fold with the fewest messages so far."""
    sizes: dict[str, int] = {}
    for name in names:
        sizes[name] = sizes.get(name, 0) + 1
    load = [0] * folds
    fold_of_set: dict[str, int] = {}
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        k = min(range(folds), key=lambda f: (load[f], f))
        fold_of_set[name] = k
        load[k] += sizes[name]
    return np.array([fold_of_set[name] for name in names])


def _data_key(
    examples: Sequence[Example],
    weights: np.ndarray,
    folds: int,
    seed: int,
    training: TrainingSettings,
) -> str:
    """A SHA-256 of what the fold heads learn from and how: the service's own head key
    (:func:`~bot.intents.examples.head_key`: each example with the weight it trains at, the
    training settings, the encoder version), the head's code (``bot/intents/head.py``),
    folds and seed (``-1`` for folds of whole sets)."""
    digest = hashlib.sha256(f"{folds} {seed}\n".encode())
    digest.update(Path(head_module.__file__).read_bytes())
    digest.update(head_key(examples, weights, training).encode())
    return digest.hexdigest()


def _heads(folder: Path | None, key: str, folds: int) -> list[IntentHead] | None:
    """The ``folds`` fold heads and the full head saved in ``folder`` under ``key``
    (:func:`_data_key`), or ``None`` (no folder, another key, a missing or unreadable
    file)."""
    if folder is None:
        return None
    try:
        if (folder / "key.txt").read_text().strip() != key:
            return None
        return [IntentHead.load(folder / f"head{k}.npz") for k in range(folds + 1)]
    except (OSError, ValueError, KeyError):
        return None


def _save_heads(folder: Path, key: str, heads: list[IntentHead]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, head in enumerate(heads):
        head.save(folder / f"head{k}.npz")
    (folder / "key.txt").write_text(key + "\n")  # last: a half-saved folder has no key


def _write_answers(
    path: Path,
    messages: Sequence[tuple[str, LabelledMessage]],
    answers: dict[int, IntentResult],
) -> None:
    """One JSON line per message: ``[set, line, label, intent, confirm, text]``."""
    with path.open("w", encoding="utf-8") as out:
        for i, (name, m) in enumerate(messages):
            got = answers[i]
            row = [name, m.line, m.intent, got.intent, got.confirm, m.text]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _eval(clf: IntentClassifier, ms: list[LabelledMessage]) -> Report:
    return evaluate(ms, lambda m: clf.classify(m.text, m.lang))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--extra", type=Path, nargs="*", default=[])
    parser.add_argument(
        "--fusion", action="append", default=[], help="k=v,k=v overrides of Fusion (repeatable)"
    )
    parser.add_argument("--show", action="store_true", help="list answers the head changed")
    parser.add_argument("--errors", action="store_true", help="list out-of-fold errors")
    parser.add_argument("--heads", type=Path, help="folder to save the heads in and reuse")
    parser.add_argument("--answers", type=Path, help="write the out-of-fold answers (JSON lines)")
    parser.add_argument("--by-set", action="store_true", help="folds of whole sets")
    parser.add_argument("--train", default="", help="k=v,k=v overrides of TrainingSettings")
    args = parser.parse_args()
    overrides = {
        k: (float(v) if "." in v or "e" in v else int(v))
        for k, v in (item.split("=") for item in args.train.split(",") if item)
    }
    fusions = [Fusion()]
    for spec in args.fusion:
        values = {k: float(v) for k, v in (item.split("=") for item in spec.split(","))}
        fusions.append(replace(Fusion(), **values))
    rows = run(
        args.folds,
        args.extra,
        fusions,
        show=args.show,
        errors=args.errors,
        heads_dir=args.heads,
        answers_path=args.answers,
        by_set=args.by_set,
        training=replace(TrainingSettings(), **overrides),
    )
    for row in rows:
        print(row, flush=True)


if __name__ == "__main__":
    main()
