"""Operators, roles, the two-of-four search, the hash-chained operation log, the reports."""
import datetime as dt
import json
import os
import re
import subprocess
import sys

import pytest

from juki import store
from juki.audit import oplog, reveal_number, roles
from juki.audit.search import search
from juki.errors import JukiError
from juki.reports.html import external_references
from juki.reports.runner import notebook_roles, run_notebook, notebook_path

from .conftest import AS_OF


@pytest.fixture
def log(tmp_path, monkeypatch):
    p = tmp_path / "oplog.jsonl"
    monkeypatch.setenv("JUKI_OPLOG", str(p))
    return p


NOTEBOOK_REFUSALS = [  # (operator, notebook) pairs that must be refused
    ("analyst01", "01_data_quality"), ("analyst01", "03_retention_purge"), ("analyst01", "04_manager_summary"),
    ("analyst01", "05_access_audit"), ("reviewer01", "02_population_statistics"), ("reviewer01", "03_retention_purge"),
    ("reviewer01", "05_access_audit"), ("reviewer01", "explore"), ("clerk01", "02_population_statistics"),
    ("clerk01", "03_retention_purge"), ("admin01", "explore"), ("retired01", "00_overview"),
    ("retired01", "01_data_quality"), ("nobody", "00_overview"),
]


@pytest.mark.parametrize("operator, notebook", NOTEBOOK_REFUSALS)
def test_refused_runs_are_refused_and_logged(log, small_db, tmp_path, operator, notebook):
    with pytest.raises(roles.Refused):
        run_notebook(notebook, [], db=str(small_db), reports_dir=tmp_path / "r", operator=operator)
    es = oplog.entries(log)
    assert len(es) == 1 and es[0]["outcome"] == "refused" and es[0]["operator"] == operator
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())


def test_every_notebook_declares_roles():
    from juki import paths
    for nb in paths.notebooks().glob("*.ipynb"):
        assert notebook_roles(nb) <= set(roles.ROLES) and notebook_roles(nb), nb.stem


def test_library_entry_points_refuse(log, small_db):
    con = store.connect(small_db)
    with pytest.raises(roles.Refused):
        search(con, name="山田　太郎", birth_date="1980-01-01", operator="analyst01")
    with pytest.raises(roles.Refused):
        search(con, name="山田　太郎", birth_date="1980-01-01", operator="retired01")
    with pytest.raises(roles.Refused):
        reveal_number("621498320257", operator="reviewer01")
    assert reveal_number("621498320257", operator="clerk01") == "621498320257"
    from juki.retention import apply
    with pytest.raises(roles.Refused):
        os.environ["JUKI_OPERATOR"] = "reviewer01"
        try:
            apply(small_db, AS_OF, operator="x")
        finally:
            del os.environ["JUKI_OPERATOR"]
    es = oplog.entries(log)
    assert [e["outcome"] for e in es] == ["refused", "refused", "refused", "ok", "refused"]
    assert es[3]["number_accessed"] is True
    assert all("621498320257" not in json.dumps(e) for e in es)


def test_two_of_four_rule(log, duck, small_db):
    con = store.connect(small_db)
    name, birth, addr, sex = duck.execute("""SELECT shimei, seinengappi, genjusho, seibetsu FROM jumin
        QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no) ORDER BY atena_no LIMIT 1""").fetchone()
    for kwargs in ({"name": name}, {"name": name, "sex": sex}, {"birth_date": birth, "sex": sex},
                   {"address": addr}, {}):
        with pytest.raises(JukiError, match="at least two"):
            search(con, operator="reviewer01", **kwargs)
    for kwargs in ({"name": name, "birth_date": birth}, {"name": name, "address": addr},
                   {"address": addr, "birth_date": birth}):
        df = search(con, operator="reviewer01", **kwargs)
        assert len(df) >= 1
        assert name not in df.to_string() and addr not in df.to_string()
    es = oplog.entries(log)
    assert [e["outcome"] for e in es] == ["failed"] * 5 + ["ok"] * 3
    assert all(name not in json.dumps(e, ensure_ascii=False) for e in es)
    assert es[-1]["records"] >= 1 and es[-1]["params"]["fields"] == ["address", "birth_date"]


def _lines(p):
    return p.read_text(encoding="utf-8").splitlines()


def test_verify_detects_edit_delete_swap(tmp_path):
    p = tmp_path / "log.jsonl"
    for i in range(6):
        oplog.append("run", f"nb{i}", operator="system", path=p)
    assert oplog.verify(p)[0]
    good = _lines(p)
    edited = list(good)
    e = json.loads(edited[2])
    e["operator"] = "someone_else"
    edited[2] = json.dumps(e, ensure_ascii=False, sort_keys=True)
    deleted = good[:3] + good[4:]
    swapped = good[:2] + [good[3], good[2]] + good[4:]
    for case in (edited, deleted, swapped):
        p.write_text("\n".join(case) + "\n", encoding="utf-8")
        ok, msg = oplog.verify(p)
        assert not ok, msg
    p.write_text("\n".join(good) + "\n", encoding="utf-8")
    # the CLI says so too
    env = {**os.environ, "JUKI_OPLOG": str(p)}
    assert subprocess.run([sys.executable, "-m", "juki", "audit", "verify"], env=env, capture_output=True).returncode == 0
    p.write_text("\n".join(swapped) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "juki", "audit", "verify"], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "TAMPERED" in r.stderr


