"""Notebooks are tested by running them through the runner on a small registry."""
import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from juki import paths
from juki.reports.html import external_references
from juki.reports.runner import notebook_parameters, run_notebook

NOTEBOOKS = sorted(paths.notebooks().glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_parseable(nb):
    """Papermill silently drops a parameter whose comment it cannot parse: catch that here."""
    node = nbformat.read(nb, as_version=4)
    cells = [c for c in node.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assigned = set(re.findall(r"^(\w+)\s*=", cells[0].source, re.M))
    assert set(notebook_parameters(nb)) == assigned


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin(nb):
    node = nbformat.read(nb, as_version=4)
    code = [c.source for c in node.cells if c.cell_type == "code"]
    assert not any(re.search(r"^\s*(def|class) ", s, re.M) for s in code), "logic belongs in juki/"
    assert all(not c.get("outputs") for c in node.cells if c.cell_type == "code"), "commit notebooks without outputs"


def test_overview_runs_and_renders_offline_html(tmp_path, small_db):
    res = run_notebook("00_overview", [], db=str(small_db), reports_dir=tmp_path)
    assert res.ok, res.error
    assert res.folder.name.endswith("_00_overview")
    for f in ("input.ipynb", "output.ipynb", "parameters.json", "status.json", "00_overview.html"):
        assert (res.folder / f).exists()
    html = res.html.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "人口ピラミッド" in html and "data:image/png;base64" in html
    assert "住民基本台帳ファイル" in html
    status = json.loads((res.folder / "status.json").read_text())
    assert status["status"] == "ok"


def test_failed_cell_marks_run_failed(tmp_path, small_db, monkeypatch):
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "juki", "display_name": "Python (juki)", "language": "python"}
    p = nbformat.v4.new_code_cell("x = 1")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("raise ValueError('boom')")]
    # a broken copy under an installed name (only installed names with roles in permissions.toml run)
    nbformat.write(nb, home / "notebooks" / "05_access_audit.ipynb")
    (home / "pyproject.toml").write_text("")
    from juki.access.roles import operators_path
    env = {**os.environ, "JUKI_HOME": str(home), "JUKI_REPORTS": str(tmp_path / "reports"),
           "JUKI_OPERATORS": str(operators_path())}
    r = subprocess.run([sys.executable, "-m", "juki", "run", "05_access_audit", "--db", str(small_db)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1
    assert "boom" in r.stderr
    folders = list((tmp_path / "reports").iterdir())
    assert len(folders) == 1 and folders[0].name.endswith(".failed")
    assert json.loads((folders[0] / "status.json").read_text())["status"] == "failed"
    assert not list(folders[0].glob("*.html"))


def test_the_scheduled_review_shows_no_records_and_does_not_fail(tmp_path, small_db):
    """The monthly report runs the data-quality review as the scheduler, who may not see records
    (drilldown needs a reviewer or an administrator).  With a failing rule the review used to
    stop at its excerpt cell, refused; now it finishes and says why the excerpt is missing, and
    a reviewer's run shows it."""
    import shutil

    import duckdb

    from juki.quality.drilldown import NOT_SHOWN

    from ..conftest import write_operators
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    con = duckdb.connect(str(db))
    try:     # one current row gets an impossible 性別 code: the review has a failing rule
        con.execute("UPDATE jumin SET seibetsu = '9' WHERE rowid = (SELECT min(rowid) FROM jumin)")
    finally:
        con.close()
    shown = {}
    for who in ("scheduler", "reviewer01"):
        env = {**os.environ, "JUKI_REPORTS": str(tmp_path / who),
               "JUKI_OPERATORS": str(write_operators(tmp_path / f"{who}.toml", who))}
        r = subprocess.run([sys.executable, "-m", "juki", "run", "01_data_quality", "--db", str(db)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        html = next((tmp_path / who).glob("*/01_data_quality.html")).read_text(encoding="utf-8")
        shown[who] = (NOT_SHOWN in html, "性別" in html.split("不適合の記録（抜粋・マスク済み）")[1].split("全ルールの結果")[0])
    assert shown == {"scheduler": (True, False), "reviewer01": (False, True)}
