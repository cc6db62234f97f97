"""Great Expectations over the rule outcomes.

DuckDB evaluates the rules (:mod:`juki.quality.engine`) in one pass per file; GX *expects*
the outcome: for each file and rule class, an ``expect_column_values_to_not_be_in_set`` on
the ``rule`` column of the violations table, whose value set is the ids of that class's
rules (listed with their descriptions in the expectation's ``meta``).  One expectation per
rule would cost GX ~50 ms of fixed overhead each (17 s for the ~330 rules); one per class
keeps GX at about a second.  GX's evidence is its count of unexpected rows per class, which
the review checks against DuckDB's; GX's value lists are not used (they are capped at 200
values, and a first review of real data fails far more rows than that).  The suites are
generated from the rule catalogue into ``expectations/`` and a test keeps the files current.

Privacy: GX only ever sees rule ids (the ``rule`` column alone).  The result format is SUMMARY
with ``partial_unexpected_count = 0`` (no failing values in any result), analytics are off,
and no Data Docs site is built (its templates load scripts and styles from CDNs).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from .. import atomic, paths  # noqa: E402
from ..layouts import LAYOUTS, get  # noqa: E402
from .rules import KINDS, rules_for  # noqa: E402

#: Counts only: no failing value (a rule id here, but never risk more) is put into a result.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}


def suite_dict(table: str, sql: bool = True) -> dict:
    """The GX suite of one file as a JSON-ready dict (stable order): one expectation per rule class.

    ``sql=False`` leaves out each rule's test as SQL text (``passes_when``, for readers of the
    suite files): compiling ~330 rules takes seconds, and a validation only needs the classes."""

    b = None
    if sql:
        from .base import unbound
        b = unbound(table)
    exps = []
    by_kind: dict[str, list] = {}
    for r in rules_for(table):
        by_kind.setdefault(r.kind, []).append(r)
    for kind, rules in by_kind.items():
        exps.append({
            "type": "expect_column_values_to_not_be_in_set",
            "kwargs": {"column": "rule", "value_set": [r.id for r in rules]},
            "meta": {"file": get(table).file, "class": kind, "class_label": KINDS[kind],
                     "rules": [{"rule": r.id, "severity": r.severity,
                                "items": [get(table).item(c).name for c in r.items],
                                "description": r.description, **({"passes_when": _as_sql(b, r)} if sql else {})}
                               for r in rules]},
        })
    return {"name": f"juki.{table}", "expectations": exps,
            "meta": {"generated_by": "juki expectations", "source": "juki/quality/rules.py + juki/layouts/*.tsv"}}


def _as_sql(b, rule) -> str:
    """The rule's test as one line of DuckDB SQL over its rule base (compiled by ibis, for readers)."""
    import re

    import ibis
    text = str(ibis.to_sql(b.select(ok=rule.ok(b)), dialect="duckdb"))
    text = re.sub(r"[ \t\n]+", " ", text).strip()        # ASCII blanks only: a literal may hold '　'
    text = text.split(" ", 1)[1].rsplit(' AS "ok"', 1)[0].replace('"t0".', "")    # after the first word
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))


def suite_path(table: str) -> Path:
    return paths.root() / "expectations" / f"{table}.json"


def render_suite(table: str) -> str:
    return json.dumps(suite_dict(table), ensure_ascii=False, indent=1) + "\n"


def write_suites() -> list[Path]:
    out = []
    for table in LAYOUTS:
        out.append(atomic.atomic_write_text(suite_path(table), render_suite(table), mode=0o644))
    return out


def stale_suites() -> list[str]:
    return [t for t in LAYOUTS if not suite_path(t).exists()
            or suite_path(t).read_text(encoding="utf-8") != render_suite(t)]


def validate(violations: dict, spark=None) -> dict:
    """Run each file's suite over its violations table: as a pandas frame, or as a Spark
    DataFrame computed by GX on Spark when the review ran there (``spark``: its session).

    Returns {table: {success, evaluated_expectations, unsuccessful_expectations, by_class}}
    where ``by_class`` is GX's count of unexpected rows per rule class."""
    import sys
    # jsonschema's optional IRI format checks import rfc3987_syntax, which compiles a grammar at
    # import (2.4 s on this machine, every review); GX checks no IRI, so the module is left out
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    # no tqdm bars: in a notebook they become widgets whose renderer loads from a CDN
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ds = ctx.data_sources.add_spark("juki_rule_outcomes") if spark is not None else \
        ctx.data_sources.add_pandas("juki_rule_outcomes")
    out = {}
    for table, arrow in violations.items():
        asset = ds.add_dataframe_asset(f"{table}_violations")
        batch = asset.add_batch_definition_whole_dataframe("all")
        spec = suite_dict(table, sql=False)
        suite = gx.ExpectationSuite(name=spec["name"])
        for e in spec["expectations"]:
            # the class alone as meta: GX copies an expectation's meta many times over a run, and the
            # rules' descriptions (in the suite files for readers) tripled its time
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeInSet(
                column="rule", value_set=e["kwargs"]["value_set"], meta={"class": e["meta"]["class"]}))
        suite = ctx.suites.add(suite)
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{table}_review", data=batch, suite=suite))
        rules = arrow.column("rule").to_pylist() if arrow.num_rows else []
        df = _spark_frame(spark, rules) if spark is not None else pd.DataFrame({"rule": pd.Series(rules, dtype=object)})
        res = vd.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT).to_json_dict()
        out[table] = {"success": res["success"],
                      "evaluated_expectations": res["statistics"]["evaluated_expectations"],
                      "unsuccessful_expectations": res["statistics"]["unsuccessful_expectations"],
                      "by_class": {er["expectation_config"]["meta"]["class"]: int(er["result"].get("unexpected_count", 0))
                                   for er in res["results"]}}
    return out


def _spark_frame(spark, rules: list):
    """The rule ids as a one-column Spark DataFrame (a string column even when empty)."""
    from pyspark.sql.types import StringType, StructField, StructType
    return spark.createDataFrame([(r,) for r in rules], StructType([StructField("rule", StringType(), True)]))
