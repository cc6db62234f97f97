"""The movement tables of a release as one linked problem.

Five tables count the same events of one period: 人口動態（記載）and（消除）(the survey's
``survey_movements_*`` in a 1 January release, ``movements_*`` otherwise: 異動 category ×
日本人住民/外国人住民 × 男女), 月別・異動事由別異動件数 (``monthly_movements``: month × 異動事由),
前住所地別転入者数 and 転出先別転出者数 (``moves_in_from`` / ``moves_out_to``: municipality ×
男女 of the 国内/国外 転入 and 転出).  Each category of the survey tables is the sum of its
異動事由 (記載:国外転入等 is 転入(国外), and so on, by the code table's ``stats`` column), and
the 転入 of the municipality table are the survey's 転入(国内) + 転入(国外).  Suppressed one
table at a time (as released until 2026-12-02), a linear program over the published CSV files
alone pinned 18 and narrowed 7 of the survey movement tables' hidden cells on a 3,000-resident
city (e.g. 転入(国外) 外国人住民 女 from 記載:国外転入等 summed over the months).

The unknowns (atoms) are events by month × 異動事由 × 区分 × 男女 (× municipality for the
転入 and 転出); the 異動事由 that are no population movement (転居, 改製, …) only by month ×
異動事由.  What an attacker knows besides the tables is in the model as well: a 国外転入 comes
from 国外 and a 国内転入 does not (the same for 転出), and a 異動事由 the code table marks for
日本人 or 外国人 only has no event of the other 区分 -- unless the data breaks such a rule
(then no attacker can use it, and the program is built without the rules).  The audit is the
whole-family one of :mod:`.linked`, with the tables' line rule after each pass.
"""
from __future__ import annotations

import numpy as np

from .linked import Audit, _Cell, _highs_model, _upper, _Whole, family_into
from .official import ABROAD_JIYU, MOVE_IN, MOVE_OUT
from .stattable import UNKNOWN

#: The tables, in the order of :class:`Movements`'s ``fam`` (the survey's names first).
MOVEMENTS = (("survey_movements_kisai", "movements_kisai"), ("survey_movements_shojo", "movements_shojo"),
             ("monthly_movements",), ("moves_in_from",), ("moves_out_to",))
ABROAD = "国外"
GROUP = {"japanese": "日本人住民", "foreign": "外国人住民"}


def names() -> set:
    return {n for alts in MOVEMENTS for n in alts}


def family(tables) -> list | None:
    by = {t.name: t for t in tables}
    fam = [next((by[n] for n in alts if n in by), None) for alts in MOVEMENTS]
    return fam if all(t is not None for t in fam) else None


