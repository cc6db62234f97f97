"""Retention purges: exactly the rows due, nothing else, idempotent, crash-safe, unrecoverable."""
import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from juki import businessdays
from juki.errors import JukiError
from juki.retention import apply, load, plan
from juki.retention.purge import table_digests

from ..conftest import AS_OF


def file_digest(path):
    h = hashlib.sha256()
    for p in (path, str(path) + ".wal"):
        if os.path.exists(p):
            h.update(open(p, "rb").read())
    return h.hexdigest()


@pytest.fixture
def store_copy(tmp_path, small_db):
    p = tmp_path / "juki.duckdb"
    shutil.copy(small_db, p)
    return p


def rows(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def expected_state(path, as_of):
    """What must remain, recomputed independently in Python from the raw rows."""
    cut5 = as_of.replace(year=as_of.year - 5)
    cut150 = as_of.replace(year=as_of.year - 150)
    last = {}
    for a, r, k, s, p in rows(path, "SELECT atena_no, rireki_no, ido_kubun, shojo_date, shori_date FROM jumin"):
        if a not in last or r > last[a][0]:
            last[a] = (r, k, max(p, s or p))      # the 消除's day: its processing, or a later 住民でなくなった日
    moved = {a for a, (r, k, s) in last.items() if k == "2" and s <= cut5}
    erased_joshu = {a for a in moved if last[a][2] <= cut150}
    jumin_keep = {(a, r) for a, r in rows(path, "SELECT atena_no, rireki_no FROM jumin") if a not in moved}
    joshu_keep = {(a, r) for a, r in rows(path, "SELECT atena_no, rireki_no FROM jumin")
                  if a in moved and a not in erased_joshu}
    sof_keep = {(k, j) for k, j, sent, done in rows(path, "SELECT sofusaki_kanri_no, jumin_code, sent_date, shori_date "
                                                          "FROM sofusaki")
                if businessdays.add_business_days(sent or done, 1) > as_of}
    h = rows(path, "SELECT jumin_code, koshin_jun_no, ido_date, record_jokyo_flag FROM honnin ORDER BY 1, 2")
    honnin_keep = set()
    for i, (j, k, d, flag) in enumerate(h):
        nxt = h[i + 1][2] if i + 1 < len(h) and h[i + 1][0] == j else None
        erase = (nxt is not None and nxt <= cut150) or (flag == "2" and d <= cut150)
        if not erase:
            honnin_keep.add((j, k))
    return {"jumin": jumin_keep, "jumin_joshu": joshu_keep, "sofusaki": sof_keep, "honnin": honnin_keep}


def kept_rows_digest(path, table, keys, key_cols):
    con = duckdb.connect(str(path), read_only=True)
    try:
        src = "jumin" if table == "jumin_joshu" else table
        cols = [c[0] for c in con.execute(f"SELECT * FROM {src} LIMIT 0").description]
        data = sorted(tuple(map(str, r)) for r in con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
                      if tuple(str(r[cols.index(k)]) for k in key_cols) in keys)
        return hashlib.sha256(repr(data).encode()).hexdigest()
    finally:
        con.close()


KEYCOLS = {"jumin": ("atena_no", "rireki_no"), "jumin_joshu": ("atena_no", "rireki_no"),
           "honnin": ("jumin_code", "koshin_jun_no"), "sofusaki": ("sofusaki_kanri_no", "jumin_code")}


def test_unsent_rows_and_late_removals_on_the_pias_clock(store_copy):
    """Counted by hand: 送付先 rows with no 送付日 processed Tue 2023-01-10 are kept that day and
    due one 開庁日 later (Wed 01-11); a 除票 whose 住民でなくなった日 is
    2018-01-05 but whose 消除 was processed 2021-06-01 stays in the live file until 2026-06-01
    (a Monday; the purge of Friday 05-29 leaves it)."""
    con = duckdb.connect(str(store_copy))
    keys = con.execute("SELECT sofusaki_kanri_no, jumin_code FROM sofusaki ORDER BY 1, 2 LIMIT 6").fetchall()
    for k, j in keys:
        con.execute("UPDATE sofusaki SET sent_date = NULL, shori_date = DATE '2023-01-10' "
                    "WHERE sofusaki_kanri_no = ? AND jumin_code = ?", [k, j])
    a = con.execute("""SELECT atena_no FROM jumin GROUP BY atena_no HAVING count(*) = 1
                       AND bool_and(ido_kubun <> '2') ORDER BY atena_no LIMIT 1""").fetchone()[0]
    con.execute("""INSERT INTO jumin SELECT * REPLACE (rireki_no + 1 AS rireki_no, '2' AS ido_kubun,
                   (SELECT min(code) FROM (SELECT ido_jiyu AS code FROM jumin WHERE ido_kubun = '2')) AS ido_jiyu,
                   DATE '2018-01-05' AS shojo_date, DATE '2018-01-05' AS ido_date, DATE '2021-06-01' AS shori_date)
                   FROM jumin WHERE atena_no = ?""", [a])
    con.close()
    unsent = set(keys)

    def sofusaki():
        return {tuple(r) for r in rows(store_copy, "SELECT sofusaki_kanri_no, jumin_code FROM sofusaki")}

    def where(atena):
        return [t for t in ("jumin", "jumin_joshu") if rows(store_copy, f"SELECT count(*) FROM {t} WHERE atena_no = '{atena}'")[0][0]]
    apply(store_copy, dt.date(2023, 1, 10), operator="test", only="sofusaki_sent")
    assert unsent <= sofusaki()                          # the day of processing: kept
    apply(store_copy, dt.date(2023, 1, 11), operator="test", only="sofusaki_sent")
    assert not unsent & sofusaki()                       # one 開庁日 later: erased
    apply(store_copy, dt.date(2026, 5, 29), operator="test", only="joshu_move")
    assert where(a) == ["jumin"]                         # 5 years from 2021-06-01, not from 2018-01-05
    apply(store_copy, dt.date(2026, 6, 1), operator="test", only="joshu_move")
    assert where(a) == ["jumin_joshu"]


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2029, 6, 30), dt.date(2180, 4, 1)])
def test_exactly_the_rows_due_and_nothing_else(tmp_path, small_db, as_of):
    path = tmp_path / f"s{as_of.year}.duckdb"
    shutil.copy(small_db, path)
    want = expected_state(path, as_of)
    # digests of the rows that must survive, taken before the purge (joshu rows come from jumin)
    before = {t: kept_rows_digest(path, "jumin" if t == "jumin_joshu" else t,
                                  {tuple(map(str, k)) for k in want[t]}, KEYCOLS[t]) for t in want}
    res = apply(path, as_of, operator="test")
    assert res.changed
    for t, keys in want.items():
        got = {tuple(r) for r in rows(path, f"SELECT {', '.join(KEYCOLS[t])} FROM {t}")}
        assert got == keys, t
        after = kept_rows_digest(path, t, {tuple(map(str, k)) for k in keys}, KEYCOLS[t])
        assert after == before[t], f"{t}: a kept row changed"
    rec = rows(path, "SELECT operator, as_of, record FROM purge_log")
    assert len(rec) == 1 and rec[0][0] == "test" and rec[0][1] == as_of
    assert "digest" in rec[0][2]


