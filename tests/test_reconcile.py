"""整合性確認 against a prefecture-side file the test writes itself, the way another system would:
PIA item names as the header, UTF-8 with CRLF, dates with slashes, one current row per person.  The
differences are planted and counted here by hand; the reconciliation must list exactly them."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil

import duckdb
import pytest

from .conftest import AS_OF


def _current_rows(db) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("""SELECT * FROM honnin WHERE CAST(time_stamp AS DATE) <= ?
                             QUALIFY koshin_jun_no = max(koshin_jun_no) OVER (PARTITION BY jumin_code)
                             ORDER BY jumin_code""", [AS_OF])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def _write_prefecture_file(path, rows):
    from juki.layouts import get
    items = get("honnin").items

    def text(v):
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.strftime("%Y/%m/%d %H:%M:%S")
        if isinstance(v, dt.date):
            return v.strftime("%Y/%m/%d")
        return str(v)
    with open(path, "w", encoding="utf-8", newline="") as f:   # the names hold JIS X 0213 characters
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow([i.name for i in items])
        for r in rows:
            w.writerow([text(r[i.column]) for i in items])


@pytest.fixture()
def city(tmp_path, small_db):
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    return db


def test_a_prefecture_file_with_planted_differences(city, tmp_path):
    from juki.reconcile import reconcile
    rows = _current_rows(city)
    persons = [r for r in rows if r["record_jokyo_flag"] == "0"]
    p = persons[10:22]
    expected = set()
    theirs = {r["jumin_code"]: dict(r) for r in rows}
    for r in p[0:3]:                                   # the prefecture lacks three persons
        del theirs[r["jumin_code"]]
        expected.add((r["jumin_code"], "当方のみ", ""))
    gone = p[3:5]                                      # and the city lost two
    con = duckdb.connect(str(city))
    con.execute("DELETE FROM honnin WHERE jumin_code IN (?, ?)", [g["jumin_code"] for g in gone])
    con.close()
    expected |= {(g["jumin_code"], "相手方のみ", "") for g in gone}
    t = theirs
    t[p[5]["jumin_code"]]["kanji_shimei"] += "子"
    t[p[6]["jumin_code"]]["jusho"] = t[p[6]["jumin_code"]]["jusho"] + "別館"
    t[p[7]["jumin_code"]]["seinengappi"] -= dt.timedelta(days=1)
    t[p[8]["jumin_code"]]["seibetsu"] = "2" if p[8]["seibetsu"] == "1" else "1"
    a, b = p[9]["jumin_code"], p[10]["jumin_code"]
    t[a]["kojin_bango"], t[b]["kojin_bango"] = p[10]["kojin_bango"], p[9]["kojin_bango"]
    expected |= {(p[5]["jumin_code"], "項目相違", "漢字氏名"), (p[6]["jumin_code"], "項目相違", "住所"),
                 (p[7]["jumin_code"], "項目相違", "生年月日"), (p[8]["jumin_code"], "項目相違", "性別"),
                 (a, "項目相違", "個人番号"), (b, "項目相違", "個人番号")}
    f = tmp_path / "pref.csv"
    _write_prefecture_file(f, t.values())

    res = reconcile([f], "prefecture", as_of=AS_OF, db=city, out=tmp_path / "out")
    got = {(r.住民票コード, r.区分, r.項目) for r in res.differences.itertuples()}
    assert got == expected, (got - expected, expected - got)
    assert res.quarantined == 0 and res.followup.totals() == {"new": 11, "open": 0, "resolved": 0}
    text = (tmp_path / "out" / "differences.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and "住民票コード,区分,項目,当方,相手方" in text.decode("utf-8-sig")
    for r in p[9:11]:                                  # 個人番号, names and 住民票コード never in clear
        assert r["kojin_bango"] not in text.decode("utf-8-sig") and r["jumin_code"] not in text.decode("utf-8-sig")
    assert p[5]["kanji_shimei"] not in text.decode("utf-8-sig")
    from juki.log import oplog
    logged = json.dumps([e for e in oplog.entries() if e.get("action") == "reconcile"][-1], ensure_ascii=False)
    assert not any(code in logged for code, _, _ in expected)          # the log names persons by 宛名番号
    html = (tmp_path / "out" / "differences.html").read_text(encoding="utf-8")
    assert "整合性確認" in html and "http" not in html

    # a month later the prefecture has mended the name and the address
    t[p[5]["jumin_code"]]["kanji_shimei"] = p[5]["kanji_shimei"]
    t[p[6]["jumin_code"]]["jusho"] = p[6]["jusho"]
    _write_prefecture_file(f, t.values())
    res2 = reconcile([f], "prefecture", as_of=AS_OF + dt.timedelta(days=30), db=city)
    assert len(res2.differences) == 9
    assert res2.followup.totals() == {"new": 0, "open": 9, "resolved": 2}
    assert "解消 2件" in res2.line()

    # the self-inspection: nothing in the period fails; open differences and no 既存住基 run ask a person
    from juki.audit.selfinspect import BREACH, LOOK, Context, reconciled
    from juki.log import oplog
    today = dt.date.today()
    ctx = Context(today - dt.timedelta(days=365), today, city, tmp_path, [])
    assert reconciled(ctx)[0] == BREACH
    ctx.log = [e for e in oplog.entries() if e.get("action") == "reconcile"]
    status, text = reconciled(ctx)
    assert status == LOOK and "未解消の相違 9件" in text, text
    # a month on, every difference mended on both sides: all resolved
    for r in p[7:11]:
        t[r["jumin_code"]].update({k: r[k] for k in ("seinengappi", "seibetsu", "kojin_bango")})
    for r in p[0:3]:
        t[r["jumin_code"]] = dict(r)
    con = duckdb.connect(str(city))
    for g in gone:
        con.execute("DELETE FROM honnin WHERE jumin_code = ?", [g["jumin_code"]])
    con.close()
    for g in gone:
        del t[g["jumin_code"]]
    _write_prefecture_file(f, t.values())
    res3 = reconcile([f], "prefecture", as_of=AS_OF + dt.timedelta(days=60), db=city)
    assert len(res3.differences) == 0 and res3.followup.totals()["resolved"] == 9


def test_kizon_compares_the_two_files_of_the_registry(city):
    from juki.reconcile import reconcile
    con = duckdb.connect(str(city))
    code = con.execute("SELECT jumin_code FROM honnin WHERE record_jokyo_flag = '0' ORDER BY jumin_code LIMIT 1 OFFSET 5"
                       ).fetchone()[0]
    con.execute("UPDATE honnin SET kanji_shimei = kanji_shimei || '子' WHERE jumin_code = ?", [code])
    con.close()
    res = reconcile([], "kizon", as_of=AS_OF, db=city, record=False)
    mine = res.differences[res.differences["住民票コード"] == code]
    assert list(mine["項目"]) == ["漢字氏名"]


def test_reconcile_refuses_bad_input(city, tmp_path):
    from juki.cli import main
    assert main(["reconcile", "--side", "prefecture", "--db", str(city)]) != 0
    assert main(["reconcile", str(tmp_path / "nothing.csv"), "--side", "prefecture", "--db", str(city)]) != 0
    (tmp_path / "out").mkdir()
    f = tmp_path / "p.csv"
    _write_prefecture_file(f, _current_rows(city)[:5])
    assert main(["reconcile", str(f), "--side", "prefecture", "--db", str(city), "--out", str(tmp_path / "out")]) != 0
