"""Drilldowns: a few failing records of each rule, masked, for the reviewer -- and the persons
they show, which the log records."""
from __future__ import annotations

import operator
from functools import reduce

import pandas as pd

from .. import engine, privacy
from ..layouts import get
from .outcome import Review
from .rules import get_rule


def drilldown(rv: Review, con, rule_id: str, sample: int = 5) -> pd.DataFrame:
    """Up to ``sample`` failing records of a rule: row key and the rule's items, masked."""
    r = get_rule(rule_id)
    keys = rv.failing_keys(rule_id, sample)
    if not keys:
        return pd.DataFrame()
    lay = get(r.table)
    kcols = list(lay.key)
    cols = [c for c in r.items if c not in kcols]
    t = engine.backend(con).table(r.table)
    t = t.select(*[t[k].cast("string").name(k) for k in kcols], *cols)
    wanted = reduce(operator.or_, [reduce(operator.and_, [t[k] == v for k, v in zip(kcols, row)]) for row in keys])
    df = t.filter(wanted).order_by(kcols).to_pandas()
    for c in cols:
        df[c] = [privacy.mask(r.table, c, x if not pd.isna(x) else None) for x in df[c]]
    for k in kcols:  # keys identify the record for the reviewer; a resident code only by its tail
        df[k] = [privacy.key_label(r.table, k, x) for x in df[k]]
    return df.rename(columns={c: lay.item(c).name for c in kcols + cols})


#: What the review shows instead of the records when its operator may not see them (the
#: scheduled report runs as the scheduler; a reviewer opens them with ``juki run``).
NOT_SHOWN = ("不適合の記録の抜粋は、品質確認担当者または管理者が実行したときだけ表示します"
             "（この実行の担当者には表示しません）。")


def failing_rules(rv: Review) -> list:
    """The rules with at least one failing record."""
    counts = rv.counts()           # computed once: it counts over every file's violations
    return [r for r in rv.rules() if counts.get(r.id, 0)]


def drilldowns(rv: Review, con, sample: int = 5):
    """(rule description, masked sample) for each failing rule; the persons shown are logged."""
    from ..access import guard
    failing = failing_rules(rv)
    if not failing:
        return []
    out, shown = [], []
    with guard.entry("drilldown", "quality review", params={"rules": len(failing), "sample": sample}) as g:
        for r in failing:
            out.append((f"{r.description}（{get(r.table).file}）", drilldown(rv, con, r.id, sample)))
            shown += persons_of(con, r.table, rv.failing_keys(r.id, sample))
        g.records = sum(len(t) for _, t in out)
        g.persons = shown
    return out


def persons_of(con, table: str, keys: list[list[str]]) -> list[str]:
    """The 宛名番号 of the persons whose rows these keys are (by 住民票コード for the CS files)."""
    if not keys:
        return []
    if table == "jumin":
        return [k[0] for k in keys]
    col = 0 if table == "honnin" else 1
    codes = sorted({k[col] for k in keys})
    j = engine.backend(con).table("jumin")
    return j.filter(j.jumin_code.isin(codes)).select("atena_no").distinct().to_pyarrow().column(0).to_pylist()
