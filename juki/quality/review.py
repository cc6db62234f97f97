"""The data-quality review of the three files: rules in DuckDB, outcomes expected by GX.

>>> # see notebooks/01_data_quality.ipynb and tests/test_quality.py
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import privacy
from ..errors import JukiError
from ..layouts import LAYOUTS, get
from .evaluate import duck, violations
from .rules import KINDS, get_rule, rules_for


@dataclass
class Review:
    as_of: dt.date
    tables: tuple[str, ...]
    violations: dict               # table -> pyarrow Table (key columns as text, rule)
    row_counts: dict
    gx_results: dict | None = None
    timings: dict = field(default_factory=dict)

    def counts(self) -> Counter:
        c = Counter()
        for t in self.tables:
            c.update(self.violations[t].column("rule").to_pylist())
        return c

    def summary(self) -> pd.DataFrame:
        """One row per rule: ルール, ファイル, 区分, 項目, 内容, 不適合件数, 割合(%)."""
        c = self.counts()
        rows = []
        for t in self.tables:
            lay = get(t)
            for r in rules_for(t):
                n = c.get(r.id, 0)
                rows.append({"ルール": r.id, "ファイル": lay.file, "区分": KINDS[r.kind],
                             "重要度": "警告" if r.severity == "alert" else "誤り",
                             "項目": "・".join(lay.item(x).name for x in r.items), "内容": r.description,
                             "不適合件数": n, "割合(%)": round(100 * n / max(self.row_counts[t], 1), 4)})
        return pd.DataFrame(rows)

    def failing_keys(self, rule_id: str) -> list[list[str]]:
        r = get_rule(rule_id)
        v = self.violations[r.table]
        df = v.filter(pd.Series(v.column("rule").to_pylist()).eq(rule_id).to_numpy()).to_pandas()
        return sorted(df[list(get(r.table).key)].astype(str).values.tolist())

    def to_dict(self) -> dict:
        rules = []
        by_rule: dict[str, list] = {}
        for t in self.tables:
            v = self.violations[t].to_pandas()
            key = list(get(t).key)
            for rule_id, g in v.groupby("rule", sort=True):
                by_rule[rule_id] = sorted(g[key].astype(str).values.tolist())
        for t in self.tables:
            for r in rules_for(t):
                keys = by_rule.get(r.id, [])
                rules.append({"rule": r.id, "file": t, "class": r.kind, "severity": r.severity,
                              "items": [get(t).item(x).name for x in r.items], "description": r.description,
                              "failing": len(keys), "keys": keys})
        return {"as_of": self.as_of.isoformat(), "files": list(self.tables),
                "key_columns": {t: list(get(t).key) for t in self.tables},
                "rows": self.row_counts, "gx": self.gx_summary(), "rules": rules}

    def gx_summary(self) -> dict | None:
        if self.gx_results is None:
            return None
        return {t: {"success": r["success"], "evaluated_expectations": r["statistics"]["evaluated_expectations"],
                    "unsuccessful_expectations": r["statistics"]["unsuccessful_expectations"]}
                for t, r in self.gx_results.items()}

    def write_summary(self, path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def drilldown(self, con, rule_id: str, sample: int = 5) -> pd.DataFrame:
        """Up to ``sample`` failing records of a rule: row key and the rule's items, masked."""
        r = get_rule(rule_id)
        keys = self.failing_keys(rule_id)[:sample]
        if not keys:
            return pd.DataFrame()
        lay = get(r.table)
        kcols = list(lay.key)
        cols = [c for c in r.items if c not in kcols]
        values = ", ".join("(" + ", ".join("'" + k.replace("'", "''") + "'" for k in row) + ")" for row in keys)
        on = " AND ".join(f"CAST(t.{k} AS VARCHAR) = v.{k}" for k in kcols)
        sql = (f"SELECT {', '.join('v.' + k for k in kcols)}{''.join(', t.' + c for c in cols)} "
               f"FROM (VALUES {values}) v({', '.join(kcols)}) JOIN {r.table} t ON {on} ORDER BY {', '.join('v.' + k for k in kcols)}")
        df = duck(con).execute(sql).fetchdf()
        for c in cols:
            df[c] = [privacy.mask(r.table, c, x if not pd.isna(x) else None) for x in df[c]]
        return df.rename(columns={c: lay.item(c).name for c in kcols + cols})


def parse_files(files) -> tuple[str, ...]:
    if isinstance(files, str):
        files = [f.strip() for f in files.split(",") if f.strip()]
    out = []
    for f in files:
        try:
            out.append(next(t for t, lay in LAYOUTS.items() if f in (t, lay.file)))
        except StopIteration:
            raise JukiError(f"unknown file {f!r}; known: {', '.join(LAYOUTS)}") from None
    if not out:
        raise JukiError("no file to check")
    return tuple(dict.fromkeys(out))


def review(con, files="jumin,honnin,sofusaki", as_of: dt.date | None = None, use_gx: bool = True) -> Review:
    tables = parse_files(files)
    if as_of is None:
        from ..store import meta
        as_of = dt.date.fromisoformat(meta(con)["as_of"])
    t0 = time.perf_counter()
    viol = {t: violations(con, t, as_of) for t in tables}
    t1 = time.perf_counter()
    counts = {t: int(duck(con).execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}
    rv = Review(as_of=as_of, tables=tables, violations=viol, row_counts=counts)
    rv.timings["duckdb_rules_s"] = round(t1 - t0, 3)
    if use_gx:
        from .gx import validate
        t2 = time.perf_counter()
        rv.gx_results = validate(viol)
        rv.timings["gx_validate_s"] = round(time.perf_counter() - t2, 3)
        _cross_check(rv)
    return rv


def _cross_check(rv: Review) -> None:
    """GX's unexpected counts must equal the DuckDB counts, rule by rule."""
    c = rv.counts()
    for t, res in rv.gx_results.items():
        seen = Counter()
        for er in res["results"]:
            ids = er["expectation_config"]["kwargs"]["value_set"]
            got = Counter(er["result"].get("unexpected_list", []))
            if sum(got.values()) != er["result"].get("unexpected_count", 0) or set(got) - set(ids):
                raise RuntimeError(f"GX result for {t} is inconsistent")
            seen.update(got)
            for rule_id in ids:
                if got.get(rule_id, 0) != c.get(rule_id, 0):
                    raise RuntimeError(f"GX and DuckDB disagree on {rule_id}: {got.get(rule_id, 0)} vs {c.get(rule_id, 0)}")