def test_idempotent_and_dry_run_changes_nothing(store_copy):
    d0 = file_digest(store_copy)
    p = plan(store_copy, AS_OF)
    assert any(r.due for r in p.rules)
    assert file_digest(store_copy) == d0
    apply(store_copy, AS_OF, operator="test")
    d1 = file_digest(store_copy)
    again = apply(store_copy, AS_OF, operator="test")
    assert not again.changed and not any(r.due for r in again.rules)
    assert file_digest(store_copy) == d1
    assert plan(store_copy, AS_OF).rules and file_digest(store_copy) == d1


def test_real_purge_needs_an_operator(store_copy):
    with pytest.raises(JukiError):
        apply(store_copy, AS_OF, operator=" ")


def test_policy_is_validated(tmp_path):
    bad = tmp_path / "p.toml"
    for text, msg in [
        ('[[rule]]\nid="x"\ntable="nope"\nrows="TRUE"\ndate="d"\nperiod="1y"\naction="erase"', "unknown table"),
        ('[[rule]]\nid="x"\ntable="jumin"\nrows="TRUE"\ndate="d"\nperiod="soon"\naction="erase"', "period"),
        ('[[rule]]\nid="x"\ntable="jumin"\nrows="TRUE"\ndate="d"\nperiod="1y"\naction="shred"', "action"),
        ('[[rule]]\nid="oplog_erase"\ntable="oplog"\nrows="TRUE"\ndate="d"\nperiod="30d"\naction="erase"', "at least"),
        ('[[rule]]\nid="x"\ntable="jumin"', "missing"),
        ('[[rule]]\nid="x"\ntable="honnin"\nrows="length(shimei) > 2"\ndate="ido_date"\nperiod="150y"\n'
         'action="erase"', "unsupported in a retention rule"),
        ('not toml [', "retention policy"),
    ]:
        bad.write_text(text)
        with pytest.raises(JukiError, match=msg):
            load(bad)
    ok = tmp_path / "ok.toml"
    ok.write_text('[[rule]]\nid="sofusaki_sent"\ntable="sofusaki"\nrows="sent_date IS NOT NULL"\n'
                  'date="sent_date"\nperiod="3bd"\naction="erase"\n')
    assert load(ok).rule("sofusaki_sent").period == "3bd"


