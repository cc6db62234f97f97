"""Population statistics that never touch the individual number.

Everything here reads the de-identified copy (:class:`juki.privacy.Deidentified`) only:
the official 総務省 tables, the city's own views by area, month, terminal and nationality
(:mod:`.tables`), disclosure control (:mod:`.disclosure`), an optional differentially
private release (:mod:`.dp`) and CSV export (:class:`.table.StatTable`).
"""
from __future__ import annotations

import pandas as pd

from ..privacy import DeidentifiedTable
from . import report  # noqa: F401 - used by the statistics notebook
from .tables import AGE_BANDS, population_age_sex

__all__ = ["pyramid", "summary", "AGE_BANDS"]


def pyramid(view: DeidentifiedTable) -> pd.DataFrame:
    """Residents by 5-year age band (rows) and sex (男, 女): unsuppressed counts for charts."""
    st = population_age_sex(view, threshold=0)
    total = st.counts[:-1, -1, :-1]          # age bands × (all residents) × (男, 女)
    out = pd.DataFrame(total, index=pd.Index(AGE_BANDS, name="年齢"), columns=["男", "女"]).astype(int)
    return out


def summary(view: DeidentifiedTable) -> pd.DataFrame:
    """総人口, 日本人住民, 外国人住民, 世帯数 and the shares aged 65+ and under 15."""
    t = view.expr
    r = t.aggregate(
        total=t.count(), jp=t.kokuseki.isnull().cast("int64").sum(), hh=t.household.nunique(),
        old=(t.age >= 65).cast("int64").sum(), young=(t.age < 15).cast("int64").sum(),
    ).to_pandas().iloc[0]
    total = int(r["total"])
    rows = {"総人口": total, "日本人住民": int(r["jp"]), "外国人住民": total - int(r["jp"]),
            "世帯数": int(r["hh"]),
            "65歳以上の割合(%)": round(100 * r["old"] / max(total, 1), 1),
            "15歳未満の割合(%)": round(100 * r["young"] / max(total, 1), 1)}
    return pd.DataFrame({"値": pd.Series(rows, dtype=object)})  # counts stay whole numbers
