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

from .. import atomic, engine, residency, store
from ..errors import JukiError
from ..layouts import get
from ..layouts.predicate import expression
from .policy import OUTSIDE, Policy, RetentionRule, load

KEYS = {t: list(get("jumin" if t == "jumin_joshu" else t).key) for t in ("jumin", "jumin_joshu", "honnin", "sofusaki")}
KEYS["quarantine"] = ["loaded_at", "source_file", "target_table", "line"]
KEYS["load_log"] = ["loaded_at", "source_file", "sha256", "target_table"]
KEYS["purge_log"] = ["purged_at", "as_of", "operator"]
DATA_TABLES = ("jumin", "jumin_joshu", "honnin", "sofusaki", "quarantine")
STORE_TABLES = DATA_TABLES + ("load_log", "purge_log")      # the workbench's own records too
RECORD = "purge_record.json"


def base(table: str, t, as_of: dt.date):
    """The rows a rule over ``table`` judges, with the derived columns the policy may use: the
    住民基本台帳ファイル's ``removed``/``removed_on`` from :mod:`juki.residency` (``removed_on`` is the
    day of the 消除: its processing date, or 住民でなくなった日 when later), the 本人確認情報's
    ``next_ido`` (the next row's 異動年月日)."""
    import ibis
    if table == "jumin":
        f = residency.flags(t, as_of)
        person = f.atena_no
        on = ibis.greatest(f.shori_date, ibis.coalesce(f.shojo_date, f.shori_date))
        return f.mutate(removed=(f.is_current & ~f.is_resident).any().over(group_by=person),
                        removed_on=ibis.ifelse(f.is_current, on, ibis.null()).max().over(group_by=person)
                        ).drop("is_current", "is_resident")
    if table == "honnin":
        return t.mutate(next_ido=t.ido_date.lead().over(ibis.window(group_by=t.jumin_code, order_by=t.koshin_jun_no)))
    return t


def due(rule: RetentionRule, rows, as_of: dt.date):
    """The keys (and ``yr``, ``due_date``) of the rows of ``rows`` (a :func:`base`) the rule makes
    due on ``as_of``; with ``person``, only persons all of whose rows are due."""
    import ibis
    keys = KEYS[rule.table]
    person = [rule.person] if rule.person and rule.person not in keys else []
    i = rows.select(*keys, *person, _d=expression(rule.date)(rows).cast("date"),
                    _r=ibis.coalesce(expression(rule.rows)(rows), False))
    is_due = i._r & (i._d <= ibis.literal(rule.cutoff(as_of), type="date")).fill_null(False)
    if rule.person:
        is_due = is_due.all().over(group_by=i[rule.person])
    i = i.mutate(yr=i._d.year(), due_date=i._d, __due=is_due)
    return i.filter(i.__due).select(*keys, "yr", "due_date")


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


def _digest(b, t) -> str:
    """SHA-256 over the sorted rows of ``t`` (its keys: not ``yr``/``due_date``), order-independent."""
    import ibis
    names = [n for n in t.columns if n not in ("yr", "due_date")]
    line = ibis.literal("|").join([t[n].cast("string").fill_null("∅") for n in names])
    h = hashlib.sha256()
    for batch in b.to_pyarrow_batches(t.select(k=line).order_by("k"), chunk_size=100_000):
        for value in batch.column(0).to_pylist():
            h.update(value.encode() + b"\n")
    return h.hexdigest()


def _counts(b, src, have) -> dict:
    return {t: int(b.execute(src(t).count())) if t in have else 0 for t in STORE_TABLES}


def _selected(policy: Policy, only) -> list[RetentionRule]:
    if not only:
        return list(policy.rules)
    ids = [only] if isinstance(only, str) else list(only)
    unknown = [i for i in ids if i not in {r.id for r in policy.rules}]
    if unknown:
        raise JukiError(f"unknown retention rule(s) {', '.join(unknown)}; known: {', '.join(r.id for r in policy.rules)}")
    return [r for r in policy.rules if r.id in ids]


def _union_all(parts):
    """The rows of every part, in the first part's schema (a moved row keeps its values; the
    除票 table's columns may be nullable where the live table's are not)."""
    import ibis
    if len(parts) == 1:
        return parts[0]
    schema = ibis.schema({n: t.copy(nullable=True) for n, t in parts[0].schema().items()})
    first, *rest = [p.cast(schema) for p in parts]
    return first.union(*rest, distinct=False)


def _plan(b, src, have: set, rules: list[RetentionRule], as_of: dt.date, registry: Path) -> tuple[list[RuleResult], dict]:
    """Hold each rule's due rows (keys, year, date) on backend ``b`` and count them per rule;
    ``src(table)`` is the store's table, ``have`` the tables the store holds."""
    results, held = [], {}
    moved_into: dict[str, list] = {}
    for rule in rules:
        res = RuleResult(rule.id, rule.description, rule.table, rule.action, rule.cutoff(as_of).isoformat(), 0)
        results.append(res)
        if rule.table in OUTSIDE and as_of > dt.date.today():
            res.skipped = "基準日が今日より後（ストア外の記録・ファイルは実際の日付で消去する）"
            continue
        if rule.table in OUTSIDE:
            items = outside_due(rule, as_of, registry)
            res.due = len(items)
            res.oldest = min(d for _, d in items).isoformat() if items else None
            for _, d in items:
                res.by_year[d.year] = res.by_year.get(d.year, 0) + 1
            continue
        parts = [src(rule.table)] if rule.table in have else []
        # rows moved by an earlier rule of this run are judged together with the table's own
        parts += [src(m_src).semi_join(held[m], KEYS[m_src]) for m, m_src in moved_into.get(rule.table, [])]
        if not parts:
            res.skipped = "テーブルなし"
            continue
        rows = _union_all(parts)
        d = held[rule.id] = engine.hold(b, f"due__{rule.id}", due(rule, base(rule.table, rows, as_of), as_of))
        n, oldest = b.to_pyarrow(d.aggregate(n=d.count(), oldest=d.due_date.min())).to_pylist()[0].values()
        res.due, res.oldest = int(n), oldest.isoformat() if oldest else None
        dated = d.filter(d.yr.notnull())
        years = b.to_pyarrow(dated.group_by("yr").aggregate(n=dated.count()).order_by("yr"))
        res.by_year = {int(r["yr"]): int(r["n"]) for r in years.to_pylist()}
        res.digest = _digest(b, d)
        if rule.action == "move":
            moved_into.setdefault(rule.to, []).append((rule.id, rule.table))
    return results, held