def test_nothing_recoverable_after_purge(tmp_path, small_db):
    path = tmp_path / "f.duckdb"
    shutil.copy(small_db, path)
    as_of = dt.date(2180, 4, 1)
    purged = rows(path, """SELECT DISTINCT shimei, kojin_bango FROM jumin WHERE atena_no IN
        (SELECT atena_no FROM jumin GROUP BY atena_no HAVING arg_max(ido_kubun, rireki_no) = '2')""")
    res = apply(path, as_of, operator="test")
    assert res.changed
    # a kept record may legitimately name a purged person (a widow's old rows carry her late
    # husband as 世帯主名 / 筆頭者): such names are not "gone" and are not looked for
    remaining = {r[0] for r in rows(path, "SELECT shimei FROM jumin UNION SELECT setainushi_mei FROM jumin "
                                           "UNION SELECT hittousha FROM jumin UNION SELECT kanji_shimei FROM honnin "
                                           "UNION SELECT shimei FROM sofusaki UNION SELECT shimei FROM jumin_joshu")}
    remaining_nums = {r[0] for r in rows(path, "SELECT kojin_bango FROM jumin UNION SELECT kojin_bango FROM honnin")}
    joined = "\n".join(x for x in remaining if x)
    gone_names = {n for n, _ in purged if n not in joined}  # not even inside a longer kept name
    gone_nums = {k for _, k in purged if k not in remaining_nums}
    assert len(gone_names) > 10 and len(gone_nums) > 10
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    blobs = b"".join(p.read_bytes() for p in files)
    assert not [n for n in gone_names if n.encode() in blobs]
    assert not [k for k in gone_nums if k.encode() in blobs]
    # positive control: the scan does see names that are still stored
    kept = sorted(x for x in remaining if x)[:50]
    assert sum(n.encode() in blobs for n in kept) > 25


PURGE = """
import datetime as dt, sys
from juki.retention import apply
apply(sys.argv[1], dt.date.fromisoformat(sys.argv[2]), operator="crash-test")
"""


