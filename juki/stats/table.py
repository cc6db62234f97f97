"""A published statistical table: labelled axes, counts with margins (計), and suppression."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .disclosure import suppress, with_margins

TOTAL = "計"


@dataclass
class StatTable:
    name: str                      # file-friendly id, e.g. "population_age_sex"
    title: str                     # Japanese title
    axes: list[tuple[str, list]]   # (axis name, labels without 計)
    counts: np.ndarray             # with margins, shape = len(labels) + 1 per axis
    threshold: int = 2
    note: str = ""
    hidden: np.ndarray = field(default=None)

    @classmethod
    def from_long(cls, name, title, df: pd.DataFrame, dims: list[tuple[str, list]], value="n", **kw):
        """Counts from a long frame (one row per combination) into an array with margins."""
        shape = [len(labels) for _, labels in dims]
        arr = np.zeros(shape, dtype=np.int64)
        if len(df):
            idx = []
            ok = np.ones(len(df), dtype=bool)
            for col, labels in dims:
                pos = pd.Categorical(df[col], categories=labels).codes
                ok &= pos >= 0
                idx.append(pos)
            unknown = int(df.loc[~ok, value].sum())
            if unknown:
                raise ValueError(f"{name}: {unknown} counted outside the table's labels")
            np.add.at(arr, tuple(i[ok] for i in idx), df[value].to_numpy()[ok])
        return cls(name=name, title=title, axes=dims, counts=with_margins(arr), **kw)

    def __post_init__(self):
        if self.hidden is None:
            self.hidden = suppress(self.counts, self.threshold) if self.threshold > 0 else np.zeros(self.counts.shape, bool)

    def labels(self, ax: int) -> list:
        return list(self.axes[ax][1]) + [TOTAL]

    def frame(self, published: bool = True) -> pd.DataFrame:
        """2-D view: first axis as rows, the other axes flattened into columns."""
        vals = self.counts.astype(object)
        if published:
            vals = vals.copy()
            vals[self.hidden] = "x"
        n0 = vals.shape[0]
        flat = vals.reshape(n0, -1)
        if len(self.axes) == 1:
            return pd.DataFrame({"人数": flat[:, 0]}, index=pd.Index(self.labels(0), name=self.axes[0][0]))
        cols = pd.MultiIndex.from_product([self.labels(i) for i in range(1, len(self.axes))],
                                          names=[a for a, _ in self.axes[1:]])
        if len(self.axes) == 2:
            cols = cols.get_level_values(0)
        return pd.DataFrame(flat, index=pd.Index(self.labels(0), name=self.axes[0][0]), columns=cols)

    def display_frame(self) -> pd.DataFrame:
        """What a report page shows: the published table, or for wide tables (more than 12
        columns) its published margin over the last axis -- the full detail is in the CSV."""
        df = self.frame(published=True)
        if df.shape[1] <= 12 or len(self.axes) < 3:
            return df
        vals = self.counts.astype(object).copy()
        vals[self.hidden] = "x"
        idx = tuple([slice(None)] + [-1] * (len(self.axes) - 2) + [slice(None)])
        sl = vals[idx]
        return pd.DataFrame(sl, index=pd.Index(self.labels(0), name=self.axes[0][0]),
                            columns=pd.Index(self.labels(len(self.axes) - 1), name=self.axes[-1][0]))

    def write_csv(self, folder) -> Path:
        """UTF-8 with BOM (opens cleanly in Excel), written atomically."""
        path = Path(folder) / f"{self.name}.csv"
        tmp = path.with_name(path.name + ".tmp")
        df = self.frame(published=True)
        if isinstance(df.columns, pd.MultiIndex):
            df.columns = ["_".join(map(str, c)) for c in df.columns]
        df.to_csv(tmp, encoding="utf-8-sig")
        os.replace(tmp, path)
        return path