def _source(con):
    """The ibis backend over ``con``, the store's tables (attached as ``src``) and their names."""
    b = engine.backend(con)
    return b, (lambda t: b.table(t, database="src")), store.tables(con, "src")


def plan(db=None, as_of: dt.date | None = None, policy: Policy | None = None, only=None) -> PurgeResult:
    """Dry run: what is due, per rule and year. Opens the store read-only; writes nothing."""
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    policy = policy or load()
    rules = _selected(policy, only)
    t0 = time.perf_counter()
    with store.attached(path) as con:
        as_of = residency.reference_date(con, as_of, schema="src")
        b, src, have = _source(con)
        results, _ = _plan(b, src, have, rules, as_of, path)
        before = _counts(b, src, have)
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
    import ibis
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    policy = policy or load()
    rules = _selected(policy, only)
    t0 = time.perf_counter()
    result = None
    with store.rewrite(path) as rw:
        as_of = residency.reference_date(rw.con, as_of, schema="src")
        b, src, have = _source(rw.con)
        results, held = _plan(b, src, have, rules, as_of, path)
        before = _counts(b, src, have)
        atomic.killpoint("planned")
        if not any(r.due for r in results if r.table not in OUTSIDE):
            rw.abandon()
            changed = _erase_outside(rules, results, as_of, path)
            return PurgeResult(as_of, False, operator, results, before, before, changed, time.perf_counter() - t0)
        by = {r.rule: r for r in results}
        gone = {rule.id: held[rule.id] for rule in rules if rule.id in held and by[rule.id].due}
        persons = _persons(b, src, have, rules, gone)
        for table in STORE_TABLES:
            # the table's own rows and the rows moved into it, less the rows its rules remove
            parts = [src(table)] if table in have else []
            parts += [src(rule.table).semi_join(gone[rule.id], KEYS[rule.table])
                      for rule in rules if rule.action == "move" and rule.to == table and rule.id in gone]
            if not parts:
                continue
            rows = _union_all(parts)
            for rule in rules:
                if rule.table == table and rule.id in gone:
                    rows = rows.anti_join(gone[rule.id], KEYS[table])
            b.insert(table, rows)
            atomic.killpoint(f"copied_{table}")
        store.copy_workbench_tables(rw.con, exclude=("quarantine", "load_log", "purge_log"))
        after = {t: int(b.execute(b.table(t).count())) for t in STORE_TABLES}
        result = PurgeResult(as_of, False, operator, results, before, after, True, persons=persons)
        b.insert("purge_log", ibis.memtable({
            "purged_at": [dt.datetime.now()], "as_of": [as_of], "operator": [operator],
            "record": [json.dumps(result.record(), ensure_ascii=False)]}).cast(b.table("purge_log").schema()))
    _erase_outside(rules, results, as_of, path)     # after the store's commit: files and the log
    result.seconds = time.perf_counter() - t0
    return result


# ---------------------------------------------------------------- what juki keeps outside the store



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
            out = followup.resolved_by(p, cutoff)
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
            followup.forget_resolved(followup.path_for(registry), rule.cutoff(as_of))
        changed = changed or bool(due)
    return changed


def _persons(b, src, have: set, rules, gone: dict) -> list[str]:
    """The 宛名番号 of every person whose rows a purge moves or erases (the 本人確認情報 and 送付先情報
    by their 住民票コード); the log keeps them, so a purge can be found by the person."""
    people = [src(t).select("atena_no", "jumin_code") for t in ("jumin", "jumin_joshu") if t in have]
    parts = []
    for rule in rules:
        if rule.id not in gone:
            continue
        d = gone[rule.id]
        if rule.table in ("jumin", "jumin_joshu"):
            parts.append(d.select(atena_no=d.atena_no.cast("string")))
        elif rule.table in ("honnin", "sofusaki") and people:
            codes = people[0].union(*people[1:]) if len(people) > 1 else people[0].distinct()
            j = d.join(codes, "jumin_code")
            parts.append(j.select(atena_no=j.atena_no.cast("string")))
    if not parts:
        return []
    every = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0].distinct()
    return b.to_pyarrow(every).column(0).to_pylist()


def table_digests(db) -> dict:
    """Content digest of every data table (order-independent), for tests and proofs."""
    con = store.open_duckdb(db)
    try:
        b = engine.backend(con)
        have = store.tables(con)
        return {t: _digest(b, b.table(t)) for t in sorted(have) if t in DATA_TABLES}
    finally:
        con.close()
