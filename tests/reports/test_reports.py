"""The monthly report as a manager receives it: two reports a month apart on one store.

Month 1 carries two planted defects; by month 2 one is fixed and one is not, and a 送付先情報
row is left past its deadline.  The index must show the changes, the follow-up must call the
defects still open (with its age) and resolved, the retention status must be red until the
scheduler's daily purge runs and green after it; pages hold no float counts, truncation, pandas
index or rule IDs; and a successful run writes nothing to stderr but its progress lines.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from ..conftest import AS_OF

D1, D2 = dt.date(2026, 3, 1), AS_OF          # a month apart (AS_OF is the store's own date)


def juki(*args, env=None):
    return subprocess.run([sys.executable, "-m", "juki", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=900)


def sql(db, q, params=None):
    con = duckdb.connect(str(db))
    try:
        return con.execute(q, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def months(tmp_path_factory, small_db):
    """Run the three reports once for the module: D1; D2 with one defect fixed and an overdue
    送付先 row; D2 again after the scheduler's `juki purge --only sofusaki_sent`."""
    from ..conftest import write_operators
    root = tmp_path_factory.mktemp("months")
    db = root / "juki.duckdb"
    shutil.copy(small_db, db)
    reports = root / "reports"
    env = {"JUKI_REPORTS": str(reports)}
    # two residents' current rows, processed before month 1, get an impossible 性別 code
    (a, ra), (b, rb) = sql(db, """SELECT atena_no, rireki_no FROM jumin j WHERE shori_date < DATE '2026-02-01'
        AND rireki_no = (SELECT max(rireki_no) FROM jumin x WHERE x.atena_no = j.atena_no) AND ido_kubun <> '2'
        ORDER BY atena_no LIMIT 2""")
    sql(db, "UPDATE jumin SET seibetsu = '9' WHERE (atena_no = ? AND rireki_no = ?) OR (atena_no = ? AND rireki_no = ?)",
        [a, ra, b, rb])
    first = juki("report", "--as-of", D1, "--db", db, env=env)
    sql(db, "UPDATE jumin SET seibetsu = '1' WHERE atena_no = ? AND rireki_no = ?", [b, rb])
    late = D2 - dt.timedelta(days=14)
    sql(db, "UPDATE sofusaki SET sent_date = ? WHERE rowid = (SELECT min(rowid) FROM sofusaki)", [late])
    second = juki("report", "--as-of", D2, "--db", db, env=env)
    assert second.returncode == 0, (first.stderr[-1500:], second.stderr[-1500:])
    index2 = (reports / D2.isoformat() / "index.html").read_text(encoding="utf-8")
    status2 = json.loads((reports / D2.isoformat() / "report_status.json").read_text(encoding="utf-8"))
    sched = write_operators(root / "operators-scheduler.toml", "scheduler")
    purge = juki("purge", "--only", "sofusaki_sent", "--as-of", D2, "--db", db, env={**env, "JUKI_OPERATORS": str(sched)})
    third = juki("report", "--as-of", D2, "--db", db, env=env)
    return {"db": db, "reports": reports, "runs": (first, second, third), "purge": purge, "index2": index2,
            "status2": status2, "defects": (a, b)}


def test_the_second_month_is_protected_knowing_the_first(months):
    """D2's release read D1's as published: a town D1 showed as x is x in D2's 前月の人口, one it
    showed has the same figure, and the audit line says the earlier figures were facts."""
    import pandas as pd

    def towns(d):
        path = months["reports"] / d.isoformat() / "02_population_statistics" / "monthly_town.csv"
        return pd.read_csv(path, encoding="utf-8-sig", index_col=0, dtype=str).drop("計")
    then, now = towns(D1)["当月の人口"], towns(D2)["前月の人口"]
    hid = then.index[then == "x"]
    assert len(hid) and (now[hid] == "x").all()
    shown = then.index[(then != "x") & (now != "x")]
    assert len(shown) > len(then) // 2 and (then[shown] == now[shown]).all()
    page = next((months["reports"] / D2.isoformat() / "02_population_statistics").glob("*.html")).read_text(encoding="utf-8")
    assert f"前月（{D1}）の公表値" in page
    first = next((months["reports"] / D1.isoformat() / "02_population_statistics").glob("*.html")).read_text(encoding="utf-8")
    assert "前月（2026-02-01）の公表された町丁字別の表なし" in first      # no report was made then


def headline(status: dict, area_start: str) -> dict:
    return next(x for x in status["headline"] if x["area"].startswith(area_start))


def test_all_three_reports_succeed_quietly(months):
    for r in months["runs"]:
        assert r.returncode == 0, r.stderr[-2000:]
        noise = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("report ")]
        assert noise == [], noise[:5]
    assert months["purge"].returncode == 0, months["purge"].stderr


def test_the_index_shows_changes_since_the_previous_report(months):
    status = months["status2"]
    pop = headline(status, "総人口")
    assert re.fullmatch(r"[+-][\d,]+（[+-]\d+\.\d\d%）", pop["change"]), pop
    assert "2026-03-01" in pop["note"]
    assert "前回のレポート: 2026-03-01" in months["index2"]
    led = json.loads((months["reports"] / "ledger.json").read_text(encoding="utf-8"))
    assert sorted(led) == [D1.isoformat(), D2.isoformat()]


