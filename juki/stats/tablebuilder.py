"""The analysts' table builder: fixed categories, one perturbation of the finest cells, then sums.

The cell-key method gives the same noise to the same set of persons, but two queries that reach
the same persons through different splits are different sets, each with its own noise; with
free age ranges (every a..b) least squares over a sweep averages the noise away.  So analysts'
tables are built the way the ONS and ABS table builders bound what can be asked:

* **fixed categories** (the disclosure policy's ``[tables]``): 町域 or 全域, age in bands of
  ``age_band`` years (0〜4 … 95〜99, 100歳以上; single years only where the policy allows),
  男/女, 日本人住民/外国人住民 or a nationality;
* the **finest cells** -- 町域 × band × 性別 × 国籍 on a reference date -- are perturbed once each
  (:mod:`.ckm`, by their own record keys), and **every answer is a sum of perturbed finest
  cells**.  Overlapping queries are then linear functions of the same perturbed cells: least
  squares over all of them recovers those perturbed cells and nothing more, and no 1 or 2 can
  appear (each term is 0 or at least 3).  Tables add up: 男 + 女 = 計, bands sum to 計;
* a **sparsity rule** refuses a table whose non-zero cells are mostly small;
* a **daily budget** per analyst, and queries that sweep one area are flagged for the audit.

>>> band_start(23), band_start(104), band_label(95), band_label(100)
(20, 100, '95～99歳', '100歳以上')
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import JukiError
from .stattable import TOTAL, UNKNOWN

ALL_AREAS = "全域"
ALL_NATIONS = "全て"
BOTH = "男女計"
SEX = {"1": "男", "2": "女"}
GROUPS = ["日本人住民", "外国人住民"]
TOP = 100                 # 100歳以上
NOTE = ("値はセルキー法で攪乱している（各区分の最小単位を一度だけ攪乱し、その和を表示する。同じ区分は常に同じ値。"
        "1・2は表示されない。真の値とは異なることがある）。")


def band_start(age: int, width: int = 5) -> int:
    return min(int(age) // width * width, TOP)


def band_label(start: int, width: int = 5) -> str:
    if start >= TOP:
        return "100歳以上"
    if width == 1:
        return f"{start}歳"
    return f"{start}～{min(start + width - 1, TOP - 1)}歳"


@dataclass(frozen=True)
class Rules:
    age_band: int = 5              # years per band (1 = single years)
    sparsity_small: int = 5        # a cell below this (and above 0) is small
    sparsity_share: float = 0.5    # refuse a table when more of its non-zero cells than this are small
    daily_queries: int = 2000      # per analyst and day
    sweep_queries: int = 100       # queries on one area in a day beyond which they are flagged


def rules() -> Rules:
    from ..tomlfile import read
    from .policy import load
    p = load()
    d = read(p.path, "disclosure policy").get("tables", {}) if p.path else {}
    try:
        r = Rules(**{k: type(getattr(Rules, k))(v) for k, v in d.items() if hasattr(Rules, k)})
    except (TypeError, ValueError) as e:
        raise JukiError(f"disclosure policy [tables]: {e}") from None
    if r.age_band not in (1, 5):
        raise JukiError("disclosure policy [tables]: age_band must be 1 or 5")
    return r


_CACHE: dict = {}


def finest(a, ref: dt.date, width: int = 5) -> pd.DataFrame:
    """The perturbed finest cells of a reference date: choiki, band, sex, grp, nationality, n, p."""
    key = (str(a.path), a.meta.get("published_at"), ref, width)
    if key in _CACHE:
        return _CACHE[key]
    import ibis

    from .. import codes
    from .ckm import perturb
    from .policy import load as load_policy
    t = a.stock(ref)
    b = ibis.cases((t.age.isnull(), -1), else_=ibis.least(t.age // width * width, TOP))
    df = (t.group_by(town=t.town, band=b, sex=t.sex, grp=t.grp, nationality=t.nationality)
          .aggregate(n=t.count(), ks=t.record_key.sum()).to_pandas())
    towns = codes.towns()
    df["choiki"] = df["town"].map(dict(zip(towns["code"], towns["choiki"]))).fillna(UNKNOWN)
    df["sex"] = df["sex"].map(SEX).fillna(UNKNOWN)
    names = codes.names("kokuseki")
    df["nationality"] = df["nationality"].map(lambda c: names.get(c, c) if c else "").fillna("")
    df = df.groupby(["choiki", "band", "sex", "grp", "nationality"], as_index=False, dropna=False).agg(n=("n", "sum"),
                                                                                                      ks=("ks", "sum"))
    df["p"] = perturb(df["n"].to_numpy(), df["ks"].to_numpy(), load_policy().ptable)
    df = df.drop(columns="ks")
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = df
    return df


def check_ages(lo: int, hi: int, width: int) -> None:
    """Ages must follow the policy's bands: from a band's start to a band's end (100 = 100歳以上)."""
    if lo % width or not (hi == TOP or (hi + 1) % width == 0) or lo > hi:
        raise JukiError(f"age ({lo}, {hi}): tables use {width}-year bands -- from a band's first year (0, {width}, …) "
                        f"to a band's last ({width - 1}, {2 * width - 1}, …, or 100 for 100歳以上)")


