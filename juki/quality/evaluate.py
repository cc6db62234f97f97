"""Evaluate the rule catalogue in DuckDB: one pass per table, failing rows only.

The result is a *violations* table per file -- the row key (as text) and the id of the rule it
breaks -- which carries no personal value.  :func:`baseline_counts` runs the same rules as
one aggregating pass of plain DuckDB SQL, the yardstick of the benchmark.
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


def _fail(r: Rule) -> str:
    return f"NOT coalesce(({r.ok}), TRUE)"


def violations_sql(table: str, as_of: dt.date, rules: list[Rule] | None = None) -> str:
    rules = rules if rules is not None else rules_for(table)
    key = [f"CAST({k} AS VARCHAR) AS {k}" for k in get(table).key]
    cases = ",\n            ".join(f"CASE WHEN {_fail(r)} THEN '{r.id}' END" for r in rules)
    return f"""
    WITH base AS ({base_sql(table, as_of)}),
    f AS (
        SELECT {', '.join(key)},
               list_filter([
            {cases}
               ], x -> x IS NOT NULL) AS fails
        FROM base
    )
    SELECT {', '.join(get(table).key)}, unnest(fails) AS rule FROM f WHERE len(fails) > 0
    """


def violations(con, table: str, as_of: dt.date, rules: list[Rule] | None = None) -> pa.Table:
    return arrow(duck(con).execute(violations_sql(table, as_of, rules)))


def arrow(cursor) -> pa.Table:
    """The result as an Arrow table (``to_arrow_table`` on newer duckdb, else the old name)."""
    fn = getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table
    return fn()


def baseline_counts(con, table: str, as_of: dt.date) -> dict[str, int]:
    """The same rules as one aggregating pass of plain DuckDB SQL (benchmark yardstick)."""
    rules = rules_for(table)
    cols = ", ".join(f"count_if({_fail(r)})" for r in rules)
    row = duck(con).execute(f"WITH base AS ({base_sql(table, as_of)}) SELECT {cols} FROM base").fetchone()
    return {r.id: int(n) for r, n in zip(rules, row)}
