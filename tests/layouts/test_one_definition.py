"""One definition of each rule (issue: the renovation): residency, checks, writes.

* the quality review and the statistics count the same residents on any reference date --
  before, at and after the store's own -- and both agree with the test's own count;
* a defect class declared in the layout is caught by the review and by the loader alike,
  without touching ``juki/ingest``;
* no module but the store and the atomic-write helper renames files or fsyncs, and no module but
  ``juki/residency`` says what "current record" or "resident on a date" means.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from juki import store
from juki.analysis.publish import publish
from juki.analysis.store import Analysis
from juki.layouts import LAYOUTS
from juki.quality import rules as rules_mod
from juki.quality.review import review

from ..conftest import AS_OF

JUKI = Path(__file__).resolve().parents[2] / "juki"


def own_count(db, d: dt.date) -> int:
    """Residents on ``d``, by the test's own reading of the registry: the latest record processed
    by ``d`` of each person, unless it is a removal (消除) effective by ``d``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"""
            WITH last AS (SELECT * FROM jumin WHERE shori_date <= DATE '{d}'
                          QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no))
            SELECT count(*) FROM last WHERE NOT (ido_kubun = '2' AND shojo_date <= DATE '{d}')""").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("offset", [-75, 0, 20], ids=["before", "at", "after"])
def test_review_and_statistics_count_the_same_residents_on_any_date(tmp_path, small_db, offset):
    d = AS_OF + dt.timedelta(days=offset)
    con = store.connect(small_db)
    try:
        rv = review(con, files="jumin", as_of=d, use_gx=False)
    finally:
        con.disconnect()
    out = tmp_path / "analysis.duckdb"
    publish(db=small_db, as_of=d, out=out)
    a = Analysis(out)
    try:
        stock = int(a.stock(d).count().to_pandas())
    finally:
        a.close()
    assert rv.residents == stock == own_count(small_db, d), (rv.residents, stock)


@pytest.fixture
def honseki_format(monkeypatch):
    """A new defect class, declared only in the layout: 本籍地 may not contain '#'."""
    lay = LAYOUTS["jumin"]
    items = tuple(dataclasses.replace(i, format="^[^#]*$") if i.column == "honseki" else i for i in lay.items)
    monkeypatch.setitem(LAYOUTS, "jumin", dataclasses.replace(lay, items=items))
    rules_mod.catalogue.cache_clear()
    yield "jumin.honseki.format"
    rules_mod.catalogue.cache_clear()


def test_a_defect_declared_in_the_layout_is_caught_by_review_and_loader(tmp_path, small_db, honseki_format):
    rule = honseki_format
    assert rule in {r.id for r in rules_mod.row_checks("jumin")}
    # the review: a store where one row has it
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    con = duckdb.connect(str(db))
    atena, rireki = con.execute("SELECT atena_no, rireki_no FROM jumin WHERE honseki IS NOT NULL LIMIT 1").fetchone()
    con.execute("UPDATE jumin SET honseki = honseki || '#1' WHERE atena_no = ? AND rireki_no = ?", [atena, rireki])
    header, rows = con.execute("SELECT * FROM jumin WHERE atena_no = ? ORDER BY rireki_no", [atena]).description, \
        con.execute("SELECT * FROM jumin WHERE atena_no = ? ORDER BY rireki_no", [atena]).fetchall()
    con.close()
    icon = store.connect(db)
    try:
        rv = review(icon, files="jumin", as_of=AS_OF, use_gx=False)
    finally:
        icon.disconnect()
    assert rv.counts()[rule] == 1
    # the loader: a file (the test's own CSV, PIA names) whose one row has it
    lay = LAYOUTS["jumin"]
    cols = [c[0] for c in header]
    csv_path = tmp_path / "export.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([i.name for i in lay.items])
        for row in rows:
            rec = dict(zip(cols, row))
            w.writerow(["" if rec[i.column] is None else rec[i.column].strftime("%Y%m%d") if isinstance(rec[i.column], dt.date)
                        and not isinstance(rec[i.column], dt.datetime) else str(rec[i.column]) for i in lay.items])
    from juki.ingest import load_files
    res = load_files([csv_path], table="jumin", db=tmp_path / "loaded.duckdb", as_of=AS_OF)
    rep = res.files[0]
    assert rep.quarantined == 1 and rep.loaded == len(rows) - 1
    why = rules_mod.get_rule(rule).description
    assert any(why in r for r in rep.reasons), rep.reasons


def _sources() -> dict[str, str]:
    return {str(p.relative_to(JUKI.parent)): p.read_text(encoding="utf-8") for p in JUKI.rglob("*.py")}


def test_only_the_store_and_the_helper_rename_or_fsync():
    allowed = {"juki/atomic.py", "juki/store.py"}
    found = [f for f, text in _sources().items()
             if f not in allowed and re.search(r"os\.(replace|rename)\(|os\.fsync\(", text)
             and f != "juki/log/oplog.py"]
    assert found == [], f"rename/fsync outside juki/atomic.py and juki/store.py: {found}"
    # the operation log appends (never renames) and fsyncs its own appends: that is its one exception
    assert "os.replace(" not in _sources()["juki/log/oplog.py"]


def test_no_second_definition_of_current_record_or_resident():
    # the shapes a second definition takes: "highest 履歴番号 per person", "removed by the date"
    patterns = [r"max\(rireki_no\)\s+OVER\s*\(\s*PARTITION BY atena_no", r"ORDER BY rireki_no DESC\)?\s*=\s*1",
                r"ido_kubun\s*(=|<>|!=)\s*'2'\s+AND\s+shojo_date\s*<=", r"QUALIFY\s+rireki_no\s*="]
    hits = [f for f, text in _sources().items() if f != "juki/residency.py"
            and any(re.search(p, text, re.I) for p in patterns)]
    assert hits == [], f"current/resident defined outside juki/residency.py: {hits}"