@pytest.mark.parametrize("step", ["planned", "copied_jumin", "copied_honnin", "checkpointed", "renamed"])
def test_killed_purge_leaves_store_before_or_after(tmp_path, small_db, step):
    path = tmp_path / "c.duckdb"
    shutil.copy(small_db, path)
    before = table_digests(path)
    ref = tmp_path / "ref.duckdb"
    shutil.copy(small_db, ref)
    apply(ref, AS_OF, operator="crash-test")
    after = table_digests(ref)
    marker = tmp_path / "paused"
    env = {**os.environ, "JUKI_TEST_PAUSE": step, "JUKI_TEST_PAUSE_FILE": str(marker)}
    proc = subprocess.Popen([sys.executable, "-c", PURGE, str(path), AS_OF.isoformat()], env=env)
    t0 = time.time()
    while not marker.exists() and proc.poll() is None and time.time() - t0 < 120:
        time.sleep(0.05)
    assert marker.exists(), "the purge never reached the step"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    now = table_digests(path)
    assert now in (before, after)
    assert now == (after if step == "renamed" else before)
    apply(path, AS_OF, operator="crash-test")  # a rerun completes
    assert table_digests(path) == after
    assert [p.name for p in tmp_path.iterdir() if ".new-" in p.name] == []


def test_what_juki_writes_outside_the_store_is_purged_too(store_copy, tmp_path, monkeypatch):
    """Report folders, exported files, the load and purge records and the log each have a rule,
    applied by the same purge: counted here from the files the test makes and dates by hand."""
    reports, exports = tmp_path / "reports", tmp_path / "exports"
    monkeypatch.setenv("JUKI_REPORTS", str(reports))
    monkeypatch.setenv("JUKI_EXPORTS", str(exports))
    today = dt.date.today()
    old_run = reports / (today - dt.timedelta(days=6 * 365)).isoformat()
    new_run = reports / (today - dt.timedelta(days=30)).isoformat()
    for d in (old_run, new_run):
        d.mkdir(parents=True)
        (d / "dq_violations.parquet").write_bytes(b"keys")
    (exports / "admin").mkdir(parents=True)
    old_file, new_file = exports / "admin" / "old.csv", exports / "admin" / "new.csv"
    for f, age in ((old_file, 100), (new_file, 10)):
        f.write_text("x", encoding="utf-8")
        t = time.time() - age * 86400
        os.utime(f, (t, t))
    con = duckdb.connect(str(store_copy))
    con.execute("DELETE FROM load_log")
    con.execute("INSERT INTO load_log (loaded_at, source_file, sha256, target_table) VALUES "
                f"(TIMESTAMP '{today - dt.timedelta(days=6 * 366)} 10:00', 'old.csv', 'a', 'jumin'), "
                f"(TIMESTAMP '{today - dt.timedelta(days=10)} 10:00', 'new.csv', 'b', 'jumin')")
    con.close()
    p = plan(store_copy, today)
    due = {r.rule: r.due for r in p.rules}
    assert due["reports_erase"] == 1 and due["exports_erase"] == 1 and due["load_log_erase"] == 1
    apply(store_copy, today, operator="test")
    assert not old_run.exists() and new_run.exists()
    assert not old_file.exists() and new_file.exists()
    assert rows(store_copy, "SELECT source_file FROM load_log") == [("new.csv",)]


def test_resolved_quality_problems_leave_the_follow_up_after_five_years(store_copy):
    """The follow-up record beside the store: a problem resolved more than five years ago is
    erased by the purge, one resolved later and one still open stay (dates set by the test)."""
    import pyarrow as pa

    from juki.quality import followup
    path = followup.path_for(store_copy)
    today = dt.date.today()
    day = [today - dt.timedelta(days=d) for d in (6 * 366, 6 * 366 - 30, 400)]

    def failing(*atena):
        return {"jumin": pa.table({"atena_no": list(atena), "rireki_no": ["1"] * len(atena),
                                   "rule": ["jumin.seibetsu.code"] * len(atena)})}
    followup.record(failing("A", "B", "C"), day[0], path)
    followup.record(failing("A", "C"), day[1], path)       # B resolved six years ago
    followup.record(failing("A"), day[2], path)            # C resolved 400 days ago; A still open
    assert [k for (_, k), _ in followup.resolved_by(path, today)] == ["B|1", "C|1"]
    p = plan(store_copy, today)
    assert {r.rule: r.due for r in p.rules}["followup_erase"] == 1
    apply(store_copy, today, operator="test")
    assert [k for (_, k), _ in followup.resolved_by(path, today)] == ["C|1"]
    assert followup.open_count(path) == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"