def test_prune_keeps_the_chain_verifiable(tmp_path):
    p = tmp_path / "log.jsonl"
    for i in range(5):
        oplog.append("run", f"old{i}", operator="system", path=p, at=dt.datetime(2020, 1, 1 + i, 10))
    for i in range(3):
        oplog.append("run", f"new{i}", operator="system", path=p)
    assert oplog.prune(dt.date(2021, 1, 1), p) == 5
    assert oplog.verify(p)[0]
    oplog.append("run", "after", operator="system", path=p)
    assert oplog.verify(p)[0]
    assert [e["target"] for e in oplog.entries(p)][1:] == ["new0", "new1", "new2", "after"]


def test_each_run_leaves_exactly_one_entry(log, small_db, tmp_path):
    res = run_notebook("00_overview", [], db=str(small_db), reports_dir=tmp_path, operator="analyst01")
    assert res.ok
    es = oplog.entries(log)
    assert len(es) == 1 and es[0]["action"] == "run" and es[0]["outcome"] == "ok" and es[0]["role"] == "analyst"
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "juki", "display_name": "Python (juki)", "language": "python"}
    nb.metadata["juki"] = {"roles": ["analyst"]}
    c = nbformat.v4.new_code_cell("x = 1")
    c.metadata["tags"] = ["parameters"]
    nb.cells = [c, nbformat.v4.new_code_cell("1/0")]
    nbformat.write(nb, home / "notebooks" / "bad.ipynb")
    (home / "pyproject.toml").write_text("")
    env = {**os.environ, "JUKI_HOME": str(home), "JUKI_REPORTS": str(tmp_path / "r2"),
           "JUKI_OPERATORS": str(roles.operators_path())}
    r = subprocess.run([sys.executable, "-m", "juki", "run", "bad", "--db", str(small_db), "--operator", "analyst01"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 1
    es = oplog.entries(log)
    assert len(es) == 2 and es[1]["outcome"] == "failed" and "ZeroDivisionError" in es[1]["detail"]


def test_report_is_complete_offline_and_logged(log, small_db, tmp_path):
    from juki.reports.report import build
    folder, ok = build(AS_OF, db=str(small_db), reports_dir=tmp_path)
    assert ok and folder.name == AS_OF.isoformat()
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "令和8年4月1日" in index and "定期レポート" in index
    for p in folder.rglob("*.html"):
        assert external_references(p.read_text(encoding="utf-8")) == [], p
    linked = re.findall(r'href="([^"]+\.html)"', index)
    assert len(linked) == 5 and all((folder / l).exists() for l in linked)
    assert len(oplog.entries(log)) == 5
    # a second report sees the first one's key figures
    later = AS_OF + dt.timedelta(days=31)
    folder2, ok2 = build(later, db=str(small_db), reports_dir=tmp_path)
    assert ok2
    assert AS_OF.isoformat() in (folder2 / "04_manager_summary" / "04_manager_summary.html").read_text(encoding="utf-8")


def test_failed_notebook_makes_report_incomplete(log, small_db, tmp_path, monkeypatch):
    import shutil

    import nbformat

    from juki import paths
    from juki.reports import report
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    (home / "data").mkdir()
    shutil.copy(paths.notebooks() / "00_overview.ipynb", home / "notebooks")
    shutil.copy(roles.operators_path(), home / "data" / "operators.toml")
    nb = nbformat.read(home / "notebooks" / "00_overview.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"))
    nbformat.write(nb, home / "notebooks" / "broken.ipynb")
    (home / "pyproject.toml").write_text("")
    monkeypatch.setenv("JUKI_HOME", str(home))
    monkeypatch.setattr(report, "REPORTS", [("00_overview", "概要"), ("broken", "壊れたレポート")])
    folder, ok = report.build(AS_OF, db=str(small_db), reports_dir=tmp_path / "r")
    assert not ok
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "失敗" in index and "不完全" in index and "broken on purpose" in index
    status = json.loads((folder / "report_status.json").read_text(encoding="utf-8"))
    assert [r["ok"] for r in status["reports"]] == [True, False]


def test_report_refused_for_an_analyst_leaves_nothing(log, small_db, tmp_path):
    from juki.reports.report import build
    reports = tmp_path / "reports"
    with pytest.raises(roles.Refused):
        build(AS_OF, db=str(small_db), reports_dir=reports, operator="analyst01")
    assert list(reports.iterdir()) == []
    assert oplog.entries(log)[-1]["outcome"] == "refused"


def test_access_audit_notebook_runs(log, small_db, tmp_path):
    oplog.append("search", "jumin", operator="reviewer01", records=500, at=dt.datetime(2026, 3, 1, 23, 5))
    oplog.append("run", "03_retention_purge", operator="analyst01", outcome="refused", detail="needs administrator")
    res = run_notebook("05_access_audit", [("broad", "20")], db=str(small_db), reports_dir=tmp_path)
    assert res.ok, res.error
    html = res.html.read_text(encoding="utf-8")
    assert "ハッシュチェーンの検証" in html and "正常" in html and "reviewer01" in html
