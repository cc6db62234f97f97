"""Optional differentially private release of a count table with OpenDP.

Each resident is counted in exactly one inner cell of an area × age band × sex table, so
adding or removing one person changes one cell by one: L1 sensitivity 1.  OpenDP's
Laplace mechanism over integers (discrete Laplace) with scale 1/ε then satisfies ε-DP;
margins are recomputed from the noisy cells (post-processing costs no privacy) and negative
values are clipped to 0.
"""
from __future__ import annotations

import numpy as np

from .stattable import StatTable
from .suppression import with_margins


def release(table: StatTable, epsilon: float) -> tuple[StatTable, float]:
    """A noisy copy of ``table`` and the privacy loss ε actually guaranteed (from OpenDP's map)."""
    if not epsilon or epsilon <= 0:
        raise ValueError("dp_epsilon must be a positive number")
    import opendp.prelude as dp
    dp.enable_features("contrib")
    inner = table.counts[tuple(slice(0, -1) for _ in table.counts.shape)]
    flat = [int(v) for v in inner.ravel()]
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    meas = dp.m.make_laplace(*space, scale=1.0 / epsilon)
    noisy = np.clip(np.array(meas(flat), dtype=np.int64), 0, None).reshape(inner.shape)
    spent = float(meas.map(1))
    out = StatTable(name=f"{table.name}_dp", title=f"{table.title}（差分プライバシー ε={spent:g}）",
                    axes=table.axes, counts=with_margins(noisy), threshold=0, method="none",
                    note=f"OpenDP 離散ラプラス機構、尺度 {1.0 / epsilon:g}、L1感度 1、ε = {spent:g}")
    return out, spent
