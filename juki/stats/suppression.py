"""Disclosure control for published tables (秘匿).

A published table is an N-dimensional array whose last position on every axis is the
margin (計).  Primary suppression hides cells from 1 to ``threshold`` (the Japanese
convention: 1-2 persons shown as ``x``); secondary suppression (関連秘匿) then hides further
cells until no *line* -- the cells along one axis with the other coordinates fixed, margin
included -- has exactly one hidden cell, so that no hidden cell equals a published total
minus published cells.

>>> import numpy as np
>>> t = with_margins(np.array([[5, 1], [7, 9]]))
>>> hidden = suppress(t, threshold=2)
>>> hidden.astype(int).tolist()
[[1, 1, 0], [1, 1, 0], [0, 0, 0]]
>>> lines_with_one_hidden(hidden)
0

Limitation: the line rule stops differencing along rows and columns (what the issue asks
and what 総務省 tables practise); it does not solve the linear system of all equations
at once, which a full audit (e.g. with an LP solver) would.
"""
from __future__ import annotations

import itertools

import numpy as np


def with_margins(a: np.ndarray) -> np.ndarray:
    """Append the margin (sum) along every axis."""
    out = np.asarray(a)
    for ax in range(out.ndim):
        out = np.concatenate([out, out.sum(axis=ax, keepdims=True)], axis=ax)
    return out


def _lines(shape):
    """Index tuples of every line of the array (one per axis and fixed other coordinates)."""
    for ax in range(len(shape)):
        others = [range(n) for i, n in enumerate(shape) if i != ax]
        for fixed in itertools.product(*others):
            idx = list(fixed)
            yield tuple(idx[:ax] + [slice(None)] + idx[ax:])


def lines_with_one_hidden(hidden: np.ndarray) -> int:
    return sum(1 for line in _lines(hidden.shape) if hidden[line].sum() == 1)


def suppress(table: np.ndarray, threshold: int = 2, initial: np.ndarray | None = None,
             keep: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the cells to hide (primary + secondary), starting from ``initial`` if given;
    cells in ``keep`` (published by an earlier release) are never chosen as secondary cells.

    >>> t = with_margins(np.array([[5, 1, 4], [7, 9, 3]]))
    >>> suppress(t, 2)[0].astype(int).tolist()
    [0, 1, 1, 0]
    >>> keep = np.zeros(t.shape, bool); keep[0, 2] = True
    >>> suppress(t, 2, keep=keep)[0].astype(int).tolist()
    [1, 1, 0, 0]
    """
    t = np.asarray(table)
    hidden = (t >= 1) & (t <= threshold)
    if initial is not None:
        hidden = hidden | np.asarray(initial, dtype=bool)
    margin = np.zeros(t.shape, dtype=bool)
    for ax in range(t.ndim):
        idx = [slice(None)] * t.ndim
        idx[ax] = -1
        margin[tuple(idx)] = True
    changed = True
    while changed:
        changed = False
        for line in _lines(t.shape):
            h = hidden[line]
            if h.sum() != 1:
                continue
            vals = t[line].astype(float)
            cand = np.where(~h & (True if keep is None else ~keep[line]), vals, np.inf)
            # prefer inner cells over the margin, then the smallest positive, then zeros
            cand = cand + np.where(margin[line], 1e12, 0) + np.where(vals == 0, 1e9, 0)
            j = int(np.argmin(cand))
            if not np.isfinite(cand[j]):
                continue  # pragma: no cover - a line of one cell
            sub = hidden[line]
            sub[j] = True
            hidden[line] = sub
            changed = True
    return hidden


def published(table: np.ndarray, threshold: int = 2):
    """The table as published: an object array with ``'x'`` for hidden cells."""
    hidden = suppress(table, threshold)
    out = np.asarray(table).astype(object)
    out[hidden] = "x"
    return out, hidden
