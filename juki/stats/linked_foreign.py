"""The foreign residents' tables of a release as one linked problem.

Three tables count the same foreign residents: ``foreign_nationality`` (国籍・地域 × 第30条の45
区分), ``foreign_status`` (在留資格 × 男女, the 中長期在留者) and ``foreign_detail`` (国籍・地域 ×
在留資格 × 年齢3区分).  They share margins -- a nationality's total, a 在留資格's total -- and
by law a 中長期在留者 is exactly a resident with a 在留資格.  Suppressed one table at a time
(as released until 2026-12-02), a linear program over the three pinned 12 and narrowed 143 of
486 hidden cells at 500,000 residents (e.g. 中国 × 中長期在留者以外 × 年少人口 = 14).

The unknowns (atoms) are persons by nationality × 在留資格 × age band × sex for the 中長期在留者
and by nationality × age band × 区分 for the others (their sex is in no table); every cell is a
sum of atoms.  The audit is the whole-family one of :mod:`.linked` (witnesses, a repair program
for a narrowed cell, hidden 0s the rest pins shown), with the tables' line rule after each pass.
The foreign grand total is never hidden: the release's summary states it.
"""
from __future__ import annotations

import numpy as np

from .linked import Audit, _Cell, _upper, _Whole, audit_rounds

#: The tables, in the order of :class:`Foreign`'s ``fam``.
FOREIGN = ("foreign_nationality", "foreign_status", "foreign_detail")
LONG_TERM = "中長期在留者"


def family(tables) -> list | None:
    by = {t.name: t for t in tables}
    return [by[n] for n in FOREIGN] if all(n in by for n in FOREIGN) else None


class Foreign(_Whole):
    """The foreign tables' program, in the shape :meth:`_Whole.audit` works on."""

    def __init__(self, fam):
        from scipy import sparse
        nat_t, status, detail = fam
        nat = list(detail.axes[0][1])
        kinds = list(nat_t.axes[1][1])
        n_i, n_j, n_b = (len(detail.axes[k][1]) for k in range(3))      # without the 計 positions
        n_k, n_x = len(kinds), len(status.axes[1][1])
        if nat != list(nat_t.axes[0][1]) or list(detail.axes[1][1])[:-1] != list(status.axes[0][1]):
            raise ValueError("the foreign tables' categories disagree")
        other, long_term = n_j - 1, kinds.index(LONG_TERM)     # the last 在留資格: 中長期在留者以外
        atoms = [(i, j, b, x, long_term) for i in range(n_i) for j in range(other) for b in range(n_b)
                 for x in range(n_x)]
        atoms += [(i, other, b, -1, k) for i in range(n_i) for b in range(n_b) for k in range(n_k) if k != long_term]
        ai, aj, ab, ax, ak = np.array(atoms).T

        def on(values, n, at):                     # atoms with attribute == at (all for a 計)
            return np.ones(len(values), bool) if at == n else values == at
        masks, self.cells = [], []
        for idx in np.ndindex(*detail.counts.shape):
            i, j, b = idx
            masks.append(on(ai, n_i, i) & on(aj, n_j, j) & on(ab, n_b, b))
            self.cells.append((0, _Cell(2, idx, None, i == n_i or j == n_j or b == n_b)))
        for idx in np.ndindex(*nat_t.counts.shape):
            i, k = idx
            masks.append(on(ai, n_i, i) & on(ak, n_k, k))
            self.cells.append((0, _Cell(0, idx, None, i == n_i or k == n_k)))
        for idx in np.ndindex(*status.counts.shape):
            j, x = idx
            masks.append((aj != other if j == other else aj == j) & on(ax, n_x, x))
            self.cells.append((0, _Cell(1, idx, None, j == other or x == n_x)))
        rows = np.concatenate([np.full(int(m.sum()), r) for r, m in enumerate(masks)])
        cols = np.concatenate([np.flatnonzero(m) for m in masks])
        self.A = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(masks), len(atoms)))
        self.fam = fam
        self.val = np.array([fam[c.table].counts[c.index] for _, c in self.cells], dtype=float)
        self.hid = np.array([bool(fam[c.table].hidden[c.index]) for _, c in self.cells])
        total = {(2, (n_i, n_j, n_b)), (0, (n_i, n_k))}              # the foreign total: in the summary
        self.fixed = np.array([(c.table, c.index) in total for _, c in self.cells])
        self.upper = _upper([c for _, c in self.cells], self.val)


def protect(fam, protection: int, threshold: int) -> tuple[int, list, int, int]:
    """Audit and fix the foreign tables (their ``hidden`` masks are updated): (programs, cells
    still disclosed as (table, index, true, lo, hi), hidden 0s shown, passes)."""
    _, programs, shown, passes, disclosed = audit_rounds(lambda: Foreign(fam), fam, protection, threshold)
    return programs, disclosed, shown, passes


def protect_into(audit: Audit, tables: list, protection: int, threshold: int) -> None:
    """The foreign family of a release's ``tables`` audited and fixed, into ``audit`` (the linked
    tables' audit line and figures)."""
    import time
    fam = family(tables)
    if not fam:
        return
    t0, before = time.perf_counter(), int(sum(t.hidden.sum() for t in fam))
    audit.tables += [t.title.split("（")[0] for t in fam]
    programs, disclosed, shown, passes = protect(fam, protection, threshold)
    audit.whole_passes += passes
    audit.take(fam, t0, before, programs, shown, disclosed)
