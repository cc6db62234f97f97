"""Loading a city's own exports: files another system wrote, checked against independent counts.

The exports here are written by the test's own code, the way a vendor's system writes them: the
header is exactly the PIA's item names (read from the PIA's text, not from juki's layouts), cp932
with CRLF, 生年月日 in 和暦 text, other dates YYYYMMDD, names with 髙/﨑, 方書 with ①/㈱ and commas,
no 履歴番号 or 町丁字 (exports carry PIA items only), and five bad rows of different kinds.
"""
import csv
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from juki import codes, store
from juki.analysis.publish import publish
from juki.analysis.store import Analysis
from juki.errors import JukiError
from juki.ingest import load_files
from juki.stats import population as P

from ..conftest import AS_OF

BETTEN2 = Path(__file__).resolve().parents[1] / "data" / "betten2.txt"
ERAS = [("令和", dt.date(2019, 5, 1)), ("平成", dt.date(1989, 1, 8)), ("昭和", dt.date(1926, 12, 25)),
        ("大正", dt.date(1912, 7, 30)), ("明治", dt.date(1868, 10, 23))]


def pia_items() -> dict[str, list[str]]:
    """Item names of 別添2 as the PIA prints them (the test's own reading, not juki's layouts)."""
    lines = BETTEN2.read_text(encoding="utf-8").splitlines()
    return {re.sub(r"^\(\d\)\s*", "", h).strip(): [re.sub(r"^\d+\.\s*", "", x).strip() for x in body.split("、")]
            for h, body in zip(lines[0::2], lines[1::2])}


def wareki(d: dt.date) -> str:
    for name, start in ERAS:
        if d >= start:
            y = d.year - start.year + 1
            return f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日"
    raise ValueError(d)


def text(v, kind=None) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return wareki(v) if kind == "wareki" else v.strftime("%Y%m%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    return str(v)


#: column order of each file's PIA items in the store (the source the test reads; file order is the PIA's)
SOURCE = {"住民基本台帳ファイル": "jumin", "本人確認情報ファイル": "honnin", "送付先情報ファイル": "sofusaki"}


def source_rows(db, table: str, current_only: bool) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    cols = [r[0] for r in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' "
                                      "ORDER BY column_index").fetchall()]
    n_items = len(pia_items()[next(k for k, v in SOURCE.items() if v == table)])
    order = {"jumin": "atena_no, rireki_no", "honnin": "jumin_code, koshin_jun_no", "sofusaki": "1, jumin_code"}[table]
    where = ("QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no)" if current_only else "")
    rows = con.execute(f"SELECT * FROM {table} {where} ORDER BY {order}").fetchall()
    con.close()
    return cols, n_items, rows


def vendor_export(path: Path, db, table: str, current_only: bool, bad: bool = True) -> dict:
    """Write an export of ``table`` as a vendor would; returns what the test knows about it."""
    file_name = next(k for k, v in SOURCE.items() if v == table)
    header = pia_items()[file_name]
    all_cols, n_items, rows = source_rows(db, table, current_only)
    cols = all_cols[:n_items]          # the PIA's items only: no 履歴番号, no 町丁字
    assert len(cols) == len(header)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    good = []
    for k, row in enumerate(rows):
        vals = dict(zip(all_cols, row))
        cells = []
        for c in cols:
            v = vals[c]
            if isinstance(v, str):   # the same in every file and column, as a vendor's system writes them
                v = v.replace("𠮷", "吉")       # outside cp932: a vendor writes the JIS substitute
                v = v.replace("高橋", "髙橋").replace("山崎", "山﨑")   # cp932's IBM extension characters
            if c == "katagaki" and k % 50 == 7:
                v = "㈱松戸商事 社宅①, 201号室"
            cells.append(text(v, "wareki" if c == "seinengappi" else None))
        w.writerow(cells)
        good.append(vals)
    bad_lines = []
    if bad:
        base = dict(zip(cols, [text(good[0][c], "wareki" if c == "seinengappi" else None) for c in cols]))
        serial = 999_000_001
        defects = [("個人番号", lambda r: r.__setitem__("kojin_bango", r["kojin_bango"][:11] + str((int(r["kojin_bango"][11]) + 1) % 10))),
                   ("生年月日", lambda r: r.__setitem__("seinengappi", "平成31年5月1日")),
                   ("性別", lambda r: r.__setitem__("seibetsu", "9")),
                   ("NUL", lambda r: r.__setitem__("shimei", "山田\x00太郎")),
                   ("fields", None)]
        line = 2 + len(good)
        for _name, f in defects:
            r = dict(base)
            from juki.codes import atena
            a = str(serial) + atena.calc_check_digit(str(serial))
            serial += 1
            r["atena_no"] = a
            if f:
                f(r)
                w.writerow([r[c] for c in cols])
            else:
                w.writerow([r[c] for c in cols][:-3])    # a truncated row
            bad_lines.append(line)
            line += 1
    path.write_bytes(out.getvalue().encode("cp932"))
    return {"rows": good, "bad_lines": bad_lines, "cols": cols}