def build(f: pd.DataFrame, area: str, ages: tuple, sex: str, nationality: str, width: int = 5,
          exact: bool = False) -> pd.DataFrame:
    """Sum the finest cells of a selection into rows = bands, columns = sexes (+ 計 when both)."""
    lo, hi = ages
    check_ages(lo, hi, width)
    sel = f
    if area != ALL_AREAS:
        sel = sel[sel["choiki"] == area]
    if nationality in GROUPS:
        sel = sel[sel["grp"] == nationality]
    elif nationality != ALL_NATIONS:
        sel = sel[sel["nationality"] == nationality]
    if sex != BOTH:
        sel = sel[sel["sex"] == sex]
    starts = list(range(lo, min(hi, TOP - 1) + 1, width)) + ([TOP] if hi >= TOP else [])
    whole = lo == 0 and hi >= TOP
    rows = starts + ([-1] if whole and (sel["band"] == -1).any() else [])
    sel = sel[sel["band"].isin(rows)]
    sexes = ["男", "女"] if sex == BOTH else [sex]
    if sex == BOTH and (sel["sex"] == UNKNOWN).any():
        sexes.append(UNKNOWN)
    value = "n" if exact else "p"
    grid = sel.pivot_table(index="band", columns="sex", values=value, aggfunc="sum", fill_value=0)
    grid = grid.reindex(index=rows, columns=sexes, fill_value=0).astype(np.int64)
    grid.index = pd.Index([UNKNOWN if r == -1 else band_label(r, width) for r in rows], name="年齢")
    grid.columns.name = "性別"
    if len(sexes) > 1:
        grid[TOTAL] = grid.sum(axis=1)
    grid.loc[TOTAL] = grid.sum(axis=0)
    return grid


def sparse(df: pd.DataFrame, r: Rules) -> bool:
    inner = df.drop(index=TOTAL).drop(columns=[TOTAL], errors="ignore").to_numpy().ravel()
    nonzero = inner[inner > 0]
    return bool(len(nonzero)) and (nonzero < r.sparsity_small).mean() > r.sparsity_share


def caption(ref, area, ages, sex, nationality) -> str:
    lo, hi = ages
    span = f"{lo}歳以上" if hi >= TOP else f"{lo}歳～{hi}歳"
    return f"基準日 {ref}／地域 {area}／年齢 {span}／性別 {sex}／国籍・地域 {nationality}"


def file_stem(ref, area, ages, sex, nationality) -> str:
    """What a download is, in its name: 人口_本町_2026-04-01_20-39歳_女_全て."""
    lo, hi = ages
    span = f"{lo}歳以上" if hi >= TOP else f"{lo}-{hi}歳"
    return "_".join(["人口", area, str(ref), span, sex, nationality]).replace("/", "_")


def usage_today(operator: str, area: str) -> tuple[int, int]:
    """(queries today by this operator, of which on this area), from the operation log."""
    from ..log import oplog
    n = same = 0
    for e in oplog.entries_on(dt.date.today().isoformat()):
        if e.get("action") == "table" and e.get("operator") == operator and e.get("outcome") == "ok":
            n += 1
            same += (e.get("params") or {}).get("area") == area
    return n, same


def query(a, ref: dt.date, area: str = ALL_AREAS, ages: tuple = (0, TOP), sex: str = BOTH,
          nationality: str = ALL_NATIONS) -> pd.DataFrame:
    """A protected table (logged: who and the table's definition, never its numbers)."""
    from ..access import guard
    from ..access.roles import Refused
    r = rules()
    spec = {"ref": str(ref), "area": area, "ages": list(ages), "sex": sex, "nationality": nationality}
    with guard.entry("table", "tables", params=spec) as g:
        n, same = usage_today(g.operator, area)
        if n >= r.daily_queries:
            raise Refused(f"the daily budget of {r.daily_queries} tables is used up: ask again tomorrow")
        if same + 1 > r.sweep_queries:
            g.flags = ["sweep"]
        df = build(finest(a, ref, r.age_band), area, tuple(ages), sex, nationality, r.age_band)
        if sparse(df, r):
            raise Refused(f"this table is too sparse to publish (most of its cells are below {r.sparsity_small}): "
                          "choose wider categories (全域, wider ages, 男女計, 全て)")
        g.detail = "cell-key perturbed finest cells, summed"
    df.attrs["caption"] = caption(ref, area, ages, sex, nationality)
    df.attrs["note"] = NOTE
    df.attrs["file"] = file_stem(ref, area, ages, sex, nationality)
    return df
