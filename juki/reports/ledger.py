"""The ledger of key figures: one entry per report date, kept with the reports
(``reports/ledger.json``), feeding the twelve-month trend charts of the manager summary.

Counts only (population, households, groups, the month's 記載/消除, open quality problems):
nothing personal.  A month without a report is a gap in the charts, not a zero.

>>> import tempfile, pathlib, datetime as dt
>>> base = pathlib.Path(tempfile.mkdtemp())
>>> _ = record(base, {"as_of": "2026-03-01", "総人口": 100})
>>> _ = record(base, {"as_of": "2026-05-01", "総人口": 104})
>>> t = trend(base, dt.date(2026, 5, 1), months=3)
>>> [None if v != v else int(v) for v in t["総人口"]]
[100, None, 104]
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from .. import atomic

FILE = "ledger.json"
#: What the trend charts show, in this order (keys of the key figures).
SERIES = [("総人口", "総人口（人）"), ("世帯数", "世帯数"), ("外国人住民", "外国人住民（人）"),
          ("記載", "記載（前月から）"), ("消除", "消除（前月から）"), ("品質の未解決", "未解決の品質問題（件）")]


def base_of(report_dir) -> Path:
    """The reports folder a run folder belongs to (where the ledger is kept)."""
    from .. import paths
    if report_dir:
        return Path(report_dir).parent
    return paths.reports()


def read(base) -> dict:
    p = Path(base) / FILE
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return {}


def record(base, figures: dict) -> Path:
    """Add (or replace) the entry of ``figures["as_of"]``."""
    led = read(base)
    led[figures["as_of"]] = {k: v for k, v in figures.items() if k != "as_of"}
    return atomic.atomic_write_json(Path(base) / FILE, dict(sorted(led.items())))


def previous(base, as_of: dt.date) -> tuple[str, dict] | None:
    """The latest entry before ``as_of``."""
    earlier = [(k, v) for k, v in read(base).items() if k < as_of.isoformat()]
    return max(earlier) if earlier else None


def _month(d: dt.date, back: int) -> dt.date:
    m = d.year * 12 + d.month - 1 - back
    return dt.date(m // 12, m % 12 + 1, 1)


def trend(base, as_of: dt.date, months: int = 12, current: dict | None = None) -> pd.DataFrame:
    """One row per month (the latest report in each month), ``months`` months back to ``as_of``'s;
    months without a report are NaN (gaps).  ``current``: this run's figures, not yet recorded."""
    led = read(base)
    if current:
        led[current["as_of"]] = current
    index = [_month(as_of, k) for k in range(months - 1, -1, -1)]
    rows = {}
    for k, v in sorted(led.items()):
        d = dt.date.fromisoformat(k)
        if d <= as_of:
            rows[dt.date(d.year, d.month, 1)] = v
    df = pd.DataFrame([{s: rows.get(m, {}).get(s) for s, _ in SERIES} for m in index],
                      index=pd.Index(index, name="月"), dtype=float)
    return df
