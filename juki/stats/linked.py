"""Linked tables suppressed together, and the attacker's linear program run before publishing.

The 町域 tables of a release share their persons: 町域 × 年齢階級 × 男女 (``population_choiki``),
町域 × 各歳 (``single_ages_choiki``) and 町域 × 年齢3区分 (``three_bands_choiki``).  年少人口 is
0〜4 + 5〜9 + 10〜14; a band is the sum of its single ages; 計 of every table is the same
町域 total.  Suppressing each table on its own (primary 1–2 and the line rule) leaves cells that
a linear program over all three pins exactly.  Here the three are one problem, 町域 by 町域:

* the unknowns are the **atoms** of one 町域, persons by single age (0–99, 100歳以上, 不詳) ×
  sex (男, 女, 不詳); every cell of the three tables is a sum of atoms;
* the **audit** (HiGHS, through ``highspy``) minimises and maximises every
  hidden cell subject to every published cell of the three tables and non-negativity -- what an
  attacker can do with the release;
* a hidden cell is **protected** when that range covers its true value ± ``protection`` (the
  policy's; default 2, clipped at 0) and, for a primary cell (1 to the threshold), includes 0,
  so not even the existence of a person is disclosed;
* where a cell is not protected, the published cell that shares the most of its atoms (the
  smallest such, never a 町域 total first) is suppressed too, and the 町域 audited again;
  the tables' own line rule runs again over the result, until nothing changes.

:func:`protect_release` returns an :class:`Audit` (cells audited, linear programs solved, cells
added, seconds, and any cell still disclosed); a release is refused when that list is not empty.
With the monthly 町丁字 table in the release, it joins the problem (with households_choiki): a
町域's unknowns are then its atoms, its households and each of its towns' eleven columns, tied by
facts the release states without a cell -- its towns' 当月の人口 add up to the 町域 total and their
世帯数 to households_choiki, each town's row adds up (前月 + 増 − 減 = 当月), and no town has more
households than residents.  Published alone beside the linked 町域 tables, the 町丁字 table pinned
55 of its own x cells and 245 of the 町域 tables' (3,000 residents).

Which cell to hide next is read off the program that found a range too narrow: a published cell
whose equality holds that bound (a nonzero dual), else one sharing unknowns with the cell, else
one sharing unknowns with the smallest fact that ties it to others.

The programs run 町域 by 町域 first (small, and they do most of the suppressing), then over the
whole family at once: every 町域's unknowns side by side and the city total row of every column,
which links all 町域 (a 3,000-resident city: 71 cells the 町域 programs passed were narrowed
through the 計 row).  That pass drops the atoms a published 0 fixes, and takes every solution
the solver returns as a witness for all cells at once, so most cells need no program; where a
cell is narrowed, one more program (:class:`_Repair`) finds the cheapest set of published cells
whose values, let go, carry it to the end of its interval, and hides them together.  (Hiding
one published cell at a time -- the one holding the bound -- walked chains across 町域: at
500,000 residents 9,059 cells added and 608 s, against 74 s the day before.)  The city's total
population is never hidden.

A hidden 0 that the published cells pin at 0 is published again: the release already says it,
and an equality the program implies changes no other range.  (Protecting it instead -- a 0 of
不詳 age, say, under a city 計 of 0 -- can only hide more and more cells for nothing.)

The foreign residents' tables with the city's 年齢階級 × 区分 × 男女 (:mod:`.linked_foreign`)
and the movement tables of the period (:mod:`.linked_movements`) are families of their own,
audited the same way; every other table with an x on its own (:mod:`.linked_single`).  Not in
any program (yet): the links between families (the city row of this family is the age table's
計 block, free there when hidden here) and the survey's stock tables of 1 January beside the
release date's; duplicated cells are kept the same by :func:`same_cells_same_fate` and each table
has the line rule.  Last month's published release is in the program (:mod:`.earlier`): each
town's 前月の人口 it showed, and each 町域's sum of 前月 where it showed the 町域 total, are facts;
a 前月 it hid stays hidden.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .stattable import UNKNOWN

AGES = 102          # 0..99, 100歳以上, 不詳
SEXES = 3           # 男, 女, 不詳
PER = AGES * SEXES  # a 町域's atoms
#: Cells hidden for one narrowed cell before the release gives up on it (and is refused): a
#: chain that long means the cell cannot be protected by hiding more.
MAX_TRIES = 40
FAMILY = ("population_choiki", "single_ages_choiki", "three_bands_choiki")
#: Linked as well when the release has them: the 町丁字 table (its towns' 当月の人口 add up to their
#: 町域's total, its 世帯数 to households_choiki, and in each row 前月 + 増 − 減 = 当月).
TOWNS = ("monthly_town", "households_choiki")


class Family(tuple):
    """The linked tables in the order of FAMILY (+ TOWNS), and for the 町丁字 table the rows of
    each 町域's towns (the 計 row for the total row).  A 町域's unknowns are its atoms, then,
    with the 町丁字 table, its 世帯数 and each town's columns."""
    towns: dict = {}
    town_area: dict = {}
    ncol: int = 0
    earlier_towns: dict = {}    # town row -> its 前月, shown by last month's release (a fact)
    earlier_areas: dict = {}    # 町域 -> the sum of its towns' 前月, shown by last month's release

    def width(self, area: int) -> int:
        return PER + (1 + self.ncol * len(self.towns[area]) if len(self) > len(FAMILY) else 0)


def family(tables) -> Family:
    """The linked tables of a release (the 町丁字 ones when present): the three 町域 tables first."""
    from .. import codes
    from .population import AREA_LEVELS
    by = {t.name: t for t in tables}
    fam = Family([by[n] for n in FAMILY] + ([by[n] for n in TOWNS] if all(n in by for n in TOWNS) else []))
    if len(fam) == len(FAMILY):
        return fam
    pop, mt = fam[0], fam[3]
    areas = {label: k for k, label in enumerate(pop.axes[0][1])}
    t = codes.towns()
    choiki = dict(zip(t[AREA_LEVELS["town"][0]], t[AREA_LEVELS["choiki"][0]]))
    choiki[UNKNOWN] = UNKNOWN
    n_areas = pop.counts.shape[0] - 1
    fam.ncol = len(mt.axes[1][1])
    fam.town_area = {r: areas[choiki[label]] for r, label in enumerate(mt.axes[0][1]) if choiki.get(label) in areas}
    fam.towns = {k: [r for r, a in fam.town_area.items() if a == k] for k in range(n_areas)}
    fam.towns[n_areas] = [mt.counts.shape[0] - 1]
    return fam


