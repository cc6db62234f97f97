"""Charts with Japanese labels.  The CJK font comes from matplotlib-fontja (IPAexGothic),
so nothing depends on fonts installed on the machine."""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401 - registers IPAexGothic and makes it the default
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator


def pyramid(table, title: str = "人口ピラミッド"):
    """Horizontal pyramid from :func:`juki.stats.pyramid` output (index 年齢, columns 男/女)."""
    fig, ax = plt.subplots(figsize=(8, 7))
    y = range(len(table.index))
    ax.barh(y, -table["男"], color="#4a7ebb", label="男")
    ax.barh(y, table["女"], color="#d9534f", label="女")
    ax.set_yticks(list(y))
    ax.set_yticklabels([str(i) for i in table.index], fontsize=8)
    m = max(table["男"].max(), table["女"].max()) or 1
    ax.set_xlim(-m * 1.1, m * 1.1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(int(v)):,}"))
    ax.set_xlabel("人数")
    ax.set_title(title)
    ax.legend(loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def bars(series, title: str, xlabel: str = "人数", top: int | None = None):
    """Horizontal bars of a labelled series (e.g. population by 町域), largest first."""
    s = series.sort_values(ascending=True)
    if top:
        s = s.tail(top)
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(s) + 1)))
    ax.barh([str(i) for i in s.index], s.values, color="#4a7ebb")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def trend(frame, title: str, ylabel: str = "件数"):
    """Monthly lines, one per column of ``frame`` (index: 月)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    for col in frame.columns:
        ax.plot(list(frame.index), frame[col].values, marker="o", label=str(col))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def area_totals(table) -> pd.Series:
    """Total population per area as published (hidden areas left out; 不詳 and 計 excluded)."""
    df = table.frame(published=True)
    col = df.columns[-1]
    s = df[col].iloc[:-1]
    s = s[s.index != "不詳"]
    return pd.to_numeric(s, errors="coerce").dropna().astype(int)


def monthly_by_kubun(table, end=None) -> pd.DataFrame:
    """Monthly counts by 記載/消除/修正: sums of the published cells (hidden ones left out).

    A period ending on the 1st (the survey's 1 January) holds one day of its last month: the
    chart ends at the last complete month instead of dropping to zero there.

    >>> import datetime as dt
    >>> complete_months(["2025-12", "2026-01"], dt.date(2026, 1, 1))
    ['2025-12']
    """
    df = table.frame(published=True).iloc[:-1, :-1]
    num = df.apply(pd.to_numeric, errors="coerce").fillna(0)
    groups = {c: c.split(":")[0] for c in num.columns}
    out = num.T.groupby(groups).sum().T.astype(int)
    if end is not None:
        out = out.loc[complete_months(list(out.index), end)]
    return out


def complete_months(months: list, end) -> list:
    """The months (YYYY-MM) of a period ending on ``end`` that it covers to their last day."""
    import calendar
    last = calendar.monthrange(end.year, end.month)[1]
    cut = end.strftime("%Y-%m") if end.day < last else None
    return [m for m in months if m != cut]


def trends(frame: pd.DataFrame, series):
    """Small multiples of monthly series (index: months; ``series``: (column, title) pairs); a
    month without a value stays a gap, never a zero."""
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.2))
    labels = [f"{m.year % 100:02d}/{m.month:02d}" for m in frame.index]
    for ax, (key, title) in zip(axes.flat, series):
        y = frame[key]
        ax.plot(range(len(y)), y, marker="o", markersize=3, color="#1f4e99")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(y)))
        ax.set_xticklabels(labels, fontsize=7, rotation=90)
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.tick_params(axis="y", labelsize=7)
        if y.notna().sum() == 0:
            ax.text(0.5, 0.5, "記録なし", ha="center", va="center", transform=ax.transAxes, color="#888")
    fig.tight_layout()
    return fig