def independent_residents(rows: list[dict], as_of: dt.date) -> list[dict]:
    """The current record of each person on ``as_of``, by the test's own reading of the rules."""
    last = {}
    for r in rows:
        if r["shori_date"] <= as_of:
            last[r["atena_no"]] = r                     # rows are written in 履歴 order
    return [r for r in last.values() if not (r["ido_kubun"] == "2" and r["shojo_date"] <= as_of)]


def count_by_choiki(residents: list[dict], db) -> dict:
    """町域 of each resident from the source store's own 町丁字 code (not from the address text)."""
    con = duckdb.connect(str(db), read_only=True)
    town = {(a, r): t for a, r, t in con.execute("SELECT atena_no, rireki_no, town_code FROM jumin").fetchall()}
    con.close()
    choiki = dict(zip(codes.towns()["code"], codes.towns()["choiki"]))
    out = {}
    for r in residents:
        c = choiki[town[(r["atena_no"], r["rireki_no"])]]
        out[c] = out.get(c, 0) + 1
    return out


def check_statistics(loaded_db, source_db, rows, tmp_path):
    """Published total and every 町域's count equal the independent count from the export."""
    residents = independent_residents(rows, AS_OF)
    want = count_by_choiki(residents, source_db)
    an_path = tmp_path / "analysis.duckdb"
    publish(db=loaded_db, as_of=AS_OF, out=an_path)
    a = Analysis(an_path)
    exact = P.population_by_area(a, AS_OF, "choiki", P.Protect("none", 0))
    got = {area: int(exact.counts[i, -1, -1]) for i, area in enumerate(exact.labels(0)[:-1]) if exact.counts[i, -1, -1]}
    assert exact.counts[-1, -1, -1] == len(residents)
    assert got == want
    st = P.population_by_area(a, AS_OF, "choiki")
    published = st.frame()[("計", "計")]
    rows = {area: i for i, area in enumerate(st.labels(0))}
    for area, n in want.items():
        assert published[area] in (n, "x"), area
        if published[area] == "x" and n > 2:       # a secondary suppression: its area line has another x
            line = st.hidden[:, -1, -1]
            assert line.sum() >= 2 and line[rows[area]], area
    assert published["計"] == len(residents)
    return an_path


@pytest.fixture(scope="module")
def current_export(tmp_path_factory, small_db):
    p = tmp_path_factory.mktemp("vendor") / "jumin_current.csv"
    return p, vendor_export(p, small_db, "jumin", current_only=True)


