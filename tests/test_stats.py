"""Statistics: agree with raw counts, never read identifiers, suppress safely, leak nothing."""
import datetime as dt
import re

import duckdb
import numpy as np
import pytest
from stdnum.jp import in_

from juki.layouts import get
from juki.privacy import Deidentified, blocked_columns
from juki.reports.runner import run_notebook
from juki.stats import dp, tables as T
from juki.stats.disclosure import lines_with_one_hidden, suppress, with_margins

from .conftest import AS_OF

D = AS_OF.isoformat()
START, END = T.default_period(AS_OF)


@pytest.fixture(scope="module")
def deid(small_db):
    return Deidentified(small_db)


@pytest.fixture(scope="module")
def all_tables(deid):
    return T.all_tables(deid, AS_OF, START, END, "choiki", threshold=2)


RAW_LIVING = f"""
    SELECT *, year(DATE '{D}') - year(seinengappi)
              - CASE WHEN strftime(DATE '{D}', '%m%d') < strftime(seinengappi, '%m%d') THEN 1 ELSE 0 END AS age
    FROM (SELECT * FROM jumin WHERE shori_date <= DATE '{D}'
          QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no))
    WHERE (ido_kubun <> '2' OR shojo_date > DATE '{D}') AND jumin_date <= DATE '{D}'"""


def test_population_table_equals_raw_count(duck, deid):
    st = T.population_age_sex(deid.residents(AS_OF), threshold=0)
    raw = duck.execute(f"""SELECT kokuseki IS NOT NULL, least(age // 5, 20), seibetsu, count(*)
                           FROM ({RAW_LIVING}) GROUP BY ALL""").fetchall()
    arr = np.zeros((21, 2, 2), dtype=int)
    for foreign, band, sex, n in raw:
        arr[band, int(foreign), int(sex) - 1] += n
    assert (st.counts == with_margins(arr)).all()
    from juki.stats import pyramid
    pyr = pyramid(deid.residents(AS_OF))
    assert pyr.shape == (21, 2) and list(pyr.columns) == ["男", "女"]
    assert (pyr.to_numpy() == arr.sum(axis=1)).all()


def test_households_and_areas_equal_raw(duck, deid):
    view = deid.residents(AS_OF)
    hh = T.households(view, threshold=0)
    assert hh.counts[-1] == duck.execute(f"SELECT count(DISTINCT setai_no) FROM ({RAW_LIVING})").fetchone()[0]
    area = T.population_by_area(view, "branch", threshold=0)
    raw = dict(duck.execute(f"SELECT town_code, count(*) FROM ({RAW_LIVING}) GROUP BY 1").fetchall())
    from juki import codes
    towns = codes.towns()
    by_branch = {}
    for code, n in raw.items():
        b = towns.loc[towns["code"] == code, "branch"].iloc[0]
        by_branch[b] = by_branch.get(b, 0) + n
    got = dict(zip(area.labels(0)[:-1], area.counts[:-1, -1, -1]))
    assert {k: v for k, v in got.items() if v} == by_branch


def test_movements_and_foreign_equal_raw(duck, deid):
    kisai, shojo = T.movements(deid, START, END, threshold=0, known_by=AS_OF)
    raw = dict(duck.execute(f"""SELECT ido_jiyu, count(*) FROM jumin WHERE ido_date BETWEEN DATE '{START}' AND DATE '{END}'
                                AND shori_date <= DATE '{D}' GROUP BY 1""").fetchall())
    births = raw.get("13", 0)
    assert kisai.counts[kisai.labels(0).index("出生"), -1, -1] == births
    assert shojo.counts[shojo.labels(0).index("死亡"), -1, -1] == raw.get("23", 0)
    assert kisai.counts[-1, -1, -1] == sum(raw.get(c, 0) for c in ("11", "12", "13", "14", "15", "16", "19"))
    fn = T.foreign_nationality(deid.residents(AS_OF), threshold=0)
    assert fn.counts[-1, -1] == duck.execute(f"SELECT count(*) FROM ({RAW_LIVING}) WHERE kokuseki IS NOT NULL").fetchone()[0]


