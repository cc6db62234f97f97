"""The synthetic city: a Matsudo-shaped registry generated from a seed.

>>> tables = generate(Params(residents=300, seed=7, as_of=dt.date(2026, 4, 1)))
>>> sorted(tables), tables["jumin"].num_rows > 300
(['honnin', 'jumin', 'sofusaki'], True)
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from ..layouts import LAYOUTS, Layout
from .cs_files import build_honnin, build_sofusaki
from .registry import Params, Progress, build_events, build_identities, build_jumin, build_people

__all__ = ["Params", "generate", "to_arrow"]

_NA = np.iinfo(np.int64).min


def to_arrow(layout: Layout, cols: dict, n: int) -> pa.Table:
    """Arrays keyed by column -> an Arrow table typed by the layout.

    Dates come as int days since 1970-01-01, times as seconds, timestamps as microseconds;
    ``numpy.iinfo(int64).min`` marks a missing date.
    """
    arrays = []
    for item in layout.all_columns:
        v = cols.get(item.column)
        if v is None or (np.ndim(v) == 0):
            v = np.full(n, v, dtype=object)
        v = np.asarray(v)
        if item.type in ("DATE", "TIMESTAMP", "TIME"):
            v = v.astype(np.int64)
            mask = v == _NA
            if item.type == "DATE":
                a = pa.array(np.where(mask, 0, v).astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())
            elif item.type == "TIME":
                a = pa.array(np.where(mask, 0, v) * 1_000_000, type=pa.int64(), mask=mask).cast(pa.time64("us"))
            else:
                a = pa.array(np.where(mask, 0, v), type=pa.int64(), mask=mask).cast(pa.timestamp("us"))
        elif item.type in ("INTEGER", "BIGINT"):
            t = pa.int32() if item.type == "INTEGER" else pa.int64()
            if v.dtype == object:
                a = pa.array([None if x is None else int(x) for x in v], type=t)
            else:
                a = pa.array(v, type=t)
        else:
            a = pa.array(v, type=pa.string(), from_pandas=True)
        arrays.append(a)
    return pa.Table.from_arrays(arrays, names=layout.columns)


def generate(params: Params, progress=None) -> dict[str, pa.Table]:
    """Generate the three files; deterministic for ``params``."""
    step = Progress(progress)
    rng = np.random.default_rng(params.seed)
    step("people")
    w = build_people(rng, params)
    step("events")
    E, _ = build_events(rng, w)
    ident = build_identities(rng, w, E, params)
    step("jumin")
    J, X = build_jumin(rng, w, E, ident, params)
    A = w["A"]
    del w, E, ident  # keep the peak memory of the default city low
    n = len(X)
    out = {"jumin": to_arrow(LAYOUTS["jumin"], J, n)}
    step("honnin")
    out["honnin"] = to_arrow(LAYOUTS["honnin"], build_honnin(J, X, A), n)
    step("sofusaki")
    S = build_sofusaki(J, X, A, params.sofusaki_days)
    out["sofusaki"] = to_arrow(LAYOUTS["sofusaki"], S, len(S["jumin_code"]))
    return out
