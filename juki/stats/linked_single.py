"""Every other table of a release audited on its own: its interior cells are the unknowns, each
margin (計) their sum, and the attacker's program runs over what it publishes.

The line rule (two x in every line) keeps a cell from being pinned by one subtraction, not from
being narrowed by several: on a 3,000-resident release a program over each table alone narrowed
cells below ±2 in seven of them (e.g. 8 of 24 x of 転入元の市区町村, 15 of 50 of the survey's
年齢別人口).  The audit is the whole-family one of :mod:`.linked` (witnesses, a repair program,
hidden 0s the rest pins shown), with the line rule after each pass.

A table whose margins are not the sums of its cells is left to the line rule (and reported).
Here a secondary cell (above the threshold) that no suppression can carry to its interval stays
hidden if it is not pinned, and is counted: population_age_sex's 日本人 cells under a 計 the
linked family publishes and a 外国人 cell of 1 cannot move by 2, whatever else is hidden.  The
primary cells (1 to the threshold) are held to the full interval.
Cells a linked family owns -- population_age_sex's 計 block is population_choiki's city row --
are never hidden here (:data:`OWNED`), and the table's grand total never is.
"""
from __future__ import annotations

import itertools

import numpy as np

from .linked import FAMILY, TOWNS, Audit, _Cell, _upper, _Whole, audit_rounds
from .linked_foreign import AGES, FOREIGN
from .linked_foreign import OWNED as AGES_OWNED
from .linked_foreign import family as foreign_family
from .linked_movements import names as movement_tables

#: Blocks of a table that a linked family publishes too: hidden or shown there, not here.
OWNED = {AGES: AGES_OWNED}


class Single(_Whole):
    """One table's program, in the shape :meth:`_Whole.audit` works on."""

    secondary_floor = True

    def __init__(self, t):
        from scipy import sparse
        shape = t.counts.shape
        inner = [n - 1 for n in shape]
        atoms = np.indices(inner).reshape(len(shape), -1)           # interior cells, one per column
        rows, cols = [], []
        for keep in itertools.product((True, False), repeat=len(shape)):   # each atom in 2^d cells
            idx = [a if k else np.full(atoms.shape[1], n) for a, k, n in zip(atoms, keep, inner)]
            rows.append(np.ravel_multi_index(idx, shape))
            cols.append(np.arange(atoms.shape[1]))
        r, c = np.concatenate(rows), np.concatenate(cols)
        self.A = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(int(np.prod(shape)), atoms.shape[1]))
        self.fam = [t]
        self.cells = [(0, _Cell(0, idx, None, any(i == n for i, n in zip(idx, inner)))) for idx in np.ndindex(*shape)]
        self.val = t.counts.astype(float).ravel()
        self.hid = t.hidden.ravel().copy()
        fixed = np.zeros(shape, bool)
        fixed[tuple(inner)] = True
        if t.name in OWNED:
            fixed[OWNED[t.name]] = True
        self.fixed = fixed.ravel()
        self.upper = _upper([c for _, c in self.cells], self.val)
        self.additive = bool(np.allclose(self.A @ t.counts[tuple(slice(0, n) for n in inner)].ravel(), self.val))


def protect(tables: list, protection: int, threshold: int) -> tuple[int, list, int, int, list, list]:
    """Audit and fix each table (``hidden`` updated): (programs, cells still disclosed as (table,
    index, true, lo, hi), hidden 0s shown, passes, tables left to the line rule, secondary cells
    short of the interval but not pinned, as (table, index, true, lo, hi))."""
    programs = shown = passes = 0
    disclosed, skipped, limited = [], [], []
    for t in tables:
        if not Single(t).additive:
            skipped.append(t.name)
            continue
        s, n, sh, ps, found = audit_rounds(lambda t=t: Single(t), [t], protection, threshold)
        programs, shown, passes, disclosed = programs + n, shown + sh, passes + ps, disclosed + found
        limited += s.limited_cells()
    return programs, disclosed, shown, passes, skipped, limited


def protect_into(audit: Audit, tables: list, protection: int, threshold: int) -> None:
    """Every table of ``tables`` outside the linked families with an x, audited and fixed on its
    own, into ``audit``."""
    import time
    linked = set(FAMILY) | set(TOWNS) | set(FOREIGN) | movement_tables() | {t.name for t in foreign_family(tables) or ()}
    rest = [t for t in tables if t.name not in linked and t.threshold and t.hidden.any()]
    if not rest:
        return
    t0, before = time.perf_counter(), int(sum(t.hidden.sum() for t in rest))
    programs, disclosed, shown, passes, audit.unaudited, limited = protect(rest, protection, threshold)
    audit.limited += limited
    audit.single_tables = len(rest) - len(audit.unaudited)
    audit.take(rest, t0, before, programs, shown, disclosed)
