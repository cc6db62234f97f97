"""The cell-key method (ABS TableBuilder, 2021 England & Wales census, 2022 German census).

Every record (person) carries a random *record key* in [0, 1), fixed for that person
(:mod:`juki.analysis.publish`).  A cell's key is the fractional part of the sum of its records'
keys, so the same set of persons -- the same cell, in whatever table it appears -- always has the
same key.  A *perturbation table* (ptable) maps (count, cell key) to a small integer noise:

* a zero stays zero, and no cell is ever published as 1 to ``js`` (``js = 2``: no 1s or 2s);
* the noise is unbiased (mean 0), at most ``D`` in absolute value, with variance ``V``, and its
  distribution has maximum entropy under those constraints (sdcTools/ptable's
  ``pt_optim_entropy``, solved here with scipy's SLSQP); every count from ``D + js + 1`` up
  uses the same symmetric row;
* margins are perturbed as cells of their own, so a table's parts need not add up to its 計.

Differencing two overlapping queries then gives the true difference plus the difference of two
independent noises, not the hidden count.

>>> pt = build(PTableParams(D=2, V=1.08, js=1))
>>> [round(float(p), 4) for p in pt.probs(4)]        # sdcTools/CensusProtection ptable_d2_v108_js1
[0.0739, 0.2442, 0.3637, 0.2442, 0.0739]
>>> pt = build(PTableParams())
>>> sorted(set(perturb([1, 2, 5, 0], [0.1, 0.9, 0.5, 0.3]).tolist()) & {1, 2})
[]
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class PTableParams:
    D: int = 3          # maximum absolute noise
    V: float = 2.0      # noise variance
    js: int = 2         # counts 1..js are never published

    @property
    def imax(self) -> int:
        return self.D + self.js + 1 if self.js else self.D


@dataclass(frozen=True)
class PTable:
    params: PTableParams
    targets: tuple      # per row i: the counts j a count i may become
    cum: tuple          # per row i: cumulative upper bounds of the probabilities

    def probs(self, i: int) -> np.ndarray:
        c = self.cum[min(i, self.params.imax)]
        return np.diff(np.concatenate([[0.0], c]))

    def noise(self, i: int) -> np.ndarray:
        row = min(i, self.params.imax)
        return np.asarray(self.targets[row]) - row

    def reachable(self, i: int) -> frozenset:
        """The noises a count ``i`` can really get: those whose probability interval holds a cell
        key.  Keys have 8 decimals (:func:`cell_keys`), so a noise whose probability is below
        that grain (the entropy solver leaves some at about 1e-12) may hold no key at all, and an
        attacker who knows the ptable rules it out.

        >>> pt = build(PTableParams(D=3, V=2.0, js=2))
        >>> [f"{p:.0e}" for p in pt.probs(1)], sorted(pt.reachable(1))     # 1 -> 4 holds no key
        (['7e-01', '3e-01', '1e-12'], [-1, 2])
        """
        return _reachable(self, min(i, self.params.imax))

    def preimage(self, q: int) -> tuple[int, int]:
        """The least and greatest true count a published value ``q`` can come from.

        >>> pt = build(PTableParams(D=3, V=2.0, js=2))
        >>> pt.preimage(0), pt.preimage(3), pt.preimage(4), pt.preimage(10)
        ((0, 3), (1, 6), (3, 7), (7, 13))
        """
        return _preimage(self, int(q))

    def moments(self) -> dict:
        """Per row: mean and variance of the noise (all rows must have mean 0; ptable's empResults)."""
        out = {}
        for i in range(self.params.imax + 1):
            v, p = self.noise(i), self.probs(i)
            out[i] = (float((v * p).sum()), float((v * v * p).sum()))
        return out


def _row(i: int, D: int, V: float, js: int) -> tuple[np.ndarray, np.ndarray]:
    if i == 0:
        return np.array([0]), np.array([1.0])
    j = np.array([x for x in range(max(0, i - D), i + D + 1) if not (1 <= x <= js)])
    v = (j - i).astype(float)
    from scipy.optimize import minimize
    n = len(j)
    cons = [{"type": "eq", "fun": lambda p: p.sum() - 1.0},
            {"type": "eq", "fun": lambda p: (v * p).sum()},
            {"type": "ineq", "fun": lambda p: V - (v * v * p).sum()}]
    x0 = np.exp(-(v * v) / (2 * max(V, 0.1)))
    x0 /= x0.sum()
    res = minimize(lambda p: float((p * np.log(np.clip(p, 1e-15, None))).sum()), x0, method="SLSQP",
                   bounds=[(1e-12, 1.0)] * n, constraints=cons, options={"ftol": 1e-12, "maxiter": 500})
    p = np.clip(res.x, 0, None)
    p /= p.sum()
    if abs((v * p).sum()) > 1e-6 or (v * v * p).sum() > V + 1e-6:
        raise ValueError(f"ptable: no unbiased distribution with variance <= {V} for count {i} (D={D}, js={js}); "
                         "raise V or D")
    return j, p


@lru_cache(maxsize=8)
def build(params: PTableParams = PTableParams()) -> PTable:
    """The ptable of ``params``: the one shipped for the policy's parameters (:data:`SHIPPED`), or
    solved (:func:`solve`, about a second with scipy's import, in every process that perturbs:
    each explorer kernel and report)."""
    if params in SHIPPED:
        targets, cum = SHIPPED[params]
        return PTable(params, targets, cum)
    return solve(params)


def solve(params: PTableParams) -> PTable:
    """The maximum-entropy ptable of ``params``, solved row by row."""
    targets, cum = [], []
    for i in range(params.imax + 1):
        j, p = _row(i, params.D, params.V, params.js)
        targets.append(tuple(int(x) for x in j))
        c = np.cumsum(p)
        c[-1] = 1.0
        cum.append(tuple(float(x) for x in c))
    return PTable(params, tuple(targets), tuple(cum))


#: The ptable of the disclosure policy's parameters as :func:`solve` gives it (every process that
#: perturbs would otherwise solve it again); tests/stats/test_stats.py checks that it still is.
SHIPPED = {
    PTableParams(D=3, V=2.0, js=2): (
        ((0,), (0, 3, 4), (0, 3, 4, 5), (0, 3, 4, 5, 6), (3, 4, 5, 6, 7), (3, 4, 5, 6, 7, 8), (3, 4, 5, 6, 7, 8, 9)),
        ((1.0,),
         (0.6666666666661403, 0.999999999999, 1.0),
         (0.33333333333416765, 0.9999999999979998, 0.9999999999989999, 1.0),
         (0.14790571263821056, 0.656246523659088, 0.9126384010232959, 0.987397937402984, 1.0),
         (0.4593576259440145, 0.7201520059068578, 0.8682148005463428, 0.9522755676027848, 1.0),
         (0.16764429062555206, 0.400963510351829, 0.6449456732844134, 0.8366409598734782, 0.9498055658647274, 1.0),
         (0.03735811945817089, 0.14926608839848768, 0.3654109647723006, 0.6345891129613371, 0.8507339288756176,
          0.962641785534086, 1.0))),
}

#: Cell keys are rounded to this grain (8 decimals).
GRAIN = 10 ** 8


@lru_cache(maxsize=64)
def _reachable(pt: PTable, row: int) -> frozenset:
    cum = np.asarray(pt.cum[row])
    lows = np.concatenate([[0.0], cum[:-1]])
    first = np.round(np.ceil(np.round(lows * GRAIN, 4)) / GRAIN, 8)      # the first key at or above each start
    hit = (np.searchsorted(cum, first, side="right") == np.arange(len(cum))) & (first < 1.0)
    return frozenset(int(v) for v, h in zip(np.asarray(pt.targets[row]) - row, hit) if h)


@lru_cache(maxsize=4096)
def _preimage(pt: PTable, q: int) -> tuple[int, int]:
    ok = [i for i in range(max(0, q - pt.params.D), q + pt.params.D + 1) if q - i in pt.reachable(i)]
    return min(ok), max(ok)


def cell_keys(keysums) -> np.ndarray:
    """The fractional part of each cell's sum of record keys (rounded as the keys are, 8 digits)."""
    k = np.asarray(keysums, dtype=np.float64)
    return np.round(k - np.floor(k), 8) % 1.0


def perturb(counts, keysums, params: PTableParams = PTableParams()) -> np.ndarray:
    """The published values of cells with these counts and record-key sums (the policy's
    parameters: ``juki.stats.policy.load().ptable``, which callers pass)."""
    pt = build(params)
    c = np.asarray(counts, dtype=np.int64)
    keys = cell_keys(keysums)
    out = np.empty(c.shape, dtype=np.int64)
    flat_c, flat_k, flat_o = c.ravel(), keys.ravel(), out.reshape(-1)
    for row in range(pt.params.imax + 1):
        sel = (flat_c == row) if row < pt.params.imax else (flat_c >= row)
        if not sel.any():
            continue
        j = np.asarray(pt.targets[row])
        pos = np.searchsorted(np.asarray(pt.cum[row]), flat_k[sel], side="right").clip(0, len(j) - 1)
        flat_o[sel] = flat_c[sel] + (j[pos] - row)
    return out


def utility(original, perturbed) -> dict:
    """cellKey's measures: mean |o - p|, share of cells changed, false zeros."""
    o, p = np.asarray(original).ravel(), np.asarray(perturbed).ravel()
    return {"cells": int(o.size), "mean_abs": float(np.abs(o - p).mean()) if o.size else 0.0,
            "changed_share": float((o != p).mean()) if o.size else 0.0,
            "false_zeros": int(((o > 0) & (p == 0)).sum())}
