"""Population on a reference date: tables over the analysis store's ``stock``.

Each function builds one ibis expression over the residents of a published reference date and
returns a :class:`StatTable`, protected as asked (:class:`Protect`: threshold suppression for
official tables, the cell-key method for ad-hoc ones).  Unknown 町丁字 or ages are counted in a
「不詳」 row, never dropped.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from .. import codes
from .stattable import AGE_BANDS, UNKNOWN, StatTable

SEXES = ["男", "女"]
SEX = {"1": "男", "2": "女"}
GROUPS = ["日本人住民", "外国人住民"]
HOUSEHOLD_TYPES = ["日本人住民のみの世帯", "外国人住民のみの世帯", "複数国籍世帯"]
AREA_LEVELS = {"town": ("name", "町丁字"), "choiki": ("choiki", "町域"), "branch": ("branch", "支所")}
THREE_BANDS = ["年少人口（0～14歳）", "生産年齢人口（15～64歳）", "老年人口（65歳以上）", UNKNOWN]


@dataclass(frozen=True)
class Protect:
    """How a table is protected: ``suppression`` (official), ``ckm`` (ad hoc) or ``none`` (internal)."""
    method: str = "suppression"
    threshold: int = 2
    internal: bool = False

    def kw(self) -> dict:
        return {"method": self.method, "threshold": self.threshold if self.method == "suppression" else 0,
                "internal": self.internal}


OFFICIAL = Protect()


def band(age):
    return ibis.cases((age.isnull(), len(AGE_BANDS) - 1), else_=ibis.least(age // 5, 20))


def area_labels(level: str):
    if level not in AREA_LEVELS:
        from ..errors import JukiError
        raise JukiError(f"area level {level!r}: choose one of {', '.join(AREA_LEVELS)}")
    col, label = AREA_LEVELS[level]
    towns = codes.towns()
    return dict(zip(towns["code"], towns[col])), list(dict.fromkeys(towns[col])) + [UNKNOWN], label


def _agg(t, protect: Protect, **by):
    aggs = {"n": t.count()}
    if protect.method == "ckm":
        aggs["ks"] = t.record_key.sum()
    return t.group_by(**by).aggregate(**aggs)


def _band_label(i):
    return AGE_BANDS[int(i)]


def population_age_sex(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """住民基本台帳に基づく人口: 年齢階級 × 日本人住民/外国人住民 × 男女 (with 計)."""
    t = a.stock(ref)
    expr = _agg(t, protect, band=band(t.age), grp=t.grp, sex=t.sex)
    return _long("population_age_sex", f"年齢階級別人口（{ref}現在）", expr,
                 [("年齢階級", AGE_BANDS, "band", _band_label), ("区分", GROUPS, "grp", None),
                  ("性別", SEXES, "sex", SEX)], protect)


def _long(name, title, expr, spec, protect: Protect, unit: str = "人数", note: str = "") -> StatTable:
    """``spec``: (axis name, labels, result column, mapping or None) per axis.

    A value the code table does not know (e.g. an invalid 性別 code) is counted as 不詳, and
    the axis gains a 不詳 label if it has none: a resident is never dropped from a table."""
    df = expr.to_pandas()
    spec = list(spec)
    for k, (axis, labels, col, m) in enumerate(spec):
        if m is not None:
            if callable(m):
                df[col] = df[col].map(m)
            else:
                df[col] = df[col].map(lambda v, m=m: m.get(v, UNKNOWN))
        if UNKNOWN not in labels and (df[col].isna() | ~df[col].isin(labels)).any():
            spec[k] = (axis, list(labels) + [UNKNOWN], col, m)
            df[col] = df[col].where(df[col].isin(labels), UNKNOWN)
        df = df.rename(columns={col: axis})
    group = [axis for axis, *_ in spec]
    agg = {"n": "sum", **({"ks": "sum"} if "ks" in df else {})}
    df = df.groupby(group, as_index=False, dropna=False).agg(agg) if len(df) else df
    st = StatTable.from_long(name, title, df, [(axis, labels) for axis, labels, *_ in spec],
                             keys="ks" if protect.method == "ckm" else None, unit=unit, note=note, **protect.kw())
    st.sql = str(ibis.to_sql(expr))
    return st


def households(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """世帯数: 日本人住民のみ / 外国人住民のみ / 複数国籍."""
    t = a.stock(ref)
    per = t.group_by(t.household).aggregate(nj=(t.grp == GROUPS[0]).sum(), nf=(t.grp == GROUPS[1]).sum())
    kind = ibis.cases((per.nf == 0, HOUSEHOLD_TYPES[0]), (per.nj == 0, HOUSEHOLD_TYPES[1]), else_=HOUSEHOLD_TYPES[2])
    expr = per.group_by(kind=kind).aggregate(n=per.count())
    return _long("households", f"世帯数（{ref}現在）", expr, [("世帯の区分", HOUSEHOLD_TYPES, "kind", None)],
                 Protect(protect.method if protect.method != "ckm" else "suppression", protect.threshold, protect.internal),
                 unit="世帯数")


def population_by_area(a, ref: dt.date, level: str = "choiki", protect: Protect = OFFICIAL) -> StatTable:
    """Population by area (町丁字 / 町域 / 支所, 不詳 included) × 5歳階級 × 男女."""
    t = a.stock(ref)
    mapping, ordered, label = area_labels(level)
    expr = _agg(t, protect, town=t.town, band=band(t.age), sex=t.sex)
    return _long(f"population_{level}", f"{label}別・年齢階級別人口（{ref}現在）", expr,
                 [(label, ordered, "town", mapping), ("年齢階級", AGE_BANDS, "band", _band_label),
                  ("性別", SEXES, "sex", SEX)], protect)


def households_by_area(a, ref: dt.date, level: str = "choiki", protect: Protect = OFFICIAL) -> StatTable:
    """世帯数 by area (a household lives at one address, so households add up over areas)."""
    t = a.stock(ref)
    mapping, ordered, label = area_labels(level)
    per = t.group_by(t.household).aggregate(town=t.town.arbitrary())
    expr = per.group_by(town=per.town).aggregate(n=per.count())
    return _long(f"households_{level}", f"{label}別世帯数（{ref}現在）", expr, [(label, ordered, "town", mapping)],
                 Protect("suppression", protect.threshold, protect.internal), unit="世帯数")


def foreign_nationality(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """外国人住民: 国籍・地域 × 第30条の45 区分."""
    t = a.stock(ref)
    f = t.filter(t.grp == GROUPS[1])
    nat, kub = codes.names("kokuseki"), codes.names("kubun_30_45")
    expr = _agg(f, protect, nat=f.nationality, kubun=f.kubun)
    return _long("foreign_nationality", f"国籍・地域別、在留の区分別外国人住民数（{ref}現在）", expr,
                 [("国籍・地域", list(nat.values()) + [UNKNOWN], "nat", nat),
                  ("区分", list(kub.values()) + [UNKNOWN], "kubun", kub)], protect)


def foreign_status(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """中長期在留者: 在留資格 × 男女."""
    t = a.stock(ref)
    f = t.filter(t.shikaku.notnull())
    names = codes.names("zairyu_shikaku")
    expr = _agg(f, protect, s=f.shikaku, sex=f.sex)
    return _long("foreign_status", f"在留資格別中長期在留者数（{ref}現在）", expr,
                 [("在留資格", list(names.values()), "s", names), ("性別", SEXES, "sex", SEX)], protect)


def summary(a, ref: dt.date) -> pd.DataFrame:
    """総人口, 日本人住民, 外国人住民, 世帯数, 不詳, and the shares aged 65+ and under 15 (exact counts)."""
    t = a.stock(ref)
    r = t.aggregate(total=t.count(), jp=(t.grp == GROUPS[0]).sum(), hh=t.household.nunique(),
                    old=(t.age >= 65).sum(), young=(t.age < 15).sum(), no_town=t.town.isnull().sum(),
                    no_age=t.age.isnull().sum()).to_pandas().iloc[0]
    total = int(r["total"])
    rows = {"総人口": total, "日本人住民": int(r["jp"]), "外国人住民": total - int(r["jp"]), "世帯数": int(r["hh"]),
            "うち町丁字が不詳": int(r["no_town"]), "うち年齢が不詳": int(r["no_age"]),
            "65歳以上の割合(%)": round(100 * float(r["old"] or 0) / max(total, 1), 1),
            "15歳未満の割合(%)": round(100 * float(r["young"] or 0) / max(total, 1), 1)}
    return pd.DataFrame({"値": pd.Series(rows, dtype=object)})


def pyramid(a, ref: dt.date) -> pd.DataFrame:
    """Residents by 5-year age band and sex (exact counts, for the chart; 不詳 excluded)."""
    st = population_age_sex(a, ref, Protect("none", 0))
    ages = [x for x in st.axes[0][1] if x != UNKNOWN]
    groups = st.axes[1][1]
    sexes = st.axes[2][1]
    cube = st.counts[: len(ages), len(groups), :]          # age bands × all residents (計) × sexes
    return pd.DataFrame({s: cube[:, sexes.index(s)] for s in SEXES},
                        index=pd.Index(ages, name="年齢")).astype(int)
