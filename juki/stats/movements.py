"""Movements over a period: tables over the analysis store's ``events``.

A period is the change between two reference dates' populations: rows that take effect after
the end of ``start`` and by the end of ``end`` (:func:`juki.residency.effective_date` -- the
processing date, or a planned 転出's date).  Counted this way, population(start) + 記載 − 消除 =
population(end) for consistent records (the balance :mod:`.official` checks).  The 総務省
survey's year is the period from 1 January to the next 1 January.
"""
from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from .. import codes
from ..errors import JukiError
from .population import GROUPS, OFFICIAL, SEX, SEXES, Protect, _long
from .stattable import UNKNOWN

KISAI = ["転入(国内)", "転入(国外)", "出生", "その他記載"]
SHOJO = ["転出(国内)", "転出(国外)", "死亡", "その他消除"]


def survey_period(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The survey's movement year ending on the last 1 January on or before ``as_of``.

    >>> survey_period(dt.date(2026, 4, 1))
    (datetime.date(2025, 1, 1), datetime.date(2026, 1, 1))
    """
    end = dt.date(as_of.year, 1, 1)
    return dt.date(end.year - 1, 1, 1), end


def parse_period(as_of: dt.date, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """The movement period from notebook parameters (default: the survey year before ``as_of``).

    >>> parse_period(dt.date(2026, 4, 1), "2026-01-01", "2025-01-01")
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: period_start 2026-01-01 is after period_end 2025-01-01
    """
    d0, d1 = survey_period(as_of)
    try:
        s = dt.date.fromisoformat(str(start)) if start else d0
        e = dt.date.fromisoformat(str(end)) if end else d1
    except ValueError as exc:
        raise JukiError(f"period: {exc}") from None
    if s > e:
        raise JukiError(f"period_start {s} is after period_end {e}")
    return s, e


def period_label(start: dt.date, end: dt.date) -> str:
    return f"{start}現在から{end}現在まで"


def in_period(e, start: dt.date, end: dt.date):
    return (e.eff_date > ibis.date(start.year, start.month, start.day)) & \
           (e.eff_date <= ibis.date(end.year, end.month, end.day))


def movements(a, start: dt.date, end: dt.date, protect: Protect = OFFICIAL) -> list:
    """人口動態: 記載 (転入 国内/国外, 出生, その他) and 消除 (転出 国内/国外, 死亡, その他) by
    日本人住民/外国人住民 × 男女."""
    e = a.events()
    f = e.filter(in_period(e, start, end) & e.cat.notnull())
    aggs = {"n": f.count(), **({"ks": f.record_key.sum()} if protect.method == "ckm" else {})}
    expr = f.group_by(cat=f.cat, grp=f.grp, sex=f.sex).aggregate(**aggs)
    out = []
    for name, title, labels in (("movements_kisai", "記載", KISAI), ("movements_shojo", "消除", SHOJO)):
        part = expr.filter(expr.cat.isin(labels))
        out.append(_long(name, f"人口動態（{title}）（{period_label(start, end)}）", part,
                         [(title, labels, "cat", None), ("区分", GROUPS, "grp", None), ("性別", SEXES, "sex", SEX)],
                         protect, unit="人数"))
    return out


def _months(start: dt.date, end: dt.date) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(start + dt.timedelta(days=1), end, freq="M")]


def monthly_movements(a, start: dt.date, end: dt.date, protect: Protect = OFFICIAL) -> object:
    """異動件数: month (of taking effect) × 異動事由."""
    e = a.events()
    f = e.filter(in_period(e, start, end))
    expr = f.group_by(month=f.eff_date.strftime("%Y-%m"), jiyu=f.jiyu).aggregate(n=f.count())
    names = codes.names("ido_jiyu")
    kubun = {r["code"]: r["kubun"] for r in codes.rows("ido_jiyu")}
    label = {c: f"{codes.names('ido_kubun')[kubun[c]]}:{n}" for c, n in names.items()}
    return _long("monthly_movements", f"月別・異動事由別異動件数（{period_label(start, end)}）", expr,
                 [("月", _months(start, end), "month", None), ("異動事由", list(label.values()), "jiyu", label)],
                 Protect("suppression", protect.threshold, protect.internal), unit="件数")


def workload(a, start: dt.date, end: dt.date, protect: Protect = OFFICIAL) -> object:
    """事務処理件数: month of processing × branch office."""
    e = a.events()
    s0, e0 = ibis.date(start.year, start.month, 1), ibis.date(end.year, end.month, end.day)
    f = e.filter((e.shori_month >= s0) & (e.shori_month <= e0))
    expr = f.group_by(month=f.shori_month.strftime("%Y-%m"), place=f.branch).aggregate(n=f.count())
    places = list(codes.branches()["name"]) + [UNKNOWN]
    months = [p.strftime("%Y-%m") for p in pd.period_range(start, end, freq="M")]
    return _long("workload_branch", f"月別・支所別事務処理件数（{start}～{end}）", expr,
                 [("月", months, "month", None), ("支所", places, "place", {p: p for p in places})],
                 Protect("suppression", protect.threshold, protect.internal), unit="件数")
