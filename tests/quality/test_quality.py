"""Data-quality review: clean registries pass, injected defects are named exactly, nothing leaks."""
import json
import re
import shutil

import duckdb
import pytest
from stdnum.jp import in_

from juki import residency
from juki.codes import atena, kojin_bango, municipality
from juki.quality import gx
from juki.quality.engine import baseline_counts, violations
from juki.quality.rules import catalogue
from juki.reports.runner import run_notebook

from ..conftest import AS_OF

D = AS_OF.isoformat()
LIVING_CUR = f"({residency.sql('residents', AS_OF)}) c WHERE TRUE"


def test_check_digit_expressions_equal_stdnum_and_modules():
    """Each number module's ibis form agrees with its scalar form (stdnum for the 個人番号)."""
    import random

    import ibis
    rnd = random.Random(4)
    con = ibis.duckdb.connect()
    for mod, width, ref in ((kojin_bango, 12, in_.is_valid), (atena, 10, atena.is_valid),
                            (municipality, 6, municipality.is_valid)):
        nums = [f"{rnd.randrange(10 ** width):0{width}d}" for _ in range(20000)] + ["12345678901X", "", "1" * (width + 1)]
        t = ibis.memtable({"x": nums})
        got = con.execute(t.select("x", ok=mod.is_valid_expr(t.x)))
        assert all(bool(ok) == ref(x) for x, ok in zip(got.x, got.ok)), mod.__name__


def test_suites_in_expectations_are_current():
    assert gx.stale_suites() == [], "run: juki expectations"


def test_fresh_registry_passes_every_rule(duck):
    for table in ("jumin", "honnin", "sofusaki"):
        v = violations(duck, table, AS_OF)
        assert v.num_rows == 0, v.to_pylist()[:5]
        assert set(baseline_counts(duck, table, AS_OF).values()) == {0}


# ---------------------------------------------------------------- defect injection

class Injector:
    """Applies one defect per rule class to a copy of the registry and records the row keys
    every rule must then name (including the records a defect drags in by construction)."""

    def __init__(self, con):
        self.con = con
        self.expected: dict[str, set] = {}
        self.used_atena: set = set()
        self.used_code: set = set()
        self.used_hh: set = set()

    def expect(self, rule, *keys):
        self.expected.setdefault(rule, set()).update(tuple(str(k) for k in key) for key in keys)

    def one(self, sql):
        row = self.con.execute(sql).fetchone()
        assert row is not None, sql
        return row

    def _free(self, alias="c"):
        a = ", ".join(f"'{x}'" for x in self.used_atena) or "''"
        j = ", ".join(f"'{x}'" for x in self.used_code) or "''"
        return (f"{alias}.atena_no NOT IN ({a}) AND {alias}.jumin_code NOT IN ({j}) "
                f"AND {alias}.jumin_code NOT IN (SELECT jumin_code FROM sofusaki)")

    def take(self, atena_no, jumin_code=None):
        self.used_atena.add(atena_no)
        if jumin_code:
            self.used_code.add(jumin_code)

    def history_row(self, extra="TRUE"):
        """A non-current 住民基本台帳 row (its person is not touched again)."""
        row = self.one(f"""SELECT j.atena_no, j.rireki_no, j.jumin_code FROM jumin j
            WHERE j.rireki_no < (SELECT max(rireki_no) FROM jumin k WHERE k.atena_no = j.atena_no)
              AND {self._free('j')} AND {extra} ORDER BY j.atena_no, j.rireki_no LIMIT 1""")
        self.take(row[0], row[2])
        return row[0], row[1]

    def living(self, extra="TRUE"):
        """A resident of a household no other defect touches (household rules read the whole household)."""
        hh = ", ".join(f"'{x}'" for x in self.used_hh) or "''"
        row = self.one(f"SELECT c.atena_no, c.rireki_no, c.jumin_code, c.setai_no FROM {LIVING_CUR} AND {self._free()} "
                       f"AND c.setai_no NOT IN ({hh}) AND {extra} ORDER BY c.atena_no LIMIT 1")
        self.take(row[0], row[2])
        self.used_hh.add(row[3])
        return row

    def upd(self, table, assignment, where):
        self.con.execute(f"UPDATE {table} SET {assignment} WHERE {where}")

    def jumin(self, key, assignment):
        self.upd("jumin", assignment, f"atena_no = '{key[0]}' AND rireki_no = {key[1]}")


