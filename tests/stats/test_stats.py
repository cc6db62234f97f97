"""Statistics: read only the analysis store, agree with independent counts, balance, lose no one,
resist differencing, and leak nothing."""
import datetime as dt
import re
import shutil
import subprocess
import sys

import duckdb
import numpy as np
import pytest
from stdnum.jp import in_

from juki import store
from juki.access.roles import Refused
from juki.analysis.publish import publish
from juki.analysis.store import Analysis
from juki.errors import JukiError
from juki.reports.runner import run_notebook
from juki.stats import ckm, dp, official
from juki.stats import population as P
from juki.stats.explore import Selection, selection_table
from juki.stats.release import Release
from juki.stats.suppression import lines_with_one_hidden, suppress, with_margins

from ..conftest import AS_OF

D = AS_OF.isoformat()


@pytest.fixture(scope="session")
def analysis_db(tmp_path_factory, small_db):
    out = tmp_path_factory.mktemp("analysis") / "analysis.duckdb"
    publish(db=small_db, as_of=AS_OF, out=out)
    return out


@pytest.fixture(scope="module")
def a(analysis_db):
    return Analysis(analysis_db)


@pytest.fixture(scope="module")
def rel(a):
    """The release of AS_OF, built once for the module's tests (they only read it)."""
    return Release.build(a, AS_OF)


def raw_residents(con, d: dt.date) -> str:
    """An independent count: the test's own SQL of 'resident on d' over the raw registry."""
    return f"""
        SELECT *, year(DATE '{d}') - year(seinengappi)
                  - CASE WHEN strftime(DATE '{d}', '%m%d') < strftime(seinengappi, '%m%d') THEN 1 ELSE 0 END AS age
        FROM (SELECT * FROM jumin WHERE shori_date <= DATE '{d}'
              QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no))
        WHERE NOT (ido_kubun = '2' AND shojo_date <= DATE '{d}')"""


def test_population_table_equals_an_independent_count(duck, a):
    for d in a.ref_dates:
        st = P.population_age_sex(a, d, P.Protect("none", 0))
        raw = duck.execute(f"""SELECT kokuseki IS NOT NULL, least(age // 5, 20), seibetsu, count(*)
                               FROM ({raw_residents(duck, d)}) GROUP BY ALL""").fetchall()
        arr = np.zeros((22, 2, 2), dtype=int)
        for foreign, band, sex, n in raw:
            arr[band, int(foreign), int(sex) - 1] += n
        assert (st.counts == with_margins(arr)).all(), d


def test_households_and_areas_equal_independent_counts(duck, a):
    hh = P.households(a, AS_OF, P.Protect("none", 0))
    assert hh.counts[-1] == duck.execute(f"SELECT count(DISTINCT setai_no) FROM ({raw_residents(duck, AS_OF)})").fetchone()[0]
    assert hh.unit == "世帯数" and "世帯数" in hh.frame().columns
    from juki import codes
    towns = codes.towns()
    branch_of = dict(zip(towns["code"], towns["branch"]))
    raw = duck.execute(f"SELECT town_code, count(*) FROM ({raw_residents(duck, AS_OF)}) GROUP BY 1").fetchall()
    want = {}
    for code, n in raw:
        want[branch_of[code]] = want.get(branch_of[code], 0) + n
    area = P.population_by_area(a, AS_OF, "branch", P.Protect("none", 0))
    got = dict(zip(area.labels(0)[:-1], area.counts[:-1, -1, -1]))
    assert {k: v for k, v in got.items() if v} == want


def test_no_table_loses_a_resident(a, rel):
    """Every published table's cells add up to its 計, and a table of persons on a date counts all of them."""
    population = int(P.summary(a, AS_OF).loc["総人口", "値"])
    for st in rel.all_tables():
        c = st.counts
        for ax in range(c.ndim):
            inner = [slice(0, -1) if i == ax else slice(None) for i in range(c.ndim)]
            last = [-1 if i == ax else slice(None) for i in range(c.ndim)]
            assert (c[tuple(inner)].sum(axis=ax) == c[tuple(last)]).all(), st.name
    for name in ("population_age_sex", "population_choiki", "single_ages_choiki", "three_bands_choiki"):
        assert rel.find(name).counts.ravel()[-1] == population, name