@dataclass
class Audit:
    tables: list
    areas: int = 0
    hidden_cells: int = 0
    programs: int = 0
    added: int = 0
    seconds: float = 0.0
    disclosed: list = field(default_factory=list)     # (table, area, label, true, lo, hi)
    explorer_programs: int = 0                         # of which with the explorer's answers as well
    whole_passes: int = 0                              # programs over the whole family, rounds
    pinned: list = field(default_factory=list)         # (table, area, label, true): pinned with the explorer's answers
    shown: int = 0                                     # hidden 0s published again: the release pins them anyway
    single_tables: int = 0                             # other tables with an x, each audited on its own
    unaudited: list = field(default_factory=list)      # of those, tables whose margins are not sums (line rule only)
    limited: list = field(default_factory=list)        # (table, index, true, lo, hi): secondary, not pinned, short of ±p
    earlier: object = None                             # last month's release, when its figures were facts
    earlier_missing: object = None                     # the date last month's release was sought for, not found

    def take(self, tables: list, t0: float, before: int, programs: int, shown: int, disclosed: list) -> None:
        """Add the audit of a further family of ``tables`` (hidden cells ``before`` it, started at
        ``t0``; disclosed cells as (table, index, true, lo, hi))."""
        self.programs += programs
        self.shown += shown
        self.disclosed += [(name, None, idx, v, lo, hi) for name, idx, v, lo, hi in disclosed]
        hidden = int(sum(t.hidden.sum() for t in tables))
        self.hidden_cells += hidden
        self.added += hidden - before
        self.seconds += time.perf_counter() - t0

    @property
    def ok(self) -> bool:
        return not self.disclosed and not self.pinned

    def line(self) -> str:
        state = "適合" if self.ok else "不適合"
        return (f"連結表の秘匿監査（{'・'.join(self.tables)}）: {state} — {self.areas}町域、秘匿セル {self.hidden_cells:,}、"
                f"線形計画 {self.programs:,}回（うち分析者向け集計表の値を加えたもの {self.explorer_programs:,}回）"
                + (f"、ほかに単独で監査した表 {self.single_tables}" if self.single_tables else "")
                + (f"（行・列の合計が内訳の和でないため線の規則のみ: {'・'.join(self.unaudited)}）" if self.unaudited else "")
                + f"、追加秘匿 {self.added:,}"
                + (f"（ほかのセルから0と分かるため 0 を表示したセル {self.shown:,}）" if self.shown else "")
                + (f"、前月（{self.earlier.date}）の公表値 {len(self.earlier.facts):,}町丁字・"
                   f"{len(self.earlier.area_facts):,}町域を既知として監査" if self.earlier is not None else "")
                + (f"（記録の遡及修正で前月の公表値と異なる前月の人口 {self.earlier.differ:,}町丁字）"
                   if self.earlier is not None and self.earlier.differ else "")
                + (f"、前月（{self.earlier_missing}）の公表された町丁字別の表なし" if self.earlier_missing else "")
                + (f"、保護幅に届かないが一意に定まらない関連秘匿セル {len(self.limited):,}" if self.limited else "")
                + f"、{self.seconds:.1f}秒"
                + ("" if self.ok else f"、推定可能なセル {len(self.disclosed) + len(self.pinned)}"))


def _age_index(label: str) -> list[int]:
    """Atom ages of a label of any of the three tables' age axes."""
    if label == UNKNOWN:
        return [AGES - 1]
    if label.endswith("以上"):
        return [100]
    if "～" in label:                      # 0～4歳, and 年少人口（0～14歳）
        inner = label[label.find("（") + 1:label.find("）")] if "（" in label else label
        lo, hi = inner.rstrip("歳").replace("歳", "").split("～")
        return list(range(int(lo), int(hi) + 1)) if hi else list(range(int(lo), 101))
    if label.startswith("老年人口"):
        return list(range(65, 101))
    return [int(label.rstrip("歳"))]


def _three_band_ages(label: str) -> list[int]:
    if label == UNKNOWN:
        return [AGES - 1]
    if "65歳以上" in label:
        return list(range(65, 101))
    return _age_index(label)


@dataclass
class _Cell:
    table: int            # -1: a fact the release states without a cell (value ``value``), never hidden
    index: tuple          # index into the table's arrays
    atoms: np.ndarray     # coefficients over the 町域's unknowns (Family.width)
    margin: bool
    value: float = 0.0
    at_least: bool = False  # a fact ``atoms >= value`` (every household has a member), not an equality
    keep: bool = False      # shown by an earlier release: known to the reader, never hidden here


def _cells(tables, area: int) -> list[_Cell]:
    """Every cell of one 町域 (row ``area``) of the family, with the atoms it sums."""
    out = _age_sex_cells(tables, area)
    w = tables.width(area) if isinstance(tables, Family) else PER
    for c in out:
        c.atoms = np.concatenate([c.atoms.astype(float), np.zeros(w - PER)])
    if w > PER:
        out += _town_cells(tables, area, w)
    return out


def _town_cells(fam: Family, area: int, w: int) -> list[_Cell]:
    """The 町丁字 table's cells of one 町域's towns, its households_choiki cell, and what ties them
    to the 町域: 当月の人口 and 世帯数 add up over its towns, and each row's 前月 + 増 − 減 = 当月
    (facts, with the true difference as their value: 0 for consistent records)."""
    from .official import MONTHLY
    pop, mt, hh = fam[0], fam[3], fam[4]
    n_areas = pop.counts.shape[0] - 1
    labels = list(mt.axes[1][1])
    sign = np.array([MONTHLY[c] for c in labels], dtype=float)
    cur, hcol = labels.index("当月の人口"), labels.index("世帯数")
    prev = labels.index("前月の人口")
    keep = mt.keep if mt.keep is not None else np.zeros(mt.counts.shape, bool)

    def unit(*cols):
        v = np.zeros(w)
        v[list(cols)] = 1.0
        return v
    out = [_Cell(4, (area,), unit(PER), area == n_areas)]
    pop_link, hh_link = -unit(*range(PER)), -unit(PER)
    for k, r in enumerate(fam.towns[area]):
        base = PER + 1 + k * fam.ncol
        for j in range(fam.ncol):
            out.append(_Cell(3, (r, j), unit(base + j), area == n_areas, keep=bool(keep[r, j])))
        pop_link[base + cur], hh_link[base + hcol] = 1.0, 1.0
        if area < n_areas:
            row = np.zeros(w)
            row[base:base + fam.ncol] = sign
            out.append(_Cell(-1, (), row, True, float(sign @ mt.counts[r, :fam.ncol])))
            member = np.zeros(w)          # every household has a member: 当月の人口 >= 世帯数
            member[base + cur], member[base + hcol] = 1.0, -1.0
            out.append(_Cell(-1, (), member, True, 0.0, at_least=True))
            if r in fam.earlier_towns:    # last month's release showed it as its 当月の人口
                out.append(_Cell(-1, (), unit(base + prev), True, float(fam.earlier_towns[r])))
    if area < n_areas and fam.towns[area]:
        rows = fam.towns[area]
        if area in fam.earlier_areas:     # ... and this 町域's total, the sum of its towns' 前月
            out.append(_Cell(-1, (), unit(*(PER + 1 + k * fam.ncol + prev for k in range(len(rows)))), True,
                             float(fam.earlier_areas[area])))
        out.append(_Cell(-1, (), pop_link, True, float(mt.counts[rows, cur].sum() - pop.counts[area, -1, -1])))
        out.append(_Cell(-1, (), hh_link, True, float(mt.counts[rows, hcol].sum() - hh.counts[area])))
    return out