def test_a_vendors_current_data_export_loads_and_counts(tmp_path, small_db, current_export):
    path, known = current_export
    raw = path.read_bytes()
    assert b"\r\n" in raw and "生年月日".encode("cp932") in raw and "髙".encode("cp932") in raw
    assert "㈱".encode("cp932") in raw and "①".encode("cp932") in raw
    db = tmp_path / "loaded.duckdb"
    res = load_files([path], db=db, encoding="cp932", as_of=AS_OF)
    rep = res.files[0]
    assert rep.table == "jumin" and rep.read == len(known["rows"]) + 5
    assert rep.quarantined == 5 and rep.loaded == len(known["rows"])
    assert any("履歴番号" in d for d in rep.derived) and any("町丁字" in d for d in rep.derived)
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.execute("SELECT line FROM quarantine").fetchall()) == known["bad_lines"]
    reasons = [r[0] for r in con.execute("SELECT reason FROM quarantine ORDER BY line").fetchall()]
    assert "検査数字" in reasons[0] and "平成" in reasons[1] and "コード表" in reasons[2] and "NUL" in reasons[3]
    assert "fewer fields" in reasons[4]
    log = con.execute("SELECT source_file, sha256, encoding, rows_read, rows_loaded, rows_quarantined, as_of FROM load_log").fetchall()
    assert log == [(path.name, hashlib.sha256(raw).hexdigest(), "cp932", rep.read, rep.loaded, 5, AS_OF)]
    assert store.meta(con)["as_of"] == AS_OF.isoformat()
    assert con.execute("SELECT count(*) FROM jumin WHERE rireki_no <> 1").fetchone()[0] == 0
    kata = con.execute("SELECT count(*) FROM jumin WHERE katagaki = '㈱松戸商事 社宅①, 201号室'").fetchone()[0]
    assert kata > 0
    con.close()
    check_statistics(db, small_db, known["rows"], tmp_path)


def test_review_and_manager_summary_run_on_the_loaded_store(tmp_path, small_db, current_export):
    from juki.reports.runner import run_notebook
    path, _ = current_export
    db = tmp_path / "loaded.duckdb"
    load_files([path], db=db, encoding="cp932", as_of=AS_OF)
    res = run_notebook("01_data_quality", [("files", "jumin")], db=str(db), reports_dir=tmp_path / "r")
    assert res.ok, res.error
    an = tmp_path / "analysis.duckdb"
    publish(db=db, as_of=AS_OF, out=an)
    res = run_notebook("04_manager_summary", [], db=str(an), reports_dir=tmp_path / "r")
    assert res.ok, res.error


def test_a_full_history_export_loads_and_counts(tmp_path, small_db):
    path = tmp_path / "jumin_history.csv"
    known = vendor_export(path, small_db, "jumin", current_only=False)
    db = tmp_path / "loaded.duckdb"
    res = load_files([path], db=db, as_of=AS_OF)          # encoding detected
    assert res.files[0].encoding == "cp932" and res.files[0].quarantined == 5
    con = duckdb.connect(str(db), read_only=True)
    src = duckdb.connect(str(small_db), read_only=True)
    # 履歴番号 derived from the order of each person's records equals the source's
    derived = con.execute("SELECT atena_no, rireki_no, ido_jiyu, shori_date FROM jumin ORDER BY 1, 2").fetchall()
    original = src.execute("SELECT atena_no, rireki_no, ido_jiyu, shori_date FROM jumin ORDER BY 1, 2").fetchall()
    assert derived == original
    # 町丁字 derived from the address text equals the source's
    mismatch = con.execute(f"""SELECT count(*) FROM jumin j JOIN (SELECT * FROM read_parquet('{_town_parquet(src, tmp_path)}')) s
        USING (atena_no, rireki_no) WHERE j.town_code IS DISTINCT FROM s.town_code""").fetchone()[0]
    assert mismatch == 0
    con.close()
    src.close()
    check_statistics(db, small_db, known["rows"], tmp_path)


def _town_parquet(src, tmp_path):
    p = tmp_path / "towns.parquet"
    src.execute(f"COPY (SELECT atena_no, rireki_no, town_code FROM jumin) TO '{p}' (FORMAT parquet)")
    return p


