"""Helpers the statistics notebook uses to turn tables into chart series."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..errors import JukiError
from .table import StatTable
from .tables import default_period


def parse_period(as_of: dt.date, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """The movement period from notebook parameters (defaults: the previous calendar year).

    >>> parse_period(dt.date(2026, 4, 1), None, None)
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    >>> parse_period(dt.date(2026, 4, 1), "2026-01-01", "2025-01-01")
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: period_start 2026-01-01 is after period_end 2025-01-01
    """
    d0, d1 = default_period(as_of)
    try:
        s = dt.date.fromisoformat(start) if start else d0
        e = dt.date.fromisoformat(end) if end else d1
    except ValueError as exc:
        raise JukiError(f"period: {exc}") from None
    if s > e:
        raise JukiError(f"period_start {s} is after period_end {e}")
    return s, e


def area_totals(table: StatTable) -> pd.Series:
    """Total population per area (unsuppressed totals of areas are ≥ the table's threshold
    or shown anyway in the published table; the chart uses published area totals only)."""
    df = table.frame(published=True)
    s = df[("計", "計")].iloc[:-1]
    return pd.to_numeric(s, errors="coerce").dropna().astype(int)


def monthly_by_kubun(table: StatTable) -> pd.DataFrame:
    """Monthly counts by 記載/消除/修正 (sums of published 異動事由 columns; hidden cells excluded)."""
    df = table.frame(published=True).iloc[:-1, :-1]
    num = df.apply(pd.to_numeric, errors="coerce").fillna(0)
    groups = {c: c.split(":")[0] for c in num.columns}
    return num.T.groupby(groups).sum().T.astype(int)
