"""Population statistics tables, all computed on the de-identified copy (ibis over DuckDB).

Every function takes a :class:`juki.privacy.DeidentifiedTable` (or the :class:`Deidentified`
copy for tables over 異動 rows), builds one ibis expression, and returns a
:class:`juki.stats.table.StatTable` whose ``sql`` attribute keeps the compiled query (the
privacy test compiles every statistics query and checks that no identifier is read).
"""
from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from .. import codes
from ..privacy import Deidentified, DeidentifiedTable
from .table import StatTable

AGE_BANDS = [f"{a}～{a + 4}歳" for a in range(0, 100, 5)] + ["100歳以上"]
SEXES = ["男", "女"]
SEX = {"1": "男", "2": "女"}
GROUPS = ["日本人住民", "外国人住民"]
KISAI = ["転入(国内)", "転入(国外)", "出生", "その他記載"]
SHOJO = ["転出(国内)", "転出(国外)", "死亡", "その他消除"]
HOUSEHOLD_TYPES = ["日本人住民のみの世帯", "外国人住民のみの世帯", "複数国籍世帯"]
AREA_LEVELS = {"town": ("name", "町丁字"), "choiki": ("choiki", "町域"), "branch": ("branch", "支所")}


def _need(view) -> object:
    if not isinstance(view, DeidentifiedTable):
        raise TypeError("statistics accept only a juki.privacy.DeidentifiedTable")
    return view.expr


def _run(expr) -> tuple[pd.DataFrame, str]:
    return expr.to_pandas(), str(ibis.to_sql(expr))


def _finish(st: StatTable, sql: str) -> StatTable:
    st.sql = sql
    return st