def test_three_files_together_in_one_transaction(tmp_path, small_db):
    folder = tmp_path / "export"
    folder.mkdir()
    known = vendor_export(folder / "a_jumin.csv", small_db, "jumin", current_only=False)
    vendor_export(folder / "b_honnin.csv", small_db, "honnin", current_only=False, bad=False)
    vendor_export(folder / "c_sofusaki.csv", small_db, "sofusaki", current_only=False, bad=False)
    db = tmp_path / "loaded.duckdb"
    res = load_files([folder], db=db, as_of=AS_OF)
    assert [f.table for f in res.files] == ["jumin", "honnin", "sofusaki"]
    assert [f.quarantined for f in res.files] == [5, 0, 0]
    from juki.quality.review import review
    rv = review(store.connect(db), as_of=AS_OF)
    assert rv.not_evaluated == {}
    assert {k: v for k, v in rv.counts().items() if v} == {}, "the reloaded files reconcile"
    check_statistics(db, small_db, known["rows"], tmp_path)
    # one transaction: a bad third file leaves the store as it was
    (folder / "d_bad.csv").write_text("宛名番号,ふしぎな列\r\n1,2\r\n", encoding="cp932")
    before = (db.stat().st_size, duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM jumin").fetchone())
    with pytest.raises(JukiError, match="unknown column 'ふしぎな列'"):
        load_files([folder], db=db, as_of=AS_OF)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM jumin").fetchone() == before[1]
    assert con.execute("SELECT count(*) FROM load_log").fetchone()[0] == 3
    con.close()


def test_an_address_that_names_no_town_is_unknown_not_lost(tmp_path, small_db):
    path = tmp_path / "j.csv"
    known = vendor_export(path, small_db, "jumin", current_only=True, bad=False)
    text_ = path.read_bytes().decode("cp932")
    residents = independent_residents(known["rows"], AS_OF)
    victim = residents[3]
    text_ = text_.replace(victim["genjusho"], "千葉県松戸市どこにもない町1-2-3", 1)
    path.write_bytes(text_.encode("cp932"))
    db = tmp_path / "loaded.duckdb"
    load_files([path], db=db, as_of=AS_OF)
    an = tmp_path / "analysis.duckdb"
    publish(db=db, as_of=AS_OF, out=an)
    a = Analysis(an)
    area = P.population_by_area(a, AS_OF, "choiki", P.Protect("none", 0))
    labels = area.labels(0)
    assert area.counts[labels.index("不詳"), -1, -1] == 1
    assert area.counts[-1, -1, -1] == len(residents)
    assert int(P.summary(a, AS_OF).loc["うち町丁字が不詳", "値"]) == 1
    from juki.quality.review import review
    rv = review(store.connect(db), "jumin", AS_OF)
    assert rv.failing_keys("jumin.address.town") == [[victim["atena_no"], "1"]]


def test_partial_dates_load_typed(tmp_path, small_db):
    path = tmp_path / "j.csv"
    known = vendor_export(path, small_db, "jumin", current_only=True, bad=False)
    rows = path.read_bytes().decode("cp932").split("\r\n")
    header = next(csv.reader([rows[0]]))
    i = header.index("生年月日")
    forms = {1: "平成3年不詳", 2: "19910500", 3: "年月日不詳", 4: "昭和55年7月"}
    for k, v in forms.items():
        cells = next(csv.reader([rows[k]]))
        cells[i] = v
        o = io.StringIO()
        csv.writer(o, lineterminator="\r\n").writerow(cells)
        rows[k] = o.getvalue()[:-2]
    path.write_bytes("\r\n".join(rows).encode("cp932"))
    db = tmp_path / "p.duckdb"
    rep = load_files([path], db=db, as_of=AS_OF).files[0]
    assert rep.quarantined == 0
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.execute("SELECT seinengappi_prec, count(*) FROM jumin WHERE seinengappi_prec IS NOT NULL GROUP BY 1").fetchall())
    assert got == {"Y": 1, "M": 2, "U": 1}
    con.close()
    an = tmp_path / "a.duckdb"
    publish(db=db, as_of=AS_OF, out=an)
    st = P.population_age_sex(Analysis(an), AS_OF, P.Protect("none", 0))
    unknown = st.counts[st.labels(0).index("不詳"), -1, -1]
    assert unknown == sum(1 for k in (3,) if known["rows"][k - 1]["atena_no"] in
                          {r["atena_no"] for r in independent_residents(known["rows"], AS_OF)})


