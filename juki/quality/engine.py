"""The one rule engine: evaluate rules over a table in one pass, failing rows only.

The quality review runs it over each file's rule base (:mod:`.base`); the loader runs the
same engine, with the same row checks, over staged rows before they enter the store.  The
result is a *violations* table -- the row key and the id of the rule it breaks -- which
carries no personal value.  Everything here is ibis: the same expression runs on DuckDB and
on Spark.
"""
from __future__ import annotations

import datetime as dt
from functools import reduce

import pyarrow as pa

from .. import engine as engines
from ..layouts import get
from .base import base
from .rules import Rule, rules_for


def any_failing(t, rules: list[Rule]):
    """TRUE when the row of ``t`` breaks any of ``rules`` -- a cheap first pass over every row;
    the rules each failing row breaks are then named by :func:`failures` on those rows only."""
    import ibis
    return reduce(lambda a, b: a | b, (r.failing(t) for r in rules)) if rules else ibis.literal(False)


def failures(t, key: list[str], rules: list[Rule], as_text: bool = True):
    """(key..., rule) for every failing (row, rule) pair of table ``t``; keys as text unless not ``as_text``."""
    import ibis
    keys = {k: t[k].cast("string") if as_text else t[k] for k in key}
    if not rules:
        return t.select(**keys, rule=ibis.null("string")).filter(ibis.literal(False))
    named = [ibis.ifelse(r.failing(t), r.id, ibis.null("string")) for r in rules]
    f = t.select(**keys, fails=ibis.array(named).filter(lambda x: x.notnull()))
    f = f.filter(f.fails.length() > 0)
    return f.select(*key, rule=f.fails.unnest())


def violations_expr(con, table: str, as_of: dt.date, rules: list[Rule] | None = None):
    rules = rules if rules is not None else rules_for(table)
    return failures(base(engines.backend(con), table, as_of), list(get(table).key), rules)


def violations(con, table: str, as_of: dt.date, rules: list[Rule] | None = None) -> pa.Table:
    return violations_expr(con, table, as_of, rules).to_pyarrow()


def baseline_counts(con, table: str, as_of: dt.date) -> dict[str, int]:
    """The same rules as one aggregating pass, no pivot (a yardstick for the engine's counts)."""
    rules = rules_for(table)
    t = base(engines.backend(con), table, as_of)
    row = t.aggregate(**{f"r{n}": r.failing(t).sum() for n, r in enumerate(rules)}).to_pyarrow().to_pylist()[0]
    return {r.id: int(row[f"r{n}"] or 0) for n, r in enumerate(rules)}