def _band(age):
    return ibis.least(age // 5, 20)


def population_age_sex(view: DeidentifiedTable, threshold: int = 2) -> StatTable:
    """住民基本台帳に基づく人口: 日本人住民/外国人住民 × 5歳階級 × 男女 (with 計)."""
    t = _need(view)
    expr = t.group_by(group=t.nationality_group, band=_band(t.age), sex=t.seibetsu).aggregate(n=t.count())
    df, sql = _run(expr)
    df["band"] = df["band"].map(lambda i: AGE_BANDS[int(i)])
    df["sex"] = df["sex"].map(SEX)
    df = df.rename(columns={"group": "区分", "band": "年齢階級", "sex": "性別"})
    return _finish(StatTable.from_long("population_age_sex", f"年齢階級別人口（{view.as_of}現在）", df,
                                       [("年齢階級", AGE_BANDS), ("区分", GROUPS), ("性別", SEXES)],
                                       threshold=threshold), sql)


def households(view: DeidentifiedTable, threshold: int = 2) -> StatTable:
    """世帯数: 日本人住民のみ / 外国人住民のみ / 複数国籍 (with 計)."""
    t = _need(view)
    per = t.group_by(t.household).aggregate(nj=t.kokuseki.isnull().cast("int64").sum(),
                                            nf=t.kokuseki.notnull().cast("int64").sum())
    kind = ibis.cases((per.nf == 0, HOUSEHOLD_TYPES[0]), (per.nj == 0, HOUSEHOLD_TYPES[1]), else_=HOUSEHOLD_TYPES[2])
    expr = per.group_by(kind=kind).aggregate(n=per.count())
    df, sql = _run(expr)
    return _finish(StatTable.from_long("households", f"世帯数（{view.as_of}現在）", df.rename(columns={"kind": "世帯の区分"}),
                                       [("世帯の区分", HOUSEHOLD_TYPES)], threshold=threshold), sql)


def _stats_category():
    rows = codes.rows("ido_jiyu")
    return {r["code"]: r["stats"] for r in rows if r["stats"]}


def _known(known_by: dt.date | None, end: dt.date):
    k = max(known_by or end, end)
    return ibis.date(k.year, k.month, k.day)


def movements(deid: Deidentified, start: dt.date, end: dt.date, threshold: int = 2,
              known_by: dt.date | None = None) -> list[StatTable]:
    """人口動態: 記載 (転入 国内/国外, 出生, その他) and 消除 (転出 国内/国外, 死亡, その他) over
    [start, end] by 異動年月日, 日本人住民/外国人住民 × 男女; rows processed by ``known_by``
    (the report's reference date) count, so late notifications of the period are included."""
    t = deid.history().expr
    cat = _stats_category()
    s, e = ibis.date(start.year, start.month, start.day), ibis.date(end.year, end.month, end.day)
    f = t.filter((t.ido_date >= s) & (t.ido_date <= e) & (t.shori_date <= _known(known_by, end))
                 & t.ido_jiyu.isin(list(cat)))
    group = ibis.ifelse(f.kokuseki.isnull(), GROUPS[0], GROUPS[1])
    expr = f.group_by(jiyu=f.ido_jiyu, group=group, sex=f.seibetsu).aggregate(n=f.count())
    df, sql = _run(expr)
    df["cat"] = df["jiyu"].map(cat)
    df["sex"] = df["sex"].map(SEX)
    df = df.groupby(["cat", "group", "sex"], as_index=False)["n"].sum()
    out = []
    for name, title, labels in (("movements_kisai", "記載", KISAI), ("movements_shojo", "消除", SHOJO)):
        part = df[df["cat"].isin(labels)].rename(columns={"cat": title, "group": "区分", "sex": "性別"})
        out.append(_finish(StatTable.from_long(name, f"人口動態（{title}）{start}～{end}", part,
                                               [(title, labels), ("区分", GROUPS), ("性別", SEXES)],
                                               threshold=threshold), sql))
    return out


def _area_labels(level: str):
    if level not in AREA_LEVELS:
        from ..errors import JukiError
        raise JukiError(f"area level {level!r}: choose one of {', '.join(AREA_LEVELS)}")
    col, label = AREA_LEVELS[level]
    towns = codes.towns()
    mapping = dict(zip(towns["code"], towns[col]))
    ordered = list(dict.fromkeys(towns[col]))
    return mapping, ordered, label


def population_by_area(view: DeidentifiedTable, level: str = "choiki", threshold: int = 2) -> StatTable:
    """Population by area (町丁字 / 町域 / 支所) × 5歳階級 × 男女."""
    t = _need(view)
    mapping, ordered, label = _area_labels(level)
    expr = t.group_by(town=t.town_code, band=_band(t.age), sex=t.seibetsu).aggregate(n=t.count())
    df, sql = _run(expr)
    df["area"] = df["town"].map(mapping)
    df["band"] = df["band"].map(lambda i: AGE_BANDS[int(i)])
    df["sex"] = df["sex"].map(SEX)
    df = df.groupby(["area", "band", "sex"], as_index=False)["n"].sum()
    return _finish(StatTable.from_long(f"population_{level}", f"{label}別・年齢階級別人口（{view.as_of}現在）",
                                       df.rename(columns={"area": label, "band": "年齢階級", "sex": "性別"}),
                                       [(label, ordered), ("年齢階級", AGE_BANDS), ("性別", SEXES)],
                                       threshold=threshold), sql)


def households_by_area(view: DeidentifiedTable, level: str = "choiki", threshold: int = 2) -> StatTable:
    t = _need(view)
    mapping, ordered, label = _area_labels(level)
    expr = t.group_by(town=t.town_code).aggregate(n=t.household.nunique())
    df, sql = _run(expr)
    # a household lives at one address, so households add up over towns
    df["area"] = df["town"].map(mapping)
    df = df.groupby("area", as_index=False)["n"].sum().rename(columns={"area": label})
    return _finish(StatTable.from_long(f"households_{level}", f"{label}別世帯数（{view.as_of}現在）", df,
                                       [(label, ordered)], threshold=threshold), sql)


def _months(start: dt.date, end: dt.date) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(start, end, freq="M")]


def monthly_movements(deid: Deidentified, start: dt.date, end: dt.date, threshold: int = 2,
                      known_by: dt.date | None = None) -> StatTable:
    """異動件数: month (of 異動年月日) × 異動事由 (rows processed by ``known_by``)."""
    t = deid.history().expr
    s, e = ibis.date(start.year, start.month, start.day), ibis.date(end.year, end.month, end.day)
    f = t.filter((t.ido_date >= s) & (t.ido_date <= e) & (t.shori_date <= _known(known_by, end)))
    expr = f.group_by(month=f.ido_date.strftime("%Y-%m"), jiyu=f.ido_jiyu).aggregate(n=f.count())
    df, sql = _run(expr)
    names = codes.names("ido_jiyu")
    kubun = {r["code"]: r["kubun"] for r in codes.rows("ido_jiyu")}
    label = {c: f"{codes.names('ido_kubun')[kubun[c]]}:{n}" for c, n in names.items()}
    df["jiyu"] = df["jiyu"].map(label)
    return _finish(StatTable.from_long("monthly_movements", f"月別・異動事由別異動件数 {start}～{end}",
                                       df.rename(columns={"month": "月", "jiyu": "異動事由"}),
                                       [("月", _months(start, end)), ("異動事由", list(label.values()))],
                                       threshold=threshold), sql)