def test_survey_balances_for_three_seeds_and_two_years(tmp_path):
    from juki.synth import Params, generate
    for seed in (3, 5, 8):
        path = tmp_path / f"s{seed}.duckdb"
        store.write_registry(generate(Params(residents=2500, seed=seed, as_of=AS_OF)), path, {"as_of": D})
        out = tmp_path / f"a{seed}.duckdb"
        publish(db=path, as_of=AS_OF, out=out)
        an = Analysis(out)
        for year in (2025, 2026):
            table, breaks = official.balance(an, dt.date(year - 1, 1, 1), dt.date(year, 1, 1))
            assert (table["差(期首+増-減-期末)"] == 0).all(), (seed, year, table)
            assert table["増加(記載)"].sum() > 0 and table["減少(消除)"].sum() > 0
            assert len(breaks) == 0
        an.close()


def test_a_back_dated_removal_breaks_the_balance_and_the_review_names_it(tmp_path, small_db):
    """A removal processed before the person's earlier records: the balance fails, the review says which."""
    path = tmp_path / "corrupt.duckdb"
    shutil.copy(small_db, path)
    con = duckdb.connect(str(path))
    # the removal (転出, 死亡, 職権消除) of a person whose first record was processed in 2025
    atena, rireki, prev = con.execute("""
        SELECT j.atena_no, j.rireki_no, f.shori_date FROM jumin j JOIN jumin f ON f.atena_no = j.atena_no
             AND f.rireki_no = 1
        WHERE j.ido_jiyu IN ('21', '22', '23', '26') AND f.shori_date BETWEEN DATE '2025-03-01' AND DATE '2025-12-01'
        ORDER BY j.atena_no LIMIT 1""").fetchone()
    back = dt.date(2024, 6, 3)      # processed in the previous survey year, before its earlier record
    con.execute("UPDATE jumin SET shori_date = ?, ido_date = ?, shojo_date = ?, todoke_date = ? "
                "WHERE atena_no = ? AND rireki_no = ?", [back, back, back, back, atena, rireki])
    con.close()
    out = tmp_path / "a.duckdb"
    publish(db=path, as_of=AS_OF, out=out)
    an = Analysis(out)
    table, breaks = official.balance(an, dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    assert (table["差(期首+増-減-期末)"] != 0).any()
    assert len(breaks) and "遡った" in breaks["記録の種類"].iloc[0]
    from juki.quality.review import review
    rv = review(store.connect(path), "jumin", AS_OF)
    assert [atena, str(rireki)] in rv.failing_keys("jumin.timeline.order")


def test_monthly_towns_add_up_and_equal_the_survey_total(a):
    prev = max(d for d in a.ref_dates if d < AS_OF)
    st = official.monthly_towns(a, prev, AS_OF, "town")
    assert len(official.monthly_check(st)) == 0
    df = st.frame(published=False)
    assert df.loc["計", "当月の人口"] == int(P.summary(a, AS_OF).loc["総人口", "値"])
    jan = official.monthly_towns(a, dt.date(2025, 1, 1), dt.date(2026, 1, 1), "choiki").frame(published=False)
    assert jan.loc["計", "当月の人口"] == official.survey_row_table(a, 2026).loc["総計", "人口 計"]


def test_survey_row_identities(a):
    t = official.survey_row_table(a, 2026)
    for _, r in t.iterrows():
        assert r["記載 計(A)"] - r["消除 計(B)"] == r["増減数(A)-(B)"]
        assert r["出生者数"] - r["死亡者数"] == r["自然増減数"]
        assert r["自然増減数"] + r["社会増減数"] == r["増減数(A)-(B)"]
    assert t.loc["総計", "人口 計"] == t.loc["日本人住民", "人口 計"] + t.loc["外国人住民", "人口 計"]


def test_suppression_on_random_tables():
    rng = np.random.default_rng(7)
    for _ in range(300):
        shape = tuple(rng.integers(2, 7, size=rng.integers(1, 4)))
        arr = rng.choice([0, 1, 2, 3, 5, 20], size=shape, p=[0.2, 0.15, 0.15, 0.15, 0.15, 0.2])
        t = with_margins(arr)
        hidden = suppress(t, 2)
        assert lines_with_one_hidden(hidden) == 0
        assert hidden[(t >= 1) & (t <= 2)].all()


def test_band_shares_are_shown_only_where_the_whole_row_is(rel):
    """A share beside a published band count gives the row's total, beside a published total a
    hidden band: a row with any hidden cell shows no share."""
    st = rel.find("three_bands_choiki")
    shares = official.band_shares(st)
    partly = st.hidden.any(axis=1)
    assert partly.any() and (~partly).any()
    assert (shares[partly] == "x").all().all()
    assert (shares[~partly & (st.counts[:, :3].sum(axis=1) > 0)] != "x").all().all()


def test_published_tables_are_suppressed(rel):
    for st in rel.all_tables():
        assert lines_with_one_hidden(st.hidden) == 0, st.name
        small = (st.counts >= 1) & (st.counts <= 2)
        assert st.hidden[small].all(), st.name
        assert not any(v in (1, 2) for v in st.frame().to_numpy().ravel()), st.name


# ---------------------------------------------------------------- the analysis store

def test_analysis_store_holds_no_identifier(analysis_db, duck):
    con = duckdb.connect(str(analysis_db), read_only=True)
    cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE NOT internal").fetchall()}
    con.close()
    from juki.layouts import LAYOUTS
    from juki.privacy import BLOCKED_CLASSES
    blocked = {i.column for lay in LAYOUTS.values() for i in lay.all_columns
               if i.sensitivity in BLOCKED_CLASSES or i.identifying}
    assert not (cols & blocked), cols & blocked
    assert not ({"seinengappi", "shokuin_no", "tanmatsu_id", "genjusho", "shimei"} & cols)
    # no value of any column equals an identifier of the registry (compared as values: a byte scan
    # of a column store finds digit runs of concatenated town codes everywhere)
    idents = {r[0] for r in duck.execute("""SELECT kojin_bango FROM jumin UNION SELECT jumin_code FROM jumin
        UNION SELECT atena_no FROM jumin UNION SELECT setai_no FROM jumin UNION SELECT shimei FROM jumin""").fetchall()}
    con = duckdb.connect(str(analysis_db), read_only=True)
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE data_type = 'VARCHAR' AND NOT internal").fetchall():
        values = {r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()}
        assert not (values & idents), (table, column)
    con.close()
    blob = analysis_db.read_bytes()
    names = {r[0] for r in duck.execute("SELECT DISTINCT shimei FROM jumin").fetchall()}
    assert not [x for x in names if x.encode() in blob]
    assert oct(analysis_db.stat().st_mode & 0o777) == "0o600"


def test_an_analyst_cannot_open_the_registry(act_as, small_db, analysis_db):
    act_as("analyst01")
    with pytest.raises(Refused, match="open_registry|may not use"):
        store.connect(small_db)
    with pytest.raises(JukiError, match="registry store"):
        Analysis(small_db)
    assert Analysis(analysis_db).as_of == AS_OF


# ---------------------------------------------------------------- the cell-key method

def test_ptable_rows_are_unbiased_with_the_policy_variance():
    pt = ckm.build(ckm.PTableParams())
    for i, (mean, var) in pt.moments().items():
        assert abs(mean) < 1e-6 and var <= 2.0 + 1e-6, i
    assert all(j == 0 or j > 2 for row in pt.targets for j in row)


def test_the_shipped_ptable_is_the_policys_solved_one():
    """Processes that perturb take the shipped ptable instead of solving it again; it must be
    what the solver gives for the policy's parameters (same noise values, the same probabilities
    to the solver's accuracy).  SLSQP's answer moves in the ninth decimal with the CPU OpenBLAS
    picks a kernel for (2026-12-03, a new machine: 1.8e-9), which is why the table is shipped:
    every process perturbs with the same one."""
    from juki.stats.policy import load
    params = load().ptable
    assert params in ckm.SHIPPED
    shipped, solved = ckm.build(params), ckm.solve(params)
    assert shipped.targets == solved.targets
    for a, b in zip(shipped.cum, solved.cum):
        assert np.allclose(a, b, rtol=0, atol=1e-7), (a, b)
    assert all(shipped.reachable(i) == solved.reachable(i) for i in range(params.imax + 1))


def _find(a, pred):
    """A (町域, nationality, sex, band) cell of the store that satisfies pred(count)."""
    t = a.stock(AS_OF).to_pandas()
    from juki import codes
    choiki = dict(zip(codes.towns()["code"], codes.towns()["choiki"]))
    t["choiki"] = t["town"].map(choiki)
    return t, choiki


def test_the_same_cell_has_the_same_value_in_every_table(a):
    both = selection_table(a, Selection(AS_OF, ages=(0, 100)))
    women = selection_table(a, Selection(AS_OF, ages=(0, 100), sex="女"))
    assert (both.frame()["女"].to_numpy() == women.frame()["女"].to_numpy()).all()
    sub = selection_table(a, Selection(AS_OF, ages=(20, 39), sex="女"))
    # the 20～24歳 女 cell appears in both tables: same persons, same key, same value
    assert sub.frame().loc["20～24歳", "女"] == women.frame().loc["20～24歳", "女"]


def _small_cells(a):
    """(area, nationality group, sex, age) groups of 1 or 2 residents in some 5-year band."""
    t, _ = _find(a, None)
    t = t[t["age"].notna()]
    t["band"] = (t["age"] // 5).clip(upper=20)
    g = t.groupby(["choiki", "grp", "sex", "band"]).size()
    return t, g[(g >= 1) & (g <= 2)]


def test_differencing_attacks_do_not_reveal_hidden_counts(a):
    """The three attacks the issue reports, replayed on explorer tables over many small cells:
    without protection each recovers every cell; with it, no more than chance."""
    t, small = _small_cells(a)
    sex_name = {"1": "男", "2": "女"}

    def all_minus_older(key):           # 1. all ages minus ages >= 10 (町域 × group × sex), band 5〜9
        area, grp, sex, _ = key
        total = selection_table(a, Selection(AS_OF, area, (0, 100), sex_name[sex], grp)).frame()
        upper = selection_table(a, Selection(AS_OF, area, (10, 100), sex_name[sex], grp)).frame()
        return total.loc["計", sex_name[sex]] - upper.loc["計", sex_name[sex]] - total.loc["0～4歳", sex_name[sex]]

    def all_minus_five(key):            # 2. all ages minus ages >= 5 (the youngest band)
        area, grp, sex, _ = key
        t2 = selection_table(a, Selection(AS_OF, area, (0, 100), sex_name[sex], grp)).frame()
        u2 = selection_table(a, Selection(AS_OF, area, (5, 100), sex_name[sex], grp)).frame()
        return t2.loc["計", sex_name[sex]] - u2.loc["計", sex_name[sex]]

    def sex_toggle(key):                # 3. both sexes' 計 minus the other sex's table
        area, grp, sex, band = key
        lo = int(band) * 5
        b = selection_table(a, Selection(AS_OF, area, (lo, min(lo + 4, 100)), "男女計", grp)).frame()
        o = selection_table(a, Selection(AS_OF, area, (lo, min(lo + 4, 100)), "女" if sex == "1" else "男", grp)).frame()
        return b.iloc[0, -1] - o.iloc[0, 0]

    results = []
    for name, attack, cells in (("all ages − ages ≥ 10", all_minus_older, [k for k in small.index if k[3] == 1]),
                                ("all − ages ≥ 5", all_minus_five, [k for k in small.index if k[3] == 0]),
                                ("性別: 男女計 − other sex", sex_toggle, list(small.index))):
        cells = cells[:: max(1, len(cells) // 25)][:25]
        hits = sum(int(attack(k)) == int(small.loc[k]) for k in cells)
        results.append((name, len(cells), hits))
    print("differencing attacks (attack, hidden cells tried, recovered exactly):", results)
    assert all(n >= 10 and hits <= n // 2 for _, n, hits in results), results


def test_overlapping_queries_recover_small_counts_only_at_the_noise_rate(a):
    """1,000 pairs of overlapping queries (ages ≥ k minus ages ≥ k+5, per area × group × sex): how often
    does the difference equal the true small count?  The explorer's cells are counts and record-key
    sums perturbed by ckm.perturb; computed here in pandas for speed (the explorer path itself is
    tested above)."""
    t, small = _small_cells(a)
    keys = list(small.index)
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(1000):
        area, grp, sex, band = keys[rng.integers(len(keys))]
        sel = t[(t["choiki"] == area) & (t["grp"] == grp) & (t["sex"] == sex)]
        lo = int(band) * 5
        full, rest = sel[sel["age"] >= lo], sel[sel["age"] >= lo + 5]
        pf, pr = ckm.perturb([len(full), len(rest)], [full["record_key"].sum(), rest["record_key"].sum()])
        hits += (pf - pr) == int(small.loc[(area, grp, sex, band)])
    pt = ckm.build(ckm.PTableParams())
    expected = float((pt.probs(pt.params.imax) ** 2).sum())
    rate = hits / 1000
    print(f"overlapping-query pairs: {hits}/1000 = {rate:.1%} recovered the true small count "
          f"(two independent noises agree with probability ≈ {expected:.1%})")
    assert rate < 0.5


def test_threshold_below_the_floor_is_refused_for_analysts_and_internal_for_administrators(act_as, analysis_db, tmp_path):
    act_as("analyst01")
    r = subprocess.run([sys.executable, "-m", "juki", "run", "02_population_statistics", "-p", "threshold", "0",
                        "--db", str(analysis_db)], capture_output=True, text=True,
                       env={**__import__("os").environ, "JUKI_REPORTS": str(tmp_path / "r")})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "disclosure floor" in r.stderr
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())
    act_as("admin01")
    res = run_notebook("02_population_statistics", [("threshold", "0")], db=str(analysis_db), reports_dir=tmp_path / "a")
    assert res.ok, res.error
    assert "内部資料・公表不可" in res.html.read_text(encoding="utf-8")
    csv = (res.folder / "population_age_sex.csv").read_text(encoding="utf-8-sig")
    assert csv.startswith("# 内部資料・公表不可")


def test_dp_release_states_its_privacy_loss(a):
    area = P.population_by_area(a, AS_OF, "branch", P.Protect("none", 0))
    noisy, eps = dp.release(area, 0.5)
    assert eps == pytest.approx(0.5)
    assert noisy.counts.shape == area.counts.shape and (noisy.counts >= 0).all()
    assert "ε" in noisy.title


# ---------------------------------------------------------------- the notebook and its files

def _valid_numbers(text):
    return [m for m in re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text) if in_.is_valid(m)]


@pytest.fixture(scope="module")
def stats_run(tmp_path_factory, analysis_db):
    res = run_notebook("02_population_statistics", [("dp_epsilon", "1.0")], db=str(analysis_db),
                       reports_dir=tmp_path_factory.mktemp("stats"))
    assert res.ok, res.error
    return res


def test_the_exact_counts_go_only_into_an_internal_run(a, tmp_path):
    """The survey's municipal row (for the prefecture) and the balance check, exact: written only
    by a run below the floor (threshold 0, administrators), in their own workbook marked 内部資料."""
    import openpyxl

    from juki.stats.release import INTERNAL_WORKBOOK
    rel = Release.build(a, AS_OF, threshold=0, can_go_below=True)
    assert rel.protect.internal
    rel.write(tmp_path)
    internal = openpyxl.load_workbook(tmp_path / INTERNAL_WORKBOOK)
    assert internal.sheetnames == ["人口、世帯数、人口動態（市区町村別）", "人口の増減の検証"]
    assert any("内部資料" in str(c.value) for row in internal.worksheets[0].iter_rows(max_row=4) for c in row)


def test_statistics_run_leaks_nothing(stats_run, duck):
    names = {r[0] for r in duck.execute("SELECT DISTINCT shimei FROM jumin").fetchall()}
    codes_ = {r[0] for r in duck.execute("SELECT DISTINCT jumin_code FROM jumin").fetchall()}
    files = [p for p in stats_run.folder.rglob("*") if p.is_file() and p.suffix != ".xlsx"]
    assert any(p.suffix == ".csv" for p in files)
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        assert _valid_numbers(text) == [], p.name
        assert not (set(re.findall(r"(?<![0-9])[0-9]{11}(?![0-9])", text)) & codes_), p.name
        assert [n for n in names if n in text] == [], p.name
    assert (stats_run.folder / "population_age_sex.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    html = stats_run.html.read_text(encoding="utf-8")
    for needle in ("差分プライバシー", "人口の増減の検証", "町丁字別人口・世帯数", "世帯人員別世帯数", "前住所地別転入者数",
                   "年齢3区分", "住民基本台帳人口統計.xlsx"):
        assert needle in html, needle
    assert "rows ×" not in html and "…" not in html


def test_workbook_has_the_survey_layout(stats_run):
    import openpyxl
    wb = openpyxl.load_workbook(stats_run.folder / "住民基本台帳人口統計.xlsx")
    # the exact counts (the survey's municipal row for the prefecture, the balance check) hold
    # numbers the published tables hide: their own workbook, marked internal
    assert "人口、世帯数、人口動態（市区町村別）" not in wb.sheetnames and "人口の増減の検証" not in wb.sheetnames
    # and only in an administrator's internal run: a release at the floor writes none and its
    # report shows neither table, only that they are kept internal
    assert not (stats_run.folder / "内部資料_県への報告と増減の検証.xlsx").exists()
    html = stats_run.html.read_text(encoding="utf-8")
    assert "人口、世帯数、人口動態（" not in html and "区分・性別ごとの検証" not in html
    assert "正確な数を含むため" in html
    ws = wb["年齢別人口"]
    assert ws.cell(row=1, column=1).value.startswith("年齢別人口")
    header = [ws.cell(row=r, column=1).value for r in range(2, 5)]
    assert any(h and h.startswith("基準日") for h in header) and any(h and h.startswith("秘匿の基準") for h in header)
    assert ws.merged_cells.ranges, "multi-level headers are merged cells"
    values = [c.value for row in ws.iter_rows(min_row=8) for c in row[1:]]
    assert any(v == "x" for v in values), "suppressed cells are x"
    assert any(isinstance(v, int) and v > 100 for v in values), "counts are numbers"
    assert not any(isinstance(v, str) and v.isdigit() for v in values), "no number stored as text"
    hh = wb["世帯数"]
    assert any(c.value == "世帯数" for row in hh.iter_rows() for c in row)
