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

from .linked import Audit, _Cell, _upper, _Whole, family_into
from .stattable import UNKNOWN

#: The tables, in the order of :class:`Foreign`'s ``fam``.
FOREIGN = ("foreign_nationality", "foreign_status", "foreign_detail")
#: The city's 年齢階級 × 区分 × 男女, joined to the family when the release has it; its 計 block
#: (the 町域 family's city row) is never hidden here.
AGES, OWNED = "population_age_sex", (slice(None), -1, slice(None))
JAPANESE, FOREIGNER = "日本人住民", "外国人住民"
LONG_TERM = "中長期在留者"


def family(tables) -> list | None:
    by = {t.name: t for t in tables}
    if not all(n in by for n in FOREIGN):
        return None
    return [by[n] for n in FOREIGN] + ([by[AGES]] if AGES in by and by[AGES].threshold else [])


class Foreign(_Whole):
    """The foreign tables' program, in the shape :meth:`_Whole.audit` works on.  With the city's
    年齢階級 × 区分 × 男女 table (``population_age_sex``, fourth in ``fam``) it joins: its 外国人住民
    block counts the same persons by 5歳階級 × 男女, tied to the family by the 年齢3区分 × 男女 they
    share; its 日本人住民 block is 計 − 外国人住民.  Its 計 block is the 町域 family's city row
    (hidden or shown there, never here)."""

    def __init__(self, fam):
        from scipy import sparse
        nat_t, status, detail = fam[:3]
        ages = fam[3] if len(fam) > 3 else None
        nat = list(detail.axes[0][1])
        kinds = list(nat_t.axes[1][1])
        n_i, n_j, n_b = (len(detail.axes[k][1]) for k in range(3))      # without the 計 positions
        n_k, n_x = len(kinds), len(status.axes[1][1])
        if nat != list(nat_t.axes[0][1]) or list(detail.axes[1][1])[:-1] != list(status.axes[0][1]):
            raise ValueError("the foreign tables' categories disagree")
        sexes = list(status.axes[1][1])
        if ages is not None:
            sexes += [x for x in ages.axes[2][1] if x not in sexes]
        other, long_term = n_j - 1, kinds.index(LONG_TERM)     # the last 在留資格: 中長期在留者以外
        atoms = [(i, j, b, x, long_term) for i in range(n_i) for j in range(other) for b in range(n_b)
                 for x in range(len(sexes))]
        # the others' sex is in no foreign table; with the age table it is in that one
        their_sexes = range(len(sexes)) if ages is not None else [-1]
        atoms += [(i, other, b, x, k) for i in range(n_i) for b in range(n_b) for k in range(n_k) if k != long_term
                  for x in their_sexes]
        ai, aj, ab, ax, ak = np.array(atoms).T
        n = len(atoms)

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
        rows = [np.flatnonzero(m) for m in masks]
        coef = [np.ones(len(r)) for r in rows]
        values = [fam[c.table].counts[c.index] for _, c in self.cells]
        if len(sexes) > n_x:                       # a sex the 在留資格 table has no column for: none
            self.cells.append((0, _Cell(-1, (), None, True)))
            rows.append(np.flatnonzero((aj != other) & (ax >= n_x)))
            coef.append(np.ones(len(rows[-1])))
            values.append(0.0)
        if ages is not None:
            n = self._ages(ages, sexes, detail, ab, ax, n, rows, coef, values)
        r = np.concatenate([np.full(len(c), k) for k, c in enumerate(rows)])
        self.A = sparse.csr_matrix((np.concatenate(coef), (r, np.concatenate(rows))), shape=(len(rows), n))
        self.fam = fam
        self.val = np.array(values, dtype=float)
        self.hid = np.array([bool(fam[c.table].hidden[c.index]) if c.table >= 0 else False for _, c in self.cells])
        total = {(2, (n_i, n_j, n_b)), (0, (n_i, n_k))}              # the foreign total: in the summary
        owned = np.zeros(ages.counts.shape, bool) if ages is not None else None
        if ages is not None:
            owned[OWNED] = True                    # the 計 block, the grand total among it
        self.fixed = np.array([c.table < 0 or (c.table, c.index) in total or (c.table == 3 and owned[c.index])
                               for _, c in self.cells])
        self.upper = _upper([c for _, c in self.cells], self.val)
        # a secondary cell of the age table that no suppression carries to its interval (its 計 is
        # the 町域 family's) may stay hidden when not pinned, as for the tables audited alone
        self.secondary_floor = np.array([c.table == 3 for _, c in self.cells])

    def _ages(self, ages, sexes, detail, ab, ax, n, rows, coef, values) -> int:
        """The age table's cells over atoms of its own (区分 × 5歳階級 × 男女, after the family's
        atoms), and the facts tying its 外国人住民 block to the family: per 年齢3区分 × 男女, the sum
        of its 5歳階級 equals the family's atoms.  Returns the number of atoms."""
        bands, groups, a_sexes = (list(ages.axes[k][1]) for k in range(3))
        three = list(detail.axes[2][1])
        if groups[:2] != [JAPANESE, FOREIGNER] or len(groups) != 2:
            raise ValueError(f"the age table's 区分 are not {JAPANESE}/{FOREIGNER}: {groups}")
        of_band = [_three_band(label, three) for label in bands]
        base = n
        pos = {(g, b, s): base + k for k, (g, b, s) in enumerate(np.ndindex(2, len(bands), len(a_sexes)))}
        for idx in np.ndindex(*ages.counts.shape):
            b, g, s = idx
            cols = [pos[(gg, bb, ss)] for (gg, bb, ss) in pos
                    if g in (gg, 2) and b in (bb, len(bands)) and s in (ss, len(a_sexes))]
            rows.append(np.array(cols))
            coef.append(np.ones(len(cols)))
            values.append(ages.counts[idx])
            self.cells.append((0, _Cell(3, idx, None, b == len(bands) or g == 2 or s == len(a_sexes))))
        for k in range(len(three)):
            for x, label in enumerate(sexes):
                mine = np.flatnonzero((ab == k) & (ax == x))
                s = a_sexes.index(label) if label in a_sexes else None
                theirs = [pos[(1, b, s)] for b in range(len(bands)) if of_band[b] == k] if s is not None else []
                rows.append(np.concatenate([mine, np.array(theirs, dtype=int)]))
                coef.append(np.concatenate([-np.ones(len(mine)), np.ones(len(theirs))]))
                values.append(0.0)
                self.cells.append((0, _Cell(-1, (), None, True)))
        return base + len(pos)


def _three_band(label: str, three: list) -> int:
    """The 年齢3区分 (index into ``three``) of a 5歳階級 label.

    >>> three = ["年少人口（0～14歳）", "生産年齢人口（15～64歳）", "老年人口（65歳以上）", "不詳"]
    >>> [_three_band(x, three) for x in ("10～14歳", "60～64歳", "100歳以上", "不詳")]
    [0, 1, 2, 3]
    """
    if label == UNKNOWN:
        return three.index(UNKNOWN)
    low = int(label.split("～")[0].rstrip("歳以上"))
    return 0 if low < 15 else 1 if low < 65 else 2


def protect_into(audit: Audit, tables: list, protection: int, threshold: int) -> None:
    """The foreign family of a release's ``tables`` audited and fixed, into ``audit`` (the linked
    tables' audit line and figures)."""
    fam = family(tables)
    if fam:
        family_into(audit, fam, lambda: Foreign(fam), [t.title.split("（")[0] for t in fam], protection, threshold)