def _age_sex_cells(tables, area: int) -> list[_Cell]:
    """The three 町域 tables' cells of one 町域, over its atoms (age × sex)."""
    out = []
    pop, single, three = tables[:3]
    sexes = list(pop.axes[2][1])
    sex_atoms = {"男": [0], "女": [1], UNKNOWN: [2]}
    if UNKNOWN not in sexes:              # no 不詳 column: the release says there is nobody of unknown sex
        m = np.zeros((AGES, SEXES), bool)
        m[:, 2] = True
        out.append(_Cell(-1, (), m.ravel(), True))
    bands = list(pop.axes[1][1])
    for b in range(len(bands) + 1):
        ages = list(range(AGES)) if b == len(bands) else _age_index(bands[b])
        for s in range(len(sexes) + 1):
            sx = [0, 1, 2] if s == len(sexes) else sex_atoms.get(sexes[s], [2])
            m = np.zeros((AGES, SEXES), bool)
            m[np.ix_(ages, sx)] = True
            out.append(_Cell(0, (area, b, s), m.ravel(), b == len(bands) or s == len(sexes)))
    labels = list(single.axes[1][1])
    for g in range(len(labels) + 1):
        m = np.zeros((AGES, SEXES), bool)
        m[list(range(AGES)) if g == len(labels) else _age_index(labels[g]), :] = True
        out.append(_Cell(1, (area, g), m.ravel(), g == len(labels)))
    labels = list(three.axes[1][1])
    for k in range(len(labels) + 1):
        m = np.zeros((AGES, SEXES), bool)
        m[list(range(AGES)) if k == len(labels) else _three_band_ages(labels[k]), :] = True
        out.append(_Cell(2, (area, k), m.ravel(), k == len(labels)))
    return out


class _Ranges:
    """The attacker's program for one 町域: every published cell an equality, atoms >= 0; the
    range of any hidden cell is one minimisation and one maximisation over the same model
    (HiGHS through highspy, warm-started between objectives)."""

    def __init__(self, A, b, bounds=None, upper=None):
        from scipy import sparse
        n = A.shape[1]
        lo = np.asarray(b, dtype=float)
        hi = lo if upper is None else np.asarray(upper, dtype=float)
        if bounds:                       # rows lo <= atoms <= hi besides the equalities
            A = np.vstack([A, [np.concatenate([m, np.zeros(n - len(m))]) for m, _, _ in bounds]])
            lo = np.concatenate([lo, [a for _, a, _ in bounds]])
            hi = np.concatenate([hi, [z for _, _, z in bounds]])
        self.h = _highs_model(sparse.csc_matrix(np.asarray(A, dtype=float)), lo, hi)
        self.equalities = len(b)
        self.n = n
        self.idx = np.arange(n, dtype=np.int32)
        self.solutions: list = []        # every optimum found: a release the attacker cannot rule out

    def _opt(self, c) -> float | None:
        self.h.changeColsCost(self.n, self.idx, np.asarray(c, dtype=float))
        self.h.run()
        import highspy
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:     # the true data is a solution: a bug
            raise RuntimeError("the linked tables' program is infeasible: the model disagrees with the data")
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        self.solutions.append(np.asarray(self.h.getSolution().col_value))
        return self.h.getInfo().objective_function_value

    def witness(self, A, lo, hi) -> None:
        """Widen ``lo``/``hi`` (per cell, rows of ``A``) to every solution found so far: each is a
        release consistent with what is published, and stays one when less is published."""
        for x in self.solutions:
            v = A @ x
            np.minimum(lo, v, out=lo)
            np.maximum(hi, v, out=hi)
        self.solutions.clear()

    def range(self, c) -> tuple[float, float]:
        return self.low(c), self.high(c)

    def binding(self) -> np.ndarray:
        """The equalities (published cells, in the order given) with a nonzero dual in the last
        solution: those hold the bound just found, and hiding one of them can move it."""
        dual = np.abs(np.asarray(self.h.getSolution().row_dual))[:self.equalities]
        return np.flatnonzero(dual > 1e-9)

    def low(self, c) -> float:
        lo = self._opt(c)
        return 0.0 if lo is None else lo

    def high(self, c) -> float:
        hi = self._opt(-np.asarray(c, dtype=float))
        return float("inf") if hi is None else -hi


def _quiet_highs(highspy):
    """A Highs object, without the banner its first construction prints on the C level."""
    import os
    import sys
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _highs_model(M, b, upper=None, **options):
    """A quiet HiGHS model: the rows of the sparse matrix ``M`` equal ``b`` (or lie between ``b``
    and ``upper``), every column >= 0."""
    import highspy
    h = _quiet_highs(highspy)
    for k, v in {"output_flag": False, **options}.items():
        h.setOptionValue(k, v)
    M = M.tocsc()
    n = M.shape[1]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, M.shape[0]
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = np.asarray(b, dtype=float)
    lp.row_upper_ = lp.row_lower_ if upper is None else np.asarray(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
        M.indptr.astype(np.int32), M.indices.astype(np.int32), M.data.astype(float))
    h.passModel(lp)
    return h


def protected(true: int, lo: float, hi: float, p: int, threshold: int) -> bool:
    """Whether an attacker's range [lo, hi] for a hidden cell of value ``true`` leaves it protected.

    >>> protected(1, 0, 3, 2, 2), protected(1, 0, 2, 2, 2), protected(2, 1, 6, 2, 2), protected(40, 37, 44, 2, 2)
    (True, False, False, True)
    """
    return _low_ok(true, lo, p, threshold) and _high_ok(true, hi, p)


_EPS = 1e-6


def interval(true, p: int, threshold: int):
    """(lowest, highest) the attacker's range must reach for a hidden cell of value ``true``
    (numbers or arrays): true ± p, and down to 0 for a small cell (1 to ``threshold``).

    >>> interval(1, 2, 2), interval(5, 2, 2), interval(0, 2, 2)
    ((0, 3), (3, 7), (0, 2))
    >>> [a.tolist() for a in interval(np.array([1, 5]), 2, 2)]
    [[0, 3], [3, 7]]
    """
    if np.ndim(true):
        return np.where((true >= 1) & (true <= threshold), 0, np.maximum(0, true - p)), true + p
    return (0 if 1 <= true <= threshold else max(0, true - p)), true + p


def _low_ok(true: int, lo: float, p: int, threshold: int) -> bool:
    """The lower end of the attacker's range leaves the cell protected (0 open for a small cell)."""
    return lo <= max(0, true - p) + _EPS and not (1 <= true <= threshold and lo > _EPS)


def _high_ok(true: int, hi: float, p: int) -> bool:
    return hi >= true + p - _EPS


def _area(tables, area: int):
    """One 町域's cells, their atoms (rows of ``A``), values and hidden flags."""
    cells = _cells(tables, area)
    A = np.array([c.atoms for c in cells], dtype=float)
    val = np.array([tables[c.table].counts[c.index] if c.table >= 0 else c.value for c in cells], dtype=float)
    hid = np.array([bool(tables[c.table].hidden[c.index]) if c.table >= 0 else False for c in cells])
    return cells, A, val, hid