def inject_all(con) -> dict:
    x = Injector(con)
    # --- layout rules on history rows of 住民基本台帳ファイル
    k = x.history_row()
    x.jumin(k, "tanmatsu_id = NULL")
    x.expect("jumin.tanmatsu_id.required", k)
    k = x.history_row("j.kokuseki IS NOT NULL")
    x.jumin(k, "honseki = '東京都葛飾区1番地'")
    x.expect("jumin.honseki.not_applicable", k)
    k = x.history_row()
    x.jumin(k, "katagaki = repeat('ア', 70)")
    x.expect("jumin.katagaki.length", k)
    k = x.history_row()
    x.jumin(k, "shokuin_no = '12A4567'")
    x.expect("jumin.shokuin_no.format", k)
    k = x.history_row()
    x.jumin(k, "seibetsu = '9'")
    x.expect("jumin.seibetsu.code", k)
    k = x.history_row()
    x.jumin(k, "kojin_bango = substr(kojin_bango, 1, 11) || CAST((CAST(substr(kojin_bango, 12, 1) AS INT) + 1) % 10 AS VARCHAR)")
    x.expect("jumin.kojin_bango.check_digit", k)
    # --- date order
    k = x.history_row("j.todoke_date IS NOT NULL AND j.ido_jiyu NOT IN ('21', '22')")
    x.jumin(k, "todoke_date = ido_date - INTERVAL 5 DAY")
    x.expect("jumin.dates.ido_todoke_shori", k)
    k = x.history_row()
    x.jumin(k, "jumin_date = seinengappi - INTERVAL 1 DAY")
    x.expect("jumin.dates.birth_first", k)
    # --- foreign residents
    a, r, _, _ = x.living("c.zairyu_manryo IS NOT NULL")
    x.jumin((a, r), f"zairyu_manryo = DATE '{D}' - INTERVAL 10 DAY")
    x.expect("jumin.foreign.manryo_not_passed", (a, r))
    # --- households
    child = x.living("c.zokugara = '06' AND c.seibetsu = '1'")
    head = x.one(f"SELECT c.atena_no, c.rireki_no FROM {LIVING_CUR} AND c.setai_no = '{child[3]}' AND c.zokugara = '01'")
    x.jumin(child[:2], "zokugara = '01'")
    x.expect("jumin.household.one_head", child[:2], head)
    x.take(head[0])
    hh = x.one(f"""SELECT c.setai_no FROM {LIVING_CUR} AND {x._free()} GROUP BY c.setai_no
                   HAVING count(*) >= 2 ORDER BY c.setai_no LIMIT 1""")[0]
    members = con.execute(f"SELECT c.atena_no, c.rireki_no, c.zokugara, c.jumin_code FROM {LIVING_CUR} AND c.setai_no = '{hh}'").fetchall()
    for m in members:
        x.take(m[0], m[3])
        if m[2] == "01":
            x.jumin(m[:2], "zokugara = '90'")
    x.expect("jumin.household.no_head", *[m[:2] for m in members])
    m = x.living("c.zokugara <> '01'")
    x.jumin(m[:2], "setainushi_mei = '誤記　太郎'")
    x.expect("jumin.household.head_name", m[:2])
    m = x.living("c.zokugara = '06' AND c.seibetsu = '1'")
    x.jumin(m[:2], "zokugara = '03'")
    x.expect("jumin.household.zokugara", m[:2])
    # --- uniqueness among living residents (the copy no longer matches its 本人確認情報)
    a1 = x.living()
    b1 = x.living()
    x.jumin(b1[:2], f"kojin_bango = (SELECT kojin_bango FROM jumin WHERE atena_no = '{a1[0]}' AND rireki_no = {a1[1]})")
    x.expect("jumin.unique.kojin_bango", a1[:2], b1[:2])
    x.expect("jumin.reconcile.honnin", b1[:2])
    a2 = x.living()
    b2 = x.living()
    x.jumin(b2[:2], f"jumin_code = '{a2[2]}'")
    x.expect("jumin.unique.jumin_code", a2[:2], b2[:2])
    x.expect("jumin.reconcile.honnin", b2[:2])
    # when no 住民票 row keeps b2's old code, its 本人確認情報 rows are orphans: named too
    x.expect("honnin.reconcile.resident", *con.execute(f"""SELECT jumin_code, koshin_jun_no FROM honnin
        WHERE jumin_code = '{b2[2]}' AND NOT EXISTS (SELECT 1 FROM jumin WHERE jumin_code = '{b2[2]}')""").fetchall())
    # --- reconciliation: a living resident's current 本人確認情報 differs
    c = x.living()
    x.upd("honnin", "kanji_shimei = '不一致　花子'",
          f"jumin_code = '{c[2]}' AND koshin_jun_no = (SELECT max(koshin_jun_no) FROM honnin WHERE jumin_code = '{c[2]}')")
    x.expect("jumin.reconcile.honnin", c[:2])

    # --- 本人確認情報ファイル
    def honnin_row(extra="TRUE", living_person=None):
        living = f"jumin_code IN (SELECT c.jumin_code FROM {LIVING_CUR})"
        cond = {True: living, False: f"NOT ({living})", None: "TRUE"}[living_person]
        used = ", ".join(f"'{j}'" for j in x.used_code) or "''"
        row = x.one(f"""SELECT jumin_code, koshin_jun_no FROM honnin h WHERE jumin_code NOT IN ({used})
            AND jumin_code NOT IN (SELECT jumin_code FROM sofusaki) AND {cond} AND {extra}
            ORDER BY jumin_code, koshin_jun_no LIMIT 1""")
        x.used_code.add(row[0])
        return row

    k = honnin_row("record_jokyo_flag = '1' AND regexp_matches(furigana_shimei, '[ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ]')")
    x.upd("honnin", "seion_kana_shimei = furigana_shimei", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.kana.seion", k)
    k = honnin_row("record_jokyo_flag = '1' AND gaiji_flag = '0'")
    x.upd("honnin", "gaiji_flag = '1'", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.gaiji.flag", k)
    k = honnin_row("record_jokyo_flag = '1'")
    x.upd("honnin", "furigana_shimei = 'やまだ　たろう'", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.furigana_shimei.format", k)
    x.expect("honnin.kana.seion", k)
    k = honnin_row("record_jokyo_flag = '1' AND zen_shichoson_code IS NOT NULL")
    x.upd("honnin", "zen_shichoson_code = '131017'", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.zen_shichoson_code.check_digit", k)
    k = honnin_row("record_jokyo_flag = '1'")
    x.upd("honnin", "jumin_code = '99999999999'", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.reconcile.resident", ("99999999999", k[1]))
    # a second current row for a living person: both current rows are named
    k = honnin_row("record_jokyo_flag = '1'", living_person=True)
    cur = x.one(f"SELECT jumin_code, koshin_jun_no FROM honnin WHERE jumin_code = '{k[0]}' AND record_jokyo_flag = '0'")
    x.upd("honnin", "record_jokyo_flag = '0'", f"jumin_code = '{k[0]}' AND koshin_jun_no = {k[1]}")
    x.expect("honnin.current.one", k, cur)
    # 更新順番号 going backwards (a removed person, so reconciliation is not involved)
    code = honnin_row("(SELECT count(*) FROM honnin g WHERE g.jumin_code = h.jumin_code) >= 3", living_person=False)[0]
    first, last = x.one(f"SELECT min(koshin_jun_no), max(koshin_jun_no) FROM honnin WHERE jumin_code = '{code}'")
    x.upd("honnin", f"koshin_jun_no = {first - 1}", f"jumin_code = '{code}' AND koshin_jun_no = {last}")
    x.expect("honnin.koshin.increasing", (code, first - 1))

    # --- 送付先情報ファイル
    rows = con.execute("SELECT sofusaki_kanri_no, jumin_code FROM sofusaki ORDER BY 1, 2").fetchall()
    assert len(rows) >= 4, "the small city needs at least four 送付先情報 rows"

    def s_upd(row, assignment):
        x.upd("sofusaki", assignment, f"sofusaki_kanri_no = '{row[0]}' AND jumin_code = '{row[1]}'")

    s_upd(rows[0], "taisho_ninzu = taisho_ninzu + 1")
    x.expect("sofusaki.batch.ninzu", rows[0])
    s_upd(rows[1], "shimei_len = shimei_len + 1")
    x.expect("sofusaki.shimei_len.matches_length", rows[1])
    s_upd(rows[2], "shimei = repeat('Ｘ', length(shimei))")
    x.expect("sofusaki.reconcile.resident", rows[2])
    s_upd(rows[3], "yubin_no = '27A0001'")
    x.expect("sofusaki.yubin_no.format", rows[3])
    con.execute("CHECKPOINT")
    return x.expected


@pytest.fixture(scope="module")
def injected(tmp_path_factory, small_db):
    path = tmp_path_factory.mktemp("defects") / "defects.duckdb"
    shutil.copy(small_db, path)
    con = duckdb.connect(str(path))
    expected = inject_all(con)
    con.close()
    return path, expected


@pytest.fixture(scope="module")
def dq_run(tmp_path_factory, injected):
    path, expected = injected
    res = run_notebook("01_data_quality", [("sample", "3")], db=str(path), reports_dir=tmp_path_factory.mktemp("reports"))
    assert res.ok, res.error
    return res, expected


def test_every_rule_class_is_injected(injected):
    _, expected = injected
    kinds = {r.kind for r in catalogue() if r.id in expected}
    from juki.quality.rules import KINDS
    assert kinds == set(KINDS), set(KINDS) - kinds


def test_summary_names_exactly_the_injected_records(dq_run):
    res, expected = dq_run
    summary = json.loads((res.folder / "dq_summary.json").read_text(encoding="utf-8"))
    assert summary["as_of"] == D
    got = {r["rule"]: {tuple(k) for k in r["keys"]} for r in summary["rules"]}
    assert {r["rule"] for r in summary["rules"]} == {r.id for r in catalogue()}
    for rule in sorted(set(got) | set(expected)):
        assert got.get(rule, set()) == expected.get(rule, set()), rule
    for r in summary["rules"]:
        assert r["failing"] == len(r["keys"]) and r["keys_complete"]
    assert summary["gx"]["jumin"]["success"] is False
    # the review reads back from its folder (what the manager summary uses)
    from juki.quality.outcome import Review
    back = Review.load(res.folder)
    assert back.counts() == {r["rule"]: r["failing"] for r in summary["rules"] if r["failing"]}


def _valid_numbers(text):
    return [m for m in re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text) if in_.is_valid(m)]


def test_nothing_personal_in_any_file_the_run_writes(dq_run, injected):
    res, _ = dq_run
    path, _ = injected
    con = duckdb.connect(str(path), read_only=True)
    names = {r[0] for r in con.execute("SELECT DISTINCT shimei FROM jumin UNION SELECT DISTINCT kanji_shimei FROM honnin").fetchall()}
    addresses = {r[0] for r in con.execute("SELECT DISTINCT genjusho FROM jumin").fetchall()}
    con.close()
    files = [p for p in res.folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"dq_summary.json", "01_data_quality.html", "output.ipynb"}
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        assert _valid_numbers(text) == [], p.name
        leaked = [n for n in names if n in text]
        assert leaked == [], (p.name, leaked[:3])
        assert [a for a in addresses if a in text] == [], p.name


# ---------------------------------------------------------------- many failures, missing files, portability

def test_review_of_many_failures_completes_and_counts(tmp_path):
    """A first review of real data fails far more rows than GX lists (200): counts, not crashes."""
    from juki import store
    from juki.quality.outcome import Review
    from juki.quality.review import review
    from juki.synth import Params, generate
    tables = generate(Params(residents=40000, seed=9, as_of=AS_OF))
    path = tmp_path / "many.duckdb"
    store.write_registry(tables, path, {"as_of": D})
    con = duckdb.connect(str(path))
    n = con.execute("UPDATE jumin SET shokuin_no = 'X'").fetchone()[0]
    con.close()
    assert n >= 100_000
    con = store.connect(path)
    rv = review(con, "jumin", AS_OF)
    assert rv.counts()["jumin.shokuin_no.format"] == n
    assert rv.gx["jumin"]["by_class"]["format"] == n
    rv.write(tmp_path)
    d = json.loads((tmp_path / "dq_summary.json").read_text(encoding="utf-8"))
    r = next(x for x in d["rules"] if x["rule"] == "jumin.shokuin_no.format")
    assert r["failing"] == n and len(r["keys"]) == 1000 and not r["keys_complete"]
    assert Review.load(tmp_path).counts()["jumin.shokuin_no.format"] == n


def test_reconciliation_with_a_missing_file_is_not_evaluated(tmp_path, small_db):
    """A store without the 本人確認情報ファイル says so instead of failing every row."""
    import shutil

    from juki import store
    from juki.quality.review import review
    path = tmp_path / "nohonnin.duckdb"
    shutil.copy(small_db, path)
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM honnin")
    con.close()
    rv = review(store.connect(path), "jumin,sofusaki", AS_OF)
    assert "jumin.reconcile.honnin" in rv.not_evaluated
    assert rv.counts().get("jumin.reconcile.honnin", 0) == 0
    assert "本人確認情報ファイル" in rv.not_evaluated["jumin.reconcile.honnin"]


def test_every_rule_compiles_for_spark():
    """Every rule, over its file's rule base, compiles to Spark SQL (ibis's pyspark dialect); the
    Spark test runs them (tests/test_engines.py)."""
    import ibis

    from juki.layouts import get
    from juki.quality.base import Unbound, base
    from juki.quality.engine import failures
    for table in ("jumin", "honnin", "sofusaki"):
        b = base(Unbound(), table, AS_OF)
        rules = [r for r in catalogue() if r.table == table]
        sql = ibis.to_sql(failures(b, list(get(table).key), rules), dialect="pyspark")
        assert all(f"'{r.id}'" in sql for r in rules), table