def test_a_defect_left_open_is_still_open_with_its_age_and_a_fixed_one_is_resolved(months):
    from juki.quality.followup import FollowUp
    f1 = FollowUp.load(months["reports"] / D1.isoformat() / "01_data_quality")
    row1 = f1.by_rule.set_index("rule").loc["jumin.seibetsu.code"]
    assert (row1["new"], row1["open"], row1["resolved"]) == (2, 0, 0) and f1.previous is None
    f2 = FollowUp.load(months["reports"] / D2.isoformat() / "01_data_quality")
    row = f2.by_rule.set_index("rule").loc["jumin.seibetsu.code"]
    assert (row["new"], row["open"], row["resolved"]) == (0, 1, 1)
    assert f2.oldest[0] == D1 and f2.oldest[2] == (D2 - D1).days
    q = headline(months["status2"], "データ品質")
    assert q["status"] == "red" and re.search(r"継続 [1-9]", q["change"]) and re.search(r"解消 [1-9]", q["change"])
    page = (months["reports"] / D2.isoformat() / "04_manager_summary" / "04_manager_summary.html").read_text(encoding="utf-8")
    assert "性別" in page and ">31<" in page                       # the rule in Japanese, its age in days


def _overdue_independently(db, on: dt.date) -> int:
    """送付先 rows still there after the business day following their sending (jpholiday, weekends,
    12/29-1/3 closed), counted by the test itself."""
    import jpholiday

    def next_open(d):
        d += dt.timedelta(days=1)
        while d.weekday() >= 5 or jpholiday.is_holiday(d) or (d.month, d.day) >= (12, 29) or (d.month, d.day) <= (1, 3):
            d += dt.timedelta(days=1)
        return d
    return sum(1 for (d,) in sql(db, "SELECT sent_date FROM sofusaki WHERE sent_date IS NOT NULL") if next_open(d) <= on)


def test_an_overdue_sofusaki_row_is_red_until_the_scheduled_purge_clears_it(months):
    r = headline(months["status2"], "送付先情報")
    assert r["status"] == "red" and "juki purge --only sofusaki_sent" in r["note"]
    assert "開庁日超過" in r["change"]
    assert _overdue_independently(months["db"], D2) == 0                # after the scheduler's purge
    assert int(re.search(r"期限超過 ([\d,]+)件", r["value"]).group(1).replace(",", "")) >= 1
    final = json.loads((months["reports"] / D2.isoformat() / "report_status.json").read_text(encoding="utf-8"))
    after = headline(final, "保存期間")
    assert after["status"] in ("green", "amber")
    assert "期限超過なし" in after["value"] or "消去・移動" in after["value"]
    assert not [x for x in final["headline"] if x["area"].startswith("送付先情報")]


def counted_cells(page: str):
    """(column header, cell text) of every body cell whose column is a count: not a percentage,
    rate or share (those carry decimals by design; a caption or any header level may say so)."""
    rate = re.compile(r"%|率|割合|平均")
    for table in re.findall(r"<table.*?</table>", page, re.S):
        caption = "".join(re.findall(r"<caption>(.*?)</caption>", table, re.S))
        head = "".join(re.findall(r"<thead>(.*?)</thead>", table, re.S))
        rows = re.findall(r"<tr>(.*?)</tr>", head, re.S)
        leaf = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r'<th(?! [^>]*class="idx")[^>]*>(.*?)</th>', rows[-1], re.S)] \
            if rows else []
        if rate.search(caption) or (len(rows) > 1 and rate.search(re.sub(r"<[^>]+>", "", "".join(rows[:-1])))):
            continue
        for tr in re.findall(r"<tr>(.*?)</tr>", "".join(re.findall(r"<tbody>(.*?)</tbody>", table, re.S)), re.S):
            for k, v in enumerate(re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)):
                h = leaf[k] if k < len(leaf) else ""
                if not rate.search(h):
                    yield h, v


def test_pages_are_publishable(months):
    folder = months["reports"] / D2.isoformat()
    pages = sorted(folder.rglob("*.html"))
    assert len(pages) >= 8
    for p in pages:
        text = re.sub(r"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", "", p.read_text(encoding="utf-8"))
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", text, re.S)
        for head, value in counted_cells(text):
            assert not re.fullmatch(r"\s*-?[\d,]+\.\d*0\s*", value), f"{p.name}: {head} {value!r}: a count shown as a float"
        assert "rows ×" not in text and "columns</p>" not in text, f"{p.name}: pandas' truncated-frame footer"
        assert not [c for c in cells if c.strip() in ("…", "...")], f"{p.name}: a truncated cell"
        assert not re.search(r'<th[^>]*class="idx"[^>]*>0</th>', text), f"{p.name}: a pandas 0…n index"
        visible = re.sub(r"<[^>]+>", " ", text)
        ids = re.findall(r"\b(?:jumin|honnin|sofusaki)\.[a-z_]+\.[a-z_]+\b", visible)
        assert not ids, f"{p.name}: rule IDs shown instead of their Japanese names: {ids[:3]}"
    summary = (folder / "04_manager_summary" / "04_manager_summary.html").read_text(encoding="utf-8")
    assert "12か月の推移" in summary and summary.count("data:image/png;base64") >= 1


def test_report_on_a_missing_store_changes_nothing(months, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(months["reports"], reports)
    folder = reports / D2.isoformat()
    index = (folder / "index.html").read_bytes()
    before = sorted(p.name for p in reports.iterdir())
    r = juki("report", "--as-of", D2, "--db", tmp_path / "nonexistent.duckdb", env={"JUKI_REPORTS": str(reports)})
    assert r.returncode == 2 and "no store" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in reports.iterdir()) == before
    assert (folder / "index.html").read_bytes() == index
