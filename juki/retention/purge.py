"""Retention purges: plan (dry run) and apply, all rules in one atomic rewrite of the store.

A real purge never deletes in place -- DuckDB keeps deleted rows' bytes in the file until
its blocks are reused.  Instead the kept rows are copied into a new file beside the store
(rows that move go to their new table, erased rows are simply not copied), a purge record is
added to ``purge_log`` in that same file, the file is checkpointed and fsynced, and renamed
over the store.  A crash at any point leaves the store entirely as it was (the hidden
temporary file is removed by the next run) or entirely purged; no byte of an erased row is
in the new file or its WAL.  The old file's inode is released by the rename: what remains in
unallocated disk blocks is the file system's (use an encrypted volume, as municipal
systems do).

The record holds counts, never people: per rule the rows due (by year of their date), row
counts of every table before and after, and a SHA-256 digest of the removed row keys.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import store
from ..errors import JukiError
from ..layouts import get
from .policy import Policy, RetentionRule, load

#: Derived columns the rules may use, per table (computed over the source table).
BASES = {
    "jumin": "SELECT *, arg_max(ido_kubun, rireki_no) OVER (PARTITION BY atena_no) AS last_kubun, "
             "arg_max(shojo_date, rireki_no) OVER (PARTITION BY atena_no) AS last_shojo FROM {src}.jumin",
    "jumin_joshu": "SELECT * FROM {src}.jumin_joshu",
    "honnin": "SELECT *, lead(ido_date) OVER (PARTITION BY jumin_code ORDER BY koshin_jun_no) AS next_ido "
              "FROM {src}.honnin",
    "sofusaki": "SELECT * FROM {src}.sofusaki",
}
KEYS = {t: list(get("jumin" if t == "jumin_joshu" else t).key) for t in BASES}
STORE_TABLES = ("jumin", "jumin_joshu", "honnin", "sofusaki")


@dataclass
class RuleResult:
    rule: str
    description: str
    table: str
    action: str
    cutoff: str
    due: int
    by_year: dict = field(default_factory=dict)
    digest: str = ""
    skipped: str | None = None


@dataclass
class PurgeResult:
    as_of: dt.date
    dry_run: bool
    operator: str
    rules: list[RuleResult]
    before: dict
    after: dict
    changed: bool
    seconds: float = 0.0

    def record(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "operator": self.operator, "dry_run": self.dry_run,
                "rules": [r.__dict__ for r in self.rules], "rows_before": self.before, "rows_after": self.after}

    def frame(self):
        import pandas as pd
        return pd.DataFrame([{"ルール": r.rule, "内容": r.description, "対象": r.table,
                              "処理": {"move": "除票ストアへ移動", "erase": "消去"}[r.action],
                              "基準日以前": r.cutoff, "対象件数": r.due,
                              "備考": r.skipped or ""} for r in self.rules])

    def by_year(self):
        import pandas as pd
        rows = [{"ルール": r.rule, "年": y, "件数": n} for r in self.rules for y, n in sorted(r.by_year.items())]
        if not rows:
            return pd.DataFrame(columns=["ルール", "年", "件数"])
        return pd.DataFrame(rows).pivot_table(index="年", columns="ルール", values="件数", fill_value=0, aggfunc="sum")


def _pause(step: str) -> None:
    """Fault-injection hook for the crash tests: inert unless JUKI_TEST_PAUSE names this step."""
    if os.environ.get("JUKI_TEST_PAUSE") == step:
        Path(os.environ["JUKI_TEST_PAUSE_FILE"]).write_text(step)
        time.sleep(600)


def _tables(con, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [schema]).fetchall()}


def _due_sql(rule: RetentionRule, as_of: dt.date, src: str, extra_source: str | None = None) -> str:
    base = extra_source or BASES[rule.table].format(src=src)
    cutoff = rule.cutoff(as_of).isoformat()
    keys = ", ".join(KEYS[rule.table])
    person = f", {rule.person}" if rule.person and rule.person not in KEYS[rule.table] else ""
    inner = (f"SELECT {keys}{person}, CAST(({rule.date}) AS DATE) AS _d, coalesce(({rule.rows}), FALSE) AS _r "
             f"FROM ({base}) b")
    due = f"(_r AND coalesce(_d <= DATE '{cutoff}', FALSE))"
    if rule.person:
        due = f"bool_and({due}) OVER (PARTITION BY {rule.person})"
    return f"SELECT {keys}, yr FROM (SELECT {keys}, year(_d) AS yr, {due} AS due FROM ({inner}) i) WHERE due"


def _digest(con, table: str) -> str:
    """SHA-256 over the sorted rows of a table (all columns but ``yr``), order-independent."""
    cols = con.execute(f"SELECT * FROM {table} LIMIT 0").description
    names = [c[0] for c in cols if c[0] != "yr"]
    h = hashlib.sha256()
    expr = ", ".join(f"coalesce(CAST({n} AS VARCHAR), '∅')" for n in names)
    for (line,) in con.execute(f"SELECT concat_ws('|', {expr}) AS k FROM {table} ORDER BY k").fetchall():
        h.update(line.encode() + b"\n")
    return h.hexdigest()


def _counts(con, schema: str | None = None) -> dict:
    schema = schema or con.execute("SELECT current_database()").fetchone()[0]
    have = _tables(con, schema)
    return {t: int(con.execute(f'SELECT count(*) FROM "{schema}".{t}').fetchone()[0]) if t in have else 0
            for t in STORE_TABLES}


def _plan(con, policy: Policy, as_of: dt.date, src: str) -> list[RuleResult]:
    """Create temp tables due__<rule> (keys + year) and return per-rule counts."""
    have = _tables(con, src)
    results = []
    moved_into: dict[str, list[str]] = {}
    for rule in policy.rules:
        res = RuleResult(rule.id, rule.description, rule.table, rule.action, rule.cutoff(as_of).isoformat(), 0)
        if rule.table not in BASES:
            res.skipped = "ストア外（操作ログは juki.audit が保存期間を管理）"
            results.append(res)
            continue
        extra = None
        if rule.table in moved_into:
            # rows moved by an earlier rule of this run are judged together with the table's own
            parts = [f"SELECT * FROM {src}.{rule.table}"] if rule.table in have else []
            parts += [f"SELECT s.* FROM {src}.{m_src} s SEMI JOIN due__{m} d USING ({', '.join(KEYS[m_src])})"
                      for m, m_src in moved_into[rule.table]]
            extra = " UNION ALL ".join(parts)
        elif rule.table not in have:
            res.skipped = "テーブルなし"
            con.execute(f"CREATE OR REPLACE TEMP TABLE due__{rule.id} AS SELECT NULL::VARCHAR AS {KEYS[rule.table][0]} WHERE FALSE")
            results.append(res)
            continue
        con.execute(f"CREATE OR REPLACE TEMP TABLE due__{rule.id} AS {_due_sql(rule, as_of, src, extra)}")
        res.due = int(con.execute(f"SELECT count(*) FROM due__{rule.id}").fetchone()[0])
        res.by_year = {int(y): int(n) for y, n in con.execute(
            f"SELECT yr, count(*) FROM due__{rule.id} GROUP BY yr ORDER BY yr").fetchall() if y is not None}
        res.digest = _digest(con, f"due__{rule.id}")
        if rule.action == "move":
            moved_into.setdefault(rule.to, []).append((rule.id, rule.table))
        results.append(res)
    return results


def plan(db=None, as_of: dt.date | None = None, policy: Policy | None = None) -> PurgeResult:
    """Dry run: what is due, per rule and year. Opens the store read-only; writes nothing."""
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    policy = policy or load()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        as_of = as_of or _store_as_of(con)
        t0 = time.perf_counter()
        rules = _plan(con, policy, as_of, "src")
        before = _counts(con, "src")
    finally:
        con.close()
    return PurgeResult(as_of, True, "", rules, before, before, False, time.perf_counter() - t0)


def _store_as_of(con) -> dt.date:
    row = con.execute("SELECT value FROM src.juki_meta WHERE key = 'as_of'").fetchone()
    return dt.date.fromisoformat(json.loads(row[0]))


def apply(db=None, as_of: dt.date | None = None, operator: str = "", policy: Policy | None = None) -> PurgeResult:
    """Apply every rule in one atomic rewrite of the store (see the module doc).

    ``operator`` names who ordered the purge (recorded in the purge record); the account
    running it must hold the administrator role (checked and logged by the audit guard)."""
    if not operator or not operator.strip():
        raise JukiError("a real purge needs an operator (who ordered it)")
    from ..audit import guard
    with guard.entry("purge", "retention", {"administrator"}, params={"as_of": str(as_of), "ordered_by": operator}) as g:
        res = _apply(db, as_of, operator, policy)
        g.records = sum(r.due for r in res.rules)
        g.detail = "store rewritten" if res.changed else "nothing due"
    return res


def _apply(db, as_of, operator, policy) -> PurgeResult:
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    store.check_writable(path)
    policy = policy or load()
    _remove_stale(path)
    t0 = time.perf_counter()
    tmp = path.with_name(f".{path.name}.purge-{os.getpid()}")
    con = duckdb.connect(str(tmp))
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        as_of = as_of or _store_as_of(con)
        rules = _plan(con, policy, as_of, "src")
        before = _counts(con, "src")
        _pause("planned")
        if not any(r.due for r in rules):
            con.close()
            store._remove(tmp)
            return PurgeResult(as_of, False, operator, rules, before, before, False, time.perf_counter() - t0)
        store.create_schema(con)
        by = {r.rule: r for r in rules}
        for table in STORE_TABLES:
            removed = [f"due__{rule.id}" for rule in policy.rules
                       if rule.table == table and by[rule.id].skipped is None and by[rule.id].due]
            sources = [f"SELECT * FROM src.{table}"] if table in _tables(con, "src") else []
            sources += [f"SELECT s.* FROM src.{rule.table} s SEMI JOIN due__{rule.id} d USING ({', '.join(KEYS[rule.table])})"
                        for rule in policy.rules if rule.action == "move" and rule.to == table and by[rule.id].due]
            if not sources:
                continue
            q = " UNION ALL ".join(sources)
            keys = ", ".join(KEYS[table])
            for d in removed:
                q = f"SELECT * FROM ({q}) x ANTI JOIN {d} USING ({keys})"
            con.execute(f"INSERT INTO {table} {q}")
            _pause(f"copied_{table}")
        con.execute(f"INSERT INTO {store.META_TABLE} SELECT * FROM src.{store.META_TABLE}")
        if "purge_log" in _tables(con, "src"):
            con.execute("INSERT INTO purge_log SELECT * FROM src.purge_log")
        after = _counts(con)
        result = PurgeResult(as_of, False, operator, rules, before, after, True)
        con.execute("INSERT INTO purge_log VALUES (now(), ?, ?, ?)",
                    [as_of, operator, json.dumps(result.record(), ensure_ascii=False)])
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
        con.close()
        _pause("checkpointed")
        store._fsync(tmp)
        store._remove(Path(str(path) + ".wal"))
        os.replace(tmp, path)
        store._fsync_dir(path.parent)
        _pause("renamed")
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        store._remove(tmp)
        raise
    result.seconds = time.perf_counter() - t0
    return result


def _remove_stale(path: Path) -> None:
    """Temporary files of purges that were killed: never the store, removed before a new run."""
    for p in path.parent.glob(f".{path.name}.purge-*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def table_digests(db) -> dict:
    """Content digest of every data table (order-independent), for tests and proofs."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {t: _digest(con, t) for t in sorted(have) if t in STORE_TABLES}
    finally:
        con.close()
