"""Accountability that works: whom each use touched, the log kept and pruned, the access audit."""
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from juki import store
from juki.access import roles
from juki.audit.access_audit import AccessAudit, uses_of_person
from juki.log import oplog
from juki.reports.html import external_references
from juki.reports.runner import run_notebook
from juki.search import search

from ..conftest import AS_OF, ME


def juki(*args, env=None):
    return subprocess.run([sys.executable, "-m", "juki", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def db(tmp_path, small_db):
    p = tmp_path / "juki.duckdb"
    shutil.copy(small_db, p)
    return p


def test_every_notebook_has_roles_in_permissions_and_none_in_itself():
    """Roles come from permissions.toml only: a notebook cannot claim its own."""
    import nbformat

    from juki import paths
    for nb in paths.notebooks().glob("*.ipynb"):
        assert roles.notebook_roles(nb.stem) and roles.notebook_roles(nb.stem) <= set(roles.ROLES), nb.stem
        assert "roles" not in nbformat.read(nb, as_version=4).metadata.get("juki", {}), nb.stem


def test_disclosure_request_lists_search_export_and_purge(log, act_as, db, tmp_path):
    """「誰が私の情報を見たか」: a resident searched, exported and purged finds all three uses."""
    con = duckdb.connect(str(db), read_only=True)
    atena, name, birth = con.execute("""SELECT atena_no, shimei, seinengappi FROM jumin WHERE atena_no IN (
        SELECT atena_no FROM jumin GROUP BY atena_no HAVING arg_max(ido_kubun, rireki_no) = '2'
           AND max(shojo_date) < DATE '2020-06-01') AND rireki_no = 1 ORDER BY atena_no LIMIT 1""").fetchone()
    con.close()
    act_as("reviewer01")
    found = search(store.connect(db), name=name, birth_date=birth)
    assert len(found) >= 1
    act_as("admin01")
    assert juki("export", "--file", "jumin", "--out", str(tmp_path / "e.csv"), "--db", str(db)).returncode == 0
    assert juki("purge", "--db", str(db), "--as-of", AS_OF.isoformat()).returncode == 0
    uses = uses_of_person(atena)
    assert list(uses["操作"]) == ["検索", "出力", "消去"]
    assert list(uses["利用者"]) == ["reviewer01", "admin01", "admin01"] and uses["日時"].notna().all()
    p = juki("audit", "person", atena)
    assert p.returncode == 0 and "検索" in p.stdout and "消去" in p.stdout
    assert oplog.entries(log)[-1]["action"] == "audit_read" and oplog.entries(log)[-1]["persons"] == [atena]
    p = juki("audit", "operator", "reviewer01")
    assert p.returncode == 0 and "検索" in p.stdout


def test_search_covers_both_files_and_flags_broad_searches(log, act_as, db):
    act_as("reviewer01")
    con = duckdb.connect(str(db), read_only=True)
    kana, birth, town, addr = con.execute("""SELECT h.furigana_shimei, j.seinengappi, j.town_code, j.genjusho FROM jumin j
        JOIN honnin h ON h.jumin_code = j.jumin_code AND h.record_jokyo_flag = '0'
        QUALIFY j.rireki_no = max(j.rireki_no) OVER (PARTITION BY j.atena_no) ORDER BY j.atena_no LIMIT 1""").fetchone()
    con.close()
    df = search(store.connect(db), name=kana, birth_date=birth)      # a reading: only the 本人確認情報 has it
    assert len(df) >= 1 and df["記録"].str.contains("本人確認情報").all()
    e = oplog.entries(log)[-1]
    assert e["outcome"] == "ok" and e["persons"] and e["params"]["facts"] == ["name", "birth_date"]
    town_name = re.sub(r"^千葉県松戸市", "", addr)[:4]
    from juki import search as search_module
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(search_module, "broad_limit", lambda: 0)      # any hit is "broad" now
        many = search(store.connect(db), address=addr.split("番")[0], birth_date=str(birth)[:4])
    assert len(many) >= 1 and town_name
    assert "broad" in oplog.entries(log)[-1]["flags"]
    assert "broad" not in oplog.entries(log)[-2]["flags"]           # the first search was under the limit


def test_each_run_leaves_one_entry_with_the_persons_its_drilldown_showed(log, small_db, tmp_path):
    import shutil as sh
    path = tmp_path / "d.duckdb"
    sh.copy(small_db, path)
    con = duckdb.connect(str(path))
    atena = con.execute("SELECT atena_no FROM jumin ORDER BY atena_no LIMIT 1").fetchone()[0]
    con.execute(f"UPDATE jumin SET shokuin_no = 'BAD' WHERE atena_no = '{atena}'")
    con.close()
    res = run_notebook("01_data_quality", [("files", "jumin")], db=str(path), reports_dir=tmp_path / "r")
    assert res.ok, res.error
    es = oplog.entries(log)
    assert len(es) == 1 and es[0]["action"] == "run" and es[0]["target"] == "01_data_quality"
    assert atena in es[0]["persons"] and "drilldown" in es[0]["detail"]


def test_prune_keeps_the_chain_verifiable(log):
    for i in range(30):
        oplog.append("search", f"old{i}", operator="t", os_user=ME, persons=[f"{i:04d}{k:06d}" for k in range(25)]
                     if i % 2 else [], at=dt.datetime(2020, 1, 1) + dt.timedelta(days=i))
    for i in range(3):
        oplog.append("run", f"new{i}", operator="t", os_user=ME)
    files = list(oplog.keys_dir(log).iterdir())
    assert files and oplog.verify(log)[0]
    assert oplog.prune(dt.date(2021, 1, 1), log) == 30
    assert oplog.verify(log)[0]
    assert not oplog.keys_dir(log).exists() or list(oplog.keys_dir(log).iterdir()) == []
    oplog.append("run", "after", operator="t", os_user=ME)
    ok, msg = oplog.verify(log)
    assert ok, msg
    assert [e["target"] for e in oplog.entries(log)][1:] == ["new0", "new1", "new2", "after"]


def test_bulk_persons_go_to_a_key_list_beside_the_log(log):
    e = oplog.append("export", "jumin", operator="t", os_user=ME, persons=[f"{i:010d}" for i in range(500)])
    assert e["persons_count"] == 500 and "persons" not in e
    assert oplog.keys_dir(log).joinpath(e["persons_file"]).stat().st_mode & 0o777 == 0o600
    assert [x["seq"] for x in oplog.touching("0000000123", log)] == [e["seq"]]


def test_access_audit_lists_refusals_off_hours_and_rights(log, act_as, small_db, tmp_path):
    oplog.append("search", "jumin", operator="reviewer01", os_user="suzuki", role="reviewer", records=500,
                 flags=["broad"], at=dt.datetime(2026, 3, 1, 23, 5))
    oplog.append("report", "2026-03-01", operator="scheduler", os_user="juki-scheduler", role="scheduler",
                 at=dt.datetime(2026, 3, 1, 6, 0))
    oplog.append("run", "03_retention_purge", operator="analyst01", role="analyst", outcome="refused",
                 detail="needs administrator")
    audit = AccessAudit.build(dt.date(2026, 1, 1), dt.date.today())
    assert "reviewer01" in audit.off_hours(scheduler=False).to_string()
    assert "scheduler" in audit.off_hours(scheduler=True).to_string()
    assert "scheduler" not in audit.off_hours(scheduler=False).to_string()
    assert "analyst01" in audit.refusals().to_string() and len(audit.broad_searches()) == 1
    rights = audit.access_rights()
    assert set(rights["利用者"]) == set(roles.load()) and "有効" in set(rights["有効"])
    res = run_notebook("05_access_audit", [("broad", "20")], db=str(small_db), reports_dir=tmp_path)
    assert res.ok, res.error
    html = res.html.read_text(encoding="utf-8")
    for needle in ("ログの検証", "正常", "reviewer01", "アクセス権の見直し", "定期処理", "拒否された操作"):
        assert needle in html, needle
    assert external_references(html) == []


def test_quarantined_raw_lines_are_erased_after_ninety_days(log, db):
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO quarantine VALUES (TIMESTAMP '2025-11-01 10:00', 'old.csv', 2, 'jumin', 'x', '123456789018,...')")
    con.execute("INSERT INTO quarantine VALUES (TIMESTAMP '2026-03-20 10:00', 'new.csv', 2, 'jumin', 'x', 'raw')")
    con.close()
    from juki.retention import apply
    res = apply(db, AS_OF, operator="admin01", only="quarantine_erase")
    assert res.changed and next(r for r in res.rules if r.rule == "quarantine_erase").due == 1
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT source_file FROM quarantine").fetchall() == [("new.csv",)]
    rec = json.loads(con.execute("SELECT record FROM purge_log").fetchall()[-1][0])
    assert any(r["rule"] == "quarantine_erase" and r["due"] == 1 for r in rec["rules"])
    con.close()
    assert b"123456789018" not in db.read_bytes()


def test_a_disclosure_request_is_recorded_and_linked_to_its_answer(capsys):
    """開示請求: recorded as it comes in, answered by `audit person --request`, counted by the audit."""
    from juki.audit.access_audit import AccessAudit
    from juki.cli import main
    assert main(["audit", "request", "--kind", "開示請求", "--channel", "窓口", "--handler", "市民課 A"]) != 0
    assert "--subject" in capsys.readouterr().err
    assert main(["audit", "request", "--kind", "開示請求", "--channel", "窓口", "--handler", "市民課 A",
                 "--subject", "1000000019"]) == 0
    number = capsys.readouterr().out.strip()
    assert number.startswith("REQ-")
    e = oplog.entries()[-1]
    assert e["action"] == "request" and "1000000019" not in json.dumps(e.get("params")) and e["persons"] == ["1000000019"]
    counts = AccessAudit.build().request_counts()
    assert counts["open"] >= 1
    assert main(["audit", "person", "1000000019", "--request", number]) == 0
    capsys.readouterr()
    after = AccessAudit.build().request_counts()
    assert after["open"] == counts["open"] - 1 and after["answered"] >= 1
    assert main(["audit", "person", "1000000019", "--request", number]) != 0     # answered already
    assert "answered already" in capsys.readouterr().err
