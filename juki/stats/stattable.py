"""A statistical table: labelled axes, counts with margins (計), and how it is protected.

Official tables are protected by threshold suppression (:mod:`.suppression`: 1 to threshold
shown as x, plus secondary suppression); every ad-hoc or explorer table by the cell-key method
(:mod:`.ckm`: each cell, margins included, perturbed by its own key, so the same cell has the
same value in every table).  An axis that can hold unknown values ends in 「不詳」, counted in
計 like any other cell: no statistic loses a resident.

>>> import pandas as pd
>>> df = pd.DataFrame({"区分": ["日本人住民", "外国人住民"], "n": [10, 1]})
>>> t = StatTable.from_long("t", "例", df, [("区分", ["日本人住民", "外国人住民"])])
>>> t.frame()["人数"].tolist()
['x', 'x', 11]
>>> t.frame(published=False)["人数"].tolist()
[10, 1, 11]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic
from .suppression import suppress, with_margins

TOTAL = "計"
UNKNOWN = "不詳"
INTERNAL = "内部資料・公表不可"


@dataclass
class StatTable:
    name: str                      # file-friendly id, e.g. "population_age_sex"
    title: str                     # Japanese title
    axes: list[tuple[str, list]]   # (axis name, labels without 計)
    counts: np.ndarray             # with margins, shape = len(labels) + 1 per axis
    threshold: int = 2
    note: str = ""
    method: str = "suppression"    # suppression | ckm | none
    keysums: np.ndarray | None = None   # sums of record keys per cell (ckm)
    unit: str = "人数"             # the value column of a one-axis table: 人数, 世帯数, 件数
    internal: bool = False         # below the disclosure floor: 内部資料・公表不可
    no_total: tuple = ()           # axes whose 計 means nothing (items of different kinds): not shown
    hidden: np.ndarray = field(default=None)
    keep: np.ndarray | None = None     # cells an earlier release published: never hidden here
    perturbed: np.ndarray = field(default=None)
    sql: str = ""

    @classmethod
    def from_long(cls, name, title, df: pd.DataFrame, dims: list[tuple[str, list]], value="n", keys=None, **kw):
        """Counts (and record-key sums) from a long frame into arrays with margins.  A value outside
        an axis's labels is an error unless the axis ends in 不詳 (it is then counted there)."""
        shape = [len(labels) for _, labels in dims]
        arr = np.zeros(shape, dtype=np.int64)
        ks = np.zeros(shape, dtype=np.float64) if keys else None
        if len(df):
            idx, ok = [], np.ones(len(df), dtype=bool)
            for col, labels in dims:
                vals = df[col].where(df[col].notna(), UNKNOWN) if UNKNOWN in labels else df[col]
                pos = pd.Categorical(vals, categories=labels).codes
                ok &= pos >= 0
                idx.append(pos)
            lost = int(df.loc[~ok, value].sum())
            if lost:
                raise ValueError(f"{name}: {lost} counted outside the table's labels")
            np.add.at(arr, tuple(i[ok] for i in idx), df[value].to_numpy()[ok])
            if keys:
                np.add.at(ks, tuple(i[ok] for i in idx), df[keys].to_numpy(dtype=float)[ok])
        if ks is not None:
            kw["keysums"] = with_margins(ks)
            kw.setdefault("method", "ckm")
        return cls(name=name, title=title, axes=dims, counts=with_margins(arr), **kw)

    def __post_init__(self):
        if self.internal and not self.title.startswith(INTERNAL):
            self.title = f"【{INTERNAL}】{self.title}"
        if self.method == "suppression" and self.hidden is None:
            self.hidden = suppress(self.counts, self.threshold) if self.threshold > 0 else np.zeros(self.counts.shape, bool)
        if self.method == "ckm" and self.perturbed is None:
            from .ckm import perturb
            from .policy import load
            self.perturbed = perturb(self.counts, self.keysums, load().ptable)
        if self.hidden is None:
            self.hidden = np.zeros(self.counts.shape, bool)

    def labels(self, ax: int) -> list:
        return list(self.axes[ax][1]) + ([] if ax in self.no_total else [TOTAL])

    def values(self, published: bool = True) -> np.ndarray:
        """The table's cells as published (x for hidden, perturbed counts) or as counted."""
        if not published:
            return self.counts.astype(object)
        if self.method == "ckm":
            vals = self.perturbed.astype(object)
            vals[self.hidden] = "x"      # an analyst's raised floor: perturbed values below it
            return vals
        vals = self.counts.astype(object).copy()
        vals[self.hidden] = "x"
        return vals

    def frame(self, published: bool = True) -> pd.DataFrame:
        """2-D view: first axis as rows, the other axes flattened into columns."""
        vals = self.values(published)
        for ax in self.no_total:
            vals = np.delete(vals, -1, axis=ax)
        n0 = vals.shape[0]
        flat = vals.reshape(n0, -1)
        index = pd.Index(self.labels(0), name=self.axes[0][0])
        if len(self.axes) == 1:
            return pd.DataFrame({self.unit: flat[:, 0]}, index=index)
        cols = pd.MultiIndex.from_product([self.labels(i) for i in range(1, len(self.axes))],
                                          names=[a for a, _ in self.axes[1:]])
        if len(self.axes) == 2:
            cols = cols.get_level_values(0)
        return pd.DataFrame(flat, index=index, columns=cols)

    def caption(self) -> str:
        if self.method == "ckm":
            return ("セルキー法による攪乱値（同じ集計対象はどの表でも同じ値。1・2は表示されない。"
                    "合計欄も個別に攪乱するため、内訳の合計と一致しないことがある）")
        if self.method == "suppression" and self.threshold:
            return f"{self.threshold}人以下の区分は x で秘匿し、合計からの逆算を防ぐため関連秘匿を行っている"
        return "秘匿処理なし"

    def write_csv(self, folder) -> Path:
        """UTF-8 with BOM (opens cleanly in Excel), written atomically; an internal table says so."""
        path = Path(folder) / f"{self.name}.csv"
        df = self.frame(published=True)
        if isinstance(df.columns, pd.MultiIndex):
            df.columns = ["_".join(map(str, c)) for c in df.columns]
        text = df.to_csv()
        if self.internal:
            text = f"# {INTERNAL}\n" + text
        atomic.atomic_write_bytes(path, ("\ufeff" + text).encode("utf-8"))
        return path


def age_band_labels(width: int = 5, top: int = 100) -> list[str]:
    return [f"{a}～{a + width - 1}歳" for a in range(0, top, width)] + [f"{top}歳以上", UNKNOWN]


AGE_BANDS = age_band_labels()
