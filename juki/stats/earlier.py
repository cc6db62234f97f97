"""Last month's published release, as a reader of this month's holds it.

The 町丁字 table of a release counts each town's 前月の人口: the population on the date of the
previous monthly release, which that release published as its 当月の人口 (or as x), and whose
町域 totals its 町域 tables published.  A reader holding both releases therefore knows this
month's 前月 wherever last month showed it, and the sum of a 町域's 前月 wherever last month
showed the 町域 total; with each town's row (前月 + 増 − 減 = 当月) that pins cells this month
hides unless the release knows it too.

:func:`read` takes last month's release from what was published (its CSV files in the reports
folder, ``<reports>/<date>/<notebook>/monthly_town.csv`` and ``population_choiki.csv``): that is
what the reader has.  :func:`apply` then marks this month's 町丁字 table: a 前月 last month hid
stays hidden (publishing it now would undo last month's protection), one it showed stays shown
(hiding it now hides nothing) and is a fact of this month's linear program, as is each 町域's
sum of 前月 where last month showed the 町域 total.

A figure last month showed that differs from this month's 前月 (a record corrected back to
before last month's date) is not taken as a fact: the reader's equation would be false.

>>> import tempfile, pathlib
>>> base = pathlib.Path(tempfile.mkdtemp())
>>> (base / "2026-03-01" / "02").mkdir(parents=True)
>>> _ = (base / "2026-03-01" / "02" / "monthly_town.csv").write_text(
...     "\\ufeff町丁字,当月の人口,世帯数\\n本町一丁目,41,20\\n本町二丁目,x,x\\n計,43,21\\n", encoding="utf-8")
>>> e = read(base, dt.date(2026, 3, 1))
>>> e.towns, e.areas
({'本町一丁目': 41, '本町二丁目': None}, {})
>>> read(base, dt.date(2026, 2, 1)) is None
True
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .stattable import TOTAL

TOWNS = "monthly_town.csv"
AREAS = "population_choiki.csv"
#: The column of this month's 町丁字 table that last month published as 当月の人口.
PREVIOUS, CURRENT = "前月の人口", "当月の人口"


@dataclass
class Earlier:
    date: dt.date
    towns: dict                 # town label -> 当月の人口 as published (None: x)
    areas: dict                 # 町域 label -> total as published (None: x)
    facts: dict = field(default_factory=dict)      # after apply: town row -> its 前月 (a fact)
    area_facts: dict = field(default_factory=dict)  # after apply: 町域 label -> the sum of its towns' 前月
    differ: int = 0                                 # towns whose 前月 is not what last month showed


def _value(v) -> int | None:
    v = str(v).strip()
    return None if v == "x" or not v.lstrip("-").isdigit() else int(v)


def _published(path: Path) -> pd.DataFrame | None:
    """A published CSV (UTF-8 with BOM) as strings; None for an internal one (never published)."""
    text = path.read_text(encoding="utf-8-sig")
    if text.startswith("#"):
        return None
    return pd.read_csv(io.StringIO(text), index_col=0, dtype=str)


def read(base, date: dt.date) -> Earlier | None:
    """The release published for ``date`` under the reports folder ``base`` (None when there is
    none, or only an internal one)."""
    folder = Path(base) / date.isoformat()
    try:
        hits = sorted(folder.glob(f"*/{TOWNS}")) if folder.is_dir() else []
    except OSError:                 # a reports folder this account cannot read: nothing to go by
        return None
    for path in hits:
        df = _published(path)
        if df is None or CURRENT not in df.columns:
            continue
        towns = {str(k): _value(v) for k, v in df[CURRENT].items() if str(k) != TOTAL}
        areas: dict = {}
        pa = path.with_name(AREAS)
        adf = _published(pa) if pa.exists() else None
        if adf is not None and len(adf.columns):
            col = TOTAL if TOTAL in adf.columns else adf.columns[-1]       # 計_計: the last column
            areas = {str(k): _value(v) for k, v in adf[col].items() if str(k) != TOTAL}
        return Earlier(date, towns, areas)
    return None


def apply(earlier: Earlier | None, mt, town_area: dict, area_labels: list, threshold: int) -> None:
    """Mark this month's 町丁字 table ``mt`` (rows: towns, then 計) with what ``earlier`` showed,
    and keep the facts for the linear program on ``earlier``: ``town_area`` maps a row to its
    町域's label."""
    if earlier is None:
        return
    cols = list(mt.axes[1][1])
    j = cols.index(PREVIOUS)
    keep = np.zeros(mt.counts.shape, bool) if mt.keep is None else mt.keep
    labels = list(mt.axes[0][1])
    earlier.facts, earlier.area_facts, earlier.differ = {}, {}, 0
    for r, label in enumerate(labels):
        if label not in earlier.towns:
            continue
        shown, now = earlier.towns[label], int(mt.counts[r, j])
        if shown is None:
            mt.hidden[r, j] = True
        elif shown != now:
            earlier.differ += 1
        elif not 1 <= shown <= threshold:
            keep[r, j] = True
            mt.hidden[r, j] = False
            earlier.facts[r] = now
    keep[-1, j] = True                                  # the city's total, never hidden
    mt.hidden[-1, j] = False
    for area in area_labels:
        rows = [r for r, a in town_area.items() if a == area]
        shown = earlier.areas.get(area)
        if rows and shown is not None and shown == int(mt.counts[rows, j].sum()):
            earlier.area_facts[area] = shown
    mt.keep = keep
