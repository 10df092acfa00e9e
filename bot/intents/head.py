"""A supervised head over sentence vectors: multinomial logistic regression in numpy.

The semantic layer's vectors (:mod:`bot.intents.encoder`, 512-d unit vectors) go through one
linear map and a softmax: ``p = softmax(x @ weights + bias)``, one probability per label
(``"none"`` included). Calibrated probabilities replace nearest-example similarity
thresholds: the classifier acts when ``p`` is high, asks about a close in a middle band.

Training is full-batch gradient descent (Adam) on the weighted cross-entropy with an L2
penalty on the weights, deterministic (zero start, fixed steps); about 0.5 s for ten
thousand examples on one core. Prediction is one ``(512,) @ (512, labels)`` product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """How the head is fitted.

    Attributes:
        l2: Weight of the L2 penalty on the weights (per example, mean loss).
        steps: Adam steps over the whole set.
        learning_rate: Adam's step size.
    """

    l2: float = 1e-5
    steps: int = 300
    learning_rate: float = 0.1


class SoftmaxHead:
    """Label probabilities for sentence vectors.

    Args:
        labels: Label names, one per column of ``weights``.
        weights: ``(dimensions, len(labels))`` float32.
        bias: ``(len(labels),)`` float32.

    Raises:
        ValueError: The shapes disagree with each other or with ``labels``.
    """

    def __init__(self, labels: Sequence[str], weights: Floats, bias: Floats) -> None:
        if weights.ndim != 2 or weights.shape[1] != len(labels) or bias.shape != (len(labels),):
            raise ValueError(f"head of shape {weights.shape} {bias.shape} for {len(labels)} labels")
        self.labels = tuple(labels)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)

    def probabilities(self, vectors: Floats) -> Floats:
        """``(n, len(labels))`` probabilities (rows sum to 1) for ``(n, dimensions)`` vectors."""
        return _softmax(vectors @ self.weights + self.bias)

    @classmethod
    def train(
        cls,
        vectors: Floats,
        labels: Sequence[str],
        sample_weights: npt.NDArray[np.float64] | None = None,
        settings: TrainingSettings | None = None,
    ) -> SoftmaxHead:
        """Fit the head on ``(n, dimensions)`` vectors and their ``n`` labels.

        Args:
            vectors: One row per example.
            labels: Each row's label.
            sample_weights: Each row's weight in the loss (default 1); normalized to mean 1.
            settings: Penalty and steps; defaults to :class:`TrainingSettings`.

        Raises:
            ValueError: Fewer than two distinct labels, or lengths that disagree.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads cost more
            return cls._fit(vectors, labels, sample_weights, settings or TrainingSettings())

    @classmethod
    def _fit(
        cls,
        vectors: Floats,
        labels: Sequence[str],
        sample_weights: npt.NDArray[np.float64] | None,
        settings: TrainingSettings,
    ) -> SoftmaxHead:
        names = sorted(set(labels))
        if len(names) < 2 or len(labels) != vectors.shape[0]:
            raise ValueError(
                f"{vectors.shape[0]} vectors, {len(labels)} labels of {len(names)} kinds"
            )
        column = {name: i for i, name in enumerate(names)}
        x = np.asarray(vectors, dtype=np.float32)
        target = np.zeros((x.shape[0], len(names)), dtype=np.float32)
        target[np.arange(x.shape[0]), [column[label] for label in labels]] = 1.0
        weight = np.ones(x.shape[0]) if sample_weights is None else np.asarray(sample_weights)
        weight = (weight / weight.mean() / x.shape[0]).astype(np.float32)[:, None]
        w = np.zeros((x.shape[1], len(names)), dtype=np.float32)
        b = np.zeros(len(names), dtype=np.float32)
        moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, settings.steps + 1):
            error = (_softmax(x @ w + b) - target) * weight
            grads = (x.T @ error + settings.l2 * w, error.sum(axis=0))
            for k, (param, grad) in enumerate(zip((w, b), grads, strict=True)):
                m, v = moments[2 * k], moments[2 * k + 1]
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                m_hat = m / (1 - beta1**step)
                v_hat = v / (1 - beta2**step)
                param -= settings.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        return cls(names, w, b)

    def save(self, path: Path) -> None:
        """Write the head to ``path`` (``.npz``)."""
        with path.open("wb") as file:
            np.savez(file, labels=np.array(self.labels), weights=self.weights, bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> SoftmaxHead:
        """Read a head written by :meth:`save`.

        Raises:
            OSError: The file cannot be read.
            ValueError: It is not a head (missing arrays, shapes that disagree).
        """
        try:
            with np.load(path, allow_pickle=False) as archive:
                labels = [str(label) for label in archive["labels"]]
                return cls(labels, archive["weights"], archive["bias"])
        except KeyError as exc:
            raise ValueError(f"{path}: not a head ({exc})") from exc


def _softmax(logits: Floats) -> Floats:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: Floats = exp / exp.sum(axis=-1, keepdims=True)
    return result
