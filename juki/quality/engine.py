"""The one rule engine: evaluate rules over a relation in one DuckDB pass, failing rows only.

The quality review runs it over each file's rule base (:mod:`.base`); the loader runs the
same engine, with the same row checks, over staged rows before they enter the store.  The
result is a *violations* relation -- the row key and the id of the rule it breaks -- which
carries no personal value.

DuckDB-only constructs that remain (everything else transpiles with sqlglot): the list
``[...]``/``list_filter``/``unnest`` pivot below (Spark: ``filter(array(...))``/``explode``),
``QUALIFY`` in the rule bases, and ``translate``/``regexp_matches`` (Spark: ``translate``/``rlike``).
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..layouts import get
from .base import base_sql
from .rules import Rule, rules_for


def duck(con):
    """The duckdb connection behind an ibis backend (or the connection itself)."""
    return getattr(con, "con", con)


def failing(r: Rule) -> str:
    return f"NOT coalesce(({r.ok}), TRUE)"


def any_failing(rules: list[Rule]) -> str:
    """SQL: TRUE when the row breaks any of ``rules`` -- a cheap first pass over every row; the
    rules each failing row breaks are then named by :func:`failures_sql` on those rows only."""
    return " OR ".join(failing(r) for r in rules) if rules else "FALSE"


def failures_sql(relation: str, key: list[str], rules: list[Rule]) -> str:
    """SQL of (key..., rule) for every failing (row, rule) pair of ``relation`` (a table or subquery)."""
    if not rules:
        return f"SELECT {', '.join(key)}, NULL::VARCHAR AS rule FROM ({relation}) r WHERE FALSE"
    cases = ",\n            ".join(f"CASE WHEN {failing(r)} THEN '{r.id}' END" for r in rules)
    return f"""
    WITH f AS (
        SELECT {', '.join(key)},
               list_filter([
            {cases}
               ], x -> x IS NOT NULL) AS fails
        FROM ({relation}) r
    )
    SELECT {', '.join(key)}, unnest(fails) AS rule FROM f WHERE len(fails) > 0
    """


def violations_sql(table: str, as_of: dt.date, rules: list[Rule] | None = None) -> str:
    rules = rules if rules is not None else rules_for(table)
    key = [f"CAST({k} AS VARCHAR) AS {k}" for k in get(table).key]
    return failures_sql(base_sql(table, as_of), key, rules)


def violations(con, table: str, as_of: dt.date, rules: list[Rule] | None = None) -> pa.Table:
    return arrow(duck(con).execute(violations_sql(table, as_of, rules)))


def arrow(cursor) -> pa.Table:
    """The result as an Arrow table (``to_arrow_table`` on newer duckdb, else the old name)."""
    fn = getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table
    return fn()


def baseline_counts(con, table: str, as_of: dt.date) -> dict[str, int]:
    """The same rules as one aggregating pass of plain DuckDB SQL (benchmark yardstick)."""
    rules = rules_for(table)
    cols = ", ".join(f"count_if({failing(r)})" for r in rules)
    row = duck(con).execute(f"WITH base AS ({base_sql(table, as_of)}) SELECT {cols} FROM base").fetchone()
    return {r.id: int(n) for r, n in zip(rules, row)}