def _upper(cells, val) -> np.ndarray:
    """The upper end of each cell's row: its value, or none for a fact ``>=``."""
    return np.where([c.at_least for c in cells], np.inf, val)


def _candidates(cells, A, hid, i: int):
    """The published cells of a table that share unknowns with cell ``i``; where none does, those
    sharing unknowns with the smallest fact (a cell of table -1) that ties ``i`` to others -- a
    town's cell is pinned through its row's 前月 + 増 − 減 = 当月 first, its 町域 total second.
    Returns them and the unknowns they were found through."""
    real = np.array([c.table >= 0 and not c.keep for c in cells])     # a kept cell is known, like a fact
    open_ = ~hid & real
    open_[i] = False
    return _sharers(np.abs(A), open_, ~real, i)


def _row(M, i: int) -> np.ndarray:
    r = M[i]
    return (r.toarray() if hasattr(r, "toarray") else np.asarray(r)).ravel()


def _sharers(absA, open_, is_fact, i: int):
    """The rows in ``open_`` sharing unknowns with row ``i`` of ``absA`` (dense or sparse);
    where none does, those sharing unknowns with the smallest fact row that shares one with it.
    Returns them and the unknowns they were found through."""
    mine = (_row(absA, i) > 0).astype(float)
    cand = np.flatnonzero(open_ & (absA @ mine > 0))
    if len(cand):
        return cand, mine
    facts = np.flatnonzero(is_fact & (absA @ mine > 0))
    for f in sorted(facts, key=lambda f: np.count_nonzero(_row(absA, f))):
        reach = (_row(absA, f) > 0).astype(float)
        cand = np.flatnonzero(open_ & (absA @ reach > 0))
        if len(cand):
            return cand, reach
    return cand, mine


def _holding(cells, A, hid, i: int, held):
    """The candidates to hide for cell ``i``: the published cells of a table whose equalities held
    the bound found (nonzero duals), else :func:`_candidates`."""
    real = np.array([c.table >= 0 and not c.keep for c in cells])
    held = np.asarray([j for j in held if real[j] and not hid[j] and j != i], dtype=int)
    if len(held):
        return held, (np.abs(A[i]) > 0).astype(float)
    return _candidates(cells, A, hid, i)


def _to_hide(cells, A, val, cand, reach) -> int:
    """Of the published cells ``cand`` that share unknowns with a cell (``reach``), the one to
    hide next: not a margin, not a 0, the smallest, sharing most of its unknowns with it."""
    share = (np.abs(A[cand]) @ reach) / np.abs(A[cand]).sum(axis=1)
    return int(cand[min(range(len(cand)), key=lambda k: (cells[cand[k]].margin, val[cand[k]] == 0,
                                                         val[cand[k]], -share[k]))])


def audit_area(tables, area: int, p: int, threshold: int, fix: bool = True) -> tuple[int, list, list]:
    """Audit one 町域: (programs solved, the hidden cells at the end, cells still disclosed).

    With ``fix``, a cell found unprotected makes the published cell sharing most of its atoms
    hidden too, and that cell is audited again.  Publishing less only widens every range, so a
    cell once found protected stays protected and is not audited twice."""
    cells, A, val, hid = _area(tables, area)
    programs, safe, disclosed, shown = 0, set(), [], []
    todo = [int(i) for i in np.flatnonzero(hid)]
    model = None
    # witnesses: every optimum of any program is a release consistent with what is published (and
    # stays one when less is published), so the range of every cell over them is inside its true
    # range; a cell whose witnessed range already leaves it protected needs no program of its own
    wlo, whi = val.copy(), val.copy()

    while todo:
        i = todo.pop(0)
        true = int(val[i])
        lo, hi = wlo[i], whi[i]
        held = np.array([], dtype=int)         # the published cells holding a bound found too tight
        if not _low_ok(true, lo, p, threshold) or not _high_ok(true, hi, p):
            if model is None:
                rows = np.flatnonzero(~hid)
                model = _Ranges(A[rows], val[rows], upper=_upper(cells, val)[rows])
            if not _low_ok(true, lo, p, threshold):
                lo = model.low(A[i])
                programs += 1
                if not _low_ok(true, lo, p, threshold):
                    held = rows[model.binding()]
                model.witness(A, wlo, whi)
            if _low_ok(true, lo, p, threshold) and not _high_ok(true, max(hi, whi[i]), p):
                hi = model.high(A[i])
                programs += 1
                if not _high_ok(true, max(hi, whi[i]), p):
                    held = rows[model.binding()]
                model.witness(A, wlo, whi)
            hi = max(hi, whi[i])
        if protected(true, lo, hi, p, threshold):
            safe.add(i)
            continue
        if true == 0 and hi <= 1e-6 and fix and cells[i].table >= 0:
            hid[i] = False               # pinned at 0 by what is published: hiding it hides nothing
            shown.append(cells[i])
            model = None                 # published from now on: its equality binds again
            continue
        cand, reach = _holding(cells, A, hid, i, held)
        if not fix or not len(cand):
            disclosed.append((cells[i], val[i], lo, hi))
            continue
        j = _to_hide(cells, A, val, cand, reach)
        hid[j] = True
        model = None                     # one equality fewer: the model is built again
        todo = [i, j] + todo
    hidden = [c for c, h in zip(cells, hid) if h and c.table >= 0]
    return programs, hidden, disclosed, shown


def unpinned_area(tables, area: int, bounds: list) -> tuple[int, list, list]:
    """One 町域 with what the analysts' tables say as well: ``bounds`` are rows (atoms, lo, hi),
    the ranges the explorer's perturbed finest cells leave for their true counts.  No hidden
    cell may be pinned to one value by the published cells and those ranges together; where one
    is, the published cell sharing most of its atoms is hidden too.  (The protection interval of
    :func:`protected` cannot hold here: a perturbed value of 3 or more already says that somebody
    is in the cell, which is the cell-key method's known limit.)  Returns (programs, the hidden
    cells at the end, cells still pinned)."""
    cells, A, val, hid = _area(tables, area)
    programs, pinned = 0, []
    todo = [int(i) for i in np.flatnonzero(hid)]
    wlo, whi = val.copy(), val.copy()
    model = None
    while todo:
        i = todo.pop(0)
        if whi[i] - wlo[i] >= 0.5:
            continue
        if model is None:
            rows = np.flatnonzero(~hid)
            model = _Ranges(A[rows], val[rows], bounds, _upper(cells, val)[rows])
        for sign in (1, -1):
            bound = (model.low if sign == 1 else model.high)(A[i])      # inf: unbounded above
            wlo[i], whi[i] = min(wlo[i], bound), max(whi[i], bound)
            programs += 1
            held = rows[model.binding()]
            model.witness(A, wlo, whi)
            if whi[i] - wlo[i] >= 0.5:
                break
        if whi[i] - wlo[i] >= 0.5:
            continue
        cand, reach = _holding(cells, A, hid, i, held)
        if not len(cand):
            pinned.append((cells[i], val[i]))
            continue
        j = _to_hide(cells, A, val, cand, reach)
        hid[j] = True
        model = None
        todo = [i, j] + todo
    return programs, [c for c, h in zip(cells, hid) if h and c.table >= 0], pinned