class Movements(_Whole):
    """The movement tables' program, in the shape :meth:`_Whole.audit` works on."""

    #: The tables' grand totals are never hidden, and they bound some cells from outside: 記載 計
    #: minus the 転入 of the municipality table is 出生 + その他記載, so 出生 日本人住民 14 under
    #: 出生 + その他記載 = 15 cannot reach 16 whatever is hidden.  Such a secondary cell stays
    #: hidden if not pinned, and is counted (the primary cells, 1 to the threshold, are held to
    #: the full interval).
    secondary_floor = True

    def __init__(self, fam, rules: bool = True):
        from scipy import sparse

        from .. import codes
        kisai, shojo, monthly, moves_in, moves_out = fam
        rows = codes.rows("ido_jiyu")
        kubun = codes.names("ido_kubun")
        code_of = {f"{kubun[r['kubun']]}:{r['name']}": r["code"] for r in rows}
        info = {r["code"]: r for r in rows}
        months, jiyu = (list(monthly.axes[k][1]) for k in range(2))
        in_u, out_u = list(moves_in.axes[0][1]), list(moves_out.axes[0][1])
        grps = _union(kisai.axes[1][1], shojo.axes[1][1])
        sexes = _union(kisai.axes[2][1], shojo.axes[2][1], moves_in.axes[1][1], moves_out.axes[1][1])
        cat_of = {j: (info[code_of[j]]["stats"] or None) if j in code_of else None for j in jiyu}

        def allowed_groups(code):
            applies = info[code]["applies_to"] if code in info else "all"
            return [g for g in range(len(grps)) if not rules or applies == "all" or grps[g] != GROUP[
                "foreign" if applies == "japanese" else "japanese"]]

        def allowed_places(code, labels):
            if not rules or ABROAD not in labels:
                return list(range(len(labels)))
            abroad = code in ABROAD_JIYU
            return [u for u, lab in enumerate(labels) if lab == UNKNOWN or (lab == ABROAD) == abroad]

        atoms = []                                 # (month, jiyu, grp, sex, place, kind) ; -1: none
        for m in range(len(months)):
            for j, label in enumerate(jiyu):
                code = code_of.get(label)
                if not cat_of[label]:
                    atoms.append((m, j, -1, -1, -1, 0))
                    continue
                kind, labels = (1, in_u) if code in MOVE_IN else (2, out_u) if code in MOVE_OUT else (0, [None])
                places = allowed_places(code, labels) if kind else [-1]
                atoms += [(m, j, g, s, u, kind) for g in allowed_groups(code) for s in range(len(sexes))
                          for u in places]
        am, aj, ag, asx, au, ak = np.array(atoms).T
        acat = np.array([cat_of[jiyu[j]] or "" for j in aj])

        masks, self.cells, facts = [], [], []

        def on(values, n, at):
            return np.ones(len(values), bool) if at == n else values == at

        def add(mask, table, idx, margin):
            masks.append(mask)
            self.cells.append((0, _Cell(table, idx, None, margin)))

        for idx in np.ndindex(*monthly.counts.shape):
            m, j = idx
            add(on(am, len(months), m) & on(aj, len(jiyu), j), 2, idx, m == len(months) or j == len(jiyu))
        for t, table in ((kisai, 0), (shojo, 1)):
            cats, tg, ts = (list(t.axes[k][1]) for k in range(3))
            scope = np.isin(acat, cats)
            cat_idx = np.array([cats.index(c) if c in cats else -1 for c in acat])
            g_idx = _relabel(ag, grps, tg)
            s_idx = _relabel(asx, sexes, ts)
            for idx in np.ndindex(*t.counts.shape):
                c, g, s = idx
                add(scope & on(cat_idx, len(cats), c) & on(g_idx, len(tg), g) & on(s_idx, len(ts), s), table, idx,
                    c == len(cats) or g == len(tg) or s == len(ts))
            facts.append(scope & ((g_idx < 0) | (s_idx < 0)))       # a 不詳 the table has no column for
        for t, table, kind in ((moves_in, 3, 1), (moves_out, 4, 2)):
            places, ts = (list(t.axes[k][1]) for k in range(2))
            scope = ak == kind
            s_idx = _relabel(asx, sexes, ts)
            for idx in np.ndindex(*t.counts.shape):
                u, s = idx
                add(scope & on(au, len(places), u) & on(s_idx, len(ts), s), table, idx,
                    u == len(places) or s == len(ts))
            facts.append(scope & (s_idx < 0))
        for f in facts:
            if f.any():
                masks.append(f)
                self.cells.append((0, _Cell(-1, (), None, True, 0.0)))
        r = np.concatenate([np.full(int(m.sum()), k) for k, m in enumerate(masks)])
        c = np.concatenate([np.flatnonzero(m) for m in masks])
        self.A = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(masks), len(atoms)))
        self.fam = fam
        self.val = np.array([fam[c.table].counts[c.index] if c.table >= 0 else c.value for _, c in self.cells],
                            dtype=float)
        self.hid = np.array([bool(fam[c.table].hidden[c.index]) if c.table >= 0 else False for _, c in self.cells])
        # never hidden: what the release says without a cell, and each table's grand total
        self.fixed = np.array([c.table < 0 or all(i == n - 1 for i, n in zip(c.index, fam[c.table].counts.shape))
                               for _, c in self.cells])
        self.upper = _upper([c for _, c in self.cells], self.val)
        self.rules = rules

    def feasible(self) -> bool:
        """Whether the published cells (and the rules) admit any release at all: the true data is
        one unless it breaks a rule."""
        import highspy
        pub = ~self.hid
        h = _highs_model(self.A[np.flatnonzero(pub)], self.val[pub], self.upper[pub])
        h.run()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _union(*label_lists) -> list:
    out = []
    for labels in label_lists:
        out += [x for x in labels if x not in out]
    return out


def _relabel(values, labels, table_labels) -> np.ndarray:
    """Atom attribute indices (into ``labels``) as indices into a table's labels; -1 where the
    table has no such label (and -1 stays -1)."""
    pos = np.array([table_labels.index(x) if x in table_labels else -1 for x in labels] + [-1])
    return pos[values]


def build(fam) -> Movements:
    """The program with the attacker's rules, or without them where the data breaks one."""
    m = Movements(fam)
    return m if m.feasible() else Movements(fam, rules=False)


def protect_into(audit: Audit, tables: list, protection: int, threshold: int) -> None:
    """The movement family of a release's ``tables`` audited and fixed, into ``audit``."""
    fam = family(tables)
    if fam:
        rules = build(fam).rules
        family_into(audit, fam, lambda: Movements(fam, rules), [t.title.rsplit("（", 1)[0] for t in fam],  # no period
                    protection, threshold)
