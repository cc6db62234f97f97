"""The data-quality review of the three files: rules as ibis (DuckDB or Spark), outcomes expected by GX.

A :class:`Review` is what ``01_data_quality`` produces and what the manager summary and the
follow-up read back (:meth:`Review.write` / :meth:`Review.load`): ``dq_summary.json`` (counts
per rule, the first keys of each, the GX result) and ``dq_violations.parquet`` (every failing
row key, however many).  Rules that reconcile with a file the store does not hold are not
evaluated and are listed as such, instead of failing every row.
"""
from __future__ import annotations

import datetime as dt
import json
import operator
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .. import atomic, engine, privacy, residency
from ..errors import JukiError
from ..layouts import LAYOUTS, get
from .engine import violations
from .rules import KINDS, Rule, get_rule, rules_for

SUMMARY = "dq_summary.json"
VIOLATIONS = "dq_violations.parquet"
#: Row keys listed per rule in dq_summary.json (the Parquet file holds all of them).
KEYS_IN_SUMMARY = 1000
_ENGINE_NAMES = {"duckdb": "DuckDB", "pyspark": "Spark"}


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

    def drilldown(self, con, rule_id: str, sample: int = 5) -> pd.DataFrame:
        """Up to ``sample`` failing records of a rule: row key and the rule's items, masked."""
        r = get_rule(rule_id)
        keys = self.failing_keys(rule_id, sample)
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
    as_of = residency.reference_date(con, as_of)
    con = engine.backend(con)
    counts = {t: int(con.table(t).count().execute()) for t in LAYOUTS}
    missing = {t for t, n in counts.items() if n == 0}
    not_evaluated = {}
    t0 = time.perf_counter()
    viol = {}
    for t in tables:
        rules = []
        for r in rules_for(t):
            lacking = [x for x in r.needs if x in missing]
            if lacking:
                not_evaluated[r.id] = "ストアに" + "・".join(get(x).file for x in lacking) + "がない"
            else:
                rules.append(r)
        viol[t] = violations(con, t, as_of, rules)
    t1 = time.perf_counter()
    residents = int(residency.residents(con.table("jumin"), as_of).count().execute())
    rv = Review(as_of=as_of, tables=tables, violations=viol, row_counts={t: counts[t] for t in tables},
                residents=residents, not_evaluated=not_evaluated)
    rv.timings["rules_s"] = round(t1 - t0, 3)
    rv.timings["engine"] = getattr(con, "name", "duckdb")
    if use_gx:
        from .gx import validate
        t2 = time.perf_counter()
        rv.gx = validate(viol)
        rv.timings["gx_validate_s"] = round(time.perf_counter() - t2, 3)
        cross_check(rv)
    return rv


def cross_check(rv: Review) -> None:
    """GX's unexpected count of every rule class must equal the DuckDB count of that class.

    GX reports counts, never the failing values (its value lists are capped, and values are
    not needed): the per-rule counts are DuckDB's, whose class totals GX confirms.
    """
    c = rv.counts()
    for t, res in (rv.gx or {}).items():
        for kind, got in res["by_class"].items():
            want = sum(n for rid, n in c.items() if rid.startswith(t + ".") and get_rule(rid).kind == kind)
            if got != want:
                raise RuntimeError(f"GX and DuckDB disagree on {t} {kind}: {got} vs {want}")


# ---------------------------------------------------------------- what 01_data_quality shows

def headline(rv: Review) -> str:
    from ..codes.era import to_wareki
    s = rv.summary()
    failing = s[s["不適合件数"] > 0]
    return (f"**基準日**: {rv.as_of}（{to_wareki(rv.as_of)}）　**対象**: {'、'.join(s['ファイル'].unique())}　"
            f"**住民数**: {rv.residents:,}　**ルール数**: {len(s)}（うち未評価 {len(rv.not_evaluated)}）　"
            f"**不適合のあるルール**: {len(failing)}　**不適合件数(延べ)**: {int(s['不適合件数'].sum()):,}")


def follow_up(rv: Review, db=None, record: bool = False):
    """New / still open / resolved problems against the follow-up record beside the store
    (:mod:`.followup`); ``record`` (the scheduled report) also moves the record forward."""
    from . import followup
    path = followup.path_for(db)
    if record:
        from ..audit import guard
        guard.require("followup_record", "quality follow-up")
        return followup.record(rv.violations, rv.as_of, path)
    return followup.compare(rv.violations, rv.as_of, path)


def failing_table(rv: Review) -> pd.DataFrame:
    s = rv.summary()
    f = s[s["不適合件数"] > 0].drop(columns=["ルール", "評価"])
    return f.reset_index(drop=True) if len(f) else pd.DataFrame({"結果": ["すべてのルールに適合しています。"]})


def not_evaluated_table(rv: Review) -> pd.DataFrame:
    if not rv.not_evaluated:
        return pd.DataFrame({"結果": ["すべてのルールを評価しました。"]})
    return pd.DataFrame([{"内容": get_rule(rid).description, "理由": why} for rid, why in rv.not_evaluated.items()])


def all_rules_table(rv: Review) -> pd.DataFrame:
    return rv.summary().drop(columns=["ルール"])


def timing_note(rv: Review) -> str:
    engine = _ENGINE_NAMES.get(rv.timings.get("engine"), "DuckDB")
    return (f"{engine}でのルール評価 {rv.timings.get('rules_s', 0):.1f} 秒、Great Expectationsでの検証 "
            f"{rv.timings.get('gx_validate_s', 0):.1f} 秒。不適合の全件の行キーは {VIOLATIONS} に、"
            f"ルールごとの件数は {SUMMARY} に出力した。")


def drilldowns(rv: Review, con, sample: int = 5):
    """(rule description, masked sample) for each failing rule; the persons shown are logged."""
    from ..audit import guard
    failing = [r for r in rv.rules() if rv.counts().get(r.id, 0)]
    if not failing:
        return []
    out, shown = [], []
    with guard.entry("drilldown", "quality review", params={"rules": len(failing), "sample": sample}) as g:
        for r in failing:
            out.append((f"{r.description}（{get(r.table).file}）", rv.drilldown(con, r.id, sample)))
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