def explorer_bounds(tables, finest, ptable, width: int = 5) -> dict:
    """Per 町域 row of the family: (atoms, lo, hi) of every (5歳階級 × 性別) group of the explorer's
    perturbed finest cells -- the true count lies in the sum of their pre-images."""
    from .tablebuilder import band_label
    areas = {label: k for k, label in enumerate(tables[0].axes[0][1])}
    sex_atom = {"男": 0, "女": 1}
    out: dict = {}
    for (choiki, band, sex), part in finest.groupby(["choiki", "band", "sex"]):
        k = areas.get(choiki)
        if k is None:
            continue
        lo = hi = 0
        for q in part["p"].tolist():
            a, b = ptable.preimage(int(q))
            lo, hi = lo + a, hi + b
        m = np.zeros((AGES, SEXES), bool)
        m[np.ix_([AGES - 1] if band < 0 else _age_index(band_label(int(band), width)), [sex_atom.get(sex, 2)])] = True
        out.setdefault(k, []).append((m.ravel(), lo, hi))
    return out


class _Whole:
    """The attacker's program over the whole family at once: the atoms of every 町域 side by
    side, each 町域's cells, and the city total row (the sum over 町域) of every column.  Atoms
    that a published 0 covers are fixed at 0 and left out, which is what makes the model small
    enough (a 20,000-resident city: 32,742 atoms, 7,148 left)."""

    #: Whether a secondary cell (above the threshold) that no suppression can carry to its
    #: interval may stay hidden when it is not pinned (tables audited on their own); the linked
    #: families hold every hidden cell to the interval.  An array: per cell.
    secondary_floor = False

    def __init__(self, fam):
        from scipy import sparse
        fam = fam if isinstance(fam, Family) else Family(fam)
        n_areas = fam[0].counts.shape[0] - 1
        widths = [fam.width(a) if len(fam) > len(FAMILY) else PER for a in range(n_areas)]
        offset = np.concatenate([[0], np.cumsum(widths)])
        total = [np.array([offset[a] + j for a in range(n_areas)]) for j in range(PER)]   # total row -> columns
        if len(fam) > len(FAMILY):
            total.append(offset[:-1] + PER)
            total += [np.array([offset[a] + PER + 1 + k * fam.ncol + j for a in range(n_areas)
                                for k in range(len(fam.towns[a]))], dtype=int) for j in range(fam.ncol)]
        rows, cols, coef, self.cells = [], [], [], []
        vals, hid = [], []
        for area in range(n_areas + 1):
            for c in _cells(fam, area):
                j = np.flatnonzero(c.atoms)
                if area == n_areas:       # the total row: the same unknowns in every 町域 (town)
                    parts = [total[x] for x in j]
                    w = np.concatenate([np.full(len(t), c.atoms[x]) for x, t in zip(j, parts)])
                    j = np.concatenate(parts)
                else:
                    w, j = c.atoms[j], offset[area] + j
                rows.append(np.full(len(j), len(self.cells)))
                cols.append(j)
                coef.append(w)
                self.cells.append((area, c))
                vals.append(fam[c.table].counts[c.index] if c.table >= 0 else c.value)
                hid.append(bool(fam[c.table].hidden[c.index]) if c.table >= 0 else False)
        r, k = np.concatenate(rows), np.concatenate(cols)
        self.A = sparse.csr_matrix((np.concatenate(coef), (r, k)), shape=(len(self.cells), int(offset[-1])))
        self.val = np.array(vals, dtype=float)
        self.hid = np.array(hid)
        self.fam = fam
        # never hidden here: what the release says without a cell, and the city's total population
        # (the 計 of 計 of the 町域 tables, and the 町丁字 table's total 当月の人口, the same number)
        city = np.array([area == n_areas and c.table >= 0 and self.A[i].nnz == n_areas * PER
                         for i, (area, c) in enumerate(self.cells)])
        self.fixed = np.array([c.table < 0 or c.keep for _, c in self.cells]) | city
        if len(fam) > len(FAMILY):
            cur = list(fam[3].axes[1][1]).index("当月の人口")
            self.fixed |= np.array([area == n_areas and c.table == 3 and c.index[1] == cur for area, c in self.cells])
        self.upper = _upper([c for _, c in self.cells], self.val)

    def audit(self, p: int, threshold: int, fix: bool, seen=None, repair=None) -> tuple[int, list]:
        """(programs solved, hidden cells still disclosed).  Every solution the solver returns
        is a release the attacker cannot rule out, so a cell whose values over the solutions so
        far already span its protection interval needs no program of its own.  ``repair`` is an
        earlier pass's :class:`_Repair` over the same cells, kept warm (a release makes several
        passes, and a cold start of the repair costs far more than a warm one)."""
        programs, disclosed = 0, []
        lo_seen, hi_seen = self.val.copy(), self.val.copy()      # the true data is one solution
        if seen is not None and seen[0].shape == lo_seen.shape:
            # solutions of an earlier pass: consistent with more published cells than now, so
            # still releases the attacker cannot rule out
            np.minimum(lo_seen, seen[0], out=lo_seen)
            np.maximum(hi_seen, seen[1], out=hi_seen)
        self.seen = (lo_seen, hi_seen)
        todo = [int(i) for i in np.flatnonzero(self.hid)]
        self.shown, self.limited = [], []
        tries: dict = {}
        model = None
        if repair is not None and not repair.fits(self):
            repair = None
        if repair is not None:
            repair.sync(self.hid)
        self.repair = repair
        if todo:                 # a few programs pushing every hidden cell at once, each a random way
            model = _Model(self.A, self.val, self.hid, self.upper)
            programs += self._spread(model, todo, lo_seen, hi_seen)
            programs += self._push(model, todo, lo_seen, hi_seen, p, threshold)
        while todo:
            i = todo.pop(0)
            v = int(self.val[i])
            want_lo, want_hi = interval(v, p, threshold)
            if lo_seen[i] <= want_lo + 1e-6 and hi_seen[i] >= want_hi - 1e-6:
                continue
            if model is None:
                model = _Model(self.A, self.val, self.hid, self.upper)
            lo, hi = lo_seen[i], hi_seen[i]
            for sign in ((1,) if lo > want_lo + 1e-6 else ()) + ((-1,) if hi < want_hi - 1e-6 else ()):
                x = model.extreme(i, sign)
                programs += 1
                if x is None:                  # unbounded (only a maximum can be)
                    hi_seen[i] = np.inf
                    continue
                self._widen(x, lo_seen, hi_seen)
            if protected(v, lo_seen[i], hi_seen[i], p, threshold):
                continue
            if v == 0 and hi_seen[i] <= 1e-6 and fix:
                # the published cells already say it is 0: hiding it hides nothing (publishing the
                # 0 adds an equality the program already implies, so no other range moves)
                self.hid[i] = False
                _, c = self.cells[i]
                self.fam[c.table].hidden[c.index] = False
                self.shown.append(i)
                if repair is not None:         # published from now on: its equality binds again
                    repair.bind(i)
                if not model.bind(i):
                    model = None
                continue
            tries[i] = tries.get(i, 0) + 1
            if not fix or tries[i] > MAX_TRIES:
                disclosed.append((i, lo_seen[i], hi_seen[i]))
                continue
            if repair is None:
                margin = np.array([c.margin for _, c in self.cells])
                repair = self.repair = _Repair(self.A, self.val, self.hid, self.fixed, self.upper,
                                               (1.0 + self.val) * np.where(margin, 2.0, 1.0))
            up = hi_seen[i] < want_hi - 1e-6
            new = repair.cells_to_hide(i, want_hi if up else want_lo, up)
            programs += 1
            if new is None and up and lo_seen[i] > want_lo + 1e-6:
                # no release reaches the top (a total that is never hidden bounds it: 日本人住民 =
                # 計 − 外国人住民 with 外国人住民 0): unpin it downwards at least
                new = repair.cells_to_hide(i, want_lo, False)
                programs += 1
            floor = self.secondary_floor if np.isscalar(self.secondary_floor) else self.secondary_floor[i]
            if new is None and floor and v > threshold and hi_seen[i] - lo_seen[i] >= 1 - 1e-6:
                # a secondary cell no suppression can carry to its interval (what pins the rest is
                # published by a linked family); it is not pinned, and the primary cells it hides
                # are audited in full
                self.limited.append(i)
                continue
            if not new:                        # no set of published cells can carry it (or the
                # programs disagree: it moves without hiding more); refused, never guessed
                disclosed.append((i, lo_seen[i], hi_seen[i]))
                continue
            for j in new:
                self.hid[j] = True
                _, c = self.cells[j]
                self.fam[c.table].hidden[c.index] = True
                repair.release(j)
                if model is not None and not model.release(j):   # a published 0 fixed atoms
                    model = None
            todo = [i, *new] + todo
        return programs, disclosed

    def limited_cells(self) -> list:
        """The secondary cells left short of their interval but not pinned (``secondary_floor``),
        as (table, index, true, lo, hi)."""
        return [(self.fam[c.table].name, c.index, int(self.val[i]), self.seen[0][i], self.seen[1][i])
                for i in getattr(self, "limited", ()) for _, c in [self.cells[i]]]

    def _spread(self, model, cells, lo_seen, hi_seen, programs: int = 4) -> int:
        """Witnesses for many cells at once: minimise a random signed sum of the hidden cells, so
        each solution pushes every cell up or down (a cell whose range over the solutions spans
        its protection interval needs no program of its own).  At 500,000 residents this leaves
        a fraction of the programs one per cell would take."""
        rng = np.random.default_rng(0)
        rows = self.A[cells][:, model.keep]
        for _ in range(programs):
            x = model.minimise(rows.T @ rng.choice([-1.0, 1.0], len(cells)))
            if x is not None:              # else unbounded: some cell can grow without limit
                self._widen(x, lo_seen, hi_seen)
        return programs

    def _widen(self, x, lo_seen, hi_seen) -> None:
        """Widen every cell's range seen so far to the solution ``x`` (a release the attacker
        cannot rule out)."""
        y = self.A @ x
        np.minimum(lo_seen, y, out=lo_seen)
        np.maximum(hi_seen, y, out=hi_seen)

    def _push(self, model, cells, lo_seen, hi_seen, p: int, threshold: int) -> int:
        """Witnesses aimed at the cells still short of their interval: minimise the sum of those
        short below, then maximise the sum of those short above, again over those left while a
        program takes any of them there (one solution moves many cells: at 500,000 residents
        8,682 -> 8,259 programs in all, the release 34.8 s -> 24.9 s, the same cells hidden)."""
        cells = np.asarray(cells)
        want_lo, want_hi = interval(self.val[cells], p, threshold)

        def short(sign):
            return lo_seen[cells] > want_lo + _EPS if sign > 0 else hi_seen[cells] < want_hi - _EPS
        programs = 0
        for sign in (1.0, -1.0):
            left = short(sign)
            while left.any():
                x = model.minimise(sign * np.asarray(self.A[cells[left]][:, model.keep].sum(axis=0)).ravel())
                programs += 1
                if x is None:                  # unbounded: single programs will say which
                    break
                self._widen(x, lo_seen, hi_seen)
                before, left = left.sum(), left & short(sign)
                if left.sum() == before:
                    break
        return programs