def workload(deid: Deidentified, start: dt.date, end: dt.date, by: str = "branch", threshold: int = 2) -> StatTable:
    """事務処理件数: month (of 処理年月日) × branch office (or terminal)."""
    t = deid.history().expr
    s, e = ibis.date(start.year, start.month, start.day), ibis.date(end.year, end.month, end.day)
    f = t.filter((t.shori_date >= s) & (t.shori_date <= e))
    expr = f.group_by(month=f.shori_date.strftime("%Y-%m"), term=f.tanmatsu_id).aggregate(n=f.count())
    df, sql = _run(expr)
    terms = codes.terminals()
    if by == "branch":
        df["place"] = df["term"].map(dict(zip(terms["code"], terms["branch"])))
        places, label = list(codes.branches()["name"]), "支所"
    else:
        df["place"] = df["term"]
        places, label = list(terms["code"]), "端末"
    df = df.groupby(["month", "place"], as_index=False)["n"].sum()
    return _finish(StatTable.from_long(f"workload_{by}", f"月別・{label}別事務処理件数 {start}～{end}",
                                       df.rename(columns={"month": "月", "place": label}),
                                       [("月", _months(start, end)), (label, places)], threshold=threshold), sql)


def foreign_nationality(view: DeidentifiedTable, threshold: int = 2) -> StatTable:
    """外国人住民: 国籍・地域 × 第30条の45 区分."""
    t = _need(view)
    f = t.filter(t.kokuseki.notnull())
    expr = f.group_by(nat=f.kokuseki, kubun=f.kubun_30_45).aggregate(n=f.count())
    df, sql = _run(expr)
    nat, kub = codes.names("kokuseki"), codes.names("kubun_30_45")
    df["nat"], df["kubun"] = df["nat"].map(nat), df["kubun"].map(kub)
    return _finish(StatTable.from_long("foreign_nationality", f"国籍・地域別、在留の区分別外国人住民数（{view.as_of}現在）",
                                       df.rename(columns={"nat": "国籍・地域", "kubun": "区分"}),
                                       [("国籍・地域", list(nat.values())), ("区分", list(kub.values()))],
                                       threshold=threshold), sql)


def foreign_status(view: DeidentifiedTable, threshold: int = 2) -> StatTable:
    """中長期在留者: 在留資格 × 男女."""
    t = _need(view)
    f = t.filter(t.zairyu_shikaku.notnull())
    expr = f.group_by(s=f.zairyu_shikaku, sex=f.seibetsu).aggregate(n=f.count())
    df, sql = _run(expr)
    names = codes.names("zairyu_shikaku")
    df["s"], df["sex"] = df["s"].map(names), df["sex"].map(SEX)
    return _finish(StatTable.from_long("foreign_status", f"在留資格別中長期在留者数（{view.as_of}現在）",
                                       df.rename(columns={"s": "在留資格", "sex": "性別"}),
                                       [("在留資格", list(names.values())), ("性別", SEXES)], threshold=threshold), sql)


def default_period(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The 総務省 survey's movement period: the calendar year before the reference date."""
    y = as_of.year - 1
    return dt.date(y, 1, 1), dt.date(y, 12, 31)


def all_tables(deid: Deidentified, as_of: dt.date, start: dt.date, end: dt.date, level: str = "choiki",
               threshold: int = 2) -> list[StatTable]:
    view = deid.residents(as_of)
    return [population_age_sex(view, threshold), households(view, threshold),
            *movements(deid, start, end, threshold, known_by=as_of),
            population_by_area(view, level, threshold), households_by_area(view, level, threshold),
            monthly_movements(deid, start, end, threshold, known_by=as_of), workload(deid, start, end, "branch", threshold),
            foreign_nationality(view, threshold), foreign_status(view, threshold)]
