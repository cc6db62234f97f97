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
    return _translate(text, wide=False, what="a layout predicate")


@lru_cache(maxsize=None)
def expression(text: str):
    """A function ``Table -> Value`` for a retention rule's ``rows`` or ``date``: the predicate
    language and TRUE/FALSE, numbers, ``<`` ``<=`` ``>`` ``>=``, IS NOT NULL, a boolean column,
    coalesce/greatest/least, CAST(… AS DATE) and max/min(…) OVER (PARTITION BY column).

    >>> import ibis, datetime as dt
    >>> t = ibis.memtable({"p": ["a", "a", "b"], "d": [dt.date(2020, 1, 1), dt.date(2021, 1, 1), None],
    ...                    "e": [None, None, dt.date(2019, 5, 1)]})
    >>> f = expression("max(greatest(d, coalesce(e, d))) OVER (PARTITION BY p)")
    >>> sorted(ibis.duckdb.connect().execute(t.select(x=f(t))).x.astype(str))
    ['2019-05-01', '2021-01-01', '2021-01-01']
    >>> expression("d IS NOT NULL AND TRUE") is not None
    True
    >>> expression("sum(d) OVER ()")
    Traceback (most recent call last):
    ...
    ValueError: unsupported in a retention rule: SUM(d) OVER ()
    """
    return _translate(text, wide=True, what="a retention rule")


def _translate(text: str, wide: bool, what: str):
    import sqlglot
    from sqlglot import expressions as E

    tree = sqlglot.parse_one(text, read="duckdb")

    def refuse():
        raise ValueError(f"unsupported in {what}: {tree.sql()}")

    def value(node, t):
        import ibis
        if isinstance(node, E.Column):
            return t[node.name]
        if isinstance(node, E.Literal) and node.is_string:
            return node.this
        if not wide:
            refuse()
        if isinstance(node, E.Paren):
            return value(node.this, t)
        if isinstance(node, E.Literal):
            return ibis.literal(float(node.this) if "." in node.this else int(node.this))
        if isinstance(node, E.Boolean):
            return ibis.literal(bool(node.this))
        if isinstance(node, (E.Coalesce, E.Greatest, E.Least)):
            args = [value(a, t) for a in [node.this, *node.expressions]]
            fn = {E.Coalesce: ibis.coalesce, E.Greatest: ibis.greatest, E.Least: ibis.least}[type(node)]
            return fn(*args)
        if isinstance(node, E.Cast) and node.to.this == E.DataType.Type.DATE:
            return value(node.this, t).cast("date")
        if isinstance(node, E.Window) and isinstance(node.this, (E.Max, E.Min)) and node.args.get("partition_by") \
                and not node.args.get("order") and all(isinstance(p, E.Column) for p in node.args["partition_by"]):
            inner = value(node.this.this, t)
            agg = inner.max() if isinstance(node.this, E.Max) else inner.min()
            return agg.over(group_by=[t[p.name] for p in node.args["partition_by"]])
        if isinstance(node, (E.Column, E.Boolean)) or _is_predicate(node):
            return build(node, t)
        refuse()

    def _is_predicate(node):
        return isinstance(node, (E.And, E.Or, E.Not, E.EQ, E.NEQ, E.In, E.Is, E.LT, E.LTE, E.GT, E.GTE))

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
        if wide:
            if isinstance(node, E.Not) and isinstance(node.this, E.Is):
                return value(node.this.this, t).notnull()
            ops = {E.LT: "__lt__", E.LTE: "__le__", E.GT: "__gt__", E.GTE: "__ge__"}
            if type(node) in ops:
                return getattr(value(node.left, t), ops[type(node)])(value(node.right, t))
            if isinstance(node, (E.Column, E.Boolean)):
                return value(node, t) if isinstance(node, E.Boolean) else t[node.name]
        refuse()

    top = value if wide else build
    import ibis
    probe = ibis.table({c.name: "date" if wide else "string" for c in tree.find_all(E.Column)} or {"_": "string"},
                       name="probe")
    top(tree, probe)          # refuse what the language lacks now, not when a rule runs
    return lambda t: top(tree, t)