class _Model:
    """One HiGHS model of the whole family: published cells as equalities over the atoms that
    no published 0 fixes; ``extreme`` returns the atoms of a solution minimising (sign 1) or
    maximising (-1) one cell."""

    def __init__(self, A, val, hid, upper):
        pub = ~hid
        signed = np.asarray((A < 0).sum(axis=1)).ravel() > 0          # a fact like 前月 + 増 − 減 = 当月
        self.zero = (val == 0) & (upper == 0) & ~signed                # a published one fixes its atoms
        self.full = A.tocsr()
        self.cover = np.asarray((self.full[np.flatnonzero(pub & self.zero)] != 0).sum(axis=0)).ravel()
        dead = self.cover > 0
        self.keep = np.flatnonzero(~dead)
        self.n_all = A.shape[1]
        self.A = A[:, self.keep].tocsr()
        live = pub & (np.diff(self.A.indptr) > 0)
        self.empty = pub & ~live             # published, every unknown fixed (a 0): no row
        self.col_of = np.full(self.n_all, -1)
        self.col_of[self.keep] = np.arange(len(self.keep))
        self.rows = np.flatnonzero(live)
        self.row_of = {int(r): k for k, r in enumerate(self.rows)}
        self.val_of = val[self.rows]
        # a first feasible basis with presolve and the dual simplex (0.6 s at 500,000 residents,
        # where the warm-start settings below take 20 s from scratch); then every objective
        # starts from the last basis with the primal simplex
        self.h = _highs_model(self.A[self.rows], val[self.rows], upper[self.rows], presolve="on", simplex_strategy=1)
        self.h.run()
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("simplex_strategy", 4)
        n = len(self.keep)
        self.n = n
        self.idx = np.arange(n, dtype=np.int32)

    def extreme(self, i: int, sign: int):
        c = np.zeros(self.n)
        row = self.A[i]
        c[row.indices] = sign * row.data
        return self.minimise(c)

    def minimise(self, c):
        """The atoms of a solution minimising ``c`` (over the kept atoms); None if unbounded."""
        import highspy
        self.h.changeColsCost(self.n, self.idx, c)
        self.h.run()
        status = self.h.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
            # a warm start gone wrong after many changed rows (seen once at 500,000 residents: a
            # minimum left unfound read as "protected above"): solve again from scratch
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the linked tables' program ended without an answer ({status})")
        x = np.zeros(self.n_all)
        x[self.keep] = np.asarray(self.h.getSolution().col_value)
        return x

    def release(self, i: int) -> bool:
        """Drop cell ``i``'s equality in place (its row becomes free, the basis stays warm).  A
        published 0 has no row (its atoms are fixed at 0): the atoms no other published 0 fixes
        become unknowns again, as new columns or freed bounds (before, each hidden 0 meant a
        model built again: the test city's release took 21.4 s where it now takes 18.0 s).
        False when the model must be built again."""
        import highspy
        i = int(i)
        if self.zero[i] and self.empty[i]:
            self.empty[i] = False
            atoms = self.full[i].indices
            self.cover[atoms] -= 1
            return self._free(atoms[self.cover[atoms] == 0])
        k = self.row_of.get(i)
        if k is None or self.val_of[k] == 0:
            return False
        self.h.changeRowBounds(k, -highspy.kHighsInf, highspy.kHighsInf)
        return True

    def bind(self, i: int) -> bool:
        """Cell ``i`` is published again: its equality back in place (a 0: its atoms fixed at 0);
        False when the model has no row for it (it was hidden when the model was built)."""
        i = int(i)
        if self.zero[i] and not self.empty[i]:
            self.empty[i] = True
            atoms = self.full[i].indices
            self.cover[atoms] += 1
            cols = self.col_of[atoms]
            cols = cols[cols >= 0].astype(np.int32)
            self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.zeros(len(cols)))
            return True
        k = self.row_of.get(i)
        if k is None:
            return False
        self.h.changeRowBounds(k, self.val_of[k], self.val_of[k])
        return True

    def _free(self, atoms) -> bool:
        """The atoms ``atoms`` become unknowns (>= 0) of the model: freed bounds, or new columns at
        0 so the basis stays valid; False when they reach a published row the model left out."""
        import highspy
        from scipy import sparse
        old = self.col_of[atoms]
        cols = old[old >= 0].astype(np.int32)
        self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.full(len(cols), highspy.kHighsInf))
        atoms = atoms[old < 0]
        if not len(atoms):
            return True
        new = self.full[:, atoms].tocsc()
        if self.empty[new.indices].any():    # a published row with no unknowns left (a fact)
            return False
        new = new.multiply(np.isin(np.arange(new.shape[0]), self.rows)[:, None]).tocsc()   # hidden rows: free
        new.eliminate_zeros()
        n = len(atoms)
        self.h.addCols(n, np.zeros(n), np.zeros(n), np.full(n, highspy.kHighsInf), new.nnz,
                       new.indptr.astype(np.int32), np.searchsorted(self.rows, new.indices).astype(np.int32),
                       new.data.astype(float))
        self.col_of[atoms] = np.arange(len(self.keep), len(self.keep) + n)
        self.keep = np.concatenate([self.keep, atoms])
        self.A = sparse.hstack([self.A, self.full[:, atoms]]).tocsr()     # the columns in ``keep`` order
        self.n = len(self.keep)
        self.idx = np.arange(self.n, dtype=np.int32)
        return True


