"""The layouts' ``applies`` column: which persons an item is recorded for, as a small predicate
language (comparisons of a column with text literals, IN, IS NULL, AND/OR/NOT, brackets),
turned into an ibis boolean expression over any table that has those columns.

The text is read with sqlglot (ibis's own SQL parser) and rebuilt node by node into ibis, so a
layout declares a predicate once and every engine ibis compiles for evaluates it.  Anything
beyond the small language is refused when the layouts are read, not when a rule runs.

>>> import ibis
>>> t = ibis.memtable({"kokuseki": ["JP", None, None], "kubun_30_45": ["1", "2", None]})
>>> p = predicate("kokuseki IS NULL AND kubun_30_45 IN ('1', '2')")
>>> ibis.duckdb.connect().execute(t.select(p=p(t))).p.tolist()
[False, True, None]
>>> predicate("length(kokuseki) > 2")
Traceback (most recent call last):
...
ValueError: unsupported in a layout predicate: LENGTH(kokuseki) > 2
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def predicate(text: str):
    """A function ``Table -> BooleanValue`` for the predicate ``text``."""
    import sqlglot
    from sqlglot import expressions as E

    tree = sqlglot.parse_one(text, read="duckdb")

    def value(node, t):
        if isinstance(node, E.Column):
            return t[node.name]
        if isinstance(node, E.Literal) and node.is_string:
            return node.this
        raise ValueError(f"unsupported in a layout predicate: {tree.sql()}")

    def build(node, t):
        if isinstance(node, E.Paren):
            return build(node.this, t)
        if isinstance(node, E.And):
            return build(node.left, t) & build(node.right, t)
        if isinstance(node, E.Or):
            return build(node.left, t) | build(node.right, t)
        if isinstance(node, E.Not):
            return ~build(node.this, t)
        if isinstance(node, E.EQ):
            return value(node.left, t) == value(node.right, t)
        if isinstance(node, E.NEQ):
            return value(node.left, t) != value(node.right, t)
        if isinstance(node, E.In):
            return value(node.this, t).isin([value(v, t) for v in node.expressions])
        if isinstance(node, E.Is) and isinstance(node.expression, E.Null):
            return value(node.this, t).isnull()
        raise ValueError(f"unsupported in a layout predicate: {tree.sql()}")

    import ibis
    probe = ibis.table({c.name: "string" for c in tree.find_all(E.Column)} or {"_": "string"}, name="probe")
    build(tree, probe)          # refuse what the language lacks now, not when a rule runs
    return lambda t: build(tree, t)
