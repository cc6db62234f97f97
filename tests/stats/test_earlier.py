"""Last month's release read from its published files, as another month's reader has them."""
from __future__ import annotations

import datetime as dt

import numpy as np

from juki.stats import earlier
from juki.stats.stattable import StatTable

COLS = ["当月の人口", "世帯数", "前月の人口", "出生", "転入"]


def _csv(path, rows, internal=False):
    """Written by hand, the way a spreadsheet user saves a table (UTF-8 with BOM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ("# 内部資料・公表不可\n" if internal else "") + "町丁字," + ",".join(COLS[:2]) + "\n"
    text += "".join(f"{k},{a},{b}\n" for k, a, b in rows)
    path.write_text("\ufeff" + text, encoding="utf-8")


def _month(counts):
    arr = np.array(counts)
    full = np.zeros((arr.shape[0] + 1, arr.shape[1] + 1), dtype=np.int64)
    full[:-1, :-1] = arr
    full[-1, :-1] = arr.sum(axis=0)
    full[:, -1] = full[:, :-1].sum(axis=1)
    t = StatTable("monthly_town", "町丁字別", [("町丁字", ["甲", "乙", "丙", "丁"]), ("項目", COLS)], full)
    t.no_total = (1,)
    return t


def test_what_last_month_showed_becomes_facts_and_what_it_hid_stays_hidden(tmp_path):
    d = dt.date(2026, 3, 1)
    _csv(tmp_path / d.isoformat() / "02" / "monthly_town.csv",
         [("甲", 40, 20), ("乙", "x", "x"), ("丙", 12, 6), ("丁", 30, 15), ("計", 84, 43)])
    (tmp_path / d.isoformat() / "02" / "population_choiki.csv").write_text(
        "\ufeff町域,0～4歳_男,計_計\n本町,x,42\n新町,3,x\n計,9,84\n", encoding="utf-8")
    e = earlier.read(tmp_path, d)
    assert e.towns == {"甲": 40, "乙": None, "丙": 12, "丁": 30} and e.areas == {"本町": 42, "新町": None}
    # this month: 甲 and 乙 in 本町, 丙 and 丁 in 新町; 丙 was corrected back to 11 since
    t = _month([[41, 20, 40, 1, 0], [3, 2, 2, 0, 1], [11, 6, 11, 0, 0], [30, 15, 30, 0, 0]])
    earlier.apply(e, t, {0: "本町", 1: "本町", 2: "新町", 3: "新町"}, ["本町", "新町"], threshold=2)
    j = COLS.index("前月の人口")
    assert t.hidden[1, j] and not t.hidden[0, j]              # 乙 was x then: x now
    assert e.facts == {0: 40, 3: 30} and e.differ == 1        # 丙's figure is not what was shown
    assert t.keep[0, j] and t.keep[3, j] and t.keep[-1, j] and not t.keep[2, j]
    assert e.area_facts == {"本町": 42}                         # 40 + 2: 本町's total then


def test_an_internal_table_or_no_report_is_nothing_to_go_by(tmp_path):
    d = dt.date(2026, 3, 1)
    assert earlier.read(tmp_path, d) is None
    _csv(tmp_path / d.isoformat() / "02" / "monthly_town.csv", [("甲", 1, 1)], internal=True)
    assert earlier.read(tmp_path, d) is None


def test_the_audit_line_counts_towns_corrected_since_last_month():
    from juki.stats.linked import Audit
    e = earlier.Earlier(dt.date(2026, 3, 1), {"甲": 40}, {}, facts={0: 40}, differ=2)
    line = Audit(tables=["町丁字別人口・世帯数と前月からの増減"], earlier=e).line()
    assert "前月（2026-03-01）の公表値 1町丁字・0町域を既知として監査" in line
    assert "前月の公表値と異なる前月の人口 2町丁字" in line
    assert "異なる" not in Audit(tables=["t"], earlier=earlier.Earlier(dt.date(2026, 3, 1), {}, {})).line()