class _Repair:
    """Which published cells to hide so that one hidden cell can move to the end of its protection
    interval: the published cells may leave their values, at a cost of (1 + value) per person
    (a margin twice that), and the cheapest such release is found by one linear program
    (HiGHS); the cells it moves are hidden together.  The facts and the city total never move.

    This is the classic secondary-suppression model (Fischetti & Salazar; τ-ARGUS's optimal
    method without the integer part): the cells it finds form a whole path along which the
    cell can move, where hiding one published cell at a time (the one whose equality held the
    bound) walked chains across 町域 -- at 500,000 residents thousands of cells long."""

    def __init__(self, A, val, hid, fixed, upper, weight):
        import highspy
        from scipy import sparse
        self.inf = highspy.kHighsInf
        m, n = A.shape
        k = np.flatnonzero(~fixed)          # the cells that may move: a slack each way
        E = sparse.csr_matrix((np.ones(len(k)), (k, np.arange(len(k)))), shape=(m, len(k)))
        M = sparse.hstack([A, E, -E]).tocsc()
        self.h = _highs_model(M, val, upper, simplex_strategy=1)
        # the unknowns get a tiny cost each, different for each: without it every release of equal
        # cost is an optimum and the dual simplex walks among them (with last month's release as
        # facts, 3,000 iterations per repair and 132 s for the test city's release; with it, 7,300
        # iterations in all and 12 s).  A thousandth against a person's 1 only breaks ties: without
        # last month's release the test city and a 500,000-resident one hid the same number of
        # cells either way (910 and 3,633 added); with it, 1,083 added against 1,086.
        cost = np.concatenate([1e-3 * np.random.default_rng(0).random(n), weight[k], weight[k]])
        self.h.changeColsCost(M.shape[1], np.arange(M.shape[1], dtype=np.int32), cost)
        self.n, self.rows = n, k
        self.A, self.val, self.upper, self.fixed = A, val, upper, fixed
        self.hid = np.zeros(m, dtype=bool)
        self.pos = {int(r): j for j, r in enumerate(k)}
        for r in np.flatnonzero(hid):
            self.release(int(r))

    def release(self, r: int) -> None:
        """Cell ``r`` is hidden: its row no longer binds."""
        self.h.changeRowBounds(int(r), -self.inf, self.inf)
        self.hid[r] = True

    def bind(self, r: int) -> None:
        """Cell ``r`` is published again."""
        self.h.changeRowBounds(int(r), self.val[r], self.upper[r])
        self.hid[r] = False

    def fits(self, whole) -> bool:
        """Whether this repair is a program over ``whole``'s cells (the same rows and values)."""
        return (self.A.shape == whole.A.shape and np.array_equal(self.val, whole.val)
                and np.array_equal(self.fixed, whole.fixed) and (self.A != whole.A).nnz == 0)

    def sync(self, hid) -> None:
        """Bring the rows to the hidden cells ``hid`` (a later pass's)."""
        for r in np.flatnonzero(hid & ~self.hid):
            self.release(int(r))
        for r in np.flatnonzero(~hid & self.hid):
            self.bind(int(r))

    def cells_to_hide(self, i: int, target: float, up: bool) -> list:
        """The published cells to hide so that cell ``i`` can reach ``target`` (at least, going up;
        at most, going down); None when no release reaches it."""
        import highspy
        j = self.pos.get(int(i))
        own = np.array([self.n + j, self.n + len(self.rows) + j], dtype=np.int32) if j is not None else None
        if own is not None:                 # the cell itself must move, not its slack
            self.h.changeColsBounds(2, own, np.zeros(2), np.zeros(2))
        self.h.changeRowBounds(int(i), target if up else -self.inf, self.inf if up else target)
        self.h.run()
        ok = self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        self.release(i)
        if own is not None:
            self.h.changeColsBounds(2, own, np.zeros(2), np.full(2, self.inf))
        if not ok:
            return None
        x = np.asarray(self.h.getSolution().col_value)
        k = len(self.rows)
        moved = x[self.n:self.n + k] + x[self.n + k:]
        return [int(r) for r in self.rows[moved > 1e-6]]


