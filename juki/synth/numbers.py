"""Unique numbers without global state: a keyed permutation of the person index.

Every person of the city has a global index (block x stride + position), so numbers drawn as a
keyed pseudo-random permutation of that index are unique across blocks and the same whatever
the chunk a block is written in.  The permutation is a four-round Feistel network on 38 bits
with cycle walking into [0, 10**11).

>>> import numpy as np
>>> x = np.arange(100_000, dtype=np.uint64)
>>> y = permute(x, key=7)
>>> len(np.unique(y)) == len(x) and int(y.max()) < 10 ** 11
True
"""
from __future__ import annotations

import hashlib

import numpy as np

BITS = 38
HALF = BITS // 2
MASK = np.uint64((1 << HALF) - 1)
LIMIT = 10 ** 11


def _round_keys(key: int, purpose: str) -> list[np.uint64]:
    h = hashlib.sha256(f"{purpose}/{key}".encode()).digest()
    return [np.uint64(int.from_bytes(h[i:i + 8], "little")) for i in range(0, 32, 8)]


def _f(r: np.ndarray, k: np.uint64) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (r * np.uint64(0x9E3779B97F4A7C15)) ^ k
        x ^= x >> np.uint64(29)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
    return x & MASK


def _feistel(v: np.ndarray, keys) -> np.ndarray:
    left, right = v >> np.uint64(HALF), v & MASK
    for k in keys:
        left, right = right, left ^ _f(right, k)
    return (left << np.uint64(HALF)) | right


def permute(x: np.ndarray, key: int, purpose: str = "number") -> np.ndarray:
    """A bijection of [0, 10**11) onto itself, keyed by (key, purpose)."""
    keys = _round_keys(key, purpose)
    y = _feistel(np.asarray(x, dtype=np.uint64), keys)
    out = y >= LIMIT
    while out.any():  # cycle walking: apply again until the value is inside the range
        y[out] = _feistel(y[out], keys)
        out = y >= LIMIT
    return y


def digits(v: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of the decimal digits of ``v`` from the left."""
    v = np.asarray(v, dtype=np.int64)
    return (v[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10


def pad(v, width: int) -> np.ndarray:
    """Zero-padded decimal strings (object array)."""
    v = np.asarray(v, dtype=np.int64)
    return np.char.zfill(v.astype(str), width).astype(object)
