"""One data language, two engines: DuckDB and Spark give the same answers.

On a small city with a defect of every rule class injected (tests/quality/test_quality.py's
injector), the review on Spark names the same failing keys per rule as on DuckDB and as the
injection planted; the official statistics come out cell for cell the same.  Skipped, with the
reason shown, only where Spark cannot run (no pyspark or no Java).
"""
import duckdb
import pytest

from juki import engine, store
from juki.layouts import LAYOUTS, get
from juki.quality.engine import violations
from juki.quality.rules import catalogue

from .conftest import AS_OF
from .quality.test_quality import inject_all

pytestmark = pytest.mark.skipif(engine.spark_missing() is not None, reason=f"Spark cannot run: {engine.spark_missing()}")


#: A minute of Spark on a tiny city: the JVM's second JIT compiler, its parallel collector and
#: whole-stage code generation pay off only on long runs; here they took half of the suite's
#: Spark CPU (the JVM used 86 s of CPU for this module with them, 40 s without).  The answers
#: do not depend on them; `juki bench` runs Spark with its defaults.
SHORT_RUN = ("spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC;"
             "spark.sql.codegen.wholeStage=false")


@pytest.fixture(scope="module", autouse=True)
def _spark_stops_after_the_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUKI_SPARK_CONF", SHORT_RUN)
        yield
    from pyspark.sql import SparkSession
    s = SparkSession.getActiveSession()
    if s is not None:
        s.stop()            # the JVM's memory goes back to the rest of the suite


@pytest.fixture(scope="module")
def defects(tmp_path_factory, small_db):
    import shutil
    folder = tmp_path_factory.mktemp("engines")
    path = folder / "defects.duckdb"
    shutil.copy(small_db, path)
    con = duckdb.connect(str(path))
    expected = inject_all(con)
    con.close()
    store.to_parquet(path, folder / "parquet")
    return path, folder / "parquet", expected


def _failing(v, table) -> dict:
    out = {}
    key = list(get(table).key)
    for row in v.to_pylist():
        out.setdefault(row["rule"], set()).add(tuple(str(row[k]) for k in key))
    return out


def test_the_review_names_the_same_keys_on_duckdb_and_spark(defects):
    path, parquet, expected = defects
    duck = engine.backend(duckdb.connect(str(path), read_only=True))
    spark = engine.spark_backend(parquet)
    compared = 0
    for table in LAYOUTS:
        on_duck, on_spark = _failing(violations(duck, table, AS_OF), table), _failing(violations(spark, table, AS_OF), table)
        assert on_spark == on_duck, table
        for rule, keys in expected.items():
            if rule.startswith(table + "."):
                assert keys <= on_spark.get(rule, set()), rule
                compared += 1
    kinds = {r.kind for r in catalogue() if r.id in expected}
    assert compared == len(expected) and len(kinds) == 12
    print(f"same failing keys on both engines: {sum(len(k) for k in expected.values())} planted, {compared} rules")


def test_gx_validates_the_outcome_on_spark_as_on_duckdb(defects):
    """On Spark, GX computes its expectations over a Spark DataFrame of the outcome (its Spark
    data source); its counts per rule class equal those of the pandas validation on DuckDB."""
    from juki.quality.review import review
    path, parquet, _ = defects
    on_duck = review(engine.backend(duckdb.connect(str(path), read_only=True)), files="honnin", as_of=AS_OF)
    on_spark = review(engine.spark_backend(parquet), files="honnin", as_of=AS_OF)
    assert on_spark.timings["engine"] == "pyspark" and on_spark.gx == on_duck.gx
    assert on_spark.gx["honnin"]["unsuccessful_expectations"] > 0


def test_the_official_tables_are_the_same_on_duckdb_and_spark(small_db, tmp_path):
    from juki.analysis.publish import publish
    from juki.analysis.store import Analysis
    from juki.stats import official, population
    publish(db=small_db, as_of=AS_OF, out=tmp_path / "analysis.duckdb")
    on_duck = Analysis(tmp_path / "analysis.duckdb")
    on_duck.to_parquet(tmp_path / "parquet")
    on_spark = Analysis.over(engine.spark_backend(tmp_path / "parquet", tables=("stock", "persons", "events")),
                             on_duck.meta)
    year = AS_OF.year

    def tables(a):
        return [*official.all_survey(a, year), population.population_by_area(a, AS_OF),
                official.single_ages(a, AS_OF), official.three_bands(a, AS_OF)[0],
                official.household_sizes(a, AS_OF), population.foreign_nationality(a, AS_OF),
                official.monthly_towns(a, AS_OF.replace(day=1, month=1), AS_OF)]
    cells = 0
    for d, s in zip(tables(on_duck), tables(on_spark)):
        assert d.name == s.name
        assert d.frame(published=False).equals(s.frame(published=False)), d.name
        assert d.frame().equals(s.frame()), d.name
        cells += d.values(published=False).size
    assert cells > 1000
    print(f"{cells} cells equal on both engines")


def test_the_reconciliation_lists_the_same_differences_on_duckdb_and_spark(small_db, tmp_path):
    """The prefecture's file with planted differences (tests/test_reconcile.py writes it the way
    that system would) compared on both engines: the same rows, in the same order."""
    import shutil

    from juki.reconcile import reconcile

    from .test_reconcile import _current_rows, _write_prefecture_file
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    rows = _current_rows(db)
    for r in rows[5:8]:
        r["kanji_shimei"] += "子"
    rows[9]["seibetsu"] = "2" if rows[9]["seibetsu"] == "1" else "1"
    del rows[12]
    f = tmp_path / "pref.csv"
    _write_prefecture_file(f, rows)
    on = {e: reconcile([f], "prefecture", AS_OF, db=db, record=False, engine=e) for e in ("duckdb", "spark")}
    assert len(on["duckdb"].differences) >= 5
    assert on["spark"].differences.equals(on["duckdb"].differences)
    assert (on["spark"].ours, on["spark"].theirs) == (on["duckdb"].ours, on["duckdb"].theirs)
    kizon = {e: reconcile([], "kizon", AS_OF, db=db, record=False, engine=e) for e in ("duckdb", "spark")}
    assert kizon["spark"].differences.equals(kizon["duckdb"].differences)


def test_a_publication_computed_on_spark_gives_the_same_tables(small_db, tmp_path):
    """The analysis store computed on Spark (then written by DuckDB) holds the same columns and
    gives the same official tables as the one computed on DuckDB (pseudonyms differ by design)."""
    import duckdb as ddb

    from juki.analysis.publish import publish
    from juki.analysis.store import Analysis
    from juki.stats import official, population
    for e in ("duckdb", "spark"):
        publish(db=small_db, as_of=AS_OF, out=tmp_path / f"{e}.duckdb", engine=e)

    def schema(e):
        con = ddb.connect(str(tmp_path / f"{e}.duckdb"), read_only=True)
        try:
            return con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() ORDER BY ALL").fetchall()
        finally:
            con.close()
    assert schema("spark") == schema("duckdb")
    a = {e: Analysis(tmp_path / f"{e}.duckdb") for e in ("duckdb", "spark")}
    for fn in (lambda x: official.all_survey(x, AS_OF.year),
               lambda x: [population.population_by_area(x, AS_OF), official.single_ages(x, AS_OF),
                          official.monthly_towns(x, AS_OF.replace(month=1, day=1), AS_OF)]):
        for d, s in zip(fn(a["duckdb"]), fn(a["spark"])):
            assert d.frame(published=False).equals(s.frame(published=False)), d.name
            assert d.frame().equals(s.frame()), d.name     # the same record keys: the same perturbation