def protect_release(tables: list, protection: int = 2, threshold: int = 2, bounds: dict | None = None,
                    earlier=None) -> Audit:
    """Suppress the family jointly and audit it; the tables' ``hidden`` masks are updated.
    ``earlier`` is last month's published release (:class:`.earlier.Earlier`): what it showed of
    this month's 前月の人口 are facts of the program, and what it hid stays hidden.

    First 町域 by 町域 (small programs that do most of the suppressing), then the whole family
    at once with the city total rows, which links every 町域 (a 20,000-resident city: 71 cells
    the 町域 programs had passed were narrowed through the total rows)."""
    t0 = time.perf_counter()
    fam = family(tables)
    audit = Audit([t.title.split("（")[0] for t in fam])
    n_areas = fam[0].counts.shape[0] - 1
    audit.areas = n_areas
    if earlier is not None and len(fam) > len(FAMILY):
        from . import earlier as last_month
        labels = list(fam[0].axes[0][1])
        last_month.apply(earlier, fam[3], {r: labels[a] for r, a in fam.town_area.items()}, labels, threshold)
        fam.earlier_towns = earlier.facts
        fam.earlier_areas = {labels.index(k): v for k, v in earlier.area_facts.items()}
        audit.earlier = earlier
    before = int(sum(t.hidden.sum() for t in fam))
    todo = set(range(n_areas))
    seen = None                          # every solution of the whole-family passes so far
    repair = None                        # the whole family's repair program, kept warm
    for _ in range(50):
        for area in sorted(todo):
            programs, hidden, disclosed, shown = audit_area(fam, area, protection, threshold, fix=True)
            audit.programs += programs
            for c in hidden:
                fam[c.table].hidden[c.index] = True
            for c in shown:
                fam[c.table].hidden[c.index] = False
            audit.shown += len(shown)
            for c, v, lo, hi in disclosed:
                audit.disclosed.append((fam[c.table].name, area, c.index, int(v), lo, hi))
            if bounds and bounds.get(area):
                programs, hidden, pinned = unpinned_area(fam, area, bounds[area])
                audit.programs += programs
                audit.explorer_programs += programs
                for c in hidden:
                    fam[c.table].hidden[c.index] = True
                audit.pinned = [d for d in audit.pinned if d[1] != area]
                audit.pinned += [(fam[c.table].name, area, c.index, int(v)) for c, v in pinned]
        todo, _ = _line_rule(fam, n_areas)
        if todo:
            audit.disclosed = [d for d in audit.disclosed if d[1] not in todo]
            continue
        whole = _Whole(fam)
        programs, disclosed = whole.audit(protection, threshold, fix=True, seen=seen, repair=repair)
        seen, repair = getattr(whole, "seen", seen), getattr(whole, "repair", repair)
        audit.shown += len(getattr(whole, "shown", ()))
        audit.whole_passes += 1
        audit.programs += programs
        audit.disclosed = [(fam[c.table].name, area, c.index, int(whole.val[i]), lo, hi)
                           for i, lo, hi in disclosed for area, c in [whole.cells[i]]]
        todo, grew_any = _line_rule(fam, n_areas)
        if not grew_any:
            break
    audit.hidden_cells = int(sum(t.hidden.sum() for t in fam))
    audit.added = audit.hidden_cells - before
    audit.seconds = time.perf_counter() - t0
    return audit


def family_into(audit: Audit, fam: list, build, titles: list, protection: int, threshold: int) -> None:
    """A family other than the 町域 one (``build()`` makes its program over ``fam``) audited and
    fixed by :func:`audit_rounds`, into ``audit``: its titles, programs, passes, hidden 0s shown,
    cells still disclosed, and secondary cells short of the interval (``limited``)."""
    t0, before = time.perf_counter(), int(sum(t.hidden.sum() for t in fam))
    audit.tables += titles
    m, programs, shown, passes, disclosed = audit_rounds(build, fam, protection, threshold)
    audit.limited += m.limited_cells()
    audit.whole_passes += passes
    audit.take(fam, t0, before, programs, shown, disclosed)


def audit_rounds(build, tables: list, protection: int, threshold: int, rounds: int = 20):
    """A family other than the 町域 one (``build()`` makes its :class:`_Whole`-shaped program
    over ``tables``): audited and fixed, then the tables' line rule, until the line rule adds
    nothing.  Returns (the last program, programs, hidden 0s shown, passes, cells still disclosed
    as (table, index, true, lo, hi))."""
    from .suppression import suppress
    programs = shown = passes = 0
    seen = None
    while passes < rounds:
        passes += 1
        m = build()
        n, out = m.audit(protection, threshold, fix=True, seen=seen)
        seen = getattr(m, "seen", None)
        programs += n
        shown += len(getattr(m, "shown", ()))
        grew = False
        for t in tables:
            new = suppress(t.counts, t.threshold, initial=t.hidden, keep=t.keep)
            grew |= bool((new & ~t.hidden).any())
            t.hidden = new
        if not grew:
            break
    disclosed = [(m.fam[c.table].name, c.index, int(m.val[i]), lo, hi) for i, lo, hi in out for _, c in [m.cells[i]]]
    return m, programs, shown, passes, disclosed


def _line_rule(fam, n_areas: int) -> tuple[set, bool]:
    """The tables' line rule again over the joint result: (町域 with new hidden cells, whether
    any cell was added, the total row's included)."""
    from .suppression import suppress
    todo, grew_any = set(), False
    for k, t in enumerate(fam):
        new = suppress(t.counts, t.threshold, initial=t.hidden, keep=t.keep)
        grew = new & ~t.hidden
        if grew.any():
            grew_any = True
            rows = {int(a) for a in np.argwhere(grew)[:, 0]}
            todo |= {fam.town_area.get(r, n_areas) for r in rows} if k == 3 else rows
            todo.discard(n_areas)
            t.hidden = new
    return todo, grew_any


#: Cells published twice in a release: (table, index) pairs that count the same persons.  A cell
#: hidden in one and shown in the other would be disclosed by the other.
DUPLICATES = (("population_age_sex", (slice(None), -1, slice(None)), "population_choiki", (-1, slice(None), slice(None))),
              ("survey_age", (slice(None), -1, slice(None)), "population_age_sex", (slice(None), -1, slice(None))),
              ("survey_population", (slice(None), slice(None)), "survey_age", (-1, slice(None), slice(None))))


def same_cells_same_fate(tables: list) -> int:
    """Hide in both what either hides, for every duplicated block present (then the line rule
    again); returns the cells added.  Blocks whose counts differ are not the same cells (e.g.
    the survey's 1 January vs the release's date) and are left alone."""
    from .suppression import suppress
    by = {t.name: t for t in tables}
    added = 0
    for _ in range(10):
        changed = False
        for a, ia, b, ib in DUPLICATES:
            if a not in by or b not in by:
                continue
            ta, tb = by[a], by[b]
            if ta.counts[ia].shape != tb.counts[ib].shape or not (ta.counts[ia] == tb.counts[ib]).all():
                continue
            both = ta.hidden[ia] | tb.hidden[ib]
            for t, i in ((ta, ia), (tb, ib)):
                if (both & ~t.hidden[i]).any():
                    before = int(t.hidden.sum())
                    t.hidden[i] = t.hidden[i] | both
                    t.hidden = suppress(t.counts, t.threshold, initial=t.hidden, keep=t.keep)
                    added += int(t.hidden.sum()) - before
                    changed = True
        if not changed:
            break
    return added