def test_margins_add_up(all_tables):
    for st in all_tables:
        c = st.counts
        for ax in range(c.ndim):
            inner = [slice(0, -1) if i == ax else slice(None) for i in range(c.ndim)]
            last = [-1 if i == ax else slice(None) for i in range(c.ndim)]
            assert (c[tuple(inner)].sum(axis=ax) == c[tuple(last)]).all(), st.name


def test_no_statistics_query_reads_an_identifier(all_tables, deid):
    blocked = set(blocked_columns(get("jumin"))) | {"jumin_code", "kojin_bango", "atena_no", "setai_no"}
    for st in all_tables:
        idents = set(re.findall(r'"([a-z_0-9]+)"', st.sql))
        assert not (idents & blocked), (st.name, idents & blocked)
        assert "registry" not in st.sql
    cols = set(deid.con.table(Deidentified.TABLE).columns)
    assert not (cols & blocked)
    with pytest.raises(Exception):
        deid.con.raw_sql("SELECT count(*) FROM registry.jumin").fetchall()


def test_statistics_refuse_raw_tables(small_db):
    from juki import store
    con = store.connect(small_db)
    with pytest.raises(TypeError):
        T.population_age_sex(con.table("jumin"))


def test_suppression_on_random_tables():
    rng = np.random.default_rng(7)
    for _ in range(300):
        shape = tuple(rng.integers(2, 7, size=rng.integers(1, 4)))
        arr = rng.choice([0, 1, 2, 3, 5, 20], size=shape, p=[0.2, 0.15, 0.15, 0.15, 0.15, 0.2])
        t = with_margins(arr)
        hidden = suppress(t, 2)
        assert lines_with_one_hidden(hidden) == 0
        assert hidden[(t >= 1) & (t <= 2)].all()


def test_published_tables_are_suppressed(all_tables):
    for st in all_tables:
        assert lines_with_one_hidden(st.hidden) == 0, st.name
        small = (st.counts >= 1) & (st.counts <= 2)
        assert st.hidden[small].all(), st.name
        pub = st.frame()
        assert not any(v in (1, 2) for v in pub.to_numpy().ravel()), st.name


def test_dp_release_states_its_privacy_loss(deid):
    area = T.population_by_area(deid.residents(AS_OF), "branch", threshold=0)
    noisy, eps = dp.release(area, 0.5)
    assert eps == pytest.approx(0.5)
    assert noisy.counts.shape == area.counts.shape and (noisy.counts >= 0).all()
    assert "ε" in noisy.title


def _valid_numbers(text):
    return [m for m in re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text) if in_.is_valid(m)]


def test_statistics_run_leaks_nothing(tmp_path, small_db):
    res = run_notebook("02_population_statistics", [("dp_epsilon", "1.0")], db=str(small_db), reports_dir=tmp_path)
    assert res.ok, res.error
    con = duckdb.connect(str(small_db), read_only=True)
    names = {r[0] for r in con.execute("SELECT DISTINCT shimei FROM jumin").fetchall()}
    codes_ = {r[0] for r in con.execute("SELECT DISTINCT jumin_code FROM jumin").fetchall()}
    con.close()
    files = [p for p in res.folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files)
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        assert _valid_numbers(text) == [], p.name
        found = set(re.findall(r"(?<![0-9])[0-9]{11}(?![0-9])", text)) & codes_
        assert not found, p.name
        assert [n for n in names if n in text] == [], p.name
    csv = (res.folder / "population_age_sex.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    html = res.html.read_text(encoding="utf-8")
    assert "差分プライバシー" in html and "ε" in html


def test_explorer_notebook_runs(tmp_path, small_db):
    res = run_notebook("explore", [], db=str(small_db), reports_dir=tmp_path)
    assert res.ok, res.error


def test_selection_table_filters(deid):
    from juki.stats.explore import selection_table
    st = selection_table(deid, AS_OF, None, (0, 20), None, None, threshold=0)
    total = T.population_age_sex(deid.residents(AS_OF), threshold=0).counts[-1, -1, -1]
    assert st.counts[-1, -1] == total
    women = selection_table(deid, AS_OF, None, (13, 20), "2", "日本人住民", threshold=0)
    assert 0 < women.counts[-1, -1] < total
