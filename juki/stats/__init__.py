"""Population statistics over the de-identified view only (see :mod:`juki.privacy`)."""
from __future__ import annotations

import pandas as pd

from ..privacy import DeidentifiedTable

AGE_BANDS = [f"{a}～{a + 4}歳" for a in range(0, 100, 5)] + ["100歳以上"]


def _need(view):
    if not isinstance(view, DeidentifiedTable):
        raise TypeError("statistics accept only a juki.privacy.DeidentifiedTable")
    return view.expr


def age_band(age: pd.Series) -> pd.Series:
    """5-year bands 0～4歳 … 95～99歳, 100歳以上, as an ordered categorical."""
    idx = (age.clip(lower=0) // 5).clip(upper=20).astype(int)
    return pd.Categorical.from_codes(idx, categories=AGE_BANDS, ordered=True)


def pyramid(view: DeidentifiedTable) -> pd.DataFrame:
    """Residents by 5-year age band (rows) and sex (男, 女)."""
    t = _need(view)
    df = t.group_by(["age", "seibetsu"]).aggregate(n=t.count()).to_pandas()
    df["年齢"] = age_band(df["age"])
    df["性別"] = df["seibetsu"].map({"1": "男", "2": "女"})
    out = df.pivot_table(index="年齢", columns="性別", values="n", aggfunc="sum", observed=False).fillna(0)
    return out.reindex(columns=["男", "女"], fill_value=0).astype(int)


def summary(view: DeidentifiedTable) -> pd.DataFrame:
    """総人口, 日本人住民, 外国人住民, 世帯数 (households = heads) and the share aged 65+."""
    t = _need(view)
    df = t.group_by("nationality_group").aggregate(
        人口=t.count(), 世帯主=(t.zokugara == "01").sum(), 高齢者=(t.age >= 65).sum(), 年少=(t.age < 15).sum()
    ).to_pandas().set_index("nationality_group")
    total = df.sum()
    rows = {"総人口": total["人口"]}
    for g in ("日本人住民", "外国人住民"):
        rows[g] = int(df["人口"].get(g, 0))
    rows["世帯数(世帯主数)"] = total["世帯主"]
    rows["65歳以上の割合(%)"] = round(100 * total["高齢者"] / max(total["人口"], 1), 1)
    rows["15歳未満の割合(%)"] = round(100 * total["年少"] / max(total["人口"], 1), 1)
    return pd.DataFrame({"値": rows})