def test_vendor_names_by_profile_and_closest_items_for_unknown_headers(tmp_path, small_db):
    path = tmp_path / "v.csv"
    vendor_export(path, small_db, "jumin", current_only=True, bad=False)
    text_ = path.read_bytes().decode("cp932")
    head, body = text_.split("\r\n", 1)
    head = head.replace("宛名番号", "宛名コード").replace("氏名", "氏名（漢字）", 1)
    body = re.sub(r"(?m)^((?:[^,\r\n]*,){6})1,", r"\1男,", body)      # 性別 written 男 in the 7th field
    path.write_bytes((head + "\r\n" + body).encode("cp932"))
    with pytest.raises(JukiError, match=r"unknown column '宛名コード' for 住民基本台帳ファイル \(closest: 宛名番号"):
        load_files([path], db=tmp_path / "x.duckdb", as_of=AS_OF)
    rep = load_files([path], db=tmp_path / "y.duckdb", profile="vendor_example", as_of=AS_OF).files[0]
    assert rep.quarantined == 0 and rep.loaded > 0
    con = duckdb.connect(str(tmp_path / "y.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM jumin WHERE seibetsu NOT IN ('1', '2')").fetchone()[0] == 0
    con.close()


def test_date_fast_path_agrees_with_the_one_parser():
    """The loader's SQL reading of plain dates equals juki.codes.era.parse_partial (the definition)."""
    import random

    from juki.codes.era import parse_partial
    from juki.ingest.load import _fast_date
    rnd = random.Random(2)
    texts = []
    for _ in range(3000):
        y, m, d = rnd.randint(1900, 2030), rnd.randint(1, 12), rnd.randint(1, 31)
        texts += [f"{y}{m:02d}{d:02d}", f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}"]
    con = duckdb.connect()
    got = dict(con.execute(f"SELECT t, {_fast_date('t')} FROM unnest(?) u(t)", [texts]).fetchall())
    for t in texts:
        try:
            want, prec = parse_partial(t)
        except ValueError:
            want, prec = None, None
        assert got[t] == (want if prec is None else None), t


def faults(header, rows):
    """(name, bytes of the file, expected: 'error' or the number of quarantined rows)."""
    enc = lambda lines, e="cp932": ("\r\n".join(lines) + "\r\n").encode(e)  # noqa: E731
    cols = next(csv.reader([header]))
    idx = {n: cols.index(n) for n in ("生年月日", "個人番号", "性別", "氏名", "異動年月日")}

    def edit(row, name, value):
        cells = next(csv.reader([row]))
        cells[idx[name]] = value
        o = io.StringIO()
        csv.writer(o, lineterminator="\r\n").writerow(cells)   # quotes a field holding a line break
        return o.getvalue()[:-2]
    return [
        ("wrong encoding (cp932 given as utf-8)", enc([header] + rows[:3]), "error:utf-8"),
        ("truncated file", enc([header] + rows[:3])[:-60], 1),
        ("unknown column", enc([header + ",余計な列"] + [r + ",x" for r in rows[:2]]), "error"),
        ("duplicated header", enc([header.replace("氏名", "性別", 1)] + rows[:2]), "error"),
        ("required item missing", enc([",".join(cols[:-1])] + [",".join(next(csv.reader([r]))[:-1]) for r in rows[:2]]), "error"),
        ("era after its end", enc([header, edit(rows[0], "異動年月日", "平成31年5月1日")] + rows[1:3]), 1),
        ("2月30日", enc([header, edit(rows[0], "生年月日", "2001-02-30")] + rows[1:3]), 1),
        ("letters in a number", enc([header, edit(rows[0], "個人番号", "6214983202AB")] + rows[1:3]), 1),
        ("code not in table", enc([header, edit(rows[0], "性別", "9")] + rows[1:3]), 1),
        ("duplicate record", enc([header, rows[0], rows[0]] + rows[1:3]), 1),
        ("overlong field", enc([header, edit(rows[0], "氏名", "長" * 80)] + rows[1:3]), 1),
        ("embedded newline", enc([header, edit(rows[0], "氏名", "山田\n太郎")] + rows[1:3]), 1),
        ("quotes are fine", enc([header, edit(rows[0], "氏名", '山田 "太郎"')] + rows[1:3]), 0),
        ("empty file", b"", "error"),
        ("header only", enc([header]), 0),
        ("BOM in the middle", enc([header, edit(rows[0], "氏名", "\ufeff山田　太郎")] + rows[1:3], "utf-8"), 1),
        ("NUL byte", enc([header, edit(rows[0], "氏名", "山田\x00太郎")] + rows[1:3]), 1),
        ("wrong field count", enc([header, rows[0] + ",extra"] + rows[1:3]), 1),
        ("full-width digits normalised", enc([header, edit(rows[0], "異動年月日", "２０２０１２０１")] + rows[1:3]), 0),
        ("era text with 元年", enc([header, edit(rows[0], "異動年月日", "令和元年5月1日")] + rows[1:3]), 0),
    ]


def test_fault_catalogue(tmp_path, current_export):
    path, _ = current_export
    lines = path.read_bytes().decode("cp932").split("\r\n")
    header, rows = lines[0], [ln for ln in lines[1:40] if ln]
    cases = faults(header, rows)
    for n, (name, data, expected) in enumerate(cases):
        f = tmp_path / f"fault{n}.csv"
        f.write_bytes(data)
        db = tmp_path / f"db{n}.duckdb"
        if str(expected).startswith("error"):
            with pytest.raises(JukiError) as e:
                load_files([f], table="jumin", db=db, as_of=AS_OF,
                           encoding="utf-8" if "utf-8" in str(expected) else None)
            assert str(e.value) and "\n" not in str(e.value), name
            continue
        rep = load_files([f], table="jumin", db=db, as_of=AS_OF).files[0]
        assert rep.read == rep.loaded + rep.quarantined, name
        assert rep.quarantined == expected, (name, rep.reasons)
        con = duckdb.connect(str(db), read_only=True)
        q = con.execute("SELECT count(*), min(line) FROM quarantine").fetchone()
        assert q[0] == rep.quarantined, name
        if expected:
            assert q[1] >= 2, name  # a file line number, after the header
        con.close()


def test_cli_load_errors_are_one_line(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    r = subprocess.run([sys.executable, "-m", "juki", "load", str(empty), "--file", "jumin", "--db", str(tmp_path / "x.duckdb")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "empty" in r.stderr
    r = subprocess.run([sys.executable, "-m", "juki", "load", str(tmp_path / "nope.csv"), "--file", "jumin"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read" in r.stderr


LOAD = """
import sys, datetime as dt
from juki.ingest import load_files
load_files([sys.argv[1]], db=sys.argv[2], replace=True, as_of=dt.date(2026, 4, 1))
"""


def test_killed_load_leaves_the_store_as_before(tmp_path, small_db, current_export):
    db = tmp_path / "k.duckdb"
    shutil.copy(small_db, db)
    con = duckdb.connect(str(db), read_only=True)
    before = con.execute("SELECT count(*), sum(hash(atena_no || rireki_no)) FROM jumin").fetchone()
    con.close()
    path, _ = current_export
    marker = tmp_path / "paused"
    env = {**os.environ, "JUKI_TEST_PAUSE": "load_before_commit", "JUKI_TEST_PAUSE_FILE": str(marker)}
    p = subprocess.Popen([sys.executable, "-c", LOAD, str(path), str(db)], env=env)
    t0 = time.time()
    while not marker.exists() and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.05)
    assert marker.exists()
    p.send_signal(signal.SIGKILL)
    p.wait()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*), sum(hash(atena_no || rireki_no)) FROM jumin").fetchone() == before
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    con.close()


def test_no_reference_date_stops_notebooks_with_one_line(tmp_path, small_tables):
    """A store written without a reference date: the notebooks stop before running, changing nothing."""
    db = tmp_path / "nodate.duckdb"
    store.write_registry(small_tables, db, {"source": "load"})
    reports = tmp_path / "reports"
    for nb in ("00_overview", "01_data_quality", "03_retention_purge"):
        r = subprocess.run([sys.executable, "-m", "juki", "run", nb, "--db", str(db)], capture_output=True, text=True,
                           env={**os.environ, "JUKI_REPORTS": str(reports)})
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode == 2 and len(lines) == 1 and "no reference date" in lines[0] and "juki load" in lines[0], nb
    assert not reports.exists() or list(reports.iterdir()) == []
