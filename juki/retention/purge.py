"""Retention purges: plan (dry run) and apply, all rules in one atomic rewrite of the store.

A real purge never deletes in place -- DuckDB keeps deleted rows' bytes in the file until
its blocks are reused.  Instead the kept rows are copied into a new file beside the store
(:func:`juki.store.rewrite`: rows that move go to their new table, erased rows are simply not
copied), a purge record is added to ``purge_log`` in that same file, and the file replaces the
store.  A crash at any point leaves the store entirely as it was or entirely purged; no byte
of an erased row is in the new file or its WAL.  The old file's inode is released by the
rename: what remains in unallocated disk blocks is the file system's (use an encrypted
volume, as municipal systems do).

Who counts as removed on the purge date is :mod:`juki.residency`'s definition, the same the
review, the statistics and the search use.

The record holds counts, never people: per rule the rows due (by year of their date), row
counts of every table before and after, and a SHA-256 digest of the removed row keys.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from .. import atomic, residency, store
from ..errors import JukiError
from ..layouts import get
from .policy import Policy, RetentionRule, load

#: Derived columns the rules may use, per table (computed over the source table ``{src}``).
#: ``removed``/``removed_on`` come from juki.residency (see the policy file); ``removed_on`` is the
#: day of the 消除: its processing date, or 住民でなくなった日 when later.
BASES = {
    "jumin": "SELECT f.* EXCLUDE (is_current, is_resident), "
             "bool_or(f.is_current AND NOT f.is_resident) OVER (PARTITION BY f.atena_no) AS removed, "
             "max(CASE WHEN f.is_current THEN greatest(f.shori_date, coalesce(f.shojo_date, f.shori_date)) END) "
             "OVER (PARTITION BY f.atena_no) AS removed_on "
             "FROM ({flags}) f",
    "jumin_joshu": "SELECT * FROM {src}.jumin_joshu",
    "honnin": "SELECT *, lead(ido_date) OVER (PARTITION BY jumin_code ORDER BY koshin_jun_no) AS next_ido "
              "FROM {src}.honnin",
    "sofusaki": "SELECT * FROM {src}.sofusaki",
    "quarantine": "SELECT * FROM {src}.quarantine",
    "load_log": "SELECT * FROM {src}.load_log",
    "purge_log": "SELECT * FROM {src}.purge_log",
}
KEYS = {t: list(get("jumin" if t == "jumin_joshu" else t).key) for t in ("jumin", "jumin_joshu", "honnin", "sofusaki")}
KEYS["quarantine"] = ["loaded_at", "source_file", "target_table", "line"]
KEYS["load_log"] = ["loaded_at", "source_file", "sha256", "target_table"]
KEYS["purge_log"] = ["purged_at", "as_of", "operator"]
DATA_TABLES = ("jumin", "jumin_joshu", "honnin", "sofusaki", "quarantine")
STORE_TABLES = DATA_TABLES + ("load_log", "purge_log")      # the workbench's own records too
RECORD = "purge_record.json"


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
    oldest: str | None = None          # the earliest date (of the rule's date column) among the due rows


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
    persons: list = field(default_factory=list)     # 宛名番号 of the persons whose rows were purged (for the log)

    def record(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "operator": self.operator, "dry_run": self.dry_run,
                "changed": self.changed, "rules": [asdict(r) for r in self.rules],
                "rows_before": self.before, "rows_after": self.after}

    def write(self, folder) -> Path:
        return atomic.atomic_write_json(Path(folder) / RECORD, self.record())

    @classmethod
    def load(cls, folder) -> "PurgeResult":
        p = Path(folder) / RECORD
        if not p.exists():
            raise JukiError(f"no purge record in {folder}")
        d = json.loads(p.read_text(encoding="utf-8"))
        return cls(as_of=dt.date.fromisoformat(d["as_of"]), dry_run=d["dry_run"], operator=d["operator"],
                   rules=[RuleResult(**{**r, "by_year": {int(k): v for k, v in r["by_year"].items()}}) for r in d["rules"]],
                   before=d["rows_before"], after=d["rows_after"], changed=d.get("changed", False))

    def frame(self):
        import pandas as pd
        return pd.DataFrame([{"規則": r.description, "対象": r.table,
                              "処理": {"move": "除票ストアへ移動", "erase": "消去"}[r.action],
                              "基準日以前": r.cutoff, "対象件数": r.due,
                              "備考": r.skipped or ""} for r in self.rules])

    def by_year(self):
        import pandas as pd
        rows = [{"規則": r.rule, "年": y, "件数": n} for r in self.rules for y, n in sorted(r.by_year.items())]
        if not rows:
            return pd.DataFrame(columns=["規則", "年", "件数"])
        return pd.DataFrame(rows).pivot_table(index="年", columns="規則", values="件数", fill_value=0, aggfunc="sum")


def _base_sql(table: str, as_of: dt.date, src: str) -> str:
    if table == "jumin":
        # residency's flags, compiled over a view of the source table
        return BASES["jumin"].format(flags=residency.sql("flags", as_of, name="__purge_src_jumin"))
    return BASES[table].format(src=src)


def _due_sql(rule: RetentionRule, as_of: dt.date, src: str, extra_source: str | None = None) -> str:
    base = extra_source or _base_sql(rule.table, as_of, src)
    cutoff = rule.cutoff(as_of).isoformat()
    keys = ", ".join(KEYS[rule.table])
    person = f", {rule.person}" if rule.person and rule.person not in KEYS[rule.table] else ""
    inner = (f"SELECT {keys}{person}, CAST(({rule.date}) AS DATE) AS _d, coalesce(({rule.rows}), FALSE) AS _r "
             f"FROM ({base}) b")
    due = f"(_r AND coalesce(_d <= DATE '{cutoff}', FALSE))"
    if rule.person:
        due = f"bool_and({due}) OVER (PARTITION BY {rule.person})"
    return (f"SELECT {keys}, yr, due_date FROM (SELECT {keys}, year(_d) AS yr, _d AS due_date, {due} AS due "
            f"FROM ({inner}) i) WHERE due")


def _digest(con, table: str) -> str:
    """SHA-256 over the sorted rows of a table (its keys: not ``yr``/``due_date``), order-independent."""
    cols = con.execute(f"SELECT * FROM {table} LIMIT 0").description
    names = [c[0] for c in cols if c[0] not in ("yr", "due_date")]
    h = hashlib.sha256()
    expr = ", ".join(f"coalesce(CAST({n} AS VARCHAR), '∅')" for n in names)
    cur = con.execute(f"SELECT concat_ws('|', {expr}) AS k FROM {table} ORDER BY k")
    while batch := cur.fetchmany(100_000):
        for (line,) in batch:
            h.update(line.encode() + b"\n")
    return h.hexdigest()


def _counts(con, schema: str) -> dict:
    have = store.tables(con, schema)
    return {t: int(con.execute(f'SELECT count(*) FROM "{schema}".{t}').fetchone()[0]) if t in have else 0
            for t in STORE_TABLES}


def _selected(policy: Policy, only) -> list[RetentionRule]:
    if not only:
        return list(policy.rules)
    ids = [only] if isinstance(only, str) else list(only)
    unknown = [i for i in ids if i not in {r.id for r in policy.rules}]
    if unknown:
        raise JukiError(f"unknown retention rule(s) {', '.join(unknown)}; known: {', '.join(r.id for r in policy.rules)}")
    return [r for r in policy.rules if r.id in ids]


def _plan(con, rules: list[RetentionRule], as_of: dt.date, src: str, registry: Path) -> list[RuleResult]:
    """Create temp tables due__<rule> (keys + year) and return per-rule counts."""
    have = store.tables(con, src)
    if "jumin" in have:
        con.execute(f"CREATE OR REPLACE TEMP VIEW __purge_src_jumin AS SELECT * FROM {src}.jumin")
    results = []
    moved_into: dict[str, list] = {}
    for rule in rules:
        res = RuleResult(rule.id, rule.description, rule.table, rule.action, rule.cutoff(as_of).isoformat(), 0)
        if rule.table in OUTSIDE and as_of > dt.date.today():
            res.skipped = "基準日が今日より後（ストア外の記録・ファイルは実際の日付で消去する）"
            results.append(res)
            continue
        if rule.table in OUTSIDE:
            due = outside_due(rule, as_of, registry)
            res.due = len(due)
            res.oldest = min(d for _, d in due).isoformat() if due else None
            res.by_year = {}
            for _, d in due:
                res.by_year[d.year] = res.by_year.get(d.year, 0) + 1
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
        n, oldest = con.execute(f"SELECT count(*), min(due_date) FROM due__{rule.id}").fetchone()
        res.due, res.oldest = int(n), oldest.isoformat() if oldest else None
        res.by_year = {int(y): int(n) for y, n in con.execute(
            f"SELECT yr, count(*) FROM due__{rule.id} GROUP BY yr ORDER BY yr").fetchall() if y is not None}
        res.digest = _digest(con, f"due__{rule.id}")
        if rule.action == "move":
            moved_into.setdefault(rule.to, []).append((rule.id, rule.table))
        results.append(res)
    return results


def plan(db=None, as_of: dt.date | None = None, policy: Policy | None = None, only=None) -> PurgeResult:
    """Dry run: what is due, per rule and year. Opens the store read-only; writes nothing."""
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    policy = policy or load()
    rules = _selected(policy, only)
    con = duckdb.connect()
    store.configure(con)
    t0 = time.perf_counter()
    try:
        con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        as_of = residency.reference_date(con, as_of, schema="src")
        results = _plan(con, rules, as_of, "src", path)
        before = _counts(con, "src")
    finally:
        con.close()
    return PurgeResult(as_of, True, "", results, before, before, False, time.perf_counter() - t0)


def apply(db=None, as_of: dt.date | None = None, operator: str = "", policy: Policy | None = None,
          only=None) -> PurgeResult:
    """Apply the rules (all, or ``only`` the named ones) in one atomic rewrite of the store.

    ``operator`` names who ordered the purge (recorded in the purge record); the account
    running it must hold the role the ``purge`` entry point needs (checked and logged)."""
    if not operator or not operator.strip():
        raise JukiError("a real purge needs an operator (who ordered it)")
    from ..access import guard
    action = "purge_sofusaki" if only in ("sofusaki_sent", ["sofusaki_sent"]) else "purge"
    with guard.entry(action, "retention", params={"as_of": str(as_of), "ordered_by": operator[:40],
                                                   "only": only}) as g:
        res = _apply(db, as_of, operator, policy, only)
        g.records = sum(r.due for r in res.rules)
        g.persons = res.persons
        g.detail = "store rewritten" if res.changed else "nothing due"
    return res


def _apply(db, as_of, operator, policy, only) -> PurgeResult:
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    policy = policy or load()
    rules = _selected(policy, only)
    t0 = time.perf_counter()
    result = None
    with store.rewrite(path) as rw:
        con = rw.con
        as_of = residency.reference_date(con, as_of, schema="src")
        results = _plan(con, rules, as_of, "src", path)
        before = _counts(con, "src")
        atomic.killpoint("planned")
        if not any(r.due for r in results if r.table not in OUTSIDE):
            rw.abandon()
            changed = _erase_outside(rules, results, as_of, path)
            return PurgeResult(as_of, False, operator, results, before, before, changed, time.perf_counter() - t0)
        by = {r.rule: r for r in results}
        persons = _persons(con, rules, by)
        for table in STORE_TABLES:
            removed = [f"due__{rule.id}" for rule in rules
                       if rule.table == table and by[rule.id].skipped is None and by[rule.id].due]
            src_tables = store.tables(con, "src")
            sources = [f"SELECT * FROM src.{table}"] if table in src_tables else []
            sources += [f"SELECT s.* FROM src.{rule.table} s SEMI JOIN due__{rule.id} d USING ({', '.join(KEYS[rule.table])})"
                        for rule in rules if rule.action == "move" and rule.to == table and by[rule.id].due]
            if not sources:
                continue
            q = " UNION ALL ".join(sources)
            keys = ", ".join(KEYS[table])
            for d in removed:
                q = f"SELECT * FROM ({q}) x ANTI JOIN {d} USING ({keys})"
            con.execute(f"INSERT INTO {table} {q}")
            atomic.killpoint(f"copied_{table}")
        store.copy_workbench_tables(con, exclude=("quarantine", "load_log", "purge_log"))
        after = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in STORE_TABLES}
        result = PurgeResult(as_of, False, operator, results, before, after, True, persons=persons)
        con.execute("INSERT INTO purge_log VALUES (now(), ?, ?, ?)",
                    [as_of, operator, json.dumps(result.record(), ensure_ascii=False)])
    _erase_outside(rules, results, as_of, path)     # after the store's commit: files and the log
    result.seconds = time.perf_counter() - t0
    return result


# ---------------------------------------------------------------- what juki keeps outside the store

#: Rules over what is not a table of the store: the operation log, the reports' run folders, the
#: exported files, and the quality follow-up's resolved problems.
OUTSIDE = ("oplog", "reports", "exports", "followup")


def outside_due(rule: RetentionRule, as_of: dt.date, registry: Path) -> list[tuple[object, dt.date]]:
    """(what, its date) of each item the rule makes due on ``as_of`` (the follow-up is the one
    beside ``registry``)."""
    from .. import paths
    cutoff = rule.cutoff(as_of)
    out = []
    if rule.table == "oplog":
        from ..log import oplog
        out = [(e["seq"], dt.date.fromisoformat(e["at"][:10])) for e in oplog.entries()
               if e.get("action") != "anchor" and e.get("at", "9")[:10] <= cutoff.isoformat()]
    elif rule.table == "reports":
        base = paths.reports()
        for d in sorted(base.iterdir()) if base.is_dir() else []:
            try:
                day = dt.date.fromisoformat(d.name[:10])
            except ValueError:
                continue
            if d.is_dir() and day <= cutoff:
                out.append((d, day))
    elif rule.table == "exports":
        base = paths.exports()
        for f in sorted(base.rglob("*")) if base.is_dir() else []:
            if f.is_file() and not f.is_symlink():
                day = dt.date.fromtimestamp(f.stat().st_mtime)
                if day <= cutoff:
                    out.append((f, day))
    elif rule.table == "followup":
        from ..quality import followup
        p = followup.path_for(registry)
        if p.exists():
            c = duckdb.connect(str(p), read_only=True)
            try:
                out = [((r, k), d) for r, k, d in c.execute(
                    "SELECT rule, key, resolved_on FROM problems WHERE resolved_on <= ?", [cutoff]).fetchall()]
            finally:
                c.close()
    return out


def _erase_outside(rules, results, as_of: dt.date, registry: Path) -> bool:
    """Apply the rules over the log, report folders, exports and follow-up; whether anything went."""
    import shutil
    by = {r.rule: r for r in results}
    changed = False
    for rule in rules:
        if rule.table not in OUTSIDE or not by[rule.id].due or by[rule.id].skipped:
            continue
        due = outside_due(rule, as_of, registry)
        if rule.table == "oplog":
            from ..log import oplog
            oplog.prune(rule.cutoff(as_of) + dt.timedelta(days=1))
        elif rule.table in ("reports", "exports"):
            for what, _ in due:
                shutil.rmtree(what, ignore_errors=True) if what.is_dir() else what.unlink(missing_ok=True)
        elif rule.table == "followup":
            from ..quality import followup
            c = duckdb.connect(str(followup.path_for(registry)))
            try:
                c.execute("DELETE FROM problems WHERE resolved_on <= ?", [rule.cutoff(as_of)])
            finally:
                c.close()
        changed = changed or bool(due)
    return changed


def _persons(con, rules, by) -> list[str]:
    """The 宛名番号 of every person whose rows a purge moves or erases (the 本人確認情報 and 送付先情報
    by their 住民票コード); the log keeps them, so a purge can be found by the person."""
    parts = []
    for rule in rules:
        if by[rule.id].skipped or not by[rule.id].due:
            continue
        if rule.table in ("jumin", "jumin_joshu"):
            parts.append(f"SELECT atena_no FROM due__{rule.id}")
        elif rule.table in ("honnin", "sofusaki"):
            parts.append(f"SELECT j.atena_no FROM due__{rule.id} d JOIN (SELECT DISTINCT atena_no, jumin_code FROM src.jumin "
                         f"UNION SELECT DISTINCT atena_no, jumin_code FROM src.jumin_joshu) j USING (jumin_code)")
    if not parts:
        return []
    return [r[0] for r in con.execute(f"SELECT DISTINCT atena_no FROM ({' UNION ALL '.join(parts)})").fetchall()]


def table_digests(db) -> dict:
    """Content digest of every data table (order-independent), for tests and proofs."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        have = store.tables(con)
        return {t: _digest(con, t) for t in sorted(have) if t in DATA_TABLES}
    finally:
        con.close()
