"""The outcome of a data-quality review, and its files.

A :class:`Review` is what the review produces (:mod:`.review`) and what the manager summary
and the follow-up read back (:meth:`Review.write` / :meth:`Review.load`): ``dq_summary.json``
(counts per rule, the first keys of each, the GX result) and ``dq_violations.parquet`` (every
failing row key, however many: the key as a list of text, so a key may have any length).
Rules that reconcile with a file the store does not hold are not evaluated and are listed as
such, instead of failing every row.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .. import atomic
from ..errors import JukiError
from ..layouts import get
from .rules import KINDS, Rule, get_rule, rules_for

SUMMARY = "dq_summary.json"
VIOLATIONS = "dq_violations.parquet"
#: Row keys listed per rule in dq_summary.json (the Parquet file holds all of them).
KEYS_IN_SUMMARY = 1000


@dataclass
class Review:
    as_of: dt.date
    tables: tuple[str, ...]
    violations: dict               # table -> pyarrow Table (key columns as text, rule)
    row_counts: dict
    residents: int = 0             # residents on as_of (residency), the population the rules saw
    not_evaluated: dict = field(default_factory=dict)   # rule id -> reason
    gx: dict | None = None         # table -> {success, evaluated, unsuccessful, by_class}
    timings: dict = field(default_factory=dict)
    counts_by_rule: dict | None = None

    def counts(self) -> Counter:
        if self.counts_by_rule is not None:
            return Counter(self.counts_by_rule)
        c = Counter()
        for t in self.tables:
            v = self.violations.get(t)
            if v is not None and v.num_rows:
                c.update(dict(rule_counts(v)))
        return c

    def rules(self) -> list[Rule]:
        return [r for t in self.tables for r in rules_for(t)]

    def summary(self) -> pd.DataFrame:
        """One row per rule: ルール, ファイル, 区分, 重要度, 項目, 内容, 不適合件数, 割合(%), 評価."""
        c = self.counts()
        rows = []
        for r in self.rules():
            lay = get(r.table)
            n = c.get(r.id, 0)
            rows.append({"ルール": r.id, "ファイル": lay.file, "区分": KINDS[r.kind], "重要度": r.severity_label,
                         "項目": "・".join(lay.item(x).name for x in r.items), "内容": r.description,
                         "不適合件数": int(n), "割合(%)": round(100 * n / max(self.row_counts.get(r.table, 0), 1), 4),
                         "評価": "未評価: " + self.not_evaluated[r.id] if r.id in self.not_evaluated else "評価済み"})
        return pd.DataFrame(rows)

    def failing_keys(self, rule_id: str, limit: int | None = None) -> list[list[str]]:
        r = get_rule(rule_id)
        v = self.violations.get(r.table)
        if v is None or not v.num_rows:
            return []
        import pyarrow.compute as pc
        key = list(get(r.table).key)
        mine = v.filter(pc.equal(v.column("rule"), rule_id)).select(key).sort_by([(k, "ascending") for k in key])
        if limit:
            mine = mine.slice(0, int(limit))
        return [[str(x) for x in row.values()] for row in mine.to_pylist()]

    def to_dict(self) -> dict:
        c = self.counts()
        rules = []
        for r in self.rules():
            n = int(c.get(r.id, 0))
            keys = self.failing_keys(r.id, KEYS_IN_SUMMARY) if n else []
            rules.append({"rule": r.id, "file": r.table, "class": r.kind, "severity": r.severity,
                          "items": [get(r.table).item(x).name for x in r.items], "description": r.description,
                          "failing": n, "keys": keys, "keys_complete": len(keys) == n,
                          "evaluated": r.id not in self.not_evaluated,
                          "not_evaluated_reason": self.not_evaluated.get(r.id)})
        return {"as_of": self.as_of.isoformat(), "files": list(self.tables),
                "key_columns": {t: list(get(t).key) for t in self.tables},
                "rows": self.row_counts, "residents": self.residents, "gx": self.gx,
                "not_evaluated": self.not_evaluated, "timings": self.timings, "rules": rules}

    # -- files --------------------------------------------------------------------------------

    def write(self, folder) -> Path:
        """dq_summary.json and dq_violations.parquet into ``folder`` (each written atomically)."""
        folder = Path(folder)
        parts = [pa.table({"table": pa.array([t] * v.num_rows, pa.string()),
                           "key": _key_lists(v, list(get(t).key)), "rule": v.column("rule")})
                 for t, v in self.violations.items()]
        allv = pa.concat_tables(parts) if parts else pa.table(
            {"table": pa.array([], pa.string()), "key": pa.array([], pa.list_(pa.string())), "rule": pa.array([], pa.string())})
        import pyarrow.parquet as pq
        with atomic.replacing(folder / VIOLATIONS) as tmp:
            pq.write_table(allv, tmp)
        return atomic.atomic_write_json(folder / SUMMARY, self.to_dict())

    write_summary = write

    @classmethod
    def load(cls, folder) -> "Review":
        """A review written by :meth:`write` (counts and keys; the violations from the Parquet file)."""
        folder = Path(folder)
        p = folder / SUMMARY
        if not p.exists():
            raise JukiError(f"no data-quality review in {folder}")
        d = json.loads(p.read_text(encoding="utf-8"))
        viol = {}
        pq_path = folder / VIOLATIONS
        if pq_path.exists():
            import pyarrow.compute as pc
            import pyarrow.parquet as pq
            allv = pq.read_table(pq_path)
            for t in d["files"]:
                viol[t] = _key_columns(allv.filter(pc.equal(allv.column("table"), t)), list(get(t).key))
        return cls(as_of=dt.date.fromisoformat(d["as_of"]), tables=tuple(d["files"]), violations=viol,
                   row_counts=d["rows"], residents=d.get("residents", 0), not_evaluated=d.get("not_evaluated", {}),
                   gx=d.get("gx"), timings=d.get("timings", {}),
                   counts_by_rule={r["rule"]: r["failing"] for r in d["rules"] if r["failing"]})


def _key_lists(v: pa.Table, key: list[str]) -> pa.Array:
    """The key columns of a violations table as one list column (keys of any length)."""
    rows = zip(*[v.column(k).to_pylist() for k in key]) if v.num_rows else []
    return pa.array([list(r) for r in rows], pa.list_(pa.string()))


def _key_columns(part: pa.Table, key: list[str]) -> pa.Table:
    """Back from :func:`_key_lists`: one text column per key column, then ``rule``."""
    lists = part.column("key").to_pylist()
    cols = {k: pa.array([row[n] for row in lists], pa.string()) for n, k in enumerate(key)}
    return pa.table({**cols, "rule": part.column("rule")})


def rule_counts(v: pa.Table) -> list[tuple[str, int]]:
    """(rule, failing rows) of a violations table."""
    c = v.group_by("rule").aggregate([("rule", "count")])
    return list(zip(c.column("rule").to_pylist(), c.column("rule_count").to_pylist()))
